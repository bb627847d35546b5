"""The benchmark suites, and the generator that writes them to disk.

Every plugin runs byte-identical test files. The only thing that differs is
what the generated helper module ``_bench.py`` returns for the marker and the
async-fixture decorator, which it decides from the ``BENCH_PLUGIN`` and
``BENCH_BACKEND`` environment variables set by the runner. The conftest reads
the same variables to give anyio its ``anyio_backend`` fixture and
pytest-asyncio its loop-factories hook.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Kind = Literal["sync", "async"]
Fixture = Literal["asyncgen", "session"]

#: Backends an async suite runs on. ``"-"`` stands for "no event loop".
ASYNC_BACKENDS = ("asyncio", "uvloop")
NO_BACKEND = "-"


@dataclass(frozen=True, slots=True)
class Suite:
    """One generated test suite and how pytest is invoked on it."""

    name: str
    description: str
    kind: Kind
    #: Name of the sync suite whose run without any async plugin is this
    #: suite's floor (it may be the suite itself).
    floor: str
    #: Tests = ``scale * n``; a fixed count when ``fixed_count`` is set.
    scale: int = 1
    fixed_count: int | None = None
    loop_scope: str = "function"
    fixture: Fixture | None = None
    real_work: bool = False
    in_classes: bool = False
    pytest_args: tuple[str, ...] = ()
    backends: tuple[str, ...] = ASYNC_BACKENDS
    #: The suite is run without any async plugin too (it is a floor).
    is_floor: bool = False
    #: Sync tests whose body makes a loop of the row's backend, runs one
    #: trivial coroutine on it and closes it: the least any function-loop
    #: plugin can cost, measured inside pytest rather than in a tight loop.
    bare_loop: bool = False
    #: With ``bare_loop``: the loop is made once for the run and kept, and
    #: each test body only runs one trivial coroutine on it: the floor of a
    #: shared (module or session) loop.
    shared_loop: bool = False
    #: The marker is written on each test (``@pytest.mark.asyncio``, as most
    #: strict-mode suites are written) rather than once as ``pytestmark``.
    mark_each: bool = False

    def count(self, n: int) -> int:
        return self.fixed_count if self.fixed_count is not None else self.scale * n

    def file_count(self, files: int) -> int:
        return 1 if self.fixed_count is not None else self.scale * files

    @property
    def collect_only(self) -> bool:
        return "--collect-only" in self.pytest_args

    @property
    def loop_floor(self) -> str | None:
        """The suite whose cost over the sync floor is this async suite's own
        floor: a bare loop per test (function loop) or one kept loop."""
        if self.kind != "async" or self.collect_only or self.real_work:
            return None
        if self.fixture is not None:
            return None
        return "loop-floor" if self.loop_scope == "function" else "run-floor"

    def backends_for(self) -> tuple[str, ...]:
        if self.kind == "sync" and not self.bare_loop:
            return (NO_BACKEND,)
        return self.backends


def _sync(name: str, description: str, **kwargs: object) -> Suite:
    return Suite(
        name,
        description,
        "sync",
        floor=name,
        is_floor=True,
        **kwargs,  # type: ignore[arg-type]
    )


SUITES: tuple[Suite, ...] = (
    _sync(
        "startup",
        "one sync test: start-up cost of merely installing the plugin",
        fixed_count=1,
    ),
    _sync("sync", "sync tests, plugin installed but unused"),
    Suite(
        "loop-floor",
        "sync tests whose body makes a loop, runs one trivial coroutine on it "
        "and closes it (no plugin involved): the floor of a function loop",
        "sync",
        floor="sync",
        bare_loop=True,
    ),
    Suite(
        "run-floor",
        "sync tests whose body runs one trivial coroutine on a loop kept for "
        "the run (no plugin involved): the floor of a shared loop",
        "sync",
        floor="sync",
        bare_loop=True,
        shared_loop=True,
    ),
    Suite("function", "async tests, function loop", "async", floor="sync"),
    Suite(
        "class",
        "async tests in classes of 10, class loop",
        "async",
        floor="sync",
        loop_scope="class",
        in_classes=True,
    ),
    Suite(
        "function-each",
        "async tests, function loop, @pytest.mark.asyncio on each test",
        "async",
        floor="sync",
        mark_each=True,
    ),
    Suite(
        "module", "async tests, module loop", "async", floor="sync", loop_scope="module"
    ),
    Suite(
        "module-each",
        "async tests, module loop, @pytest.mark.asyncio(loop_scope='module') on "
        "each test",
        "async",
        floor="sync",
        loop_scope="module",
        mark_each=True,
    ),
    Suite(
        "session",
        "async tests, session loop",
        "async",
        floor="sync",
        loop_scope="session",
    ),
    Suite(
        "asyncgen-fixture",
        "function loop, each test uses a function-scoped async-generator fixture",
        "async",
        floor="sync",
        fixture="asyncgen",
    ),
    Suite(
        "session-fixture",
        "session loop, every test uses one session-scoped async fixture",
        "async",
        floor="sync",
        loop_scope="session",
        fixture="session",
    ),
    Suite(
        "real-work",
        "function loop; body: 3 sleep(0), a queue round trip through a task, "
        "a loopback TCP echo",
        "async",
        floor="sync",
        real_work=True,
    ),
    Suite(
        "real-work-floor",
        "sync tests whose body runs the real-work body on a loop kept for the "
        "run (no plugin involved): how the backends compare inside pytest",
        "sync",
        floor="sync",
        bare_loop=True,
        shared_loop=True,
        real_work=True,
    ),
    Suite(
        "real-work-session",
        "the real-work body on a session loop, as a long-lived loop runs it "
        "outside pytest",
        "async",
        floor="sync",
        loop_scope="session",
        real_work=True,
    ),
    _sync(
        "collect-sync",
        "--collect-only -q on 10*N sync tests",
        scale=10,
        pytest_args=("--collect-only",),
    ),
    Suite(
        "collect-async",
        "--collect-only -q on the same 10*N tests written async (function loop)",
        "async",
        floor="collect-sync",
        scale=10,
        pytest_args=("--collect-only",),
        backends=("asyncio",),
    ),
    _sync("xdist-sync", "sync tests under -n 2", pytest_args=("-n", "2")),
    Suite(
        "xdist-function",
        "async tests, function loop, under -n 2",
        "async",
        floor="xdist-sync",
        pytest_args=("-n", "2"),
    ),
)

SUITES_BY_NAME = {suite.name: suite for suite in SUITES}


# --- generation --------------------------------------------------------------

_PYTEST_INI = "[pytest]\n"

# The one file whose behaviour depends on the plugin under test.
_BENCH_MODULE = '''\
"""Generated by benchmarks/run.py: the plugin-specific glue, chosen by env."""

import asyncio
import os
import socket
import struct

import pytest

PLUGIN = os.environ.get("BENCH_PLUGIN", "none")
BACKEND = os.environ.get("BENCH_BACKEND", "asyncio")


def async_mark(loop_scope="function"):
    """The marker an async test of this loop scope carries under PLUGIN."""
    if PLUGIN == "anyio":
        # anyio has no loop scopes: a runner lives as long as a test or an
        # async fixture holds it.
        return pytest.mark.anyio
    if PLUGIN in ("aioloop", "asyncio"):
        if loop_scope == "function":
            return pytest.mark.asyncio
        return pytest.mark.asyncio(loop_scope=loop_scope)
    return []


def mark_each(loop_scope="function"):
    """async_mark as a decorator on one test (a no-op without a plugin)."""
    mark = async_mark(loop_scope)
    return mark if mark else (lambda function: function)


def async_fixture(*, scope="function"):
    """The decorator for an async fixture whose loop scope is its own scope."""
    if PLUGIN == "aioloop":
        import pytest_aioloop

        return pytest_aioloop.fixture(scope=scope, loop_scope=scope)
    if PLUGIN == "asyncio":
        import pytest_asyncio

        return pytest_asyncio.fixture(scope=scope, loop_scope=scope)
    return pytest.fixture(scope=scope)


async def _noop():
    pass


def bare_loop():
    """What the least a function-loop plugin does costs: a loop of BACKEND
    made, one trivial coroutine run on it, the loop closed."""
    if BACKEND == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_noop())
    finally:
        loop.close()


_kept = []


def run_on_kept_loop(body=_noop):
    """What the least a shared-loop plugin does costs: one trivial coroutine
    (or ``body()``) run on a loop of BACKEND made once (closed at exit)."""
    if not _kept:
        import atexit

        if BACKEND == "uvloop":
            import uvloop

            _kept.append(uvloop.new_event_loop())
        else:
            _kept.append(asyncio.new_event_loop())
        atexit.register(_kept[0].close)
    _kept[0].run_until_complete(body())


_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends a reset


async def _echo(reader, writer):
    writer.write(await reader.readline())
    await writer.drain()
    writer.close()


async def _worker(inbox, outbox):
    outbox.put_nowait(await inbox.get() + 1)


async def real_work():
    """A little of everything a loop does: yields, a task, a queue, a socket."""
    for _ in range(3):
        await asyncio.sleep(0)
    inbox, outbox = asyncio.Queue(), asyncio.Queue()
    task = asyncio.create_task(_worker(inbox, outbox))
    inbox.put_nowait(1)
    assert await outbox.get() == 2
    await task
    # The listening socket is made here and handed over: start_server(host)
    # on uvloop resolves even a numeric host with getaddrinfo in libuv's
    # thread pool (a thread hop per call), where asyncio resolves it inline;
    # that is name resolution, not loop work. open_connection to a numeric
    # host resolves inline on both.
    listener = socket.create_server(("127.0.0.1", 0))
    server = await asyncio.start_server(_echo, sock=listener)
    reader, writer = await asyncio.open_connection(*listener.getsockname())
    writer.write(b"ping\\n")
    await writer.drain()
    assert await reader.readline() == b"ping\\n"
    # Reset rather than close: a closed connection leaves a socket in
    # TIME_WAIT for 60 s, and tens of thousands of them (a few runs of this
    # suite) make every later bind and connect slower, so the rows measured
    # last would pay for the rows measured first.
    writer.get_extra_info("socket").setsockopt(
        socket.SOL_SOCKET, socket.SO_LINGER, _RESET
    )
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()


# --- used by the verification suite only ------------------------------------

_seen = {}


def record(module):
    _seen.setdefault(module, []).append(asyncio.get_running_loop())


def check(module, loop_scope):
    loops = _seen.get(module, [])
    assert len(loops) == 3, f"{module}: {len(loops)} async tests ran, expected 3"
    expected_module = "uvloop" if BACKEND == "uvloop" else "asyncio"
    for loop in loops:
        actual = type(loop).__module__.partition(".")[0]
        assert actual == expected_module, f"{module}: ran on {type(loop)!r}"
    if PLUGIN == "anyio":
        return  # no loop scopes to check
    shared = {"function": 0, "class": 1, "module": 2}[loop_scope]
    pairs = [loops[0] is loops[1], loops[1] is loops[2]]
    assert sum(pairs) == shared, f"{module}: loop sharing {pairs} for {loop_scope}"
'''

_CONFTEST = '''\
"""Generated by benchmarks/run.py: per-plugin backend selection, chosen by env."""

import pytest

from _bench import BACKEND, PLUGIN, async_fixture

if PLUGIN == "anyio":

    @pytest.fixture(scope="session")
    def anyio_backend():
        if BACKEND == "uvloop":
            return ("asyncio", {"use_uvloop": True})
        return "asyncio"


if PLUGIN == "asyncio" and BACKEND == "uvloop":
    import uvloop

    def pytest_asyncio_loop_factories(config, item):
        return {"uvloop": uvloop.new_event_loop}

'''

_ASYNCGEN_FIXTURE = """
@async_fixture()
async def resource():
    yield 1
"""

_SESSION_FIXTURE = """
@async_fixture(scope="session")
async def shared_resource():
    return 1
"""

_CLASS_SIZE = 10


def _conftest(suite: Suite) -> str:
    text = _CONFTEST
    if suite.fixture == "asyncgen":
        text += _ASYNCGEN_FIXTURE
    elif suite.fixture == "session":
        text += _SESSION_FIXTURE
    return text


def _test_function(suite: Suite, index: int, *, method: bool) -> str:
    params = ["self"] if method else []
    if suite.fixture == "asyncgen":
        params.append("resource")
    elif suite.fixture == "session":
        params.append("shared_resource")
    prefix = "async def" if suite.kind == "async" else "def"
    body = "await _bench.real_work()" if suite.real_work else "pass"
    if suite.bare_loop and suite.shared_loop:
        work = "_bench.real_work" if suite.real_work else ""
        body = f"_bench.run_on_kept_loop({work})"
    elif suite.bare_loop:
        body = "_bench.bare_loop()"
    mark = ""
    if suite.kind == "async" and suite.mark_each:
        mark = f"@_bench.mark_each({suite.loop_scope!r})\n"
    return f"{mark}{prefix} test_{index}({', '.join(params)}):\n    {body}\n"


def _test_module(suite: Suite, count: int) -> str:
    parts = [f'"""Generated by benchmarks/run.py: suite {suite.name!r}."""\n']
    if suite.kind == "async" or suite.bare_loop:
        parts.append("import _bench\n")
    if suite.kind == "async" and not suite.mark_each:
        parts.append(f"pytestmark = _bench.async_mark({suite.loop_scope!r})\n")
    if not suite.in_classes:
        parts.extend(_test_function(suite, i, method=False) for i in range(count))
        return "\n\n".join(parts)
    for start in range(0, count, _CLASS_SIZE):
        methods = [
            textwrap.indent(_test_function(suite, i, method=True), "    ")
            for i in range(start, min(start + _CLASS_SIZE, count))
        ]
        parts.append(f"class TestGroup{start // _CLASS_SIZE}:\n" + "\n".join(methods))
    return "\n\n".join(parts)


def _split(total: int, parts: int) -> list[int]:
    parts = max(1, min(parts, total))
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _write_common(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pytest.ini").write_text(_PYTEST_INI)
    (directory / "_bench.py").write_text(_BENCH_MODULE)


def generate(suite: Suite, n: int, files: int, root: Path) -> Path:
    """Write ``suite`` with ``n`` as its base test count under ``root``."""
    directory = root / suite.name
    _write_common(directory)
    (directory / "conftest.py").write_text(_conftest(suite))
    counts = _split(suite.count(n), suite.file_count(files))
    width = len(str(len(counts)))
    for number, count in enumerate(counts):
        path = directory / f"test_{suite.name.replace('-', '_')}_{number:0{width}}.py"
        path.write_text(_test_module(suite, count))
    return directory


_VERIFY_MODULE = '''\
"""Generated by benchmarks/run.py: checks the backend and the loop sharing."""

import _bench

pytestmark = _bench.async_mark({scope!r})


class TestPair:
    async def test_a(self):
        _bench.record(__name__)

    async def test_b(self):
        _bench.record(__name__)


class TestOther:
    async def test_c(self):
        _bench.record(__name__)


def test_z_check():
    _bench.check(__name__, {scope!r})
'''

VERIFY_COUNT = 12


def generate_verify(root: Path) -> Path:
    """A small suite that fails unless loops come from the right backend and
    are shared as the loop scope says (3 files of 4 tests)."""
    directory = root / "_verify"
    _write_common(directory)
    (directory / "conftest.py").write_text(_CONFTEST)
    for scope in ("function", "class", "module"):
        text = _VERIFY_MODULE.format(scope=scope)
        (directory / f"test_verify_{scope}.py").write_text(text)
    return directory
