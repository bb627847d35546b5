"""Hypothesis: @given on async tests, in strict and auto mode."""

from __future__ import annotations

from collections.abc import Callable

import pytest

Ini = Callable[..., None]
Loops = Callable[[], dict[str, str]]


def test_hypothesis_given_runs_async_tests_for_every_example(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import asyncio

        import pytest
        import pytest_aioloop
        from hypothesis import given, settings, strategies as st

        EXAMPLES = []

        @pytest_aioloop.fixture(scope="module", loop_scope="module")
        async def offset():
            return 1

        @pytest.mark.asyncio
        @settings(max_examples=25)
        @given(st.integers())
        async def test_each_example_awaits(n):
            await asyncio.sleep(0)
            EXAMPLES.append(n)

        @pytest.mark.asyncio(loop_scope="module")
        @given(n=st.integers(min_value=0, max_value=10))
        async def test_with_a_fixture(offset, n):
            await asyncio.sleep(0)
            assert n + offset > 0

        @pytest.mark.asyncio
        @given(st.integers())
        async def test_finds_a_counterexample(n):
            await asyncio.sleep(0)
            assert n < 100

        class TestInClass:
            @pytest.mark.asyncio
            @given(st.text())
            async def test_method(self, s):
                assert isinstance(s, str)

        def test_every_example_ran():
            assert len(EXAMPLES) >= 20
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(["*test_finds_a_counterexample*", "*n=100*"])


def test_hypothesis_async_tests_run_in_auto_mode(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    strict_ini(asyncio_mode="auto")
    pytester.makepyfile(
        """
        import asyncio

        from hypothesis import given, strategies as st

        @given(st.integers())
        async def test_unmarked(n):
            assert asyncio.get_running_loop().is_running()
        """
    )
    result = pytester.runpytest("-m", "asyncio")
    result.assert_outcomes(passed=1)
