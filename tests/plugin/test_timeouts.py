"""Timeouts: the marker's ``timeout=``, ini ``asyncio_timeout``, ``--asyncio-timeout``.

On expiry the test's task is cancelled (not the process); the test fails
naming the limit and the await chain it was stuck in, and the run goes on.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import pytest

Ini = Callable[..., None]

HANGING = """
import asyncio
from pathlib import Path

import pytest


async def inner():
    await asyncio.sleep(30)


async def middle():
    await inner()


@pytest.mark.asyncio(timeout=0.2)
async def test_hangs():
    try:
        await middle()
    finally:
        Path("cleaned-up").touch()


@pytest.mark.asyncio
async def test_after():
    await asyncio.sleep(0)
"""


@pytest.mark.parametrize("backend", ["asyncio", "uvloop"])
def test_marker_timeout_cancels_the_test_and_shows_the_await_chain(
    pytester: pytest.Pytester, strict_ini: Ini, backend: str
) -> None:
    pytester.makepyfile(test_it=HANGING)
    started = time.monotonic()
    result = pytester.runpytest(f"--asyncio-backend={backend}")
    assert time.monotonic() - started < 10
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "test test_it.py::test_hangs timed out after 0.2 s. "
            "At the timeout it was awaiting:",
            '  File "*test_it.py", line 18, in test_hangs',
            "    await middle()",
            '  File "*test_it.py", line 12, in middle',
            "    await inner()",
            '  File "*test_it.py", line 8, in inner',
            "    await asyncio.sleep(30)",
            '  File "*asyncio*tasks.py", line *, in sleep',
        ]
    )
    # cancelled inside the loop: the test's finally block ran
    assert (pytester.path / "cleaned-up").exists()


def test_timeout_shows_the_chain_inside_awaited_tasks(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        test_it="""
        import asyncio

        import pytest


        async def deep():
            await asyncio.sleep(30)


        async def worker():
            await deep()


        @pytest.mark.asyncio(timeout=0.2)
        async def test_awaits_a_task():
            task = asyncio.create_task(worker(), name="the-worker")
            await task


        @pytest.mark.asyncio(timeout=0.2)
        async def test_gathers():
            await asyncio.gather(worker())


        @pytest.mark.asyncio(timeout=0.2)
        async def test_task_group():
            async with asyncio.TaskGroup() as group:
                group.create_task(worker(), name="in-the-group")
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=3)
    for test, awaited in [
        ("test_awaits_a_task", "    await task"),
        ("test_gathers", "    await asyncio.gather(worker())"),
        ("test_task_group", "*taskgroups.py*"),
    ]:
        result.stdout.fnmatch_lines(
            [
                f"test test_it.py::{test} timed out after 0.2 s*",
                awaited,
                "  -- which awaits task '*' (worker):",
                '      File "*test_it.py", line *, in worker',
                "        await deep()",
                '      File "*test_it.py", line *, in deep',
                "        await asyncio.sleep(30)",
            ]
        )
    result.stdout.fnmatch_lines(["  -- which awaits task 'the-worker' (worker):"])
    result.stdout.fnmatch_lines(["  -- which awaits task 'in-the-group' (worker):"])


AWAITING_TASKS = """
import asyncio

import pytest


async def worker():
    await asyncio.sleep(30)


async def middle():
    await asyncio.create_task(worker(), name="inner")


@pytest.mark.asyncio(timeout=0.2)
async def test_wait():
    task = asyncio.create_task(worker(), name="waited")
    await asyncio.wait({task})


@pytest.mark.asyncio(timeout=0.2)
async def test_siblings():
    await asyncio.gather(
        asyncio.create_task(middle(), name="first"),
        asyncio.create_task(worker(), name="second"),
    )


@pytest.mark.asyncio(timeout=0.2)
async def test_shield():
    task = asyncio.create_task(worker(), name="shielded")
    await asyncio.shield(task)


@pytest.mark.asyncio(timeout=0.2)
async def test_as_completed():
    task = asyncio.create_task(worker(), name="completing")
    for next_done in asyncio.as_completed([task]):
        await next_done
"""


def _report_of(output: str, test: str) -> str:
    start = output.index(f"test test_it.py::{test} timed out")
    end = output.find("\n___", start)
    return output[start:] if end < 0 else output[start:end]


def test_timeout_report_lists_an_awaited_task_once_and_siblings_side_by_side(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(test_it=AWAITING_TASKS)
    result = pytester.runpytest()
    result.assert_outcomes(failed=4)
    output = result.stdout.str()
    assert _report_of(output, "test_wait").count("'waited'") == 1, output
    siblings = _report_of(output, "test_siblings").splitlines()
    assert "  -- which awaits task 'first' (middle):" in siblings, output
    assert "  -- which awaits task 'second' (worker):" in siblings, output
    # the task that 'first' awaits is nested under it, one step in
    assert "      -- which awaits task 'inner' (worker):" in siblings, output
    assert siblings.index("      -- which awaits task 'inner' (worker):") < (
        siblings.index("  -- which awaits task 'second' (worker):")
    )


@pytest.mark.skipif(
    sys.version_info < (3, 14), reason="asyncio's awaited-by links are 3.14+"
)
def test_timeout_report_follows_awaited_by_links_through_shield_and_as_completed(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(test_it=AWAITING_TASKS)
    result = pytester.runpytest()
    result.assert_outcomes(failed=4)
    output = result.stdout.str()
    for test, task in [
        ("test_shield", "shielded"),
        ("test_as_completed", "completing"),
    ]:
        report = _report_of(output, test)
        assert f"  -- which awaits task '{task}' (worker):" in report, report
        assert "await asyncio.sleep(30)" in report, report


def test_the_worker_task_is_named_after_the_test_it_runs(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        test_it="""
        import asyncio

        import pytest
        import pytest_aioloop


        @pytest_aioloop.fixture
        async def value():
            return 1


        @pytest.mark.asyncio
        async def test_own_loop(request):
            assert asyncio.current_task().get_name() == request.node.nodeid


        @pytest.mark.asyncio
        async def test_with_a_fixture(request, value):
            assert asyncio.current_task().get_name() == request.node.nodeid


        @pytest.mark.asyncio(loop_scope="module")
        async def test_module_loop(request, value):
            assert asyncio.current_task().get_name() == request.node.nodeid
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=3)


def test_ini_timeout_applies_to_every_test_and_the_marker_wins(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    strict_ini(asyncio_timeout="0.3")
    pytester.makepyfile(
        test_it="""
        import asyncio

        import pytest


        @pytest.mark.asyncio
        async def test_ini_limit():
            await asyncio.sleep(30)


        @pytest.mark.asyncio(timeout=5)
        async def test_longer_marker_limit():
            await asyncio.sleep(0.6)


        @pytest.mark.asyncio(timeout=0.1)
        async def test_shorter_marker_limit():
            await asyncio.sleep(0.25)

        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines_random(
        [
            "*test_it.py::test_ini_limit timed out after 0.3 s*",
            "*test_it.py::test_shorter_marker_limit timed out after 0.1 s*",
        ]
    )
    result.stdout.fnmatch_lines(["aioloop: *, timeout=0.3s, backends: *"])


def test_command_line_timeout_wins_over_the_ini(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    strict_ini(asyncio_timeout="30")
    pytester.makepyfile(
        test_it="""
        import asyncio

        import pytest


        @pytest.mark.asyncio
        async def test_hangs():
            await asyncio.sleep(30)


        @pytest.mark.asyncio(timeout=5)
        async def test_marker_still_wins():
            await asyncio.sleep(0.4)
        """
    )
    started = time.monotonic()
    result = pytester.runpytest("--asyncio-timeout=0.2")
    assert time.monotonic() - started < 10
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_it.py::test_hangs timed out after 0.2 s*"])


@pytest.mark.parametrize("off", ["0", "none", "None", ""])
def test_a_zero_or_none_command_line_timeout_turns_the_ini_limit_off(
    pytester: pytest.Pytester, strict_ini: Ini, off: str
) -> None:
    strict_ini(asyncio_timeout="0.1")
    pytester.makepyfile(
        test_it="""
        import asyncio

        import pytest


        @pytest.mark.asyncio
        async def test_longer_than_the_ini_limit():
            await asyncio.sleep(0.3)


        @pytest.mark.asyncio(timeout=0.1)
        async def test_marker_limit_still_applies():
            await asyncio.sleep(0.3)
        """
    )
    result = pytester.runpytest(f"--asyncio-timeout={off}")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*test_marker_limit_still_applies timed out after 0.1 s*"]
    )
    result.stdout.no_fnmatch_line("aioloop: *timeout=*")


def test_marker_timeout_none_or_zero_turns_the_run_limit_off_for_that_test(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    strict_ini(asyncio_timeout="0.1")
    pytester.makepyfile(
        test_it="""
        import asyncio

        import pytest


        @pytest.mark.asyncio(timeout=None)
        async def test_none():
            await asyncio.sleep(0.3)


        @pytest.mark.asyncio(timeout=0)
        async def test_zero():
            await asyncio.sleep(0.3)


        @pytest.mark.asyncio
        async def test_ini_limit():
            await asyncio.sleep(0.3)


        @pytest.mark.asyncio(timeout=None)
        class TestOff:
            async def test_in_class(self):
                await asyncio.sleep(0.3)

            @pytest.mark.asyncio(timeout=0.1)
            async def test_closer_marker_wins(self):
                await asyncio.sleep(0.3)
        """
    )
    result = pytester.runpytest("--asyncio-timeout=0.1")
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines_random(
        [
            "*test_it.py::test_ini_limit timed out after 0.1 s*",
            "*test_it.py::TestOff::test_closer_marker_wins timed out after 0.1 s*",
        ]
    )


def test_hanging_fixture_setup_and_teardown_fail_naming_the_fixture(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        test_it="""
        import asyncio

        import pytest

        import pytest_aioloop


        @pytest_aioloop.fixture
        async def slow_to_start():
            await asyncio.sleep(30)
            yield 1


        @pytest_aioloop.fixture
        async def slow_to_stop():
            yield 1
            await asyncio.sleep(30)


        @pytest_aioloop.fixture
        async def slow_coroutine():
            await asyncio.sleep(30)


        @pytest.mark.asyncio(timeout=0.2)
        async def test_setup_hangs(slow_to_start):
            pass


        @pytest.mark.asyncio(timeout=0.2)
        async def test_teardown_hangs(slow_to_stop):
            pass


        @pytest.mark.asyncio(timeout=0.2)
        async def test_coroutine_fixture_hangs(slow_coroutine):
            pass


        @pytest.mark.asyncio
        async def test_after():
            pass
        """
    )
    started = time.monotonic()
    result = pytester.runpytest()
    assert time.monotonic() - started < 10
    result.assert_outcomes(passed=2, errors=3)
    result.stdout.fnmatch_lines_random(
        [
            "setup of fixture 'slow_to_start' timed out after 0.2 s*",
            "teardown of fixture 'slow_to_stop' timed out after 0.2 s*",
            "setup of fixture 'slow_coroutine' timed out after 0.2 s*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "setup of fixture 'slow_to_start' timed out after 0.2 s*",
            '  File "*test_it.py", line *, in slow_to_start',
            "    await asyncio.sleep(30)",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "teardown of fixture 'slow_to_stop' timed out after 0.2 s*",
            '  File "*test_it.py", line *, in slow_to_stop',
        ]
    )


def test_a_test_that_swallows_the_cancellation_still_ends_and_fails(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        test_it="""
        import asyncio

        import pytest


        @pytest.mark.asyncio(timeout=0.2)
        async def test_catches_once_and_sleeps_again():
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                await asyncio.sleep(30)


        @pytest.mark.asyncio(timeout=0.2)
        async def test_catches_in_a_loop():
            while True:
                try:
                    await asyncio.sleep(30)
                except asyncio.CancelledError:
                    pass


        @pytest.mark.asyncio(timeout=0.2)
        async def test_catches_and_returns():
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                return


        @pytest.mark.asyncio
        async def test_after():
            pass
        """
    )
    started = time.monotonic()
    result = pytester.runpytest()
    # each swallower gets one grace period, not 30 s
    assert time.monotonic() - started < 10
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines_random(
        [
            "*::test_catches_once_and_sleeps_again timed out after 0.2 s and it "
            "caught the cancellation and went on; it was closed 1 s later*",
            "*::test_catches_in_a_loop timed out after 0.2 s and it caught the "
            "cancellation and went on; it was closed 1 s later*",
            "*::test_catches_and_returns timed out after 0.2 s. At the timeout*",
        ]
    )


def test_after_a_timeout_the_shared_loop_serves_the_next_tests(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        test_it="""
        import asyncio

        import pytest

        pytestmark = pytest.mark.asyncio(loop_scope="module")

        LOOPS = []


        async def test_first():
            LOOPS.append(asyncio.get_running_loop())


        @pytest.mark.asyncio(timeout=0.2)
        async def test_times_out():
            await asyncio.sleep(30)


        @pytest.mark.asyncio(timeout=0.2)
        async def test_swallows_and_times_out():
            while True:
                try:
                    await asyncio.sleep(30)
                except asyncio.CancelledError:
                    pass


        async def test_same_loop_and_clean_cancel_state():
            assert asyncio.get_running_loop() is LOOPS[0]
            assert asyncio.current_task().cancelling() == 0


        async def test_asyncio_timeout_still_works():
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.05):
                    await asyncio.sleep(5)
            assert asyncio.current_task().cancelling() == 0
            async with asyncio.timeout(5):
                await asyncio.sleep(0.01)


        @pytest.mark.asyncio(timeout=5)
        async def test_own_timeout_inside_a_limited_test():
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.05):
                    await asyncio.sleep(5)
            await asyncio.sleep(0.01)
        """
    )
    result = pytester.runpytest("--asyncio-leaks=fail")
    result.assert_outcomes(passed=4, failed=2)
