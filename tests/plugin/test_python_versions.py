"""The plugin on every supported Python: no deprecated asyncio API on its own
paths (the policy API warns from 3.14 on), and ready for 3.16, whose asyncio
has no event-loop policies at all."""

from __future__ import annotations

import textwrap

import pytest

# Every loop scope, with async fixtures of each kind and a sync fixture of an
# async test (which opens the test's loop early).
SCOPES_SUITE = {
    "conftest.py": """
        import asyncio

        import pytest
        import pytest_aioloop


        @pytest_aioloop.fixture(scope="session", loop_scope="session")
        async def session_value():
            await asyncio.sleep(0)
            yield "session"
            await asyncio.sleep(0)


        @pytest.fixture
        def sync_sees_loop():
            return asyncio.get_event_loop()
        """,
    "pkg/__init__.py": "",
    "pkg/test_scopes.py": """
        import asyncio

        import pytest
        import pytest_aioloop


        @pytest_aioloop.fixture(loop_scope="module", scope="module")
        async def module_value():
            yield asyncio.get_running_loop()


        @pytest.mark.asyncio
        async def test_function(session_value, sync_sees_loop):
            assert session_value == "session"
            assert sync_sees_loop is asyncio.get_running_loop()


        @pytest.mark.asyncio(loop_scope="module")
        async def test_module(module_value):
            assert module_value is asyncio.get_running_loop()


        @pytest.mark.asyncio(loop_scope="package")
        async def test_package():
            await asyncio.sleep(0)


        @pytest.mark.asyncio(loop_scope="session")
        async def test_session(session_value):
            assert session_value == "session"


        class TestClass:
            @pytest.mark.asyncio(loop_scope="class")
            async def test_one(self):
                await asyncio.sleep(0)

            @pytest.mark.asyncio(loop_scope="class")
            async def test_two(self):
                await asyncio.to_thread(sum, [1, 2])


        def test_sync():
            assert True
        """,
}

#: Run first by a conftest: asyncio as it will be in Python 3.16, without its
#: policy API (the default policy's slot included).
WITHOUT_POLICY_API = """
import asyncio
import asyncio.events

for name in (
    "get_event_loop_policy",
    "set_event_loop_policy",
    "AbstractEventLoopPolicy",
    "DefaultEventLoopPolicy",
):
    if name in vars(asyncio):
        delattr(asyncio, name)
if "_event_loop_policy" in vars(asyncio.events):
    del asyncio.events._event_loop_policy
"""


def _write(pytester: pytest.Pytester, files: dict[str, str]) -> None:
    for path, text in files.items():
        target = pytester.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))


@pytest.mark.parametrize(
    ("args", "passed"),
    [
        pytest.param([], 7, id="one-backend"),
        pytest.param(["--asyncio-backend=asyncio,uvloop"], 13, id="two-backends"),
        pytest.param(["--asyncio-backend=uvloop"], 7, id="uvloop"),
        pytest.param(["--asyncio-mode=auto"], 7, id="auto-mode"),
    ],
)
def test_no_deprecation_warning_from_the_plugin_on_any_path(
    pytester: pytest.Pytester, args: list[str], passed: int
) -> None:
    _write(pytester, SCOPES_SUITE)
    result = pytester.runpytest_subprocess("-W", "error::DeprecationWarning", *args)
    result.assert_outcomes(passed=passed)


def test_no_deprecation_warning_from_the_plugin_with_a_loop_factories_hook(
    pytester: pytest.Pytester,
) -> None:
    files = dict(SCOPES_SUITE)
    files["conftest.py"] += """
        import uvloop


        def pytest_aioloop_loop_factories(config, item):
            return {"stdlib": asyncio.SelectorEventLoop, "uv": uvloop.new_event_loop}
        """
    _write(pytester, files)
    result = pytester.runpytest_subprocess("-W", "error::DeprecationWarning")
    result.assert_outcomes(passed=13)


@pytest.mark.parametrize("backend", ["asyncio", "uvloop", "asyncio,uvloop"])
def test_without_the_policy_api_every_loop_scope_runs(
    pytester: pytest.Pytester, backend: str
) -> None:
    files = dict(SCOPES_SUITE)
    files["conftest.py"] = WITHOUT_POLICY_API + textwrap.dedent(
        files["conftest.py"]
    ).replace(
        "return asyncio.get_event_loop()",
        # no current loop to read without the policy: a running loop cannot
        # be seen from a sync fixture either
        "return None",
    )
    files["pkg/test_scopes.py"] = files["pkg/test_scopes.py"].replace(
        "assert sync_sees_loop is asyncio.get_running_loop()",
        "assert sync_sees_loop is None",
    )
    _write(pytester, files)
    result = pytester.runpytest_subprocess(
        "-W", "error::DeprecationWarning", f"--asyncio-backend={backend}"
    )
    result.assert_outcomes(passed=13 if "," in backend else 7)


def test_an_overridden_policy_without_the_policy_api_is_a_clear_error(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(
        WITHOUT_POLICY_API
        + """
import pytest


class Policy:
    def new_event_loop(self):
        return asyncio.SelectorEventLoop()


@pytest.fixture(scope="session")
def event_loop_policy():
    return Policy()
"""
    )
    pytester.makepyfile(
        """
        import pytest


        @pytest.mark.asyncio
        async def test_on_policy():
            pass


        def test_sync():
            pass
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_on_policy: the event_loop_policy fixture is overridden, but this "
            "Python's asyncio has no event-loop policies (removed in Python 3.16). "
            "Choose the loop with a backend instead*",
        ]
    )
    result.stdout.no_fnmatch_line("*AttributeError*")
    result.stdout.no_fnmatch_line("*NameError*")


def test_a_warning_raised_as_an_error_while_opening_a_loop_surfaces_as_itself(
    pytester: pytest.Pytester,
) -> None:
    # A sync fixture of an async test opens the test's loop before it runs;
    # what goes wrong there that is not a bad marker or backend is shown as
    # it is, not turned into a missing current loop.
    pytester.makeconftest(
        """
        import asyncio
        import warnings

        import pytest


        def new_loop():
            warnings.warn("this loop is deprecated", DeprecationWarning)
            return asyncio.SelectorEventLoop()


        def pytest_aioloop_loop_factories(config, item):
            return {"warns": new_loop}


        @pytest.fixture
        def sync_fixture():
            return asyncio.get_event_loop()
        """
    )
    pytester.makepyfile(
        """
        import pytest


        @pytest.mark.asyncio
        async def test_it(sync_fixture):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-W", "error::DeprecationWarning")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*DeprecationWarning: this loop is deprecated*"])
    result.stdout.no_fnmatch_line("*no current event loop*")
