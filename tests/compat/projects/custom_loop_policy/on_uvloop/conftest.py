import pytest
import uvloop


@pytest.fixture
def event_loop_policy():
    # Function-scoped override for this folder only: these tests run on uvloop.
    return uvloop.EventLoopPolicy()
