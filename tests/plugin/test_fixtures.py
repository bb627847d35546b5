"""Async fixtures: pytest_aioloop.fixture, loop scopes of fixtures, teardown."""

from __future__ import annotations

from collections.abc import Callable

import pytest

Ini = Callable[..., None]
Loops = Callable[[], dict[str, str]]


def test_coroutine_and_async_generator_fixtures_give_their_values(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import asyncio

        import pytest
        import pytest_aioloop

        EVENTS = []

        @pytest_aioloop.fixture
        async def coroutine_value():
            await asyncio.sleep(0)
            return "coroutine"

        @pytest_aioloop.fixture()
        async def generator_value():
            await asyncio.sleep(0)
            EVENTS.append("setup")
            yield "generator"
            await asyncio.sleep(0)
            EVENTS.append("teardown")

        @pytest.mark.asyncio
        async def test_values(coroutine_value, generator_value):
            assert coroutine_value == "coroutine"
            assert generator_value == "generator"
            assert EVENTS == ["setup"]

        def test_teardown_ran():
            assert EVENTS == ["setup", "teardown"]

        def test_sync_test_gets_async_fixture_values(coroutine_value, generator_value):
            assert (coroutine_value, generator_value) == ("coroutine", "generator")
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=3)


def test_fixture_takes_params_ids_autouse_and_name(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import asyncio

        import pytest
        import pytest_aioloop

        AUTOUSED = []

        @pytest_aioloop.fixture(params=[1, 2], ids=["one", "two"])
        async def number(request):
            await asyncio.sleep(0)
            return request.param * 10

        @pytest_aioloop.fixture(autouse=True)
        async def always(request):
            await asyncio.sleep(0)
            AUTOUSED.append(request.node.name)
            yield

        @pytest_aioloop.fixture(name="renamed")
        async def _original_name():
            return "renamed value"

        @pytest.mark.asyncio
        async def test_number(number, renamed):
            assert number in (10, 20)
            assert renamed == "renamed value"

        def test_autouse_ran_for_every_test():
            assert AUTOUSED == [
                "test_number[one]",
                "test_number[two]",
                "test_autouse_ran_for_every_test",
            ]
        """
    )
    result = pytester.runpytest("-v", "-p", "no:randomly")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*test_number[[]one[]] PASSED*", "*[[]two[]] PASSED*"])


def test_module_fixture_is_set_up_once_on_the_module_loop(
    pytester: pytest.Pytester, strict_ini: Ini, loops: Loops
) -> None:
    pytester.makepyfile(
        """
        import pytest
        import pytest_aioloop

        SETUPS = []

        @pytest_aioloop.fixture(scope="module", loop_scope="module")
        async def shared(record_loop):
            SETUPS.append(1)
            record_loop("fixture")
            return object()

        @pytest.mark.asyncio(loop_scope="module")
        async def test_a(shared, record_loop):
            record_loop("a")

        @pytest.mark.asyncio(loop_scope="module")
        async def test_b(shared, record_loop):
            record_loop("b")
            assert SETUPS == [1]

        @pytest.mark.asyncio
        async def test_own_loop(shared, record_loop):
            record_loop("own")
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=3)
    seen = loops()
    assert seen["fixture"] == seen["a"] == seen["b"]
    assert seen["own"] != seen["a"]


def test_fixture_scope_is_its_loop_scope_when_none_is_given(
    pytester: pytest.Pytester, strict_ini: Ini, loops: Loops
) -> None:
    pytester.makepyfile(
        test_a="""
        import pytest
        import pytest_aioloop

        @pytest_aioloop.fixture(scope="session")
        async def session_fixture(record_loop):
            record_loop("session fixture")

        @pytest_aioloop.fixture(scope="module")
        async def module_fixture(record_loop):
            record_loop("module fixture")

        @pytest.mark.asyncio(loop_scope="session")
        async def test_session(session_fixture, module_fixture, record_loop):
            record_loop("session test")

        @pytest.mark.asyncio(loop_scope="module")
        async def test_module(record_loop):
            record_loop("module test")
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)
    seen = loops()
    assert seen["session fixture"] == seen["session test"]
    assert seen["module fixture"] == seen["module test"]
    assert seen["session fixture"] != seen["module fixture"]


@pytest.mark.parametrize("value", ["fixture-scope", None])
def test_default_fixture_loop_scope_fixture_scope_or_unset_is_the_fixture_scope(
    pytester: pytest.Pytester, strict_ini: Ini, loops: Loops, value: str | None
) -> None:
    if value is not None:
        strict_ini(asyncio_default_fixture_loop_scope=value)
    pytester.makepyfile(
        """
        import pytest
        import pytest_aioloop

        @pytest_aioloop.fixture(scope="module")
        async def module_fixture(record_loop):
            record_loop("module fixture")

        @pytest_aioloop.fixture
        async def function_fixture(record_loop):
            record_loop("function fixture")

        @pytest.mark.asyncio(loop_scope="module")
        async def test_module(module_fixture, function_fixture, record_loop):
            record_loop("module test")

        @pytest.mark.asyncio
        async def test_function(module_fixture, record_loop):
            record_loop("function test")
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2)
    seen = loops()
    assert seen["module fixture"] == seen["module test"] == seen["function fixture"]
    assert seen["function test"] != seen["module test"]


def test_default_fixture_loop_scope_ini_gives_fixtures_without_one_that_loop(
    pytester: pytest.Pytester, strict_ini: Ini, loops: Loops
) -> None:
    strict_ini(asyncio_default_fixture_loop_scope="session")
    pytester.makepyfile(
        test_a="""
        import pytest
        import pytest_aioloop

        @pytest_aioloop.fixture(scope="module")
        async def module_fixture(record_loop):
            record_loop(__name__ + " module fixture")

        @pytest_aioloop.fixture(scope="module", loop_scope="module")
        async def own_loop_scope(record_loop):
            record_loop(__name__ + " own loop scope")

        @pytest.mark.asyncio(loop_scope="session")
        async def test_session(module_fixture, own_loop_scope, record_loop):
            record_loop(__name__ + " session test")

        @pytest.mark.asyncio(loop_scope="module")
        async def test_module(record_loop):
            record_loop(__name__ + " module test")
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)
    seen = loops()
    assert seen["test_a module fixture"] == seen["test_a session test"]
    assert seen["test_a own loop scope"] == seen["test_a module test"]
    assert seen["test_a module test"] != seen["test_a session test"]


def test_invalid_default_fixture_loop_scope_is_a_usage_error(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    strict_ini(asyncio_default_fixture_loop_scope="forever")
    pytester.makepyfile("def test_sync(): pass")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*'forever' is not a valid asyncio_default_fixture_loop_scope*"
            "function, class, module, package, session, fixture-scope*"
        ]
    )


def test_loop_scope_narrower_than_the_fixture_scope_is_an_error_saying_why(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import pytest
        import pytest_aioloop

        @pytest_aioloop.fixture(scope="module", loop_scope="function")
        async def too_narrow():
            return 1

        @pytest.mark.asyncio
        async def test_uses_it(too_narrow):
            pass

        @pytest.mark.asyncio
        async def test_neighbour():
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*fixture 'too_narrow' has loop_scope='function', narrower than its "
            "scope='module'*outlive the loop*loop_scope='module' or wider*"
        ]
    )


def test_default_fixture_loop_scope_narrower_than_a_fixture_scope_is_an_error(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    strict_ini(asyncio_default_fixture_loop_scope="function")
    pytester.makepyfile(
        """
        import pytest
        import pytest_aioloop

        @pytest_aioloop.fixture(scope="session")
        async def wide():
            return 1

        @pytest.mark.asyncio
        async def test_uses_it(wide):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*'wide' has loop_scope='function', narrower*"])


def test_invalid_loop_scope_in_the_decorator_is_an_error_of_that_module(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        test_bad="""
        import pytest_aioloop

        @pytest_aioloop.fixture(loop_scope="forever")
        async def bad():
            return 1
        """,
        test_good="""
        import pytest

        @pytest.mark.asyncio
        async def test_fine():
            pass
        """,
    )
    result = pytester.runpytest("--continue-on-collection-errors")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*invalid loop_scope 'forever'*valid scopes: function, class, module*"]
    )


def test_function_fixture_runs_on_the_loop_of_the_test_it_serves(
    pytester: pytest.Pytester, strict_ini: Ini, loops: Loops
) -> None:
    pytester.makepyfile(
        """
        import pytest
        import pytest_aioloop

        @pytest_aioloop.fixture
        async def per_test(request, record_loop):
            record_loop("fixture for " + request.node.name)
            yield
            record_loop("teardown for " + request.node.name)

        @pytest.mark.asyncio
        async def test_function(per_test, record_loop):
            record_loop("test_function")

        @pytest.mark.asyncio(loop_scope="module")
        async def test_module(per_test, record_loop):
            record_loop("test_module")

        @pytest.mark.asyncio(loop_scope="session")
        async def test_session(per_test, record_loop):
            record_loop("test_session")

        @pytest.mark.asyncio(loop_scope="class")
        class TestClass:
            async def test_class(self, per_test, record_loop):
                record_loop("test_class")
        """
    )
    pytester.runpytest().assert_outcomes(passed=4)
    seen = loops()
    names = ("test_function", "test_module", "test_session", "test_class")
    for name in names:
        assert seen[f"fixture for {name}"] == seen[name]
        assert seen[f"teardown for {name}"] == seen[name]
    assert len({seen[name] for name in names}) == 4


def test_function_fixture_follows_the_default_test_loop_scope(
    pytester: pytest.Pytester, strict_ini: Ini, loops: Loops
) -> None:
    strict_ini(asyncio_default_test_loop_scope="module")
    pytester.makepyfile(
        """
        import pytest
        import pytest_aioloop

        @pytest_aioloop.fixture
        async def per_test(request, record_loop):
            record_loop("fixture for " + request.node.name)

        @pytest.mark.asyncio
        async def test_a(per_test, record_loop):
            record_loop("test_a")

        @pytest.mark.asyncio
        async def test_b(per_test, record_loop):
            record_loop("test_b")
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)
    seen = loops()
    assert len(set(seen.values())) == 1


def test_async_fixture_teardown_runs_before_its_loop_closes(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        test_a="""
        import asyncio

        import pytest
        import pytest_aioloop

        TORN_DOWN = {}

        def torn_down(name, loop):
            # runs in the fixture's teardown: its loop is open and running it
            assert asyncio.get_running_loop() is loop
            assert not loop.is_closed()
            TORN_DOWN[name] = loop

        @pytest_aioloop.fixture(scope="session", loop_scope="session")
        async def session_fixture():
            loop = asyncio.get_running_loop()
            yield
            await asyncio.sleep(0)
            torn_down("session", loop)

        @pytest_aioloop.fixture(scope="module", loop_scope="module")
        async def module_fixture():
            loop = asyncio.get_running_loop()
            yield
            await asyncio.sleep(0)
            torn_down("module", loop)

        @pytest_aioloop.fixture
        async def function_fixture():
            loop = asyncio.get_running_loop()
            yield
            await asyncio.sleep(0)
            torn_down("function", loop)

        @pytest.mark.asyncio(loop_scope="module")
        async def test_uses_all(session_fixture, module_fixture, function_fixture):
            pass
        """,
        test_b="""
        import test_a

        def test_fixtures_were_torn_down_and_their_loops_closed_after():
            assert set(test_a.TORN_DOWN) == {"module", "function"}
            assert test_a.TORN_DOWN["module"].is_closed()
            assert test_a.TORN_DOWN["function"] is test_a.TORN_DOWN["module"]
        """,
        conftest="""
        def pytest_sessionfinish(session):
            import test_a
            assert set(test_a.TORN_DOWN) == {"module", "function", "session"}
        """,
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2)
    assert result.ret == 0


@pytest.mark.parametrize("backend", ["asyncio", "uvloop"])
def test_shutdown_asyncgens_in_a_test_finalises_its_generator_fixtures(
    pytester: pytest.Pytester, strict_ini: Ini, backend: str
) -> None:
    # A client that drives the loop itself (gql's sync client) calls
    # loop.shutdown_asyncgens(): the fixture's generator is registered with the
    # loop, as pytest-asyncio's are, and its teardown runs there.
    pytester.makepyfile(
        """
        import asyncio
        import warnings

        import pytest
        import pytest_aioloop

        EVENTS = []

        @pytest_aioloop.fixture
        async def server():
            EVENTS.append("setup")
            try:
                yield
            finally:
                EVENTS.append("teardown")

        @pytest.mark.asyncio
        async def test_async_test_shuts_generators_down(server):
            await asyncio.get_running_loop().shutdown_asyncgens()
            assert EVENTS == ["setup", "teardown"]

        def test_sync_test_drives_the_loop_of_its_fixture(server):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                loop = asyncio.get_event_loop()
            loop.run_until_complete(loop.shutdown_asyncgens())
            assert EVENTS == ["setup", "teardown"] * 2

        def test_each_teardown_ran_once():
            assert EVENTS == ["setup", "teardown"] * 2
        """
    )
    result = pytester.runpytest("-p", "no:randomly", f"--asyncio-backend={backend}")
    result.assert_outcomes(passed=3)
    result.stdout.no_fnmatch_line("*leaked*")


@pytest.mark.parametrize("backend", ["asyncio", "uvloop"])
def test_sync_fixture_made_with_fixture_outlives_its_loop_opening(
    pytester: pytest.Pytester, strict_ini: Ini, backend: str
) -> None:
    # Under pytest-asyncio a sync fixture made with its fixture decorator
    # requests its loop: the loop is open before it and closed after its
    # teardown, which may drive the loop itself (kopf's autouse fixture).
    pytester.makepyfile(
        """
        import asyncio
        import warnings

        import pytest
        import pytest_aioloop

        DRIVEN = []

        def current_loop():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                return asyncio.get_event_loop()

        @pytest_aioloop.fixture(autouse=True)
        def drives_the_loop_at_teardown():
            loop = current_loop()
            yield
            loop.run_until_complete(asyncio.sleep(0))
            DRIVEN.append(loop)

        @pytest_aioloop.fixture(scope="module", loop_scope="module")
        def module_resource():
            loop = current_loop()
            yield loop
            loop.run_until_complete(asyncio.sleep(0))
            DRIVEN.append(loop)

        @pytest_aioloop.fixture
        async def running_loop():
            return asyncio.get_running_loop()

        def test_sync(running_loop, module_resource):
            assert current_loop() is running_loop
            assert module_resource is not running_loop

        @pytest.mark.asyncio
        async def test_async(running_loop):
            assert asyncio.get_running_loop() is running_loop
        """
    )
    pytester.makepyfile(
        test_z="""
        import test_sync_fixture_made_with_fixture_outlives_its_loop_opening as t

        def test_every_teardown_drove_its_loop_and_the_loops_closed_after():
            assert len(t.DRIVEN) == 3
            assert all(loop.is_closed() for loop in t.DRIVEN)
        """
    )
    result = pytester.runpytest("-p", "no:randomly", f"--asyncio-backend={backend}")
    result.assert_outcomes(passed=3)
    assert result.ret == 0


def test_async_fixtures_depend_on_each_other_and_on_sync_fixtures(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import asyncio

        import pytest
        import pytest_aioloop

        @pytest.fixture
        def sync_base():
            return 1

        @pytest_aioloop.fixture
        async def first(sync_base):
            await asyncio.sleep(0)
            return sync_base + 1

        @pytest_aioloop.fixture
        async def second(first):
            await asyncio.sleep(0)
            yield first + 1

        @pytest.fixture
        def sync_on_top(second):
            return second + 1

        @pytest.mark.asyncio
        async def test_chain(sync_on_top):
            assert sync_on_top == 4
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_fixture_defined_in_a_class_gets_the_test_instance(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import pytest
        import pytest_aioloop

        @pytest.mark.asyncio
        class TestClass:
            @pytest_aioloop.fixture
            async def remember(self):
                self.remembered = "set by fixture"
                yield self

            async def test_same_instance(self, remember):
                assert remember is self
                assert self.remembered == "set by fixture"
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_failing_fixture_setup_and_teardown_are_reported_on_the_test(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import pytest
        import pytest_aioloop

        @pytest_aioloop.fixture
        async def broken_setup():
            raise LookupError("setup went wrong")

        @pytest_aioloop.fixture
        async def broken_teardown():
            yield
            raise KeyError("teardown went wrong")

        @pytest_aioloop.fixture
        async def never_yields():
            if False:
                yield

        @pytest_aioloop.fixture
        async def yields_twice():
            yield 1
            yield 2

        @pytest.mark.asyncio
        async def test_setup(broken_setup):
            pass

        @pytest.mark.asyncio
        async def test_teardown(broken_teardown):
            pass

        @pytest.mark.asyncio
        async def test_never_yields(never_yields):
            pass

        @pytest.mark.asyncio
        async def test_yields_twice(yields_twice):
            pass

        @pytest.mark.asyncio
        async def test_fine():
            pass
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=3, errors=4)
    result.stdout.fnmatch_lines(
        [
            "*LookupError: setup went wrong*",
            "*KeyError: 'teardown went wrong'*",
            "*async fixture 'never_yields' did not yield a value*",
            "*async fixture 'yields_twice' yielded more than once*",
        ],
        consecutive=False,
    )


def test_auto_mode_async_fixtures_follow_the_loop_scope_defaults(
    pytester: pytest.Pytester, strict_ini: Ini, loops: Loops
) -> None:
    strict_ini(asyncio_mode="auto")
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture(scope="module")
        async def module_fixture(record_loop):
            record_loop("module fixture")
            yield
            record_loop("module fixture teardown")

        @pytest.mark.asyncio(loop_scope="module")
        async def test_module(module_fixture, record_loop):
            record_loop("module test")

        async def test_function(module_fixture, record_loop):
            record_loop("function test")
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)
    seen = loops()
    assert seen["module fixture"] == seen["module test"]
    assert seen["module fixture teardown"] == seen["module test"]
    assert seen["function test"] != seen["module test"]


def test_a_fixture_error_of_the_plugin_is_reported_on_every_test_using_it(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import pytest
        import pytest_aioloop

        @pytest_aioloop.fixture(scope="module", loop_scope="function")
        async def too_narrow():
            return 1

        @pytest.fixture
        def sync_fixture():
            return 1

        @pytest.mark.asyncio
        async def test_a(too_narrow):
            pass

        @pytest.mark.asyncio
        async def test_b(too_narrow):
            pass

        @pytest.mark.asyncio(loop_scope="classy")
        async def test_bad_marker_with_fixtures(sync_fixture):
            pass

        @pytest.mark.asyncio(loop_scope="classy")
        async def test_bad_marker_again(sync_fixture):
            pass

        @pytest.mark.asyncio
        async def test_fine(sync_fixture):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    outcomes = result.parseoutcomes()
    assert outcomes["passed"] == 1
    assert outcomes.get("failed", 0) + outcomes.get("errors", 0) == 4
    assert "AssertionError" not in result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_a *",
            "*'too_narrow' has loop_scope='function', narrower*",
            "*ERROR at setup of test_b *",
            "*'too_narrow' has loop_scope='function', narrower*",
            "*test_bad_marker_with_fixtures: *invalid loop scope 'classy'*",
            "*test_bad_marker_again: *invalid loop scope 'classy'*",
        ]
    )


def test_fixture_runs_on_the_loop_of_its_loop_scope_not_the_tests(
    pytester: pytest.Pytester, strict_ini: Ini, loops: Loops
) -> None:
    pytester.makepyfile(
        """
        import pytest
        import pytest_aioloop

        @pytest_aioloop.fixture(loop_scope="module")
        async def on_module_loop(request, record_loop):
            record_loop("fixture for " + request.node.name)

        @pytest_aioloop.fixture(loop_scope="session")
        async def on_session_loop(request, record_loop):
            record_loop("session fixture for " + request.node.name)

        @pytest.mark.asyncio
        async def test_a(on_module_loop, on_session_loop, record_loop):
            record_loop("test_a")

        @pytest.mark.asyncio(loop_scope="module")
        async def test_b(on_module_loop, record_loop):
            record_loop("test_b")

        @pytest.mark.asyncio(loop_scope="session")
        async def test_c(on_session_loop, record_loop):
            record_loop("test_c")
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=3)
    seen = loops()
    assert seen["fixture for test_a"] == seen["fixture for test_b"] == seen["test_b"]
    assert seen["session fixture for test_a"] == seen["test_c"]
    assert seen["session fixture for test_c"] == seen["test_c"]
    assert len({seen["test_a"], seen["test_b"], seen["test_c"]}) == 3


def test_class_fixture_runs_on_the_class_loop(
    pytester: pytest.Pytester, strict_ini: Ini, loops: Loops
) -> None:
    pytester.makepyfile(
        """
        import pytest
        import pytest_aioloop

        @pytest.mark.asyncio(loop_scope="class")
        class TestA:
            @pytest_aioloop.fixture(scope="class")
            @classmethod
            async def resource(cls, record_loop):
                record_loop(cls.__name__ + " fixture")
                yield
                record_loop(cls.__name__ + " teardown")

            async def test_one(self, resource, record_loop):
                record_loop(type(self).__name__ + " one")

            async def test_two(self, resource, record_loop):
                record_loop(type(self).__name__ + " two")

        class TestB(TestA):
            pass
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=4)
    seen = loops()
    a = {seen[f"TestA {k}"] for k in ("fixture", "teardown", "one", "two")}
    b = {seen[f"TestB {k}"] for k in ("fixture", "teardown", "one", "two")}
    assert len(a) == 1
    assert len(b) == 1
    assert a != b


def test_async_fixture_requested_dynamically_from_async_code_fails_clearly(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import asyncio

        import pytest
        import pytest_aioloop

        @pytest_aioloop.fixture
        async def dynamic():
            return 5

        @pytest.mark.asyncio
        async def test_from_async_test(request):
            request.getfixturevalue("dynamic")

        @pytest.mark.asyncio
        async def test_next_is_fine():
            await asyncio.sleep(0)

        def test_from_sync_test(request):
            assert request.getfixturevalue("dynamic") == 5
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*setup of fixture 'dynamic' cannot run while an event loop is running*"
            "request.getfixturevalue()*Request it as an argument*"
        ]
    )


def test_package_loop_fixture_follows_the_package_of_the_requesting_test(
    pytester: pytest.Pytester, strict_ini: Ini, loops: Loops
) -> None:
    conftest = (pytester.path / "conftest.py").read_text()
    (pytester.path / "conftest.py").write_text(
        conftest
        + """

import pytest_aioloop

SETUPS = []


@pytest_aioloop.fixture(scope="package", loop_scope="package")
async def package_resource(record_loop):
    SETUPS.append(len(SETUPS) + 1)
    number = SETUPS[-1]
    record_loop(f"setup {number}")
    yield
    record_loop(f"teardown {number}")
"""
    )
    for package in ("one", "two"):
        (pytester.path / package).mkdir()
        (pytester.path / package / "__init__.py").write_text("")
        (pytester.path / package / "test_it.py").write_text(
            "import pytest\n\n"
            "@pytest.mark.asyncio(loop_scope='package')\n"
            "async def test_it(package_resource, record_loop):\n"
            f"    record_loop('{package}')\n"
        )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)
    seen = loops()
    # set up once per package, on that package's loop, torn down before it
    for number, package in ((1, "one"), (2, "two")):
        assert seen[f"setup {number}"] == seen[package]
        assert seen[f"teardown {number}"] == seen[package]
    assert seen["one"] != seen["two"]


def test_fixture_takes_a_dynamic_scope(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import asyncio

        import pytest
        import pytest_aioloop

        SETUPS = []

        def module_scope(fixture_name, config):
            return "module"

        @pytest_aioloop.fixture(scope=module_scope)
        async def dynamic():
            SETUPS.append(asyncio.get_running_loop())
            yield

        @pytest.mark.asyncio(loop_scope="module")
        async def test_a(dynamic):
            assert SETUPS == [asyncio.get_running_loop()]

        @pytest.mark.asyncio(loop_scope="module")
        async def test_b(dynamic):
            assert SETUPS == [asyncio.get_running_loop()]
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)
