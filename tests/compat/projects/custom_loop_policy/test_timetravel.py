import asyncio
import time

import pytest
from timetravel import TimeTravelLoop

import pytest_aioloop


@pytest.mark.asyncio
async def test_runs_on_the_time_travel_loop():
    assert type(asyncio.get_running_loop()) is TimeTravelLoop


@pytest.mark.asyncio
async def test_an_hour_passes_in_an_instant():
    loop = asyncio.get_running_loop()
    wall_start, loop_start = time.monotonic(), loop.time()
    await asyncio.sleep(3600)
    assert loop.time() - loop_start >= 3600
    assert time.monotonic() - wall_start < 5


@pytest.mark.asyncio
async def test_timeouts_expire_on_virtual_time():
    never = asyncio.get_running_loop().create_future()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(24 * 3600):
            await never


@pytest.mark.asyncio
async def test_clock_can_be_moved_by_hand():
    loop = asyncio.get_running_loop()
    woke = asyncio.Event()
    loop.call_later(60, woke.set)
    before = loop.jumps
    loop.advance(61)
    await asyncio.wait_for(woke.wait(), timeout=1)
    assert loop.jumps == before + 1


@pytest.mark.asyncio
async def test_timers_fire_in_order():
    fired = []

    async def wake_after(delay):
        await asyncio.sleep(delay)
        fired.append(delay)

    await asyncio.gather(*(wake_after(d) for d in (300, 5, 7200, 60)))
    assert fired == [5, 60, 300, 7200]


@pytest_aioloop.fixture
async def heartbeat():
    beats = []

    async def beat():
        while True:
            beats.append(asyncio.get_running_loop().time())
            await asyncio.sleep(30)

    task = asyncio.create_task(beat())
    yield beats
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.asyncio
async def test_fixture_runs_on_the_same_loop(heartbeat):
    assert type(asyncio.get_running_loop()) is TimeTravelLoop
    await asyncio.sleep(30 * 10 + 1)
    assert len(heartbeat) == 11


@pytest.mark.asyncio(loop_scope="module")
class TestModuleLoop:
    async def test_module_loop_is_a_time_travel_loop_too(self):
        assert type(asyncio.get_running_loop()) is TimeTravelLoop
        TestModuleLoop.loop = asyncio.get_running_loop()

    async def test_and_is_shared(self):
        assert asyncio.get_running_loop() is TestModuleLoop.loop
