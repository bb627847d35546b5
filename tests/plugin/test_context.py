"""One task per loop: fixtures and tests share the loop's task; contexts flow
from fixtures to tests but not from one test to the next."""

from __future__ import annotations

from collections.abc import Callable

import pytest

Ini = Callable[..., None]


@pytest.fixture(autouse=True, params=["asyncio", "uvloop"])
def backend(request: pytest.FixtureRequest, strict_ini: Ini) -> None:
    """Every test here runs on both built-in backends."""
    strict_ini(asyncio_backend=request.param)


def test_test_runs_in_the_task_of_its_async_generator_fixtures(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import asyncio

        import pytest
        import pytest_aioloop

        @pytest_aioloop.fixture
        async def function_task():
            task = asyncio.current_task()
            yield task
            assert asyncio.current_task() is task

        @pytest_aioloop.fixture(scope="module", loop_scope="module")
        async def module_task():
            task = asyncio.current_task()
            yield task
            assert asyncio.current_task() is task

        @pytest.mark.asyncio
        async def test_function_loop(function_task):
            assert asyncio.current_task() is function_task

        @pytest.mark.asyncio(loop_scope="module")
        async def test_module_loop(module_task, function_task):
            assert asyncio.current_task() is module_task
            assert function_task is module_task

        @pytest.mark.asyncio(loop_scope="module")
        async def test_module_loop_again(module_task):
            assert asyncio.current_task() is module_task
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=3)


def test_plain_async_fixtures_and_tests_sharing_a_loop_share_its_task(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    """Not only a fixture suspended across its yield keeps the task: every
    fixture and test on a loop runs in that loop's one task (as anyio does)."""
    pytester.makepyfile(
        """
        import asyncio

        import pytest
        import pytest_aioloop

        SEEN = []

        @pytest_aioloop.fixture
        async def function_task():
            return asyncio.current_task()

        @pytest_aioloop.fixture(scope="module", loop_scope="module")
        async def module_task():
            return asyncio.current_task()

        @pytest.mark.asyncio
        async def test_function_loop(function_task):
            assert asyncio.current_task() is function_task

        @pytest.mark.asyncio(loop_scope="module")
        async def test_module_loop(module_task, function_task):
            assert asyncio.current_task() is module_task
            assert function_task is module_task
            SEEN.append(asyncio.current_task())

        @pytest.mark.asyncio(loop_scope="module")
        async def test_module_loop_again(module_task):
            assert asyncio.current_task() is module_task
            SEEN.append(asyncio.current_task())

        @pytest.mark.asyncio(loop_scope="module")
        async def test_module_loop_without_fixtures():
            assert len(SEEN) == 2
            assert asyncio.current_task() is SEEN[0] is SEEN[1]
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=4)


def test_fixture_holds_a_task_group_across_its_yield(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import asyncio

        import pytest
        import pytest_aioloop

        RESULTS = []

        async def worker(queue):
            while (item := await queue.get()) is not None:
                RESULTS.append(item * 2)

        @pytest_aioloop.fixture(scope="module", loop_scope="module")
        async def queue():
            queue = asyncio.Queue()
            async with asyncio.TaskGroup() as group:
                group.create_task(worker(queue))
                yield queue
                await queue.put(None)
            RESULTS.append("group done")

        @pytest_aioloop.fixture
        async def group():
            async with asyncio.TaskGroup() as group:
                yield group

        @pytest.mark.asyncio(loop_scope="module")
        async def test_first(queue, group):
            await queue.put(1)
            group.create_task(queue.put(2))
            await asyncio.sleep(0.01)
            assert RESULTS == [2, 4]

        @pytest.mark.asyncio(loop_scope="module")
        async def test_second(queue):
            await queue.put(3)
            await asyncio.sleep(0.01)
            assert RESULTS == [2, 4, 6]

        def test_group_ended_with_the_module():
            pass
        """,
    )
    pytester.makeconftest(
        """
        def pytest_sessionfinish(session):
            import test_fixture_holds_a_task_group_across_its_yield as tests
            assert tests.RESULTS == [2, 4, 6, "group done"]
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=3)
    assert result.ret == 0


def test_fixture_holds_a_timeout_across_its_yield(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import asyncio

        import pytest
        import pytest_aioloop

        @pytest_aioloop.fixture
        async def deadline():
            async with asyncio.timeout(0.2):
                yield

        @pytest_aioloop.fixture
        async def generous():
            async with asyncio.timeout(10) as scope:
                yield scope
            assert not scope.expired()

        @pytest.mark.asyncio
        async def test_too_slow(deadline):
            await asyncio.sleep(5)

        @pytest.mark.asyncio
        async def test_in_time(generous):
            await asyncio.sleep(0)
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["FAILED *::test_too_slow*"])
    assert result.duration < 4


def test_fixture_holds_an_anyio_cancel_scope_across_its_yield(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import asyncio

        import anyio
        import pytest
        import pytest_aioloop

        @pytest_aioloop.fixture
        async def cancel_scope():
            # anyio refuses to exit a cancel scope in another task than the
            # one that entered it
            with anyio.CancelScope() as scope:
                yield scope
            assert not scope.cancel_called

        @pytest_aioloop.fixture
        async def deadline():
            with anyio.fail_after(0.2):
                yield

        @pytest_aioloop.fixture
        async def task_group():
            async with anyio.create_task_group() as group:
                yield group
                group.cancel_scope.cancel()

        @pytest.mark.asyncio
        async def test_inside_the_fixture_scope(cancel_scope):
            await anyio.sleep(0)

        @pytest.mark.asyncio
        async def test_too_slow(deadline):
            await anyio.sleep(5)

        @pytest.mark.asyncio
        async def test_anyio_task_group_from_a_fixture(task_group):
            started = anyio.Event()

            async def child():
                started.set()
                await anyio.sleep_forever()

            task_group.start_soon(child)
            await started.wait()
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["FAILED *::test_too_slow*"])
    assert result.duration < 4


def test_context_variables_set_in_fixtures_are_seen_by_the_test(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import contextvars

        import pytest
        import pytest_aioloop

        FROM_COROUTINE = contextvars.ContextVar("from_coroutine", default="unset")
        FROM_GENERATOR = contextvars.ContextVar("from_generator", default="unset")
        FROM_MODULE = contextvars.ContextVar("from_module", default="unset")

        @pytest_aioloop.fixture(scope="module", loop_scope="module")
        async def module_var():
            FROM_MODULE.set("module")
            yield

        @pytest_aioloop.fixture
        async def coroutine_var():
            FROM_COROUTINE.set("coroutine")

        @pytest_aioloop.fixture
        async def generator_var():
            token = FROM_GENERATOR.set("generator")
            yield
            # the teardown runs in the context of the setup
            assert FROM_GENERATOR.get() == "generator"
            FROM_GENERATOR.reset(token)

        @pytest.mark.asyncio(loop_scope="module")
        async def test_sees_fixture_vars(module_var, coroutine_var, generator_var):
            assert FROM_COROUTINE.get() == "coroutine"
            assert FROM_GENERATOR.get() == "generator"
            assert FROM_MODULE.get() == "module"

        @pytest.mark.asyncio(loop_scope="module")
        async def test_other_test_without_the_fixtures():
            assert FROM_COROUTINE.get() == "unset"
            assert FROM_GENERATOR.get() == "unset"

        def test_sync_test_sees_fixture_vars(coroutine_var):
            assert FROM_COROUTINE.get() == "coroutine"
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=3)


def test_a_tests_context_changes_do_not_leak_into_the_next_test(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import contextvars

        import pytest
        import pytest_aioloop

        VAR = contextvars.ContextVar("var", default="unset")

        @pytest_aioloop.fixture(scope="module", loop_scope="module")
        async def shared():
            yield

        @pytest.mark.asyncio(loop_scope="module")
        class TestSharedLoop:
            async def test_sets(self, shared):
                VAR.set("set by a test")

            async def test_does_not_see_it(self, shared):
                assert VAR.get() == "unset"

        @pytest.mark.asyncio(loop_scope="session")
        async def test_session_sets():
            VAR.set("set by a test")

        @pytest.mark.asyncio(loop_scope="session")
        async def test_session_does_not_see_it():
            assert VAR.get() == "unset"

        def test_sync_does_not_see_it():
            assert VAR.get() == "unset"
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=5)


def test_tasks_created_by_a_test_inherit_the_fixture_context(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import asyncio
        import contextvars

        import pytest
        import pytest_aioloop

        VAR = contextvars.ContextVar("var", default="unset")

        @pytest_aioloop.fixture
        async def configured():
            VAR.set("configured")
            yield

        @pytest.mark.asyncio
        async def test_child_task_sees_it(configured):
            async def read():
                return VAR.get()

            assert await asyncio.create_task(read()) == "configured"
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)
