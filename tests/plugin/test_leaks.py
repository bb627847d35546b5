"""Leaked tasks and lost exceptions: cancelled, attributed, reported by mode.

``--asyncio-leaks`` / ini ``asyncio_leaks``: ``report`` (default, a terminal
summary section), ``warn`` (``AioloopLeakWarning``), ``fail``, ``ignore``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

Ini = Callable[..., None]

SECTION = "*= aioloop: leaked tasks and lost exceptions =*"

LEAKY = """
import asyncio
from pathlib import Path

import pytest


async def forever(name):
    try:
        await asyncio.sleep(30)
    finally:
        Path(name + ".cancelled").touch()


@pytest.mark.asyncio
async def test_leaks():
    asyncio.create_task(forever("leaky"), name="leaky")
    await asyncio.sleep(0)


@pytest.mark.asyncio
async def test_clean():
    await asyncio.sleep(0)
"""


@pytest.mark.parametrize("backend", ["asyncio", "uvloop"])
def test_leaked_task_is_cancelled_and_summarised_by_default(
    pytester: pytest.Pytester, strict_ini: Ini, backend: str
) -> None:
    pytester.makepyfile(test_it=LEAKY)
    result = pytester.runpytest(f"--asyncio-backend={backend}")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            SECTION,
            "test_it.py::test_leaks: leaked task: task 'leaky' running forever "
            "(test_it.py:*) was still pending",
            "(-v shows where each task was; --asyncio-leaks=fail makes them failures)",
        ]
    )
    assert "test_clean" not in result.stdout.str().split("leaked tasks and lost")[1]
    assert (pytester.path / "leaky.cancelled").exists()
    # the totals, then the entries, right under the section's header line
    lines = result.stdout.lines
    header = next(i for i, line in enumerate(lines) if "leaked tasks and lost" in line)
    assert lines[header + 1] == "1 leaked task in 1 test"
    assert lines[header + 2].startswith("test_it.py::test_leaks: leaked task")


def test_verbose_summary_shows_what_the_task_was_awaiting(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(test_it=LEAKY)
    result = pytester.runpytest("-v")
    result.stdout.fnmatch_lines(
        [
            "test_it.py::test_leaks: leaked task: task 'leaky' *",
            "    awaiting:",
            '      File "*test_it.py", line *, in forever',
            "        await asyncio.sleep(30)",
        ]
    )
    result.stdout.fnmatch_lines(["(--asyncio-leaks=fail makes them failures)"])
    result.stdout.no_fnmatch_line("*-v shows where*")


def test_debug_mode_says_where_the_task_was_created(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(test_it=LEAKY)
    result = pytester.runpytest("--asyncio-debug", "-v")
    result.stdout.fnmatch_lines(
        [
            "test_it.py::test_leaks: leaked task: task 'leaky' running forever "
            "(test_it.py:*) was still pending, created at test_it.py:* in test_leaks",
            "*created at (asyncio debug mode):",
            "*test_it.py*, in test_leaks",
            '*asyncio.create_task(forever("leaky"), name="leaky")',
        ]
    )
    # only the test's own frames: not pytest's, the plugin's or the loop's
    lines = result.stdout.lines
    start = lines.index("    created at (asyncio debug mode):")
    assert "test_it.py" in lines[start + 1], lines[start:]


def test_fail_mode_fails_the_test_that_leaked(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        test_it=LEAKY
        + """

import pytest_aioloop


@pytest_aioloop.fixture
async def resource():
    yield 1


@pytest.mark.asyncio
async def test_leaks_with_a_fixture(resource):
    asyncio.create_task(forever("with-fixture"), name="with-fixture")
    await asyncio.sleep(0)


@pytest.mark.asyncio
async def test_fails_and_leaks():
    asyncio.create_task(forever("failing"), name="failing")
    assert False, "its own failure"
"""
    )
    result = pytester.runpytest("--asyncio-leaks=fail")
    # no fixture: the loop closes right after the call, the call fails; with
    # a fixture it closes in teardown, an error of the same test. A test that
    # fails on its own keeps its own failure; its leak is in the summary.
    result.assert_outcomes(passed=2, failed=2, errors=1)
    result.stdout.fnmatch_lines_random(
        [
            "FAILED test_it.py::test_leaks - Failed: *",
            "ERROR test_it.py::test_leaks_with_a_fixture - Failed: *",
            "FAILED test_it.py::test_fails_and_leaks - AssertionError: its own*",
            "test_it.py::test_fails_and_leaks: leaked task: task 'failing'*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "test_it.py::test_leaks: event loop problems (--asyncio-leaks=fail):",
            "leaked task: task 'leaky' running forever (test_it.py:*) was still*",
            "    awaiting:",
        ]
    )
    for name in ("leaky", "with-fixture", "failing"):
        assert (pytester.path / f"{name}.cancelled").exists()


def test_ini_asyncio_leaks_sets_the_mode(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    strict_ini(asyncio_leaks="fail")
    pytester.makepyfile(test_it=LEAKY)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result = pytester.runpytest("--asyncio-leaks=report")
    result.assert_outcomes(passed=2)


def test_leak_on_a_module_loop_is_reported_with_the_test_that_started_it(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        test_it="""
        import asyncio

        import pytest

        pytestmark = pytest.mark.asyncio(loop_scope="module")


        async def forever():
            await asyncio.sleep(30)


        async def test_starts_a_task():
            asyncio.create_task(forever(), name="left-running")


        async def test_later():
            await asyncio.sleep(0)


        async def test_last():
            await asyncio.sleep(0)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            SECTION,
            "module test_it.py: leaked task: task 'left-running' running forever "
            "(test_it.py:*) was still pending (started by test "
            "test_it.py::test_starts_a_task)",
        ]
    )


def test_tasks_a_session_fixture_owns_are_not_leaks_of_the_last_test(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makeconftest(
        """
        import asyncio

        import pytest_aioloop


        async def serve():
            await asyncio.sleep(30)


        @pytest_aioloop.fixture(scope="session", loop_scope="session")
        async def server():
            task = asyncio.create_task(serve(), name="owned-server")
            yield task
            task.cancel()


        @pytest_aioloop.fixture(scope="session", loop_scope="session")
        async def forgotten():
            asyncio.create_task(serve(), name="forgotten-by-fixture")
            yield
        """
    )
    pytester.makepyfile(
        test_it="""
        import pytest

        pytestmark = pytest.mark.asyncio(loop_scope="session")


        async def test_one(server):
            assert not server.done()


        async def test_two(server, forgotten):
            assert not server.done()
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2)
    output = result.stdout.str()
    assert "owned-server" not in output
    # the fixture's own forgotten task belongs to the session scope and the
    # fixture, not to the test that ran last
    result.stdout.fnmatch_lines(
        [
            "session: leaked task: task 'forgotten-by-fixture' running serve "
            "(conftest.py:*) was still pending (started by setup of fixture "
            "'forgotten')",
        ]
    )
    assert "started by test" not in output

    result = pytester.runpytest("--asyncio-leaks=fail", "-k", "test_one")
    result.assert_outcomes(passed=1)


def test_a_task_that_refuses_to_be_cancelled_cannot_hang_the_run(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        test_it="""
        import asyncio

        import pytest


        async def stubborn():
            while True:
                try:
                    await asyncio.sleep(30)
                except asyncio.CancelledError:
                    pass


        @pytest.mark.asyncio
        async def test_function_loop():
            asyncio.create_task(stubborn(), name="stubborn-function")
            await asyncio.sleep(0)


        @pytest.mark.asyncio(loop_scope="module")
        async def test_module_loop():
            asyncio.create_task(stubborn(), name="stubborn-module")
            await asyncio.sleep(0)


        @pytest.mark.asyncio
        async def test_after():
            pass
        """
    )
    started = time.monotonic()
    result = pytester.runpytest()
    assert time.monotonic() - started < 10
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines_random(
        [
            "test_it.py::test_function_loop: leaked task: task 'stubborn-function' "
            "running stubborn (test_it.py:*) was still pending; it ignored "
            "cancellation for 1 s and was abandoned",
            "module test_it.py: leaked task: task 'stubborn-module' *; it ignored "
            "cancellation for 1 s and was abandoned",
        ]
    )
    # reported once, and not again as "Task was destroyed but it is pending!"
    assert "destroyed" not in result.stdout.str()


def test_warn_mode_emits_aioloop_leak_warning(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_it=LEAKY)
    result = pytester.runpytest_subprocess("--asyncio-leaks=warn")
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*= warnings summary =*",
            "test_it.py::test_leaks",
            "*AioloopLeakWarning: test_it.py::test_leaks: leaked task: task 'leaky'*",
        ]
    )
    result = pytester.runpytest_subprocess(
        "--asyncio-leaks=warn", "-W", "error::pytest_aioloop.AioloopLeakWarning"
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["FAILED test_it.py::test_leaks - pytest_aioloop.AioloopLeakWarning: *"]
    )


def test_ignore_mode_shows_nothing(pytester: pytest.Pytester, strict_ini: Ini) -> None:
    pytester.makepyfile(test_it=LEAKY)
    result = pytester.runpytest("--asyncio-leaks=ignore")
    result.assert_outcomes(passed=2)
    assert "leaked" not in result.stdout.str()
    assert (pytester.path / "leaky.cancelled").exists()


LOST = """
import asyncio
import gc

import pytest


async def explode():
    raise ValueError("nobody awaited me")


@pytest.mark.asyncio
async def test_never_retrieved():
    task = asyncio.create_task(explode())
    await asyncio.sleep(0.01)
    del task


@pytest.mark.asyncio(loop_scope="module")
async def test_callback_raises():
    def callback():
        raise KeyError("raised in a callback")

    asyncio.get_running_loop().call_soon(callback)
    await asyncio.sleep(0.01)


@pytest.mark.asyncio
async def test_clean():
    await asyncio.sleep(0)
"""


@pytest.mark.parametrize("backend", ["asyncio", "uvloop"])
def test_lost_exceptions_are_attributed_to_the_test_with_their_traceback(
    pytester: pytest.Pytester, strict_ini: Ini, backend: str
) -> None:
    pytester.makepyfile(test_it=LOST)
    result = pytester.runpytest("-v", f"--asyncio-backend={backend}")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            SECTION,
            "test_it.py::test_never_retrieved: lost exception: Task exception was "
            "never retrieved: ValueError: nobody awaited me",
            "*Traceback (most recent call last):",
            '*File "*test_it.py", line *, in explode',
            "*ValueError: nobody awaited me",
            "test_it.py::test_callback_raises: lost exception: Exception in callback "
            "*: KeyError: 'raised in a callback'",
            "*Traceback (most recent call last):",
            "*KeyError: 'raised in a callback'",
        ]
    )
    assert "test_it.py::test_clean:" not in result.stdout.str()


@pytest.mark.parametrize("backend", ["asyncio", "uvloop"])
def test_lost_exceptions_still_reach_the_asyncio_logger(
    pytester: pytest.Pytester, strict_ini: Ini, backend: str
) -> None:
    """Reported, and also logged as the loop's default handler logs them:
    suites that check the "asyncio" logger with caplog (async-lru's do) pass."""
    pytester.makepyfile(
        """
        import asyncio
        import gc
        import logging

        import pytest

        async def boom():
            raise RuntimeError("boom")

        @pytest.mark.asyncio
        async def test_logged(caplog):
            caplog.set_level(logging.ERROR, logger="asyncio")
            task = asyncio.get_running_loop().create_task(boom())
            await asyncio.sleep(0)
            del task
            gc.collect()  # the task's finaliser calls the exception handler
            assert "Task exception was never retrieved" in caplog.text
            assert "RuntimeError: boom" in caplog.text

        @pytest.mark.asyncio
        async def test_cancellation_is_logged_not_reported(caplog):
            caplog.set_level(logging.ERROR, logger="asyncio")
            loop = asyncio.get_running_loop()
            loop.call_exception_handler(
                {"message": "cancelled here", "exception": asyncio.CancelledError()}
            )
            assert "cancelled here" in caplog.text
        """
    )
    result = pytester.runpytest(f"--asyncio-backend={backend}")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            SECTION,
            "test_*.py::test_logged: lost exception: Task exception was never "
            "retrieved: RuntimeError: boom",
        ]
    )
    assert "test_cancellation_is_logged_not_reported:" not in result.stdout.str()


def test_lost_exceptions_fail_their_test_in_fail_mode(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(test_it=LOST)
    result = pytester.runpytest("--asyncio-leaks=fail")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines_random(
        [
            "FAILED test_it.py::test_never_retrieved - Failed: *",
            "FAILED test_it.py::test_callback_raises - Failed: *",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "test_it.py::test_never_retrieved: event loop problems "
            "(--asyncio-leaks=fail):",
            "lost exception: Task exception was never retrieved: ValueError: "
            "nobody awaited me",
        ]
    )


def test_exception_found_after_the_loop_closed_is_still_reported(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        test_it="""
        import asyncio

        import pytest


        async def explode():
            raise RuntimeError("collected late")


        class Holder:
            pass


        @pytest.mark.asyncio
        async def test_task_in_a_reference_cycle():
            holder = Holder()
            holder.itself = holder
            holder.task = asyncio.create_task(explode())
            await asyncio.sleep(0.01)
        """
    )
    result = pytester.runpytest("-p", "no:unraisableexception")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            SECTION,
            "test_it.py::test_task_in_a_reference_cycle: lost exception: Task "
            "exception was never retrieved: RuntimeError: collected late*",
        ]
    )


COUNT_FULL_COLLECTIONS = """
import gc

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_terminal_summary(terminalreporter):
    # Counts the full collections the plugin's summary asks for (automatic
    # ones are off meanwhile).
    full = []

    def seen(phase, info):
        if phase == "start" and info["generation"] == 2:
            full.append(info)

    gc.disable()
    gc.callbacks.append(seen)
    try:
        return (yield)
    finally:
        gc.callbacks.remove(seen)
        gc.enable()
        terminalreporter.write_line(f"full collections: {len(full)}")
"""


@pytest.mark.parametrize(
    ("body", "collections"),
    [
        ("await asyncio.sleep(0)", 0),
        (
            # (no automatic collection may free the cycle before the summary)
            "gc.disable(); holder = Holder(); holder.itself = holder; "
            "holder.task = asyncio.create_task(explode()); "
            "await asyncio.sleep(0.01)",
            1,
        ),
    ],
    ids=["every-loop-freed", "a-loop-kept-alive"],
)
@pytest.mark.parametrize("backend", ["asyncio", "uvloop"])
def test_end_of_run_collects_garbage_only_while_a_closed_loop_is_alive(
    pytester: pytest.Pytester,
    strict_ini: Ini,
    backend: str,
    body: str,
    collections: int,
) -> None:
    # A full garbage collection costs ~10 ms in a large run. It can only find
    # a late exception when a task or future of a closed loop is still alive,
    # and that keeps its loop alive.
    pytester.makeconftest(COUNT_FULL_COLLECTIONS)
    pytester.makepyfile(
        test_it=f"""
        import asyncio
        import gc

        import pytest


        async def explode():
            raise RuntimeError("collected late")


        class Holder:
            pass


        @pytest.mark.asyncio
        async def test_one():
            {body}


        @pytest.mark.asyncio(loop_scope="module")
        async def test_two():
            await asyncio.sleep(0)
        """
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:unraisableexception", f"--asyncio-backend={backend}"
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([f"full collections: {collections}"])
    if collections:
        result.stdout.fnmatch_lines(["*lost exception*collected late*"])


def test_summary_under_xdist_shows_what_the_workers_found(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(test_it=LEAKY, test_lost=LOST)
    result = pytester.runpytest_subprocess("-n", "2", "-v")
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines_random(
        [
            "test_it.py::test_leaks: leaked task: task 'leaky' running forever "
            "(test_it.py:*) was still pending",
            "test_lost.py::test_never_retrieved: lost exception: Task exception was "
            "never retrieved: ValueError: nobody awaited me",
            "test_lost.py::test_callback_raises: lost exception: *",
        ]
    )
    # with the details the workers recorded
    result.stdout.fnmatch_lines(["    awaiting:", "*await asyncio.sleep(30)"])


def test_a_leaked_task_that_raises_when_cancelled_is_reported_with_the_error(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        test_it="""
        import asyncio

        import pytest


        import logging

        RECORDS = []


        class Keep(logging.Handler):
            def emit(self, record):
                RECORDS.append(record.getMessage())


        logging.getLogger("asyncio").addHandler(Keep())


        async def bad_cleanup():
            try:
                await asyncio.sleep(30)
            finally:
                raise RuntimeError("cleanup failed")


        @pytest.mark.asyncio
        async def test_leaks():
            asyncio.create_task(bad_cleanup(), name="bad-cleanup")
            await asyncio.sleep(0)


        def test_the_asyncio_logger_saw_it_as_under_asyncio_runner():
            assert any(
                "unhandled exception during asyncio.run() shutdown" in message
                for message in RECORDS
            ), RECORDS
        """
    )
    result = pytester.runpytest("-v", "-p", "no:randomly")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "test_it.py::test_leaks: leaked task: task 'bad-cleanup' *",
            "test_it.py::test_leaks: lost exception: task 'bad-cleanup' raised while "
            "being cancelled: RuntimeError: cleanup failed",
            "*RuntimeError: cleanup failed",
        ]
    )


CANCELLED_HANDLER = """
import asyncio

import pytest


@pytest.mark.asyncio
async def test_cancel_a_connection_handler(unused_tcp_port):
    started = asyncio.Event()
    handlers = []

    async def handle(reader, writer):
        handlers.append(asyncio.current_task())
        started.set()
        try:
            await asyncio.sleep(10)
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", unused_tcp_port)
    _, writer = await asyncio.open_connection("127.0.0.1", unused_tcp_port)
    await started.wait()
    handlers[0].cancel()
    await asyncio.sleep(0.05)
    writer.close()
    server.close()
    await server.wait_closed()
"""


@pytest.mark.parametrize("backend", ["asyncio", "uvloop"])
def test_a_cancelled_task_is_not_a_lost_exception(
    pytester: pytest.Pytester, strict_ini: Ini, backend: str
) -> None:
    # Python 3.11's streams hand a cancelled start_server handler's
    # CancelledError to the loop's exception handler: cancelling is not an
    # error nobody saw.
    strict_ini()
    pytester.makepyfile(test_it=CANCELLED_HANDLER)
    result = pytester.runpytest("--asyncio-leaks=fail", f"--asyncio-backend={backend}")
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line(SECTION)


def test_a_test_that_loses_an_exception_and_leaks_a_task_fails_once(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    strict_ini()
    pytester.makepyfile(
        test_it="""
import asyncio

import pytest


async def boom():
    raise ValueError("nobody awaited me")


@pytest.mark.asyncio
async def test_both():
    asyncio.create_task(asyncio.sleep(30), name="sleeper")
    asyncio.create_task(boom())
    await asyncio.sleep(0.01)
"""
    )
    result = pytester.runpytest("--asyncio-leaks=fail")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "test_it.py::test_both: event loop problems (--asyncio-leaks=fail):",
            "lost exception: Task exception was never retrieved: ValueError: *",
            "leaked task: task 'sleeper' running sleep*",
        ]
    )


SHUTDOWN_RAISES = """
import asyncio

import pytest

_kept = []


async def generator():
    try:
        yield 1
        yield 2
    finally:
        raise RuntimeError("aclose broke")


@pytest.mark.asyncio
async def test_generator_whose_aclose_raises():
    agen = generator()
    _kept.append(agen)  # still suspended when the loop shuts its generators down
    await agen.__anext__()


@pytest.mark.asyncio(loop_scope="module")
async def test_generator_on_a_module_loop():
    agen = generator()
    _kept.append(agen)
    await agen.__anext__()


@pytest.mark.asyncio
async def test_broken_shutdown_asyncgens():
    async def broken():
        raise RuntimeError("shutdown_asyncgens broke")

    asyncio.get_running_loop().shutdown_asyncgens = broken
"""


@pytest.mark.parametrize("backend", ["asyncio", "uvloop"])
def test_exceptions_while_generators_shut_down_are_reported_as_lost(
    pytester: pytest.Pytester, strict_ini: Ini, backend: str
) -> None:
    pytester.makepyfile(test_it=SHUTDOWN_RAISES)
    result = pytester.runpytest(f"--asyncio-backend={backend}")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines_random(
        [
            "test_it.py::test_generator_whose_aclose_raises: lost exception: an error "
            "occurred during closing of asynchronous generator *: "
            "RuntimeError: aclose broke",
            "module test_it.py: lost exception: an error occurred during closing of "
            "asynchronous generator *: RuntimeError: aclose broke",
            "test_it.py::test_broken_shutdown_asyncgens: lost exception: "
            "shutdown_asyncgens() of the test_it.py::test_broken_shutdown_asyncgens "
            "event loop raised RuntimeError: shutdown_asyncgens broke",
        ]
    )
    failing = pytester.runpytest(f"--asyncio-backend={backend}", "--asyncio-leaks=fail")
    failing.assert_outcomes(passed=1, failed=2, errors=1)


LOSES_MANY = """
import asyncio

import pytest


async def boom():
    raise KeyError("lost")


async def lose(count):
    for _ in range(count):
        asyncio.get_running_loop().create_task(boom())
    await asyncio.sleep(0.01)


@pytest.mark.asyncio
async def test_loses_nine():
    await lose(9)


@pytest.mark.asyncio
async def test_loses_one_and_leaks_one():
    await lose(1)
    asyncio.get_running_loop().create_task(asyncio.sleep(10), name="sleeper")


@pytest.mark.asyncio(loop_scope="module")
async def test_on_the_module_loop():
    asyncio.get_running_loop().create_task(asyncio.sleep(10), name="module-sleeper")
"""


def test_identical_problems_are_merged_with_a_count_under_a_line_of_totals(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(test_it=LOSES_MANY)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "*= aioloop: leaked tasks and lost exceptions =*",
            "2 leaked tasks, 10 lost exceptions in 2 tests and 1 scope",
            "test_it.py::test_loses_nine: lost exception: Task exception was never "
            "retrieved: KeyError: 'lost' (9 times)",
            "    future: <Task finished *>",
            "    Traceback (most recent call last):",
            '      File "*test_it.py", line 7, in boom',
        ]
    )
    # one traceback per distinct exception: the second test's is the same
    result.stdout.fnmatch_lines(
        [
            "test_it.py::test_loses_one_and_leaks_one: lost exception: Task exception "
            "was never retrieved: KeyError: 'lost'",
            "    (the same as above)",
        ]
    )
    assert result.stdout.str().count("Traceback (most recent call last)") == 1
    assert result.stdout.str().count("(9 times)") == 1


LEAKS_MARKED = """
import asyncio

import pytest


async def boom():
    raise KeyError("on purpose")


async def lose():
    asyncio.get_running_loop().create_task(boom())
    await asyncio.sleep(0.01)


@pytest.mark.asyncio(leaks="ignore")
async def test_loses_on_purpose():
    await lose()


@pytest.mark.asyncio(leaks="ignore")
class TestOnPurpose:
    async def test_in_class(self):
        await lose()

    @pytest.mark.asyncio(leaks="fail")
    async def test_closer_marker_wins(self):
        await lose()


@pytest.mark.asyncio(leaks="warn")
async def test_warns():
    await lose()


@pytest.mark.asyncio
async def test_run_mode():
    await lose()


@pytest.mark.asyncio(leaks="shout")
async def test_bad_value():
    pass
"""


def test_leaks_marker_keyword_sets_the_mode_of_a_test_or_class(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(test_it=LEAKS_MARKED)
    # (filterwarnings = error: the warning of leaks="warn" fails its test)
    result = pytester.runpytest()
    result.assert_outcomes(passed=3, failed=2, errors=1)
    result.stdout.fnmatch_lines_random(
        [
            "test_it.py::TestOnPurpose::test_closer_marker_wins: event loop problems "
            "(mark.asyncio(leaks='fail')):",
            "*AioloopLeakWarning: test_it.py::test_warns: lost exception: *",
            "test_it.py::test_bad_value: mark.asyncio leaks= must be one of report, "
            "warn, fail, ignore, got 'shout'.",
            "3 lost exceptions in 3 tests",
            "test_it.py::test_run_mode: lost exception: *",
        ]
    )
    result.stdout.no_fnmatch_line("*test_loses_on_purpose: lost*")
    result.stdout.no_fnmatch_line("*test_in_class: lost*")
    # the module's own marker applies to its module loop
    pytester.makepyfile(
        test_module="""
        import asyncio

        import pytest

        pytestmark = pytest.mark.asyncio(loop_scope="module", leaks="ignore")


        async def test_leaves_a_task():
            asyncio.get_running_loop().create_task(asyncio.sleep(10))
        """
    )
    module = pytester.runpytest("test_module.py", "--asyncio-leaks=fail")
    module.assert_outcomes(passed=1)
