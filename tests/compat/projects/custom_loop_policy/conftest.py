import asyncio

import pytest
from timetravel import TimeTravelLoop


class TimeTravelPolicy(asyncio.DefaultEventLoopPolicy):
    def new_event_loop(self):
        return TimeTravelLoop()


@pytest.fixture(scope="session")
def event_loop_policy():
    return TimeTravelPolicy()
