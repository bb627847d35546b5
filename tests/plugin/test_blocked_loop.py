"""A test that blocks its event loop: the watchdog of a call with a limit,
and the debug-mode listing of slow calls without one."""

from __future__ import annotations

from collections.abc import Callable
from textwrap import dedent

import pytest

Ini = Callable[..., None]

# A test after the blocking ones checks that no watchdog thread is left.
NO_THREAD_LEFT = """

def test_no_watchdog_thread_left():
    import threading

    assert [t for t in threading.enumerate() if t.name == "aioloop-watchdog"] == []
"""


@pytest.mark.parametrize("backend", ["asyncio", "uvloop"])
def test_a_test_that_blocks_its_loop_past_the_limit_fails_with_the_blocking_call(
    pytester: pytest.Pytester, strict_ini: Ini, backend: str
) -> None:
    pytester.makepyfile(
        test_it=dedent(
            """
        import asyncio
        import time

        import pytest


        @pytest.mark.asyncio(timeout=0.3)
        async def test_blocks_then_yields():
            time.sleep(1.0)
            await asyncio.sleep(0)


        @pytest.mark.asyncio(timeout=0.3)
        async def test_blocks_then_returns():
            await asyncio.sleep(0)
            time.sleep(1.0)


        @pytest.mark.asyncio(timeout=0.3)
        async def test_blocks_then_awaits_long():
            time.sleep(1.0)
            await asyncio.sleep(30)


        @pytest.mark.asyncio(timeout=0.3)
        async def test_blocks_less_than_the_limit():
            time.sleep(0.05)
            await asyncio.sleep(0)
        """
        )
        + NO_THREAD_LEFT
    )
    result = pytester.runpytest(f"--asyncio-backend={backend}")
    result.assert_outcomes(passed=2, failed=3)
    for name, line in (
        ("test_blocks_then_yields", 9),
        ("test_blocks_then_returns", 16),
        ("test_blocks_then_awaits_long", 21),
    ):
        result.stdout.fnmatch_lines(
            [
                f"test test_it.py::{name} blocked the event loop for ?.? s "
                f"(limit 0.3 s) in:",
                f'  File "*test_it.py", line {line}, in {name}',
                "    time.sleep(1.0)",
            ]
        )
    result.stdout.no_fnmatch_line("*timed out after*")


def test_a_blocking_fixture_step_fails_naming_the_fixture(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        test_it="""
        import time

        import pytest
        import pytest_aioloop


        @pytest_aioloop.fixture
        async def slow():
            time.sleep(0.8)
            return 1


        @pytest.mark.asyncio(timeout=0.2)
        async def test_uses(slow):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "setup of fixture 'slow' blocked the event loop for ?.? s "
            "(limit 0.2 s) in:",
            "    time.sleep(0.8)",
        ]
    )


def test_a_test_that_fails_on_its_own_keeps_its_error_with_a_note(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        test_it="""
        import time

        import pytest


        @pytest.mark.asyncio(timeout=0.2)
        async def test_blocks_and_fails():
            time.sleep(0.6)
            assert 1 == 2
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E       assert 1 == 2",
            "E       test test_it.py::test_blocks_and_fails blocked the event loop "
            "for ?.? s (limit 0.2 s) in:",
        ]
    )


def test_the_watchdog_runs_only_while_a_call_with_a_limit_runs(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        test_it=dedent(
            """
        import threading

        import pytest


        def watchdogs():
            return [t for t in threading.enumerate() if t.name == "aioloop-watchdog"]


        @pytest.mark.asyncio
        async def test_without_a_limit():
            assert watchdogs() == []


        @pytest.mark.asyncio(timeout=5)
        async def test_with_a_limit():
            assert len(watchdogs()) == 1
        """
        )
        + NO_THREAD_LEFT
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=3)


@pytest.mark.parametrize("backend", ["asyncio", "uvloop"])
def test_debug_mode_lists_a_call_slower_than_slow_callback_duration(
    pytester: pytest.Pytester, strict_ini: Ini, backend: str
) -> None:
    pytester.makepyfile(
        test_it=dedent(
            """
        import asyncio
        import time

        import pytest


        @pytest.mark.asyncio(debug=True)
        async def test_slow():
            time.sleep(0.3)
            await asyncio.sleep(0)


        @pytest.mark.asyncio(debug=True)
        async def test_quick():
            await asyncio.sleep(0)
        """
        )
        + NO_THREAD_LEFT
    )
    result = pytester.runpytest("-v", f"--asyncio-backend={backend}")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "*= aioloop: leaked tasks and lost exceptions =*",
            "test_it.py::test_slow: blocked loop: 0.* s without returning to the "
            "loop in test test_it.py::test_slow, at test_it.py:9 in test_slow: "
            "time.sleep(0.3) (debug mode's slow_callback_duration: 0.1 s)",
            '      File "*test_it.py", line 9, in test_slow',
            "        time.sleep(0.3)",
        ]
    )
