"""The ``virtual`` backend through the plugin: sleeps and timeouts take no real
time, in tests and fixtures of every loop scope; an idle loop fails its test."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

Ini = Callable[..., None]


def test_whole_run_on_virtual_sleeps_an_hour_per_test_in_no_time(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        test_it="""
        import asyncio

        import aioloop
        import pytest


        @pytest.mark.parametrize("n", range(20))
        @pytest.mark.asyncio
        async def test_sleeps(n, asyncio_backend):
            loop = asyncio.get_running_loop()
            assert asyncio_backend == "virtual"
            assert isinstance(loop, aioloop.VirtualClock)
            start = loop.time()
            await asyncio.sleep(3600)
            assert loop.time() == start + 3600
        """
    )
    started = time.monotonic()
    result = pytester.runpytest("--asyncio-backend=virtual")
    result.assert_outcomes(passed=20)
    assert time.monotonic() - started < 10


def test_two_backends_give_ids_ending_in_virtual(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        test_it="""
        import asyncio

        import pytest


        @pytest.mark.asyncio
        async def test_backend(asyncio_backend):
            assert asyncio_backend in ("asyncio", "virtual")
        """
    )
    result = pytester.runpytest("--asyncio-backend=asyncio,virtual", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["*test_backend?asyncio? PASSED*", "*test_backend?virtual? PASSED*"]
    )


def test_marker_pins_a_test_to_virtual_and_the_list_shows_it(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        test_it="""
        import asyncio

        import pytest


        @pytest.mark.asyncio(backend="virtual")
        async def test_pinned(asyncio_backend):
            assert asyncio_backend == "virtual"
            await asyncio.sleep(86400 * 365)


        @pytest.mark.asyncio
        async def test_default(asyncio_backend):
            assert asyncio_backend == "asyncio"
        """
    )
    started = time.monotonic()
    pytester.runpytest().assert_outcomes(passed=2)
    assert time.monotonic() - started < 10
    listing = pytester.runpytest("--asyncio-backends")
    listing.stdout.fnmatch_lines(["*virtual*virtual time on the asyncio selector*"])


def test_shared_loops_clock_only_increases_across_tests_and_fixtures(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        test_it="""
        import asyncio

        import pytest
        import pytest_aioloop

        READINGS = []


        def note(what):
            READINGS.append((what, asyncio.get_running_loop().time()))


        @pytest_aioloop.fixture(scope="session", loop_scope="session")
        async def session_resource():
            note("session setup")
            await asyncio.sleep(500)
            note("session setup slept")
            yield
            await asyncio.sleep(500)
            note("session teardown")
            # the module loop closed before: only the session loop's readings
            session = [t for what, t in READINGS if what.startswith("session")]
            assert session == sorted(session)
            assert session[-1] - session[0] >= 1000 + 2 * 60 - 1e-6


        @pytest_aioloop.fixture(scope="module", loop_scope="module")
        async def module_resource():
            note("module setup")
            await asyncio.sleep(100)
            yield
            await asyncio.sleep(100)
            note("module teardown")


        @pytest.mark.asyncio(loop_scope="module")
        @pytest.mark.parametrize("n", range(3))
        async def test_module(module_resource, n):
            note(f"module test {n}")
            await asyncio.sleep(30)
            await asyncio.to_thread(lambda: None)
            note(f"module test {n} slept")


        @pytest.mark.asyncio(loop_scope="session")
        @pytest.mark.parametrize("n", range(2))
        async def test_session(session_resource, n):
            note(f"session test {n}")
            await asyncio.sleep(60)
            note(f"session test {n} slept")


        def test_module_readings_increase():
            module = [t for what, t in READINGS if what.startswith("module")]
            assert len(module) == 7
            assert module == sorted(module)
            assert module[-1] - module[0] >= 100 + 3 * 30 - 1e-6
        """
    )
    started = time.monotonic()
    result = pytester.runpytest("--asyncio-backend=virtual", "-p", "no:randomly")
    result.assert_outcomes(passed=6)
    assert time.monotonic() - started < 10


def test_timeout_counts_loop_time_and_reports_the_stack(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        test_it="""
        import asyncio

        import pytest


        async def backoff():
            await asyncio.sleep(3600)


        @pytest.mark.asyncio(timeout=5)
        async def test_sleeps_an_hour():
            await backoff()


        @pytest.mark.asyncio(timeout=5)
        async def test_sleeps_four_seconds():
            await asyncio.sleep(4)
        """
    )
    started = time.monotonic()
    result = pytester.runpytest("--asyncio-backend=virtual")
    assert time.monotonic() - started < 10
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "test test_it.py::test_sleeps_an_hour timed out after 5 s of loop "
            "time (virtual). At the timeout it was awaiting:",
            '  File "*test_it.py", line 12, in test_sleeps_an_hour',
            "    await backoff()",
            '  File "*test_it.py", line 7, in backoff',
            "    await asyncio.sleep(3600)",
        ]
    )


def test_ini_timeout_counts_loop_time(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    strict_ini(asyncio_timeout="5", asyncio_backend="virtual")
    pytester.makepyfile(
        test_it="""
        import asyncio

        import pytest


        @pytest.mark.asyncio
        async def test_sleeps_an_hour():
            await asyncio.sleep(3600)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*timed out after 5 s of loop time (virtual)*"])


IDLE = """
import asyncio

import pytest


async def wait_for_nobody(event):
    await event.wait()


@pytest.mark.asyncio
async def test_waits_forever():
    await wait_for_nobody(asyncio.Event())


@pytest.mark.asyncio
async def test_after():
    await asyncio.sleep(10)
"""


def test_idle_loop_fails_the_test_with_its_await_stack(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    strict_ini(asyncio_idle_limit="0.3")
    pytester.makepyfile(test_it=IDLE)
    started = time.monotonic()
    result = pytester.runpytest("--asyncio-backend=virtual")
    assert time.monotonic() - started < 10
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "test test_it.py::test_waits_forever was idle: its event loop (virtual "
            "time) waited 0.3 s of real time with nothing scheduled (no timer, no "
            "I/O ready, no executor work or subprocess pending), so nothing could "
            "ever wake it. It was awaiting:",
            '  File "*test_it.py", line 12, in test_waits_forever',
            "    await wait_for_nobody(asyncio.Event())",
            '  File "*test_it.py", line 7, in wait_for_nobody',
            "    await event.wait()",
            "*",
            "If it waits for something from outside the loop, raise the limit: "
            "mark.asyncio(idle_limit=SECONDS) or asyncio_idle_limit.",
        ]
    )


def test_idle_limit_from_the_marker_and_the_command_line(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        test_it="""
        import asyncio
        import threading

        import pytest


        @pytest.mark.asyncio(idle_limit=0.2)
        async def test_short_limit():
            await asyncio.Event().wait()


        @pytest.mark.asyncio(idle_limit=30)
        async def test_waits_for_a_thread_the_loop_does_not_know():
            # a thread of its own (not run_in_executor): the loop cannot see
            # it and waits for it in real time, within the limit
            loop = asyncio.get_running_loop()
            done = asyncio.Event()
            threading.Timer(0.5, loop.call_soon_threadsafe, (done.set,)).start()
            await done.wait()


        @pytest.mark.asyncio
        async def test_command_line_limit():
            await asyncio.Event().wait()
        """
    )
    result = pytester.runpytest(
        "--asyncio-backend=virtual", "--asyncio-idle-limit=0.25"
    )
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*test_short_limit was idle: * waited 0.2 s of real time*",
            "*test_command_line_limit was idle: * waited 0.25 s of real time*",
        ]
    )
    result.stdout.fnmatch_lines(["*idle limit=0.25s*"])  # the header


def test_idle_fixture_fails_its_setup(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    strict_ini(asyncio_idle_limit="0.2", asyncio_backend="virtual")
    pytester.makepyfile(
        test_it="""
        import asyncio

        import pytest
        import pytest_aioloop


        @pytest_aioloop.fixture(loop_scope="module", scope="module")
        async def stuck():
            await asyncio.Future()
            yield


        @pytest.mark.asyncio(loop_scope="module")
        async def test_uses_it(stuck):
            pass


        @pytest.mark.asyncio
        async def test_other():
            await asyncio.sleep(1)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*setup of fixture 'stuck' was idle*"])


def test_executor_work_inside_a_timeout_is_waited_for(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    strict_ini(asyncio_idle_limit="0.1")
    pytester.makepyfile(
        test_it="""
        import asyncio
        import time

        import pytest


        @pytest.mark.asyncio(timeout=5)
        async def test_thread_call():
            loop = asyncio.get_running_loop()
            start = loop.time()
            async with asyncio.timeout(5):
                # longer than the idle limit: pending executor work is not idle
                await asyncio.to_thread(time.sleep, 0.3)
            assert 0.25 < loop.time() - start < 5
        """
    )
    result = pytester.runpytest("--asyncio-backend=virtual")
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("marker", "outcome", "message"),
    [
        (
            "idle_limit=0",
            "errors",
            "test_it.py::test_bad: mark.asyncio idle_limit= must be a positive "
            "number of seconds, got 0.",
        ),
        (
            "idle_limit='soon'",
            "errors",
            "test_it.py::test_bad: mark.asyncio idle_limit= must be a positive "
            "number of seconds, got 'soon'.",
        ),
        (
            "idle_limit=5, backend='asyncio'",
            "failed",
            "test_it.py::test_bad: mark.asyncio idle_limit=5 applies to a loop "
            "with virtual time only, and this test runs on backend 'asyncio', "
            "whose loops have none. Run it on backend='virtual' or remove "
            "idle_limit.",
        ),
    ],
)
def test_bad_idle_limit_fails_that_test_only(
    pytester: pytest.Pytester,
    strict_ini: Ini,
    marker: str,
    outcome: str,
    message: str,
) -> None:
    pytester.makepyfile(
        test_it=f"""
        import asyncio

        import pytest


        @pytest.mark.asyncio({marker})
        async def test_bad():
            pass


        @pytest.mark.asyncio(backend="virtual")
        async def test_good():
            await asyncio.sleep(60)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, **{outcome: 1})
    result.stdout.fnmatch_lines([message])


@pytest.mark.parametrize("value", ["0", "-1", "soon", "inf"])
def test_bad_ini_idle_limit_is_a_usage_error(
    pytester: pytest.Pytester, strict_ini: Ini, value: str
) -> None:
    strict_ini(asyncio_idle_limit=value)
    pytester.makepyfile(test_it="def test_x():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: asyncio_idle_limit must be a positive number of seconds, "
            f"got '{value}'."
        ]
    )


GUIDE = Path(__file__).resolve().parents[2] / "docs" / "how-to" / "virtual-time.md"
_FILE_BLOCK = re.compile(
    r"^```python\n# (?P<name>[\w.]+)\n(?P<body>.*?)^```", re.M | re.S
)


def test_the_guides_retrying_client_example_runs_in_no_time(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    page = GUIDE.read_text(encoding="utf-8")
    blocks = {m["name"]: m["body"] for m in _FILE_BLOCK.finditer(page)}
    pytester.makepyfile(test_retrying_client=blocks["test_retrying_client.py"])
    started = time.monotonic()
    result = pytester.runpytest("--asyncio-mode=auto", "test_retrying_client.py")
    result.assert_outcomes(passed=2)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("factory", "virtual"),
    [
        ("asyncio.SelectorEventLoop", False),
        ("aioloop.load_backend('virtual').new_event_loop", True),
    ],
)
def test_a_hook_without_virtual_loops_on_a_virtual_run_is_an_error(
    pytester: pytest.Pytester, strict_ini: Ini, factory: str, virtual: bool
) -> None:
    pytester.makeconftest(
        f"""
        import asyncio

        import aioloop


        def pytest_asyncio_loop_factories(config, item):
            return {{"custom": {factory}}}
        """
    )
    pytester.makepyfile(
        test_it="""
        import asyncio

        import pytest


        @pytest.mark.asyncio
        async def test_sleeps():
            await asyncio.sleep(3600)


        def test_sync():
            pass
        """
    )
    result = pytester.runpytest("--asyncio-backend=virtual")
    if virtual:
        result.assert_outcomes(passed=2)
        return
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "test_it.py::test_sleeps: the run asks for virtual time (backend "
            "'virtual' in --asyncio-backend or asyncio_backend), but this test's "
            "loop comes from the loop factories hook ('custom'), which wins over "
            "the run's backends and makes loops without a virtual clock: the "
            "test would run in real time.*"
        ]
    )


def test_idle_limit_applies_in_debug_mode_too(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    # debug mode watches the loop for blocking calls from a thread; that
    # thread must not keep waking an idle loop
    strict_ini(asyncio_idle_limit="0.3", asyncio_backend="virtual")
    pytester.makepyfile(test_it=IDLE)
    started = time.monotonic()
    result = pytester.runpytest("--asyncio-debug")
    assert time.monotonic() - started < 20
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_waits_forever was idle: *"])
