"""Modes: strict handles only what is marked; auto handles every async test and
fixture except those another async plugin owns."""

from __future__ import annotations

from collections.abc import Callable

import pytest

Ini = Callable[..., None]

UNMARKED = """
import asyncio
from pathlib import Path

import pytest


async def test_unmarked():
    Path("ran-unmarked").touch()


@pytest.mark.asyncio
async def test_marked():
    await asyncio.sleep(0)
"""


def test_strict_mode_does_not_run_unmarked_async_tests(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(UNMARKED)
    result = pytester.runpytest()
    outcomes = result.parseoutcomes()
    assert outcomes["passed"] == 1
    # pytest's own verdict on an async test that no plugin ran
    result.stdout.fnmatch_lines(["*async def functions are not natively supported*"])
    assert not (pytester.path / "ran-unmarked").exists()


def test_strict_is_the_default_mode(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(UNMARKED)
    result = pytester.runpytest("-p", "no:warnings")
    assert result.parseoutcomes()["passed"] == 1
    assert not (pytester.path / "ran-unmarked").exists()
    result.stdout.fnmatch_lines(["aioloop: mode=strict*"])


def test_strict_mode_leaves_plain_async_fixtures_alone(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        from pathlib import Path

        import pytest

        @pytest.fixture
        async def plain():
            Path("ran-plain-fixture").touch()
            return 1

        @pytest.mark.asyncio
        async def test_marked(plain):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:warnings")
    assert "passed" not in result.parseoutcomes()
    assert not (pytester.path / "ran-plain-fixture").exists()


def test_a_plain_async_fixture_in_strict_mode_gets_a_hint_beside_pytests_error(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture
        async def plain():
            return 1

        @pytest.fixture
        async def plain_generator():
            yield 1

        @pytest.mark.asyncio
        async def test_marked(plain):
            pass

        def test_sync(plain_generator):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=2)
    for test, fixture in (("test_marked", "plain"), ("test_sync", "plain_generator")):
        result.stdout.fnmatch_lines(
            [
                f"*{test!r} requested an async fixture {fixture!r}*",
                "*",
                "pytest-aioloop: in strict mode (asyncio_mode = strict, the default) "
                "only async fixtures made with @pytest_aioloop.fixture run; "
                f"decorate {fixture!r} with @pytest_aioloop.fixture, or set "
                "asyncio_mode = auto.",
            ]
        )


def test_anyio_tests_and_fixtures_keep_working_beside_strict_mode(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import asyncio

        import pytest
        import pytest_aioloop

        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        @pytest.fixture
        async def anyio_resource():
            await asyncio.sleep(0)
            yield "from anyio fixture"

        @pytest.mark.anyio
        async def test_on_anyio(anyio_resource):
            await asyncio.sleep(0)
            assert anyio_resource == "from anyio fixture"

        @pytest_aioloop.fixture
        async def ours():
            return "from our fixture"

        @pytest.mark.asyncio
        async def test_on_aioloop(ours):
            assert ours == "from our fixture"
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)


AUTO_TESTS = """
import asyncio

import pytest


@pytest.fixture
async def coroutine_fixture():
    await asyncio.sleep(0)
    return asyncio.get_running_loop()


@pytest.fixture
async def generator_fixture():
    await asyncio.sleep(0)
    yield "value"
    await asyncio.sleep(0)


async def test_unmarked(coroutine_fixture, generator_fixture):
    assert generator_fixture == "value"
    assert coroutine_fixture is asyncio.get_running_loop()


class TestClass:
    async def test_method(self, generator_fixture):
        await asyncio.sleep(0)


def test_sync():
    pass
"""


def test_auto_mode_runs_every_async_test_and_fixture(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    strict_ini(asyncio_mode="auto")
    pytester.makepyfile(AUTO_TESTS)
    pytester.runpytest().assert_outcomes(passed=3)


def test_auto_mode_from_the_command_line_wins_over_the_ini(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    strict_ini(asyncio_mode="strict")
    pytester.makepyfile(AUTO_TESTS)
    result = pytester.runpytest("--asyncio-mode=auto")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["aioloop: mode=auto*"])


def test_auto_mode_marks_async_tests_so_that_m_asyncio_selects_them(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    strict_ini(asyncio_mode="auto")
    pytester.makepyfile(AUTO_TESTS)
    result = pytester.runpytest("-m", "asyncio", "-v")
    result.assert_outcomes(passed=2, deselected=1)
    result.stdout.fnmatch_lines(["*test_unmarked PASSED*", "*test_method PASSED*"])
    result = pytester.runpytest("-m", "not asyncio", "-v")
    result.assert_outcomes(passed=1, deselected=2)
    result.stdout.fnmatch_lines(["*test_sync PASSED*"])


def test_auto_mode_leaves_anyio_tests_and_their_fixtures_to_anyio(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    strict_ini(asyncio_mode="auto")
    pytester.makepyfile(
        """
        import asyncio

        import pytest

        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        @pytest.fixture
        async def resource():
            yield asyncio.get_running_loop()

        @pytest.mark.anyio
        async def test_on_anyio(resource, request):
            # run by anyio: the fixture ran on the test's (anyio's) loop
            assert resource is asyncio.get_running_loop()
            assert request.node.get_closest_marker("asyncio") is None

        async def test_uses_anyio_backend_fixture(anyio_backend, request):
            assert request.node.get_closest_marker("asyncio") is None

        async def test_ours(request):
            assert request.node.get_closest_marker("asyncio") is not None
        """
    )
    result = pytester.runpytest("-p", "no:randomly", "-v")
    result.assert_outcomes(passed=3)


def test_auto_mode_leaves_anyio_fixtures_alone_whatever_the_plugin_order(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    strict_ini(asyncio_mode="auto")
    # Registered from the conftest, after anyio's entry point: our fixture
    # hook is then called before anyio's.
    pytester.makeconftest('pytest_plugins = ["pytest_aioloop.plugin"]')
    pytester.makepyfile(
        """
        import asyncio

        import pytest

        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        @pytest.fixture
        async def resource():
            yield asyncio.get_running_loop()

        @pytest.mark.anyio
        async def test_on_anyio(resource):
            assert resource is asyncio.get_running_loop()

        async def test_ours(resource):
            assert resource is asyncio.get_running_loop()
        """
    )
    # (pytest 8.4 warns that the already imported plugin is not rewritten)
    result = pytester.runpytest(
        "-p", "no:aioloop", "-W", "ignore::pytest.PytestAssertRewriteWarning"
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["aioloop: mode=auto*"])


def test_auto_mode_leaves_trio_marked_tests_alone(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    strict_ini(asyncio_mode="auto", markers="trio: run on trio")
    pytester.makepyfile(
        """
        from pathlib import Path

        import pytest

        @pytest.mark.trio
        async def test_for_trio():
            Path("ran-trio-test").touch()
        """
    )
    result = pytester.runpytest("-p", "no:warnings")
    assert "passed" not in result.parseoutcomes()
    assert not (pytester.path / "ran-trio-test").exists()


@pytest.mark.parametrize(
    ("where", "args", "message"),
    [
        ("ini", (), "*'automatic' is not a valid value for asyncio_mode*strict, auto*"),
        (
            "cli",
            ("--asyncio-mode=automatic",),
            "*'automatic' is not a valid value for --asyncio-mode*strict, auto*",
        ),
    ],
)
def test_invalid_mode_is_a_usage_error(
    pytester: pytest.Pytester,
    strict_ini: Ini,
    where: str,
    args: tuple[str, ...],
    message: str,
) -> None:
    if where == "ini":
        strict_ini(asyncio_mode="automatic")
    pytester.makepyfile("def test_sync(): pass")
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
