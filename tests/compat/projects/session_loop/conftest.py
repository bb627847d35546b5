import asyncio

import pytest
from inventory import open_client

import pytest_aioloop
from pytest_aioloop import is_async_test

#: every event loop an async test or fixture of this suite ran on (kept alive,
#: so that a new loop can never reuse the id of an old one)
LOOPS_SEEN: list[asyncio.AbstractEventLoop] = []
CLIENTS_OPENED: list[str] = []


def note_running_loop():
    loop = asyncio.get_running_loop()
    if not any(seen is loop for seen in LOOPS_SEEN):
        LOOPS_SEEN.append(loop)


def pytest_collection_modifyitems(items):
    session_loop = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if is_async_test(item):
            item.add_marker(session_loop, append=False)


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(f"inventory: loops seen: {len(LOOPS_SEEN)}")
    terminalreporter.write_line(
        f"inventory: clients opened: {','.join(CLIENTS_OPENED)}"
    )


@pytest_aioloop.fixture(scope="session", loop_scope="session", params=["memory", "tcp"])
async def inventory(request):
    note_running_loop()
    CLIENTS_OPENED.append(request.param)
    async with open_client(request.param) as client:
        yield client


@pytest.fixture
def note_loop():
    """Sync helper fixture: tests call it to record the loop they run on."""
    return note_running_loop
