"""Overridden ``event_loop_policy`` fixtures written the ways pytest-asyncio
suites write them."""

from __future__ import annotations

import asyncio

import pytest

pytestmark = pytest.mark.skipif(
    not hasattr(asyncio.events, "_event_loop_policy"),
    reason="this Python's asyncio has no event-loop policies",
)

MARKING_POLICY = """
import asyncio
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)

    class MarkingPolicy(asyncio.DefaultEventLoopPolicy):
        def new_event_loop(self):
            loop = super().new_event_loop()
            loop.made_by_policy = True
            return loop
"""


@pytest.mark.parametrize("decorator", ["pytest.fixture", "pytest_aioloop.fixture"])
def test_a_policy_fixture_makes_the_loops_without_a_deprecation_warning(
    pytester: pytest.Pytester, decorator: str
) -> None:
    # The user's own code brings the policy in, and answers for its own
    # warnings (Python's, from 3.14 on, about the policy classes); the plugin
    # installs it while the tests run without a warning of its own. A sync
    # fixture made with pytest_aioloop.fixture has its loop opened before it
    # runs, but the event_loop_policy fixture is what makes the loop.
    pytester.makeconftest(
        MARKING_POLICY
        + f"""
import pytest
import pytest_aioloop


@{decorator}(scope="session")
def event_loop_policy():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return MarkingPolicy()
"""
    )
    pytester.makepyfile(
        """
        import asyncio

        import pytest
        import pytest_aioloop


        @pytest_aioloop.fixture
        async def loop_of_fixture():
            return asyncio.get_running_loop()


        @pytest.mark.asyncio
        async def test_function(loop_of_fixture):
            assert asyncio.get_running_loop().made_by_policy
            assert loop_of_fixture is asyncio.get_running_loop()


        @pytest.mark.asyncio(loop_scope="module")
        async def test_module():
            assert asyncio.get_running_loop().made_by_policy
        """
    )
    result = pytester.runpytest_subprocess("-W", "error::DeprecationWarning")
    result.assert_outcomes(passed=2)


def test_a_policy_fixture_that_installs_its_policy_and_yields_nothing(
    pytester: pytest.Pytester,
) -> None:
    # It yields None: the loop comes from the run's default, which follows the
    # policy installed (here by the fixture itself) when no backend is chosen.
    pytester.makeconftest(
        MARKING_POLICY
        + """
import pytest


@pytest.fixture
def event_loop_policy():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old = asyncio.get_event_loop_policy()
        asyncio.set_event_loop_policy(MarkingPolicy())
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        asyncio.set_event_loop_policy(old)
"""
    )
    pytester.makepyfile(
        """
        import asyncio

        import pytest


        @pytest.mark.asyncio
        async def test_function():
            assert asyncio.get_running_loop().made_by_policy
        """
    )
    result = pytester.runpytest_subprocess("-W", "error::DeprecationWarning")
    result.assert_outcomes(passed=1)
