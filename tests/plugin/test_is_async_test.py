"""pytest_aioloop.is_async_test: which tests the plugin runs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

Ini = Callable[..., None]
Loops = Callable[[], dict[str, str]]


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
    pytester.makepyfile(
        """
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
        """
    )
    result = pytester.runpytest("-s", "-p", "no:randomly", "--co")
    result.stdout.fnmatch_lines(
        [
            "ASYNC test_marked True",
            "ASYNC test_unmarked False",
            "ASYNC test_sync False",
            "ASYNC test_anyio False",
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
        ]
    )


def test_is_async_test_is_public_and_typed() -> None:
    import pytest_aioloop

    assert "is_async_test" in pytest_aioloop.__all__
    assert pytest_aioloop.is_async_test.__annotations__["return"] in (bool, "bool")
