"""Faults in tests, fixtures and backends: each fails where it happened, with a
message that says what went wrong, and every other test's result is reported.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

Ini = Callable[..., None]

# An inner-run conftest that writes, at exit, how many event loops are still
# open: a KeyboardInterrupt must not leave one behind.
OPEN_LOOPS_AT_EXIT = """
import asyncio
import atexit
import gc
from pathlib import Path

HERE = Path(__file__).parent


def _count_open_loops():
    gc.collect()
    loops = [
        o for o in gc.get_objects()
        if isinstance(o, asyncio.AbstractEventLoop) and not o.is_closed()
    ]
    (HERE / "open-loops").write_text(str(len(loops)))


atexit.register(_count_open_loops)
"""


def open_loops(pytester: pytest.Pytester) -> int:
    return int((pytester.path / "open-loops").read_text())


def test_fixture_whose_setup_or_teardown_raises_fails_only_its_test(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        test_it="""
        import asyncio

        import pytest

        import pytest_aioloop


        @pytest_aioloop.fixture
        async def broken_setup():
            await asyncio.sleep(0)
            raise ValueError("setup broke")
            yield


        @pytest_aioloop.fixture
        async def broken_teardown():
            yield 1
            await asyncio.sleep(0)
            raise ValueError("teardown broke")


        @pytest_aioloop.fixture(scope="module", loop_scope="module")
        async def broken_module_teardown():
            yield 1
            raise ValueError("module teardown broke")


        @pytest.mark.asyncio
        async def test_setup_fails(broken_setup):
            pass


        @pytest.mark.asyncio
        async def test_teardown_fails(broken_teardown):
            pass


        @pytest.mark.asyncio(loop_scope="module")
        async def test_module_fixture(broken_module_teardown):
            pass


        @pytest.mark.asyncio(loop_scope="module")
        async def test_after():
            await asyncio.sleep(0)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=3, errors=3)
    result.stdout.fnmatch_lines_random(
        [
            "ERROR test_it.py::test_setup_fails - ValueError: setup broke",
            "ERROR test_it.py::test_teardown_fails - ValueError: teardown broke",
            "ERROR test_it.py::test_after - ValueError: module teardown broke",
        ]
    )


def test_a_test_that_closes_its_loop_fails_and_the_next_test_runs(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        test_it="""
        import asyncio

        import pytest


        @pytest.mark.asyncio
        async def test_closes_function_loop():
            asyncio.get_running_loop().close()


        @pytest.mark.asyncio(loop_scope="module")
        async def test_closes_module_loop():
            asyncio.get_running_loop().close()


        @pytest.mark.asyncio(loop_scope="module")
        async def test_module_loop_still_works():
            await asyncio.sleep(0.01)


        @pytest.mark.asyncio
        async def test_after():
            await asyncio.sleep(0)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(["*RuntimeError: Cannot close a running event loop"])


def test_a_test_that_stops_its_loop_fails_saying_so(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        test_it="""
        import asyncio

        import pytest


        @pytest.mark.asyncio
        async def test_stops_function_loop():
            asyncio.get_running_loop().stop()
            await asyncio.sleep(0.05)


        @pytest.mark.asyncio(loop_scope="module")
        async def test_stops_module_loop():
            asyncio.get_running_loop().stop()
            await asyncio.sleep(0.05)


        @pytest.mark.asyncio(loop_scope="module")
        async def test_module_loop_still_works():
            await asyncio.sleep(0.01)


        @pytest.mark.asyncio
        async def test_after():
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines_random(
        [
            "test test_it.py::test_stops_function_loop stopped the event loop before "
            "it finished (*); tests must not stop or close the loop they run on",
            "test test_it.py::test_stops_module_loop stopped the event loop before "
            "it finished (*); tests must not stop or close the loop they run on",
        ]
    )
    # the message alone, no traceback through the plugin
    assert "pytest_aioloop" not in result.stdout.str()


def test_a_test_that_replaces_its_loop_is_told_and_the_loop_is_put_back(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(
        test_it="""
        import asyncio

        import pytest

        OWN = asyncio.new_event_loop()
        SEEN = []


        @pytest.mark.asyncio(loop_scope="module")
        async def test_replaces():
            SEEN.append(asyncio.get_running_loop())
            asyncio.set_event_loop(OWN)


        def test_sync_sees_the_module_loop_again():
            assert asyncio.get_event_loop() is SEEN[0]


        @pytest.mark.asyncio(loop_scope="module")
        async def test_after():
            assert asyncio.get_running_loop() is SEEN[0]
            OWN.close()


        @pytest.mark.asyncio
        async def test_function_loop_replaces():
            asyncio.set_event_loop(None)


        @pytest.mark.asyncio
        async def test_after_function_loop():
            await asyncio.sleep(0)
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=5, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*PytestWarning: test_it.py::test_replaces replaced the current event "
            "loop (asyncio.set_event_loop) while the loop of module test_it.py was "
            "current; it was put back.*"
        ]
    )


def test_asyncio_run_inside_a_test_fails_that_test_with_asyncios_message(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        test_it="""
        import asyncio

        import pytest


        async def job():
            return 1


        @pytest.mark.asyncio
        async def test_calls_asyncio_run():
            coro = job()
            try:
                asyncio.run(coro)
            finally:
                coro.close()


        @pytest.mark.asyncio(loop_scope="module")
        async def test_calls_asyncio_run_on_a_module_loop():
            coro = job()
            try:
                asyncio.run(coro)
            finally:
                coro.close()


        @pytest.mark.asyncio(loop_scope="module")
        async def test_after():
            assert await job() == 1
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        ["*RuntimeError: asyncio.run() cannot be called from a running event loop"]
    )


# --- a backend whose loop fails to close ---------------------------------------


@pytest.fixture
def badclose_backend(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An installed backend ``badclose`` whose loop raises in close()."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(pytester.path / ".cache"))
    dist_info = pytester.path / "tp_badclose-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: tp-badclose\nVersion: 1.0\n"
    )
    (dist_info / "entry_points.txt").write_text(
        "[aioloop.backends]\nbadclose = tp_badclose:new_event_loop\n"
    )
    pytester.makepyfile(
        tp_badclose="""
        import asyncio


        class BadCloseLoop(asyncio.SelectorEventLoop):
            def close(self):
                super().close()
                raise OSError("the loop could not release its device")


        def new_event_loop():
            return BadCloseLoop()
        """
    )


@pytest.mark.usefixtures("badclose_backend")
@pytest.mark.parametrize("leaks", ["report", "ignore", "fail"])
def test_a_backend_whose_loop_fails_to_close_fails_that_scope(
    pytester: pytest.Pytester, leaks: str
) -> None:
    pytester.makepyfile(
        test_it="""
        import asyncio

        import pytest


        @pytest.mark.asyncio
        async def test_function_loop():
            await asyncio.sleep(0)


        @pytest.mark.asyncio(loop_scope="module")
        async def test_module_loop():
            await asyncio.sleep(0)


        @pytest.mark.asyncio(loop_scope="module")
        async def test_module_loop_again():
            await asyncio.sleep(0)


        def test_sync():
            pass
        """
    )
    result = pytester.runpytest_subprocess(
        "--asyncio-backend=badclose", f"--asyncio-leaks={leaks}", "-p", "no:randomly"
    )
    # the function loop's test fails at its call; the module loop's failure
    # lands on the teardown of the module's last test; nothing else is lost
    result.assert_outcomes(passed=3, failed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "test_it.py::test_function_loop: *:",
            "loop teardown: closing the test_it.py::test_function_loop event loop "
            "failed: OSError: the loop could not release its device",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "module test_it.py: *:",
            "loop teardown: closing the module test_it.py event loop failed: "
            "OSError: the loop could not release its device",
            "    Traceback (most recent call last):",
            '*File "*tp_badclose.py", line *, in close',
        ]
    )
    # the backend's own frames, not the plugin's
    assert "pytest_aioloop" not in result.stdout.str()


# --- KeyboardInterrupt -------------------------------------------------------


def test_keyboard_interrupt_raised_in_a_test_stops_the_run_and_closes_loops(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makeconftest(OPEN_LOOPS_AT_EXIT)
    pytester.makepyfile(
        test_it="""
        import asyncio

        import pytest


        @pytest.mark.asyncio(loop_scope="session")
        async def test_before():
            await asyncio.sleep(0)


        @pytest.mark.asyncio(loop_scope="module")
        async def test_interrupted():
            asyncio.create_task(asyncio.sleep(30), name="left-behind")
            await asyncio.sleep(0)
            raise KeyboardInterrupt


        @pytest.mark.asyncio
        async def test_never_runs():
            pass
        """
    )
    for leaks in ("report", "fail"):
        started = time.monotonic()
        result = pytester.runpytest_subprocess(f"--asyncio-leaks={leaks}")
        assert time.monotonic() - started < 20
        assert result.ret == pytest.ExitCode.INTERRUPTED
        result.stdout.fnmatch_lines(
            [
                "*! KeyboardInterrupt !*",
                "*test_it.py:*: KeyboardInterrupt",
                "*1 passed*",
            ]
        )
        output = result.stdout.str() + result.stderr.str()
        assert "INTERNALERROR" not in output
        assert "Traceback" not in output
        assert open_loops(pytester) == 0


SLEEPING = """
import asyncio
from pathlib import Path

import pytest

import pytest_aioloop


@pytest_aioloop.fixture(loop_scope="{scope}")
async def resource():
    yield
    await asyncio.sleep(0)
    Path("fixture-closed").touch()


@pytest.mark.asyncio
async def test_before():
    pass


@pytest.mark.asyncio(loop_scope="{scope}")
async def test_sleeps(resource):
    Path("started").touch()
    try:
        await asyncio.sleep(60)
    finally:
        await asyncio.sleep(0)
        Path("finally-ran").touch()
        print("FINALLY-RAN", flush=True)


@pytest.mark.asyncio
async def test_never_runs():
    pass
"""


def interrupt_run(
    pytester: pytest.Pytester, *args: str, signals: int = 1
) -> tuple[int, str, float]:
    """Run pytest in a subprocess, press Ctrl-C once the test has started."""
    process = pytester.popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    started = pytester.path / "started"
    deadline = time.monotonic() + 30
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started.exists(), "the sleeping test never started"
    time.sleep(0.2)
    pressed = time.monotonic()
    for _ in range(signals):
        process.send_signal(signal.SIGINT)
        time.sleep(0.3)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise AssertionError(f"the run hung after Ctrl-C:\n{output.decode()}") from None
    return process.returncode, output.decode(), time.monotonic() - pressed


@pytest.mark.parametrize("scope", ["function", "module", "session"])
def test_ctrl_c_cancels_the_running_test_stops_the_run_and_closes_loops(
    pytester: pytest.Pytester, strict_ini: Ini, scope: str
) -> None:
    pytester.makeconftest(OPEN_LOOPS_AT_EXIT)
    pytester.makepyfile(test_it=SLEEPING.format(scope=scope))
    code, output, took = interrupt_run(pytester, "-s")
    assert took < 10, output
    assert code == pytest.ExitCode.INTERRUPTED, output
    assert "KeyboardInterrupt" in output
    assert "1 passed" in output
    assert "test_never_runs" not in output
    # cancelled inside its loop while it ran: its finally block could still
    # await, and ran before pytest reported the interrupt
    assert (pytester.path / "finally-ran").exists()
    assert output.index("FINALLY-RAN") < output.index("! KeyboardInterrupt"), output
    # the interrupt names the test it cancelled
    assert "KeyboardInterrupt: Ctrl-C cancelled test test_it.py::" in output, output
    # and its async fixture was torn down on the same loop after it
    assert (pytester.path / "fixture-closed").exists()
    assert open_loops(pytester) == 0


def test_second_ctrl_c_stops_a_test_that_swallows_the_first(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makeconftest(OPEN_LOOPS_AT_EXIT)
    pytester.makepyfile(
        test_it="""
        import asyncio
        from pathlib import Path

        import pytest


        @pytest.mark.asyncio
        async def test_swallows():
            Path("started").touch()
            while True:
                try:
                    await asyncio.sleep(60)
                except asyncio.CancelledError:
                    pass
        """
    )
    code, output, took = interrupt_run(pytester, signals=2)
    assert took < 10, output
    assert code == pytest.ExitCode.INTERRUPTED, output
    assert "KeyboardInterrupt" in output
    assert open_loops(pytester) == 0


def test_the_sigint_handler_is_restored_after_the_run(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    before = signal.getsignal(signal.SIGINT)
    pytester.makepyfile(test_it=SLEEPING.replace("60", "0").format(scope="module"))
    result = pytester.runpytest()
    result.assert_outcomes(passed=3)
    assert signal.getsignal(signal.SIGINT) is before
