"""asyncio debug mode from the ini, the command line and the marker."""

from __future__ import annotations

from collections.abc import Callable

import pytest

Ini = Callable[..., None]
Loops = Callable[[], dict[str, str]]


DEBUG_TESTS = """
import asyncio

import pytest

@pytest.mark.asyncio
async def test_default():
    print("DEBUG default", asyncio.get_running_loop().get_debug())

@pytest.mark.asyncio(debug=True)
async def test_on():
    print("DEBUG on", asyncio.get_running_loop().get_debug())

@pytest.mark.asyncio(debug=False)
async def test_off():
    print("DEBUG off", asyncio.get_running_loop().get_debug())
"""


@pytest.mark.parametrize(
    ("ini", "args", "default"),
    [
        pytest.param({}, (), False, id="nothing"),
        pytest.param({"asyncio_debug": "true"}, (), True, id="ini"),
        pytest.param({}, ("--asyncio-debug",), True, id="option"),
    ],
)
def test_debug_mode_from_ini_option_and_marker(
    pytester: pytest.Pytester,
    strict_ini: Ini,
    ini: dict[str, str],
    args: tuple[str, ...],
    default: bool,
) -> None:
    strict_ini(**ini)
    pytester.makepyfile(DEBUG_TESTS)
    result = pytester.runpytest("-s", "-p", "no:randomly", *args)
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [f"*DEBUG default {default}*", "*DEBUG on True*", "*DEBUG off False*"]
    )


def test_debug_marker_applies_to_a_function_fixture_on_its_loop(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import asyncio

        import pytest
        import pytest_aioloop

        @pytest_aioloop.fixture
        async def fixture_debug():
            return asyncio.get_running_loop().get_debug()

        @pytest.mark.asyncio(debug=True)
        async def test_on(fixture_debug):
            assert fixture_debug is True
            assert asyncio.get_running_loop().get_debug()
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)
