"""Nothing left behind: thousands of function-scoped loops on both built-in
backends leave no file descriptor, thread, loop or ResourceWarning behind.
"""

from __future__ import annotations

import json
import sys
import time

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc/self/fd"
)

# Samples open file descriptors and threads inside the run: at the setup of
# chosen tests of each backend (after its first loops, so that one-time
# process state such as uvloop's signal pipe is in the baseline), and after
# the session, with the event loops still alive in memory.
SAMPLER = """
import asyncio
import gc
import json
import os
import threading
from pathlib import Path

SAMPLES = {}
AT = {"50", "1000", "2499"}


def sample(label):
    gc.collect()
    SAMPLES[label] = {
        "fds": sorted(os.listdir("/proc/self/fd")),
        "threads": threading.active_count(),
        "open_loops": sum(
            1
            for o in gc.get_objects()
            if isinstance(o, asyncio.AbstractEventLoop) and not o.is_closed()
        ),
    }


def pytest_runtest_setup(item):
    n, backend = item.callspec.id.split("-")
    if n in AT:
        sample(f"{backend}:{n}")


def pytest_sessionfinish(session):
    sample("end")
    Path(__file__).with_name("samples.json").write_text(json.dumps(SAMPLES))
"""

MANY = """
import asyncio
import socket
import sys

import pytest

N = 2500
assert sys.flags.dev_mode, "run with python -X dev"


async def serve(reader, writer):
    writer.write(await reader.read(5))
    await writer.drain()
    writer.close()
    await writer.wait_closed()


async def forever(sock):
    try:
        await asyncio.sleep(60)
    finally:
        sock.close()


@pytest.mark.asyncio
@pytest.mark.parametrize("n", range(N))
async def test_many(n):
    loop = asyncio.get_running_loop()
    await asyncio.sleep(0)
    if n % 10 == 1:
        # a thread of the loop's default executor
        assert await loop.run_in_executor(None, sum, [1, 2]) == 3
    if n % 10 == 2:
        # a listening server and a connection to it
        srv = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"hello")
        assert await reader.read(5) == b"hello"
        writer.close()
        await writer.wait_closed()
        srv.close()
        await srv.wait_closed()
    if n % 10 == 3:
        # a task left pending, holding a socket: cancelled when the loop ends
        asyncio.create_task(forever(socket.socket()))
        await asyncio.sleep(0)
"""


def test_5000_function_loops_leave_no_fds_threads_loops_or_resource_warnings(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONDEVMODE", "1")  # python -X dev: asyncio debug too
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    pytester.makeconftest(SAMPLER)
    pytester.makepyfile(test_many=MANY)
    started = time.monotonic()
    result = pytester.runpytest_subprocess(
        "--asyncio-backend=asyncio,uvloop",
        "--asyncio-leaks=ignore",
        "-W",
        "error::ResourceWarning",
        "-W",
        "error::pytest.PytestUnraisableExceptionWarning",
        "-p",
        "no:cacheprovider",
        "-q",
        timeout=300,
    )
    took = time.monotonic() - started
    result.assert_outcomes(passed=5000)
    output = result.stdout.str() + result.stderr.str()
    assert "ResourceWarning" not in output
    assert "unclosed" not in output
    samples = json.loads((pytester.path / "samples.json").read_text())
    print(f"5,000 tests in {took:.1f} s; samples:")
    for label, sample in samples.items():
        print(
            f"  {label:14} fds={len(sample['fds'])} threads={sample['threads']} "
            f"open loops={sample['open_loops']}"
        )
    for backend in ("asyncio", "uvloop"):
        first, last = samples[f"{backend}:50"], samples[f"{backend}:2499"]
        assert last["fds"] == first["fds"], backend
        assert last["threads"] == first["threads"], backend
        assert samples[f"{backend}:1000"]["fds"] == first["fds"], backend
    # after the run: no more than during it, and no loop left open
    assert set(samples["end"]["fds"]) <= set(samples["uvloop:2499"]["fds"])
    assert samples["end"]["threads"] <= samples["asyncio:50"]["threads"]
    for sample in samples.values():
        # the test's own function loop is made at its call, after setup
        assert sample["open_loops"] == 0
    assert took < 120


UNCLOSED_TRANSPORT = """
import asyncio

import pytest


@pytest.mark.asyncio
async def test_leaves_a_connection_open():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
    server.close()


@pytest.mark.asyncio
async def test_after():
    pass
"""


@pytest.mark.parametrize("action", ["always", "error"])
def test_resource_warnings_of_a_closing_loop_are_put_on_its_test(
    pytester: pytest.Pytester, action: str
) -> None:
    # uvloop frees the unclosed transport, and warns, inside loop.close()
    pytester.makepyfile(test_it=UNCLOSED_TRANSPORT)
    result = pytester.runpytest(
        "--asyncio-backend=uvloop", "-W", f"{action}::ResourceWarning"
    )
    warned = (
        "*unclosed resource <TCPTransport *> (raised while the event loop of "
        "test_it.py::test_leaves_a_connection_open was closing)"
    )
    if action == "always":
        result.assert_outcomes(passed=2)
        result.stdout.fnmatch_lines(
            [
                "test_it.py::test_leaves_a_connection_open",
                f"  *test_it.py:6: ResourceWarning: {warned}",
            ]
        )
    else:
        result.assert_outcomes(passed=1, failed=1)
        result.stdout.fnmatch_lines(
            [
                "FAILED test_it.py::test_leaves_a_connection_open - Failed: "
                "ResourceWarning: *"
            ]
        )
        result.stdout.fnmatch_lines([f"ResourceWarning: {warned}"])
    result.stdout.no_fnmatch_line("*_runner.py*")
