"""Several backends in one run: real loops, every scope, fixtures cached per backend."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

# Imported here so that in-process pytester runs, which drop the modules they
# imported, share one uvloop with the backend that aioloop keeps loaded.
import uvloop  # noqa: F401

BOTH = "--asyncio-backend=asyncio,uvloop"


def events(pytester: pytest.Pytester) -> list[str]:
    path = pytester.path / "events.log"
    return path.read_text().split() if path.exists() else []


# A conftest that logs every setup and teardown of wider async fixtures to
# events.log, with the backend and the loop they ran on, and checks at
# teardown that their loop is still open and running.
LOGGING_CONFTEST = """
import asyncio
from pathlib import Path

import pytest_aioloop

LOG = Path(__file__).with_name("events.log")


def log(*words):
    with LOG.open("a") as f:
        f.write("/".join(str(w) for w in words) + "\\n")


def kind(loop):
    return type(loop).__module__.split(".")[0]


@pytest_aioloop.fixture(scope="session", loop_scope="session")
async def session_resource(asyncio_backend):
    loop = asyncio.get_running_loop()
    log("session-setup", asyncio_backend, kind(loop))
    yield loop
    assert asyncio.get_running_loop() is loop
    assert not loop.is_closed()
    log("session-teardown", asyncio_backend, kind(loop))


@pytest_aioloop.fixture(scope="module", loop_scope="module")
async def module_resource(request, asyncio_backend):
    loop = asyncio.get_running_loop()
    log("module-setup", request.module.__name__, asyncio_backend, kind(loop))
    yield loop
    assert asyncio.get_running_loop() is loop
    log("module-teardown", request.module.__name__, asyncio_backend, kind(loop))
"""

SESSION_TESTS = """
import asyncio

import pytest


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("n", [1, 2])
async def test_on_session_loop(session_resource, asyncio_backend, n):
    assert asyncio.get_running_loop() is session_resource


@pytest.mark.asyncio
async def test_on_own_loop(session_resource, asyncio_backend):
    assert asyncio.get_running_loop() is not session_resource


def test_sync():
    pass
"""


def test_uvloop_backend_runs_tests_on_a_uvloop_loop(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import asyncio
        import socket

        import pytest
        import uvloop

        @pytest.mark.asyncio
        async def test_loop_type(asyncio_backend):
            loop = asyncio.get_running_loop()
            if asyncio_backend == "uvloop":
                assert isinstance(loop, uvloop.Loop)
            else:
                assert not isinstance(loop, uvloop.Loop)
                assert isinstance(loop, asyncio.SelectorEventLoop)
            # The loop works: a timer, a thread hop and a socket.
            await asyncio.sleep(0.001)
            assert await loop.run_in_executor(None, sum, [1, 2]) == 3
            left, right = socket.socketpair()
            with right:
                reader, writer = await asyncio.open_connection(sock=left)
                right.sendall(b"ping")
                assert await reader.readexactly(4) == b"ping"
                writer.close()
                await writer.wait_closed()
        """
    )
    result = pytester.runpytest("-v", BOTH)
    result.assert_outcomes(passed=2)
    result = pytester.runpytest("-v", "--asyncio-backend=uvloop")
    result.assert_outcomes(passed=1)


def test_session_fixture_is_set_up_once_per_backend_on_that_backends_loop(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(LOGGING_CONFTEST)
    for name in ("test_a", "test_b", "test_c"):
        pytester.makepyfile(**{name: SESSION_TESTS})
    result = pytester.runpytest("-v", BOTH)
    # 3 modules x (2 + 1) async tests x 2 backends, and 3 sync tests.
    result.assert_outcomes(passed=21)
    assert events(pytester) == [
        "session-setup/asyncio/asyncio",
        "session-teardown/asyncio/asyncio",
        "session-setup/uvloop/uvloop",
        "session-teardown/uvloop/uvloop",
    ]


def test_tests_are_grouped_by_backend_across_modules(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(LOGGING_CONFTEST)
    for name in ("test_a", "test_b", "test_c"):
        pytester.makepyfile(**{name: SESSION_TESTS})
    result = pytester.runpytest("-v", "-p", "no:randomly", BOTH)
    result.assert_outcomes(passed=21)
    backends = [
        "asyncio" if "asyncio]" in line else "uvloop"
        for line in result.outlines
        if "::test_on_" in line and "PASSED" in line
    ]
    # One switch of backend in the whole run: each backend's session loop
    # (and its session fixtures) is set up once.
    switches = sum(1 for a, b in itertools.pairwise(backends) if a != b)
    assert len(backends) == 18
    assert switches == 1


def test_module_fixture_runs_on_the_loop_of_each_backend(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(LOGGING_CONFTEST)
    tests = """
        import asyncio

        import pytest

        @pytest.mark.asyncio(loop_scope="module")
        async def test_module_loop(module_resource, asyncio_backend):
            assert asyncio.get_running_loop() is module_resource

        @pytest.mark.asyncio
        async def test_function_loop(module_resource, asyncio_backend):
            loop = asyncio.get_running_loop()
            assert loop is not module_resource
            # The module fixture under this test's backend was made on a loop
            # of the same backend: backends never mix.
            assert type(loop).__module__.split(".")[0] == (
                type(module_resource).__module__.split(".")[0]
            )
        """
    pytester.makepyfile(test_m1=tests, test_m2=tests)
    result = pytester.runpytest("-v", BOTH)
    result.assert_outcomes(passed=8)
    log = events(pytester)
    assert sorted(log) == sorted(
        f"module-{step}/{module}/{backend}/{backend}"
        for step in ("setup", "teardown")
        for module in ("test_m1", "test_m2")
        for backend in ("asyncio", "uvloop")
    )
    # Every setup is torn down before the next setup of that module.
    for i in range(0, len(log), 2):
        assert log[i].replace("setup", "teardown") == log[i + 1]


@pytest.mark.parametrize(
    ("run_backends", "passed"),
    [
        pytest.param([], 6, id="run-on-asyncio"),
        pytest.param([BOTH], 10, id="run-on-both"),
    ],
)
def test_session_fixture_under_a_marker_backend_and_the_run_backend(
    pytester: pytest.Pytester, run_backends: list[str], passed: int
) -> None:
    # Tests pinned to uvloop sit between tests on the run's backends; pytest
    # must still set each backend's session fixture up once.
    pytester.makeconftest(LOGGING_CONFTEST)
    run_tests = """
        import asyncio

        import pytest

        pytestmark = pytest.mark.asyncio(loop_scope="session")

        async def test_run_1(session_resource):
            assert asyncio.get_running_loop() is session_resource

        async def test_run_2(session_resource):
            assert asyncio.get_running_loop() is session_resource
        """
    pytester.makepyfile(
        test_a_run=run_tests,
        test_c_run=run_tests,
        test_b_pinned="""
        import asyncio

        import pytest

        pytestmark = pytest.mark.asyncio(loop_scope="session", backend="uvloop")

        async def test_pinned_1(session_resource):
            assert asyncio.get_running_loop() is session_resource

        async def test_pinned_2(session_resource):
            assert asyncio.get_running_loop() is session_resource
        """,
    )
    result = pytester.runpytest("-v", *run_backends)
    result.assert_outcomes(passed=passed)
    assert sorted(events(pytester)) == [
        "session-setup/asyncio/asyncio",
        "session-setup/uvloop/uvloop",
        "session-teardown/asyncio/asyncio",
        "session-teardown/uvloop/uvloop",
    ]


# On one backend the run keeps pytest's order: nothing regroups it by backend,
# so a module is never left and re-entered (which would close and remake its
# loop and its module fixtures), whatever wider fixtures the tests use and
# whether the backend comes from the run or from a loop-factories hook.
ORDER_CONFTEST = """
import asyncio

import pytest
import pytest_aioloop

from pathlib import Path

LOG = Path(__file__).with_name("events.log")


def log(*words):
    with LOG.open("a") as f:
        f.write("/".join(str(w) for w in words) + "\\n")


@pytest.fixture(scope="session")
def settings():  # a plain sync session fixture
    return {"x": 1}


@pytest.fixture(scope="module")
def resource(request):
    log("resource-setup", request.module.__name__)
    yield
    log("resource-teardown", request.module.__name__)


@pytest_aioloop.fixture(scope="session", loop_scope="session")
async def connection():
    log("connection-setup")
    yield asyncio.get_running_loop()
    log("connection-teardown")
"""

ORDER_TESTS = {
    "test_a": """
        import asyncio

        import pytest

        LOOPS = []

        @pytest.mark.asyncio(loop_scope="module")
        async def test_1(settings, resource):
            LOOPS.append(asyncio.get_running_loop())

        def test_2_sync(resource):
            pass

        @pytest.mark.asyncio(loop_scope="module")
        async def test_3(connection, resource):
            LOOPS.append(asyncio.get_running_loop())

        @pytest.mark.asyncio(loop_scope="module")
        async def test_4(resource):
            LOOPS.append(asyncio.get_running_loop())
            assert LOOPS[0] is LOOPS[1] is LOOPS[2]  # one module loop
        """,
    "test_b": """
        import pytest

        @pytest.mark.asyncio
        async def test_5(settings, connection, tmp_path):
            pass

        def test_6_sync():
            pass
        """,
}

ORDER = [
    "test_a.py::test_1",
    "test_a.py::test_2_sync",
    "test_a.py::test_3",
    "test_a.py::test_4",
    "test_b.py::test_5",
    "test_b.py::test_6_sync",
]


def ran_in_order(result: pytest.RunResult) -> list[str]:
    return [
        line.split(" ")[0]
        for line in result.outlines
        if line.startswith("test_") and " PASSED" in line
    ]


@pytest.mark.parametrize(
    "how",
    [
        "asyncio",
        "uvloop",
        "one-factory-hook",
        "one-factory-hook-and-marker",
        "one-factory-hook-new-lambda-each-call",
        "one-factory-hook-new-partial-each-call",
    ],
)
def test_a_run_on_one_backend_keeps_pytests_order(
    pytester: pytest.Pytester, how: str
) -> None:
    conftest = ORDER_CONFTEST
    args = ["-v", "-p", "no:randomly"]
    if how.startswith("one-factory-hook"):
        # A hook is called once per test: a new lambda or partial made at
        # one place each time is still one backend.
        factory = {
            "one-factory-hook-new-lambda-each-call": (
                "lambda: asyncio.SelectorEventLoop()"
            ),
            "one-factory-hook-new-partial-each-call": (
                "__import__('functools').partial(asyncio.SelectorEventLoop)"
            ),
        }.get(how, "asyncio.SelectorEventLoop")
        conftest += (
            "\n\ndef pytest_asyncio_loop_factories(config, item):\n"
            f"    return {{'custom': {factory}}}\n"
        )
    else:
        args.append(f"--asyncio-backend={how}")
    pytester.makeconftest(conftest)
    tests = dict(ORDER_TESTS)
    if how == "one-factory-hook-and-marker":
        tests["test_b"] = tests["test_b"].replace(
            "@pytest.mark.asyncio\n",
            "@pytest.mark.asyncio(loop_factories=['custom'])\n",
        )
    pytester.makepyfile(**tests)
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=6)
    assert ran_in_order(result) == ORDER
    assert events(pytester) == [
        "resource-setup/test_a",
        "connection-setup",
        "resource-teardown/test_a",
        "connection-teardown",
    ]


def test_a_hook_making_a_new_lambda_each_call_still_shares_wider_loops(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(
        """
        import asyncio

        def pytest_asyncio_loop_factories(config, item):
            return {"custom": lambda: asyncio.SelectorEventLoop()}
        """
    )
    pytester.makepyfile(
        """
        import asyncio

        import pytest

        pytestmark = pytest.mark.asyncio(loop_scope="module")
        LOOPS = []

        async def test_first():
            LOOPS.append(asyncio.get_running_loop())

        async def test_second():
            LOOPS.append(asyncio.get_running_loop())
            assert LOOPS[0] is LOOPS[1]
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


# Every loop scope on every backend: each test records its loop; the
# last test checks who shared which loop.
SCOPE_CONFTEST = """
import asyncio

import pytest

LOOPS = {}


def record(key, backend):
    loop = asyncio.get_running_loop()
    LOOPS.setdefault((key, backend), []).append(loop)
    return loop
"""

SCOPE_TESTS = """
import asyncio

import pytest
import uvloop

from conftest import record


def check(loop, backend):
    assert isinstance(loop, uvloop.Loop) == (backend == "uvloop")


@pytest.mark.asyncio
async def test_function_{n}(asyncio_backend):
    check(record("function-{n}", asyncio_backend), asyncio_backend)


@pytest.mark.asyncio(loop_scope="module")
async def test_module_{n}(asyncio_backend):
    check(record("module-{n}", asyncio_backend), asyncio_backend)


@pytest.mark.asyncio(loop_scope="package")
async def test_package_{n}(asyncio_backend):
    check(record("package", asyncio_backend), asyncio_backend)


@pytest.mark.asyncio(loop_scope="session")
async def test_session_{n}(asyncio_backend):
    check(record("session", asyncio_backend), asyncio_backend)


@pytest.mark.asyncio(loop_scope="class")
class TestClass{n}:
    async def test_one(self, asyncio_backend):
        check(record("class-{n}", asyncio_backend), asyncio_backend)

    async def test_two(self, asyncio_backend):
        check(record("class-{n}", asyncio_backend), asyncio_backend)
"""

SCOPE_CHECK = """
from pathlib import Path


def pytest_sessionfinish(session):
    # After every test, whatever order the backends ran in.
    expected = {
        "function-1": 1, "function-2": 1, "module-1": 1, "module-2": 1,
        "class-1": 2, "class-2": 2, "package": 2, "session": 2,
    }
    seen = set()
    problems = []
    for (key, backend), loops in LOOPS.items():
        if len(loops) != expected[key]:
            problems.append(f"{key}/{backend}: {len(loops)} loops recorded")
        if len({id(loop) for loop in loops}) != 1:
            problems.append(f"{key}/{backend}: not one loop")
        seen.add(id(loops[0]))
    # 8 keys x 2 backends, all distinct loops: no two scopes or backends share.
    if len(LOOPS) != 16 or len(seen) != 16:
        problems.append(f"{len(LOOPS)} keys, {len(seen)} distinct loops")
    Path(session.config.rootpath, "check.txt").write_text("; ".join(problems) or "ok")
"""


def test_every_loop_scope_works_on_every_backend(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(SCOPE_CONFTEST + SCOPE_CHECK)
    package = pytester.mkpydir("pkg")
    (package / "test_s1.py").write_text(SCOPE_TESTS.format(n=1))
    (package / "test_s2.py").write_text(SCOPE_TESTS.format(n=2))
    result = pytester.runpytest("-v", "-p", "no:randomly", BOTH)
    result.assert_outcomes(passed=2 * 2 * 6)
    assert (pytester.path / "check.txt").read_text() == "ok"


@pytest.mark.parametrize("backend", ["asyncio", "uvloop"])
def test_every_loop_scope_works_on_one_backend(
    pytester: pytest.Pytester, backend: str
) -> None:
    pytester.makeconftest(SCOPE_CONFTEST)
    package = pytester.mkpydir("pkg")
    (package / "test_s1.py").write_text(SCOPE_TESTS.format(n=1))
    result = pytester.runpytest("-v", f"--asyncio-backend={backend}")
    result.assert_outcomes(passed=6)


def test_async_fixtures_of_every_scope_follow_the_test_backend(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import asyncio

        import pytest
        import pytest_aioloop
        import uvloop

        def is_uv():
            return isinstance(asyncio.get_running_loop(), uvloop.Loop)

        @pytest_aioloop.fixture
        async def function_fix():
            return is_uv()

        @pytest_aioloop.fixture(scope="class", loop_scope="class")
        async def class_fix():
            return is_uv()

        @pytest_aioloop.fixture(scope="module", loop_scope="module")
        async def module_fix():
            return is_uv()

        @pytest_aioloop.fixture(scope="session", loop_scope="session")
        async def session_fix():
            yield is_uv()

        @pytest.mark.asyncio(loop_scope="class")
        class TestAll:
            async def test_all(
                self, asyncio_backend, function_fix, class_fix, module_fix,
                session_fix,
            ):
                uv = asyncio_backend == "uvloop"
                assert is_uv() is uv
                assert [function_fix, class_fix, module_fix, session_fix] == [uv] * 4
        """
    )
    result = pytester.runpytest("-v", BOTH)
    result.assert_outcomes(passed=2)


def test_no_current_loop_is_left_after_a_run_on_several_backends(
    pytester: pytest.Pytester,
) -> None:
    # Once every backend's loops are closed, no loop is left current.
    pytester.makeconftest(
        """
        import asyncio
        import warnings

        def pytest_unconfigure(config):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                policy = asyncio.get_event_loop_policy()
            local = policy._local
            loop = getattr(local, "_loop", None)
            print("CURRENT", None if loop is None else loop.is_closed())
        """
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.asyncio(loop_scope="session")
        async def test_session():
            pass

        @pytest.mark.asyncio(loop_scope="module")
        async def test_module():
            pass
        """
    )
    result = pytester.runpytest_subprocess("-s", BOTH)
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["CURRENT None"])


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_example_suite_passes_on_asyncio_and_uvloop(pytester: pytest.Pytester) -> None:
    # The README's example: pytest --asyncio-backend=asyncio,uvloop examples/
    for source in EXAMPLES.glob("*.py"):
        (pytester.path / source.name).write_text(source.read_text())
    result = pytester.runpytest_subprocess("-v", "-s", BOTH)
    result.assert_outcomes(passed=10)
    result.stdout.fnmatch_lines_random(
        [
            "*::test_echo[[]asyncio[]]*",
            "*::test_many_clients[[]10-uvloop[]]*",
            "*::test_only_on_asyncio PASSED*",
            "*::test_sync_tests_run_once PASSED*",
        ]
    )
    # One echo server per backend, for the whole session.
    assert result.stdout.str().count("echo server up") == 2


@pytest.mark.parametrize("asked", [True, False])
def test_a_note_says_when_a_hook_overrode_the_backend_asked_for(
    pytester: pytest.Pytester, asked: bool
) -> None:
    # The header names the run's backends; when a loop-factories hook chose
    # the loops instead, the summary says so (only if a backend was asked for).
    pytester.makeconftest(
        """
        import asyncio

        def pytest_asyncio_loop_factories(config, item):
            return {"custom": asyncio.SelectorEventLoop}
        """
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.asyncio
        async def test_it(asyncio_backend):
            assert asyncio_backend == "custom"
        """
    )
    result = pytester.runpytest(*(["--asyncio-backend=uvloop"] if asked else []))
    result.assert_outcomes(passed=1)
    note = "aioloop: a loop-factories hook (pytest_asyncio_loop_factories) chose *"
    if asked:
        result.stdout.fnmatch_lines([note + "(uvloop) were not used for those."])
    else:
        result.stdout.no_fnmatch_line(note)


def test_sync_tests_stay_in_their_module_when_tests_are_grouped_by_backend(
    pytester: pytest.Pytester,
) -> None:
    # Grouping by backend must not move a module's sync tests out of it (to
    # the end of the run), which would set its module fixtures up once more;
    # parametrized ones too.
    pytester.makepyfile(
        test_mod="""
        import pytest

        SETUPS = []

        @pytest.fixture(scope="module")
        def db():
            SETUPS.append("setup")
            yield

        @pytest.mark.asyncio
        async def test_async(db):
            pass

        def test_sync(db):
            pass

        @pytest.mark.parametrize("n", [1, 2])
        def test_sync_parametrized(db, n):
            pass

        def test_z_count():
            assert SETUPS == ["setup"]
        """,
        test_other="""
        import pytest

        @pytest.mark.asyncio
        async def test_other():
            pass
        """,
    )
    result = pytester.runpytest("-v", "-p", "no:randomly", BOTH)
    result.assert_outcomes(passed=8)
    assert ran_in_order(result) == [
        "test_mod.py::test_async[asyncio]",
        "test_mod.py::test_sync",
        "test_mod.py::test_sync_parametrized[1]",
        "test_mod.py::test_sync_parametrized[2]",
        "test_mod.py::test_z_count",
        "test_other.py::test_other[asyncio]",
        "test_mod.py::test_async[uvloop]",
        "test_other.py::test_other[uvloop]",
    ]


def test_a_sync_test_joins_the_wider_async_fixtures_of_the_backend_around_it(
    pytester: pytest.Pytester,
) -> None:
    # A sync test has no backend parameter: asking for the backend fixture
    # from it tore down the session fixtures made for the tests before it,
    # and its own session fixture then found its dependency gone.
    pytester.makeconftest(
        """
        import asyncio

        import pytest

        @pytest.fixture(scope="session")
        async def inner():
            yield asyncio.get_running_loop()

        @pytest.fixture(scope="session")
        async def outer(inner):
            assert asyncio.get_running_loop() is inner
            return inner
        """
    )
    pytester.makepyfile(
        """
        import uvloop

        SEEN = []

        async def test_async(inner, asyncio_backend):
            SEEN.append((asyncio_backend, inner))

        def test_sync(outer):
            # among the first backend's tests, with their session fixtures
            assert SEEN == [("asyncio", outer)]
            assert not isinstance(outer, uvloop.Loop)

        async def test_z_async(outer, inner, asyncio_backend):
            assert outer is inner
            assert isinstance(inner, uvloop.Loop) == (asyncio_backend == "uvloop")
        """
    )
    result = pytester.runpytest("-p", "no:randomly", "-o", "asyncio_mode=auto", BOTH)
    result.assert_outcomes(passed=5)
