import asyncio

import pytest
import uvloop
from timetravel import TimeTravelLoop


@pytest.mark.asyncio
async def test_folder_policy_gives_uvloop():
    assert isinstance(asyncio.get_running_loop(), uvloop.Loop)


@pytest.mark.asyncio
async def test_not_the_time_travel_loop():
    assert not isinstance(asyncio.get_running_loop(), TimeTravelLoop)
    await asyncio.sleep(0.01)
