"""The ``virtual`` backend on its own: its clock jumps, real work still works."""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any, TypeVar, cast

import pytest

import aioloop

T = TypeVar("T")


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    made = aioloop.load_backend("virtual").new_event_loop()
    yield made
    made.run_until_complete(made.shutdown_asyncgens())
    made.run_until_complete(made.shutdown_default_executor())
    made.close()


def run(
    loop: asyncio.AbstractEventLoop, main: Callable[[], Coroutine[Any, Any, T]]
) -> tuple[T, float]:
    """Run ``main()`` on ``loop``; return its result and the real seconds."""
    start = time.perf_counter()
    result = loop.run_until_complete(main())
    return result, time.perf_counter() - start


def test_backend_is_installed_and_makes_virtual_clock_loops() -> None:
    assert "virtual" in aioloop.backend_names()
    backend = aioloop.load_backend("virtual")
    assert "virtual time" in backend.describe()
    made = backend.new_event_loop()
    try:
        assert isinstance(made, asyncio.SelectorEventLoop)
        assert isinstance(made, aioloop.VirtualClock)
    finally:
        made.close()


def test_an_hour_of_sleep_takes_exactly_an_hour_of_loop_time(
    loop: asyncio.AbstractEventLoop,
) -> None:
    async def main() -> tuple[float, float]:
        start = loop.time()
        await asyncio.sleep(3600)
        return start, loop.time()

    (start, end), real = run(loop, main)
    assert end == start + 3600
    assert real < 1


def test_a_year_of_sleep_ends(loop: asyncio.AbstractEventLoop) -> None:
    # far from zero, the float after the timer's time is more than the clock's
    # resolution away: the jump must still make the timer due
    async def main() -> tuple[float, float]:
        start = loop.time()
        for _ in range(3):
            await asyncio.sleep(86400 * 365)
        return start, loop.time()

    (start, end), real = run(loop, main)
    assert end - start == pytest.approx(3 * 86400 * 365)
    assert real < 1


def test_timers_fire_in_order_of_their_loop_time(
    loop: asyncio.AbstractEventLoop,
) -> None:
    async def main() -> tuple[float, list[tuple[str, float]]]:
        start = loop.time()
        fired: list[tuple[str, float]] = []
        done = loop.create_future()

        def note(name: str) -> None:
            fired.append((name, loop.time()))
            if len(fired) == 4:
                done.set_result(None)

        loop.call_later(30, note, "c")
        loop.call_at(start + 10, note, "b")
        loop.call_later(0.5, note, "a")
        loop.call_later(600, note, "d")
        await done
        return start, fired

    (start, fired), real = run(loop, main)
    # each fires exactly at its loop time (the time call_later computed)
    assert fired == [
        ("a", start + 0.5),
        ("b", start + 10),
        ("c", start + 30),
        ("d", start + 600),
    ]
    assert real < 1


def test_timeout_longer_than_the_sleep_passes(loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> float:
        start = loop.time()
        async with asyncio.timeout(9):
            await asyncio.sleep(1)
        return loop.time() - start

    elapsed, _ = run(loop, main)
    assert elapsed == 1


def test_timeout_shorter_than_the_sleep_raises_at_its_loop_time(
    loop: asyncio.AbstractEventLoop,
) -> None:
    async def main() -> float:
        start = loop.time()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(1):
                await asyncio.sleep(9)
        return loop.time() - start

    elapsed, real = run(loop, main)
    assert elapsed == 1
    assert real < 1


def test_wait_for_and_task_group(loop: asyncio.AbstractEventLoop) -> None:
    async def after(delay: float, value: str) -> str:
        await asyncio.sleep(delay)
        return value

    async def main() -> tuple[str, list[str], float]:
        start = loop.time()
        first = await asyncio.wait_for(after(5, "in time"), timeout=60)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(after(120, "late"), timeout=60)
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(after(d, str(d))) for d in (300, 100, 200)]
        return first, [t.result() for t in tasks], loop.time() - start

    (first, values, elapsed), real = run(loop, main)
    assert first == "in time"
    assert values == ["300", "100", "200"]
    assert elapsed == pytest.approx(5 + 60 + 300)
    assert real < 1


def test_loopback_tcp_echo(loop: asyncio.AbstractEventLoop) -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(100):
            await asyncio.sleep(10)  # a slow server, in loop time only
            writer.write(data)
            await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def main() -> tuple[list[bytes], float]:
        start = loop.time()
        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            replies = []
            for word in (b"one", b"two", b"three"):
                writer.write(word)
                replies.append(await asyncio.wait_for(reader.read(100), timeout=60))
            writer.close()
            await writer.wait_closed()
        return replies, loop.time() - start

    (replies, elapsed), real = run(loop, main)
    assert replies == [b"one", b"two", b"three"]
    assert elapsed == pytest.approx(30, abs=0.5)
    assert real < 2


def test_loopback_udp(loop: asyncio.AbstractEventLoop) -> None:
    class Echo(asyncio.DatagramProtocol):
        transport: asyncio.DatagramTransport

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = cast(asyncio.DatagramTransport, transport)

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            self.transport.sendto(data.upper(), addr)

    class Client(asyncio.DatagramProtocol):
        def __init__(self) -> None:
            self.received: asyncio.Queue[bytes] = asyncio.Queue()

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            self.received.put_nowait(data)

    async def main() -> bytes:
        server, _ = await loop.create_datagram_endpoint(
            Echo, local_addr=("127.0.0.1", 0)
        )
        address = server.get_extra_info("sockname")
        client, protocol = await loop.create_datagram_endpoint(
            Client, remote_addr=address, family=socket.AF_INET
        )
        try:
            client.sendto(b"ping")
            return await asyncio.wait_for(protocol.received.get(), timeout=5)
        finally:
            client.close()
            server.close()

    reply, _ = run(loop, main)
    assert reply == b"PING"


@pytest.mark.skipif(sys.platform == "win32", reason="selector loop: no subprocesses")
def test_subprocess_runs_in_real_time_within_a_timeout(
    loop: asyncio.AbstractEventLoop,
) -> None:
    async def main() -> tuple[bytes, float]:
        start = loop.time()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "import time; time.sleep(0.2); print('done')",
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(process.communicate(), timeout=5)
        return out, loop.time() - start

    (out, elapsed), _ = run(loop, main)
    assert out.strip() == b"done"
    # the clock waited in real time for the process, not jumped to the timeout
    # (not all of the child's 0.2 s: while the loop runs callbacks, which take
    # no loop time, the child runs on; on a loaded machine that is a lot)
    assert 0.05 <= elapsed < 5


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: asyncio.to_thread(time.sleep, 0.05), id="to_thread"),
        pytest.param(
            lambda: asyncio.get_running_loop().run_in_executor(None, time.sleep, 0.05),
            id="run_in_executor",
        ),
    ],
)
def test_thread_call_within_a_timeout_succeeds(
    loop: asyncio.AbstractEventLoop, call: Callable[[], Awaitable[object]]
) -> None:
    async def main() -> float:
        start = loop.time()
        async with asyncio.timeout(5):
            await call()
        return loop.time() - start

    elapsed, _ = run(loop, main)
    # the real time spent waiting for the thread counts as loop time
    assert 0.03 <= elapsed < 5


def test_clock_never_goes_backwards_across_runs(
    loop: asyncio.AbstractEventLoop,
) -> None:
    readings: list[float] = []

    async def step(delay: float) -> None:
        readings.append(loop.time())
        await asyncio.sleep(delay)
        await asyncio.to_thread(time.sleep, 0.001)
        readings.append(loop.time())

    for delay in (100, 0, 0.5, 3600, 1):
        loop.run_until_complete(step(delay))
    assert readings == sorted(readings)
    assert readings[-1] - readings[0] >= 3701.5


def test_loop_with_nothing_to_wake_it_raises_after_the_idle_limit(
    loop: asyncio.AbstractEventLoop,
) -> None:
    assert isinstance(loop, aioloop.VirtualClock)
    loop.idle_limit = 0.2

    async def main() -> None:
        await asyncio.Event().wait()

    with pytest.raises(aioloop.LoopIdleError, match=r"idle for 0\.2 s") as info:
        run(loop, main)
    assert info.value.idle_limit == 0.2
    for task in asyncio.all_tasks(loop):
        task.cancel()
    loop.run_until_complete(asyncio.sleep(0))


def test_idle_handler_is_called_instead_of_raising(
    loop: asyncio.AbstractEventLoop,
) -> None:
    assert isinstance(loop, aioloop.VirtualClock)
    loop.idle_limit = 0.1
    event = asyncio.Event()
    calls: list[float] = []

    def on_idle() -> None:
        calls.append(loop.time())
        if len(calls) == 2:
            event.set()

    loop.set_idle_handler(on_idle)
    _, real = run(loop, event.wait)
    assert len(calls) == 2
    assert real >= 0.2


def test_pending_thread_is_not_idle(loop: asyncio.AbstractEventLoop) -> None:
    assert isinstance(loop, aioloop.VirtualClock)
    loop.idle_limit = 0.05

    async def main() -> str:
        # no timer at all: the loop waits for the thread, not for the limit
        await asyncio.to_thread(time.sleep, 0.2)
        return "done"

    result, _ = run(loop, main)
    assert result == "done"
