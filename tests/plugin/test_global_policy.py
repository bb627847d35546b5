"""A loop policy installed by a conftest (pytest-asyncio style) makes the loops."""

from __future__ import annotations

import pytest

CONFTEST = """
import asyncio

import uvloop

asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
"""

TESTS = """
import asyncio

import pytest
import uvloop


@pytest.mark.asyncio
async def test_loop_kind():
    print("LOOP", type(asyncio.get_running_loop()).__module__)
"""


def test_installed_policy_makes_the_loops_when_no_backend_is_chosen(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(TESTS)
    result = pytester.runpytest_subprocess("-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*LOOP uvloop*"])


def test_a_backend_chosen_on_the_command_line_wins_over_the_installed_policy(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(TESTS)
    result = pytester.runpytest_subprocess("-s", "--asyncio-backend=asyncio")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*LOOP asyncio*"])
