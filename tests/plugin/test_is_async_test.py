"""pytest_aioloop.is_async_test: which tests the plugin runs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

Ini = Callable[..., None]
Loops = Callable[[], dict[str, str]]

#: A marked async test, an unmarked one, a sync one, one of anyio's and one
#: of unittest's: only the marked one is the plugin's in strict mode, and the
#: unmarked one too in auto mode.
TESTS_OF_EVERY_KIND = """
import unittest

import pytest

@pytest.fixture
def anyio_backend():
    return "asyncio"

@pytest.mark.asyncio
async def test_marked():
    pass

async def test_unmarked():
    pass

def test_sync():
    pass

@pytest.mark.anyio
async def test_anyio():
    pass

class TestCase(unittest.IsolatedAsyncioTestCase):
    async def test_in_unittest(self):
        pass
"""


def test_is_async_test_tells_which_tests_the_plugin_runs(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makeconftest(
        """
        import pytest_aioloop

        def pytest_collection_modifyitems(items):
            for item in items:
                print("ASYNC", item.name, pytest_aioloop.is_async_test(item))
        """
    )
    pytester.makepyfile(TESTS_OF_EVERY_KIND)
    result = pytester.runpytest("-s", "-p", "no:randomly", "--co")
    result.stdout.fnmatch_lines(
        [
            "ASYNC test_marked True",
            "ASYNC test_unmarked False",
            "ASYNC test_sync False",
            "ASYNC test_anyio False",
            "ASYNC test_in_unittest False",
        ]
    )
    result = pytester.runpytest(
        "-s", "-p", "no:randomly", "--co", "--asyncio-mode=auto"
    )
    result.stdout.fnmatch_lines(
        [
            "ASYNC test_marked True",
            "ASYNC test_unmarked True",
            "ASYNC test_sync False",
            "ASYNC test_anyio False",
            "ASYNC test_in_unittest False",
        ]
    )


@pytest.mark.parametrize("order", ["tryfirst=True", "trylast=True"])
def test_is_async_test_answers_in_every_modifyitems_and_the_marks_it_adds_count(
    pytester: pytest.Pytester, strict_ini: Ini, order: str
) -> None:
    # pytest-asyncio's documented pattern (a session loop for every async
    # test, added at collection), from a conftest hook ordered first or last.
    pytester.makeconftest(
        f"""
        import pytest
        import pytest_aioloop

        @pytest.hookimpl({order})
        def pytest_collection_modifyitems(items):
            marker = pytest.mark.asyncio(loop_scope="session")
            for item in items:
                if pytest_aioloop.is_async_test(item):
                    item.add_marker(marker, append=False)
        """
    )
    pytester.makepyfile(
        test_a="""
        import asyncio
        import pytest

        LOOPS = []

        @pytest.mark.asyncio
        async def test_one():
            LOOPS.append(asyncio.get_running_loop())

        def test_sync():
            pass
        """,
        test_b="""
        import asyncio
        import pytest
        from test_a import LOOPS

        @pytest.mark.asyncio
        async def test_two():
            assert LOOPS == [asyncio.get_running_loop()]
        """,
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=3)


def test_is_async_test_is_public_and_typed() -> None:
    import pytest_aioloop

    assert "is_async_test" in pytest_aioloop.__all__
    assert pytest_aioloop.is_async_test.__annotations__["return"] in (bool, "bool")


@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_is_async_test_answers_the_same_before_the_plugin_noted_its_tests(
    pytester: pytest.Pytester, strict_ini: Ini, mode: str
) -> None:
    # pytest-asyncio answers from the moment an item exists: in a
    # pytest_itemcollected hook, and in a modifyitems wrapper ordered first.
    pytester.makeconftest(
        """
        import pytest
        import pytest_aioloop

        def pytest_itemcollected(item):
            print("COLLECTED", item.name, pytest_aioloop.is_async_test(item))

        class First:
            @pytest.hookimpl(wrapper=True, tryfirst=True)
            def pytest_collection_modifyitems(self, items):
                for item in items:
                    print("BEFORE", item.name, pytest_aioloop.is_async_test(item))
                result = yield
                for item in items:
                    print("AFTER", item.name, pytest_aioloop.is_async_test(item))
                return result

        def pytest_configure(config):
            config.pluginmanager.register(First(), "first-wrapper")
        """
    )
    pytester.makepyfile(TESTS_OF_EVERY_KIND)
    result = pytester.runpytest("-s", "-p", "no:randomly", f"--asyncio-mode={mode}")
    result.assert_outcomes(passed=5 if mode == "auto" else 4, failed=mode == "strict")
    auto = mode == "auto"
    for when in ("COLLECTED", "BEFORE", "AFTER"):
        result.stdout.fnmatch_lines(
            [
                f"*{when} test_marked True",
                f"*{when} test_unmarked {auto}",
                f"*{when} test_sync False",
                f"*{when} test_anyio False",
                f"*{when} test_in_unittest False",
            ],
            consecutive=False,
        )


def test_a_mark_added_after_the_plugin_noted_its_tests_does_not_make_one_of_its(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    # Marks added by a later modifyitems do not make a test the plugin's (as
    # with pytest-asyncio): is_async_test keeps saying what the plugin runs.
    pytester.makeconftest(
        """
        import pytest
        import pytest_aioloop

        def pytest_collection_modifyitems(items):
            for item in items:
                item.add_marker(pytest.mark.asyncio)

        def pytest_collection_finish(session):
            for item in session.items:
                print("FINISH", item.name, pytest_aioloop.is_async_test(item))
        """
    )
    pytester.makepyfile(
        """
        async def test_unmarked():
            pass
        """
    )
    result = pytester.runpytest("-s", "-p", "no:randomly", "--co")
    result.stdout.fnmatch_lines(["*FINISH test_unmarked False"])
