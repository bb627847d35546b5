"""Lifecycle of a loop: current while its scope is active; at its end tasks
cancelled, async generators and the executor shut down, closed and unset."""

from __future__ import annotations

from collections.abc import Callable

import pytest

Ini = Callable[..., None]


@pytest.fixture(autouse=True, params=["asyncio", "uvloop"])
def backend(request: pytest.FixtureRequest, strict_ini: Ini) -> None:
    """Every lifecycle test runs on both built-in backends: uvloop's loops
    take the full shutdown path."""
    strict_ini(asyncio_backend=request.param)


# get_event_loop() in sync code, without creating a loop when none is set
CURRENT_LOOP = """
import asyncio
import warnings


def current_loop():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        try:
            return asyncio.get_event_loop()
        except (RuntimeError, DeprecationWarning):
            return None
"""


def test_scope_loop_is_the_current_loop_in_sync_tests_and_fixtures(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(current=CURRENT_LOOP)
    pytester.makepyfile(
        test_a="""
        import asyncio

        import pytest

        from current import current_loop

        SEEN = {}

        @pytest.fixture
        def sync_fixture():
            SEEN.setdefault("fixtures", []).append(current_loop())
            yield
            SEEN.setdefault("teardowns", []).append(current_loop())

        @pytest.fixture(scope="module")
        def module_sync_fixture():
            SEEN["module fixture"] = current_loop()

        @pytest.mark.asyncio(loop_scope="module")
        async def test_first(module_sync_fixture, sync_fixture):
            SEEN["loop"] = asyncio.get_running_loop()

        def test_sync_test_sees_the_module_loop():
            assert current_loop() is SEEN["loop"]

        @pytest.mark.asyncio(loop_scope="module")
        async def test_second(sync_fixture):
            assert asyncio.get_running_loop() is SEEN["loop"]

        def test_every_sync_fixture_saw_it():
            loop = SEEN["loop"]
            assert SEEN["module fixture"] is loop
            assert SEEN["fixtures"] == [loop, loop]
            assert SEEN["teardowns"] == [loop, loop]
        """,
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=4)


def test_sync_fixture_of_a_function_loop_test_sees_that_loop(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(current=CURRENT_LOOP)
    pytester.makepyfile(
        test_a="""
        import asyncio

        import pytest

        from current import current_loop

        @pytest.fixture
        def sync_fixture():
            return current_loop()

        @pytest.mark.asyncio
        async def test_function(sync_fixture):
            assert sync_fixture is asyncio.get_running_loop()
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_scope_end_cancels_tasks_shuts_down_and_closes_and_unsets_the_loop(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(current=CURRENT_LOOP)
    pytester.makepyfile(
        test_a="""
        import asyncio
        import threading

        import pytest

        STATE = {}

        async def pending():
            try:
                await asyncio.sleep(100)
            except asyncio.CancelledError:
                STATE["cancelled"] = True
                await asyncio.sleep(0)  # awaited: may clean up after cancel
                STATE["cleaned up"] = True
                raise

        async def generator():
            try:
                yield 1
                yield 2
            finally:
                STATE["generator closed"] = True

        @pytest.mark.asyncio(loop_scope="module")
        async def test_leaves_things_behind():
            loop = asyncio.get_running_loop()
            STATE["loop"] = loop
            STATE["task"] = asyncio.create_task(pending())
            STATE["generator"] = generator()
            await STATE["generator"].__anext__()
            STATE["thread"] = await loop.run_in_executor(
                None, threading.current_thread
            )
            await asyncio.sleep(0)
        """,
        test_b="""
        from current import current_loop
        from test_a import STATE

        def test_module_loop_was_finished_and_closed():
            assert STATE["loop"].is_closed()
            assert STATE["cancelled"] and STATE["cleaned up"]
            assert STATE["task"].cancelled()
            assert STATE["generator closed"]
            assert not STATE["thread"].is_alive()

        def test_no_current_loop_after_the_scope():
            assert current_loop() is None
        """,
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=3)
    # the leftover task is reported against the module scope
    result.stdout.fnmatch_lines(["*module test_a.py*leaked task*pending*"])


def test_function_loop_is_closed_and_unset_after_its_test(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(current=CURRENT_LOOP)
    pytester.makepyfile(
        test_a="""
        import asyncio

        import pytest
        import pytest_aioloop

        from current import current_loop

        LOOPS = []

        @pytest_aioloop.fixture
        async def uses_the_loop():
            yield

        @pytest.mark.asyncio
        async def test_plain():
            LOOPS.append(asyncio.get_running_loop())

        @pytest.mark.asyncio
        async def test_with_fixture(uses_the_loop):
            LOOPS.append(asyncio.get_running_loop())

        def test_loops_closed_and_unset():
            assert all(loop.is_closed() for loop in LOOPS)
            assert current_loop() is None
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=3)


def test_a_sync_test_that_closes_the_loop_is_told_and_the_next_test_is_fine(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import asyncio

        import pytest

        pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

        @pytest.mark.asyncio(loop_scope="module")
        async def test_first():
            pass

        def test_closes_the_loop():
            asyncio.get_event_loop().close()

        @pytest.mark.asyncio(loop_scope="module")
        async def test_after():
            await asyncio.sleep(0)
            assert not asyncio.get_running_loop().is_closed()
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_closes_the_loop*",
            "*::test_closes_the_loop closed the event loop of module *; tests and "
            "fixtures must not close the loop*",
        ]
    )


def test_a_fixture_that_closes_the_loop_is_told_and_the_next_test_is_fine(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import asyncio

        import pytest
        import pytest_aioloop

        @pytest.fixture
        def closing_loop():
            loop = asyncio.get_event_loop()
            yield loop
            loop.close()

        @pytest.mark.asyncio(loop_scope="module")
        async def test_closes(closing_loop):
            assert closing_loop is asyncio.get_running_loop()

        @pytest.mark.asyncio(loop_scope="module")
        async def test_after():
            await asyncio.sleep(0)

        @pytest_aioloop.fixture
        async def closing_own_loop(request):
            # as pyzmq's io_loop fixture: tornado's IOLoop.close() in a finaliser
            loop = asyncio.get_running_loop()
            request.addfinalizer(loop.close)

        @pytest.mark.asyncio
        async def test_function_loop_closed(closing_own_loop):
            pass

        @pytest.mark.asyncio
        async def test_own_loop_closed_before_the_sync_fixture_closes_it(
            closing_loop,
        ):
            pass

        @pytest.mark.asyncio
        async def test_after_function_loop():
            await asyncio.sleep(0)
        """
    )
    result = pytester.runpytest(
        "-p", "no:randomly", "-W", "default::pytest.PytestWarning"
    )
    # A module loop closed early fails the test that closed it; a test's own
    # loop, which no other test would use, gets a warning (pytest-asyncio
    # warns; tornado's IOLoop.close() in pyzmq's fixtures does this).
    result.assert_outcomes(passed=5, errors=1, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*::test_closes closed the event loop of module *",
            "*::test_function_loop_closed: its own event loop was closed by the "
            "test or a fixture*",
        ]
    )


def test_asyncio_run_in_a_sync_test_leaves_the_scope_loop_current(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(current=CURRENT_LOOP)
    pytester.makepyfile(
        test_a="""
        import asyncio

        import pytest

        from current import current_loop

        SEEN = {}

        @pytest.mark.asyncio(loop_scope="module")
        async def test_first():
            SEEN["loop"] = asyncio.get_running_loop()

        def test_uses_asyncio_run():
            # asyncio.run() unsets the current loop when it ends
            assert asyncio.run(asyncio.sleep(0, "ran")) == "ran"

        def test_sync_sees_the_module_loop():
            assert current_loop() is SEEN["loop"]

        @pytest.mark.asyncio(loop_scope="module")
        async def test_after():
            assert asyncio.get_running_loop() is SEEN["loop"]
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=4)


def test_the_after_test_check_is_a_hook_only_once_a_loop_is_current(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    # A run of sync tests and of tests on their own loops (never made
    # current) pays no pytest_runtest_teardown call per test; a loop made
    # current turns the check on, from that test's own teardown.
    pytester.makeconftest(
        """
        def pytest_sessionfinish(session):
            on = session.config.pluginmanager.has_plugin("aioloop-after-test")
            print("AFTER-TEST", on)
        """
    )
    pytester.makepyfile(
        test_a="""
        import pytest

        def test_sync():
            pass

        @pytest.mark.asyncio
        async def test_own_loop():
            pass
        """
    )
    result = pytester.runpytest("-s", "-p", "no:randomly")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*AFTER-TEST False"])
    # (what the check does once on: the test before, with a module loop)
    pytester.makepyfile(
        test_b="""
        import pytest

        @pytest.mark.asyncio(loop_scope="module")
        async def test_module_loop():
            pass
        """
    )
    result = pytester.runpytest("-s", "-p", "no:randomly")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*AFTER-TEST True"])


def test_an_async_test_cannot_close_its_running_loop_and_the_next_is_fine(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import asyncio

        import pytest

        @pytest.mark.asyncio(loop_scope="module")
        async def test_closes():
            asyncio.get_running_loop().close()

        @pytest.mark.asyncio(loop_scope="module")
        async def test_after():
            await asyncio.sleep(0)
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*RuntimeError: Cannot close a running event loop*"])


def test_xunit_setup_functions_find_the_scope_loop_current(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import asyncio

        import pytest

        SEEN = {}

        def setup_module(module):
            SEEN["module"] = asyncio.get_event_loop()

        @pytest.mark.asyncio(loop_scope="module")
        class TestClass:
            def setup_method(self, method):
                SEEN["method"] = asyncio.get_event_loop()

            async def test_a(self):
                loop = asyncio.get_running_loop()
                assert SEEN["module"] is loop
                assert SEEN["method"] is loop

            async def test_b(self):
                assert SEEN["method"] is asyncio.get_running_loop()
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_a_tests_own_loop_is_finished_when_its_test_returns(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    # A loop no fixture used closes right after its test; its async
    # generators and default executor are shut down first (in the test's own
    # loop run when it left no task behind), and what fails there is the
    # test's.
    pytester.makepyfile(
        test_a="""
        import asyncio
        import threading

        import pytest

        STATE = {}

        async def generator():
            try:
                yield 1
                yield 2
            finally:
                STATE["generator closed"] = True

        async def breaks_on_close():
            try:
                yield 1
            finally:
                raise RuntimeError("generator broke while closing")

        @pytest.mark.asyncio
        async def test_leaves_a_generator_and_a_thread():
            loop = asyncio.get_running_loop()
            STATE["loop"] = loop
            STATE["generator"] = generator()
            await STATE["generator"].__anext__()
            STATE["thread"] = await loop.run_in_executor(
                None, threading.current_thread
            )

        @pytest.mark.asyncio
        async def test_leaves_a_generator_that_breaks():
            STATE["broken"] = breaks_on_close()
            await STATE["broken"].__anext__()

        def test_everything_was_finished():
            assert STATE["loop"].is_closed()
            assert STATE["generator closed"]
            assert not STATE["thread"].is_alive()
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "*test_a.py::test_leaves_a_generator_that_breaks: lost exception: "
            "*closing of asynchronous generator*",
        ]
    )
    result.stdout.no_fnmatch_line("*test_leaves_a_generator_and_a_thread:*")


@pytest.mark.parametrize("backend", ["asyncio", "uvloop"])
@pytest.mark.parametrize("loop_scope", ["function", "module"])
def test_a_generator_dropped_by_a_test_is_closed_in_full_and_not_reported(
    pytester: pytest.Pytester, strict_ini: Ini, backend: str, loop_scope: str
) -> None:
    # A generator dropped half-way when the test returns is closed by the
    # loop, in a task of its own (aclose()) made as the test ends: that task
    # runs to the end of the generator's `finally` before the loop closes, and
    # it is neither a leaked task nor a "Task was destroyed" lost exception.
    pytester.makepyfile(
        test_a=f"""
        import asyncio

        import pytest

        STEPS = []

        async def generator():
            try:
                for value in range(5):
                    await asyncio.sleep(0)
                    yield value
            finally:
                STEPS.append("finally")
                await asyncio.sleep(0)  # async clean-up: a connection closed
                STEPS.append("cleaned up")

        @pytest.mark.asyncio(loop_scope="{loop_scope}")
        async def test_drops_a_generator():
            gen = generator()
            assert await gen.__anext__() == 0
        """,
        test_b="""
        from test_a import STEPS

        def test_the_generator_finished_its_clean_up():
            assert STEPS == ["finally", "cleaned up"]
        """,
    )
    result = pytester.runpytest(
        "-p", "no:randomly", f"--asyncio-backend={backend}", "--asyncio-leaks=fail"
    )
    result.assert_outcomes(passed=2)
    result.stdout.no_fnmatch_line("*leaked task*")
    result.stdout.no_fnmatch_line("*destroyed but it is pending*")


@pytest.mark.parametrize("backend", ["asyncio", "uvloop"])
def test_a_task_left_pending_is_reported_though_it_ends_while_a_generator_closes(
    pytester: pytest.Pytester, strict_ini: Ini, backend: str
) -> None:
    # Letting a dropped generator finish its clean-up runs the loop for a
    # while; a task the test left pending may end meanwhile. It was pending
    # when the test's scope ended: it is still a leaked task.
    pytester.makepyfile(
        test_a="""
        import asyncio

        import pytest

        async def generator():
            try:
                yield 1
                yield 2
            finally:
                await asyncio.sleep(0.3)

        async def short_lived():
            await asyncio.sleep(0.05)

        @pytest.mark.asyncio
        async def test_leaves_both():
            asyncio.create_task(short_lived(), name="short-lived")
            gen = generator()
            await gen.__anext__()
        """
    )
    result = pytester.runpytest(f"--asyncio-backend={backend}")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["test_a.py::test_leaves_both: leaked task: task 'short-lived' *"]
    )
    result.stdout.no_fnmatch_line("*async_generator_athrow*")


@pytest.mark.parametrize("loop_scope", ["function", "module"])
def test_a_fixture_that_cancels_every_task_and_waits_for_them_does_not_hang(
    pytester: pytest.Pytester, loop_scope: str
) -> None:
    # A common clean-up fixture (arq's): cancel every task of the loop but
    # the current one and gather them. The runner's idle worker task is one
    # of them: it must end, and the next call, here an async-generator
    # fixture's teardown, run in a new one.
    pytester.makepyfile(
        f"""
        import asyncio

        import pytest
        import pytest_aioloop

        asyncio_mark = pytest.mark.asyncio(loop_scope="{loop_scope}")
        EVENTS = []

        @pytest_aioloop.fixture(loop_scope="{loop_scope}")
        async def loop():
            return asyncio.get_running_loop()

        @pytest_aioloop.fixture(loop_scope="{loop_scope}")
        async def resource():
            EVENTS.append("setup")
            yield
            await asyncio.sleep(0)
            EVENTS.append("teardown")

        @pytest.fixture
        def cancel_remaining_tasks(loop):
            yield

            async def cancel_rest():
                me = asyncio.current_task()
                rest = [t for t in asyncio.all_tasks(loop) if t is not me]
                for task in rest:
                    task.cancel()
                await asyncio.gather(*rest, return_exceptions=True)

            loop.run_until_complete(cancel_rest())

        @asyncio_mark
        async def test_async(resource, cancel_remaining_tasks, loop):
            loop.create_task(asyncio.sleep(3600))

        def test_sync(resource, cancel_remaining_tasks, loop):
            loop.create_task(asyncio.sleep(3600))

        @asyncio_mark
        async def test_next_test_runs():
            await asyncio.sleep(0)
            assert EVENTS == ["setup", "teardown"] * 2
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly", timeout=60)
    result.assert_outcomes(passed=3)
    result.stdout.no_fnmatch_line("*leaked*")


def test_a_tests_own_loop_closes_before_the_teardown_of_sync_fixtures_set_up_before(
    pytester: pytest.Pytester,
) -> None:
    # As under pytest-asyncio: a sync fixture set up before the test's loop
    # was needed sees it closed at its teardown (leftovers cancelled, the
    # executor's threads joined); kopf's and python-statemachine's autouse
    # checks for pending tasks and threads rely on it. It still finds the
    # loop current in its setup.
    pytester.makepyfile(
        """
        import asyncio
        import threading
        import warnings

        import pytest
        import pytest_aioloop

        def current_loop():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                return asyncio.get_event_loop()

        @pytest.fixture
        def checks_after_the_test():
            threads = set(threading.enumerate())
            loop = current_loop()
            yield
            assert loop.is_closed()
            assert not [t for t in asyncio.all_tasks(loop) if not t.done()]
            assert set(threading.enumerate()) <= threads

        @pytest_aioloop.fixture
        async def resource():
            yield 1

        @pytest.mark.asyncio
        async def test_leaves_a_task_and_an_executor_thread(
            checks_after_the_test, resource
        ):
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, lambda: None)
            loop.create_task(asyncio.sleep(3600))

        @pytest.mark.asyncio
        async def test_without_async_fixtures(checks_after_the_test):
            asyncio.get_running_loop().create_task(asyncio.sleep(3600))

        @pytest.fixture
        def broken():
            raise RuntimeError("setup failed")

        MADE = []

        @pytest.fixture
        def made_the_loop():
            MADE.append(current_loop())

        @pytest.mark.asyncio
        async def test_setup_fails_after_the_loop_was_made(made_the_loop, broken):
            pass

        def test_that_loop_was_closed_all_the_same():
            assert MADE[0].is_closed()
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*RuntimeError: setup failed*"])
    result.stdout.no_fnmatch_line("*ResourceWarning*")


@pytest.mark.parametrize("timeout", [None, 60])
@pytest.mark.parametrize("loop_scope", ["function", "module"])
def test_what_a_test_made_is_freed_when_it_ends_without_the_garbage_collector(
    pytester: pytest.Pytester, loop_scope: str, timeout: int | None
) -> None:
    # A test that caught the error of a task it awaited: that error went
    # through the worker's frames on its way in. Nothing of ours may keep it
    # in a reference cycle, or what the test's frames refer to (an unclosed
    # socket, whose ResourceWarning belongs to this test) lives on until a
    # later test happens to run the garbage collector.
    pytester.makeconftest(
        """
        import gc

        import pytest

        @pytest.fixture(scope="module", autouse=True)
        def no_garbage_collector():
            gc.collect()
            gc.disable()
            yield
            gc.enable()
        """
    )
    pytester.makepyfile(
        test_a=f"""
        import asyncio
        import weakref

        import pytest
        import pytest_aioloop

        class Resource:
            pass

        REFS = []

        @pytest_aioloop.fixture(loop_scope="{loop_scope}")
        async def other():
            yield

        @pytest.mark.asyncio(loop_scope="{loop_scope}", timeout={timeout})
        async def test_catches_the_error_of_a_task_it_awaited(other):
            resource = Resource()
            REFS.append(weakref.ref(resource))

            async def fail():
                assert resource is not None
                raise ValueError

            try:
                await asyncio.gather(fail())
            except ValueError:
                pass

        @pytest.mark.asyncio(loop_scope="{loop_scope}", timeout={timeout})
        async def test_fails_with_the_error_of_a_task_it_awaited(other):
            resource = Resource()
            REFS.append(weakref.ref(resource))

            async def fail():
                assert resource is not None
                raise ValueError("expected")

            await asyncio.gather(fail())

        def test_what_the_first_made_is_freed():
            assert REFS[0]() is None
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*ValueError: expected*"])


@pytest.mark.parametrize(
    "leaves", ["nothing", "a task", "a fixture"], ids=lambda leaves: leaves
)
def test_a_connection_closed_last_by_a_test_is_closed_on_both_ends_with_its_loop(
    pytester: pytest.Pytester, leaves: str
) -> None:
    # Closing a transport schedules the closing of its socket; the server's
    # end of the connection closes once it sees the client's. Both happen in
    # passes of the loop that asyncio.Runner.close() makes before it closes
    # the loop, so pytest-asyncio users never saw a ResourceWarning here.
    task = "asyncio.get_running_loop().create_future()" if leaves == "a task" else ""
    fixture = ", ready" if leaves == "a fixture" else ""
    pytester.makepyfile(
        test_a=f"""
        import asyncio
        import gc

        import pytest
        import pytest_aioloop

        @pytest.fixture(autouse=True)
        def collect_what_the_test_left():
            yield
            gc.collect()

        @pytest_aioloop.fixture
        async def ready():
            yield

        @pytest.mark.asyncio
        async def test_closes_its_connection_last(request{fixture}):
            loop = asyncio.get_running_loop()
            server = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            transport, _ = await loop.create_connection(
                asyncio.Protocol, "127.0.0.1", port
            )
            server.close()
            request.node.pending = {task or None}
            transport.close()

        @pytest.mark.asyncio
        async def test_closes_its_stream_last(request{fixture}):
            server = await asyncio.get_running_loop().create_server(
                asyncio.Protocol, "127.0.0.1", 0
            )
            port = server.sockets[0].getsockname()[1]
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            server.close()
            request.node.pending = {task or None}
            writer.close()
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2)


@pytest.mark.parametrize("timeout", [None, 60])
@pytest.mark.parametrize("loop_scope", ["function", "module"])
def test_a_failure_in_a_fixture_or_test_shows_no_frame_of_the_plugin(
    pytester: pytest.Pytester, loop_scope: str, timeout: int | None
) -> None:
    pytester.makepyfile(
        test_a=f"""
        import asyncio

        import pytest
        import pytest_aioloop

        async def breaks(message):
            raise ValueError(message)

        @pytest_aioloop.fixture(loop_scope="{loop_scope}")
        async def breaks_at_teardown():
            yield
            await asyncio.create_task(breaks("teardown broke"))

        @pytest.mark.asyncio(loop_scope="{loop_scope}", timeout={timeout})
        async def test_fails(breaks_at_teardown):
            await asyncio.create_task(breaks("test failed"))

        @pytest.mark.asyncio(loop_scope="{loop_scope}", timeout={timeout})
        async def test_fails_alone():
            await asyncio.create_task(breaks("test failed alone"))
        """
    )
    # Each error comes from another task: it is delivered into the runner's
    # frames, and so is in their traceback.
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=2, errors=1)
    result.stdout.fnmatch_lines(["*teardown broke*", "*test failed*"])
    result.stdout.no_fnmatch_line("*_runner.py*")
    result.stdout.no_fnmatch_line("*LoopRunner*")


def test_a_loop_whose_selector_is_a_stand_in_closes_as_any_other(
    pytester: pytest.Pytester,
) -> None:
    # Test loops that drive time by hand replace the selector with a mock;
    # the plugin reads a loop's selector only when it is a real one.
    pytester.makeconftest(
        """
        import asyncio

        class Keys:
            # only what asyncio itself asks of the map: not a Mapping
            def __init__(self, selector):
                self._selector = selector

            def get(self, fd, default=None):
                return self._selector.get_map().get(fd, default)

        class StandIn:
            # a selector that is not a selectors.BaseSelector (a Mock, in
            # test loops that drive time by hand)
            def __init__(self, selector):
                self._selector = selector

            def __getattr__(self, name):
                return getattr(self._selector, name)

            def get_map(self):
                return Keys(self._selector)

        def new_event_loop():
            loop = asyncio.SelectorEventLoop()
            loop._selector = StandIn(loop._selector)
            return loop

        def pytest_asyncio_loop_factories(config, item):
            return {"stand-in": new_event_loop}
        """
    )
    pytester.makepyfile(
        test_a="""
        import asyncio

        import pytest
        import pytest_aioloop

        @pytest_aioloop.fixture
        async def fixture():
            yield

        @pytest.mark.asyncio
        async def test_alone():
            await asyncio.sleep(0)

        @pytest.mark.asyncio
        async def test_with_a_fixture(fixture):
            await asyncio.sleep(0)

        @pytest.mark.asyncio(loop_scope="module")
        async def test_on_the_module_loop():
            await asyncio.sleep(0)
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=3)
