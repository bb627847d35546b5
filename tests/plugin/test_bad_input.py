"""Bad input gets a clear answer: what is wrong, the value, the valid values.

Invalid options stop the run with a usage error before any test runs; a
misused marker fails only the test that carries it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

Ini = Callable[..., None]

ONE_TEST = """
import pytest


@pytest.mark.asyncio
async def test_a():
    pass
"""

SCOPES = "function, class, module, package, session"


@pytest.mark.parametrize(
    ("args", "ini", "message"),
    [
        (
            ["--asyncio-mode=sometimes"],
            {},
            "ERROR: 'sometimes' is not a valid value for --asyncio-mode; "
            "valid values: strict, auto.",
        ),
        (
            [],
            {"asyncio_mode": "sometimes"},
            "ERROR: 'sometimes' is not a valid value for asyncio_mode; "
            "valid values: strict, auto.",
        ),
        (
            [],
            {"asyncio_default_fixture_loop_scope": "galaxy"},
            "ERROR: 'galaxy' is not a valid asyncio_default_fixture_loop_scope; "
            f"valid values: {SCOPES}, fixture-scope.",
        ),
        (
            [],
            {"asyncio_default_test_loop_scope": "galaxy"},
            "ERROR: 'galaxy' is not a valid asyncio_default_test_loop_scope; "
            f"valid values: {SCOPES}.",
        ),
        (
            [],
            {"asyncio_timeout": "soon"},
            "ERROR: asyncio_timeout must be a positive number of seconds, "
            "or 0 or none for no limit, got 'soon'.",
        ),
        (
            [],
            {"asyncio_timeout": "-2"},
            "ERROR: asyncio_timeout must be a positive number of seconds, "
            "or 0 or none for no limit, got '-2'.",
        ),
        (
            ["--asyncio-timeout=-0.5"],
            {},
            "ERROR: --asyncio-timeout must be a positive number of seconds, "
            "or 0 or none for no limit, got '-0.5'.",
        ),
        (
            ["--asyncio-timeout=inf"],
            {},
            "ERROR: --asyncio-timeout must be a positive number of seconds, "
            "or 0 or none for no limit, got 'inf'.",
        ),
        (
            [],
            {"asyncio_leaks": "shout"},
            "ERROR: 'shout' is not a valid value for asyncio_leaks; "
            "valid values: report, warn, fail, ignore.",
        ),
        (
            ["--asyncio-leaks=shout"],
            {},
            "ERROR: 'shout' is not a valid value for --asyncio-leaks; "
            "valid values: report, warn, fail, ignore.",
        ),
        (
            ["--asyncio-backend=nosuchloop"],
            {},
            "ERROR: --asyncio-backend: unknown event loop backend 'nosuchloop'; "
            "installed backends: asyncio, uvloop*",
        ),
        (
            [],
            {"asyncio_backend": "nosuchloop"},
            "ERROR: ini asyncio_backend: unknown event loop backend 'nosuchloop'; "
            "installed backends: asyncio, uvloop*",
        ),
        (
            ["--asyncio-backend=,"],
            {},
            "ERROR: --asyncio-backend needs at least one backend name.",
        ),
    ],
)
def test_invalid_option_is_a_usage_error_naming_it_and_the_valid_values(
    pytester: pytest.Pytester,
    strict_ini: Ini,
    args: list[str],
    ini: dict[str, str],
    message: str,
) -> None:
    strict_ini(**ini)
    pytester.makepyfile(test_it=ONE_TEST)
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "passed" not in result.stdout.str()


def test_marker_misuse_fails_that_test_only_and_says_why(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        test_it="""
        import pytest


        @pytest.mark.asyncio("module")
        async def test_positional():
            pass


        @pytest.mark.asyncio(loop_scop="module")
        async def test_unknown_keyword():
            pass


        @pytest.mark.asyncio(looop_scope="module", timout=1, zzz=0)
        async def test_unknown_keywords():
            pass


        @pytest.mark.asyncio(loop_scope="galaxy")
        async def test_bad_scope():
            pass


        @pytest.mark.asyncio(loop_scope="class")
        async def test_class_scope_outside_a_class():
            pass


        @pytest.mark.asyncio(loop_scope="module", scope="session")
        async def test_scope_conflict():
            pass


        @pytest.mark.asyncio(backend="nosuchloop")
        async def test_unknown_backend():
            pass


        @pytest.mark.asyncio(timeout=-1)
        async def test_negative_timeout():
            pass


        @pytest.mark.asyncio(timeout="soon")
        async def test_text_timeout():
            pass


        @pytest.mark.asyncio(timeout=True)
        async def test_bool_timeout():
            pass


        @pytest.mark.asyncio
        async def test_fine():
            pass


        def test_sync_neighbour():
            pass
        """
    )
    result = pytester.runpytest()
    outcomes = result.parseoutcomes()
    assert outcomes["passed"] == 2
    assert outcomes.get("failed", 0) + outcomes.get("errors", 0) == 10
    keywords = (
        "backend, debug, idle_limit, leaks, loop_factories, loop_scope, scope, timeout"
    )
    positive = "must be a positive number of seconds, or 0 or none for no limit"
    result.stdout.fnmatch_lines_random(
        [
            "test_it.py::test_positional: mark.asyncio takes keyword arguments only, "
            "got positional ('module',) (did you mean loop_scope='module'?); "
            f"valid keywords: {keywords}.",
            "test_it.py::test_unknown_keyword: mark.asyncio got unknown keyword(s) "
            f"'loop_scop' (did you mean 'loop_scope'?); valid keywords: {keywords}.",
            "test_it.py::test_unknown_keywords: mark.asyncio got unknown keyword(s) "
            "'looop_scope', 'timout', 'zzz' (did you mean 'loop_scope' for "
            f"'looop_scope', 'timeout' for 'timout'?); valid keywords: {keywords}.",
            "test_it.py::test_bad_scope: mark.asyncio got an invalid loop scope "
            f"'galaxy'; valid scopes: {SCOPES}.",
            "test_it.py::test_class_scope_outside_a_class: loop_scope='class' needs a "
            "test inside a class; this test is not in one.*",
            "test_it.py::test_scope_conflict: mark.asyncio got scope='session' and "
            "loop_scope='module'; they mean the same thing, give one.",
            "test_it.py::test_unknown_backend: unknown backend 'nosuchloop' in "
            "mark.asyncio; installed backends: asyncio, uvloop*",
            f"test_it.py::test_negative_timeout: mark.asyncio timeout= {positive}, "
            "got -1.",
            f"test_it.py::test_text_timeout: mark.asyncio timeout= {positive}, "
            "got 'soon'.",
            f"test_it.py::test_bool_timeout: mark.asyncio timeout= {positive}, "
            "got True.",
        ]
    )


def test_marker_on_a_sync_function_warns_and_runs_it(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(
        test_it="""
        import pytest
        from pathlib import Path


        @pytest.mark.asyncio
        def test_sync():
            Path("ran").touch()


        @pytest.mark.asyncio
        async def test_async():
            pass
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*PytestWarning: test_it.py::test_sync is marked with @pytest.mark.asyncio "
            "but is not an async function; the marker does nothing here.*"
        ]
    )
    assert (pytester.path / "ran").exists()


def test_async_generator_test_fails_saying_it_is_unsupported(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        test_it="""
        import pytest


        @pytest.mark.asyncio
        async def test_generator():
            yield 1


        @pytest.mark.asyncio
        async def test_after():
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "test_it.py::test_generator is an async generator (its body has 'yield'); "
            "async generator tests are not supported. Make it a coroutine*"
        ]
    )


@pytest.mark.parametrize("backends", [[], ["--asyncio-backend=asyncio,uvloop"]])
def test_a_backend_chosen_in_error_is_an_error_of_that_tests_setup(
    pytester: pytest.Pytester, strict_ini: Ini, backends: list[str]
) -> None:
    # On one backend as on several, and the tests after it are unaffected.
    pytester.makepyfile(
        test_it="""
        import pytest


        @pytest.mark.asyncio(backend="nosuchloop")
        async def test_unknown_backend():
            pass


        @pytest.mark.asyncio
        async def test_after_it(asyncio_backend):
            assert asyncio_backend in ("asyncio", "uvloop")
        """
    )
    result = pytester.runpytest(*backends)
    result.assert_outcomes(passed=2 if backends else 1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_unknown_backend*",
            "test_it.py::test_unknown_backend: unknown backend 'nosuchloop' in "
            "mark.asyncio; installed backends: asyncio, uvloop*",
        ]
    )


@pytest.mark.parametrize(
    ("returned", "shown"),
    [("{}", "{}"), ("['loop']", "['loop']"), ("{'': object}", "{'': <class*")],
)
def test_a_loop_factories_hook_returning_a_bad_value_errors_its_tests(
    pytester: pytest.Pytester, strict_ini: Ini, returned: str, shown: str
) -> None:
    pytester.makeconftest(
        f"def pytest_asyncio_loop_factories(config, item):\n    return {returned}\n"
    )
    pytester.makepyfile(
        test_it="""
        import pytest


        @pytest.mark.asyncio
        async def test_async():
            pass


        def test_sync():
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "test_it.py::test_async: the pytest_asyncio_loop_factories hook must "
            f"return a non-empty mapping of names to loop factories (callables), "
            f"got {shown}.",
        ]
    )


@pytest.mark.parametrize("backends", ["asyncio", "asyncio,uvloop"])
def test_every_bad_marker_is_an_error_at_setup_where_the_test_was_collected(
    pytester: pytest.Pytester, strict_ini: Ini, backends: str
) -> None:
    pytester.makepyfile(
        test_it="""
        import pytest


        @pytest.mark.asyncio
        async def test_first():
            pass


        @pytest.mark.asyncio(loop_scope="class")
        async def test_class_scope_outside_a_class():
            pass


        @pytest.mark.asyncio(loop_scope="package")
        async def test_package_scope_outside_a_package():
            pass


        @pytest.mark.asyncio(looop_scope="module")
        async def test_unknown_keyword():
            pass


        @pytest.mark.asyncio(backend="nosuchloop")
        async def test_unknown_backend():
            pass


        @pytest.mark.asyncio(timeout=-1)
        async def test_bad_timeout():
            pass


        @pytest.mark.asyncio
        async def test_last():
            pass
        """
    )
    result = pytester.runpytest("-v", f"--asyncio-backend={backends}")
    several = "," in backends
    result.assert_outcomes(passed=4 if several else 2, errors=5)
    first = "[[]asyncio[]]" if several else ""
    result.stdout.fnmatch_lines(
        [
            f"test_it.py::test_first{first} PASSED*",
            "test_it.py::test_class_scope_outside_a_class ERROR*",
            "test_it.py::test_package_scope_outside_a_package ERROR*",
            "test_it.py::test_unknown_keyword ERROR*",
            "test_it.py::test_unknown_backend ERROR*",
            "test_it.py::test_bad_timeout ERROR*",
            f"test_it.py::test_last{first} PASSED*",
        ]
    )
    result.stdout.no_fnmatch_line("FAILED *")


def _install_fake_pytest_asyncio(path: Path, *, required_by: bool) -> None:
    # A stand-in pytest-asyncio (its pytest11 entry point "asyncio") and, if
    # asked, a plugin that requires it, as pytest-aiohttp does.
    (path / "pytest_asyncio").mkdir()
    (path / "pytest_asyncio" / "__init__.py").write_text("")
    (path / "pytest_asyncio" / "plugin.py").write_text("")
    info = path / "pytest_asyncio-1.5.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: pytest-asyncio\nVersion: 1.5.0\n"
    )
    (info / "entry_points.txt").write_text(
        "[pytest11]\nasyncio = pytest_asyncio.plugin\n"
    )
    if required_by:
        info = path / "pytest_aiohttp-1.1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: pytest-aiohttp\nVersion: 1.1.0\n"
            "Requires-Dist: pytest>=6.1.0\nRequires-Dist: pytest-asyncio>=0.17.2\n"
        )
        info = path / "other_tool-2.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: other-tool\nVersion: 2.0\n"
            'Requires-Dist: pytest-asyncio; extra == "testing"\n'
        )


@pytest.mark.parametrize("required_by", [True, False])
def test_both_plugins_active_say_the_way_out_and_who_requires_pytest_asyncio(
    pytester: pytest.Pytester, required_by: bool
) -> None:
    _install_fake_pytest_asyncio(pytester.path, required_by=required_by)
    pytester.makepyfile(test_it="def test_sync():\n    pass\n")
    result = pytester.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    both = (
        "ERROR: pytest-asyncio and pytest-aioloop are both installed and active; "
        "both claim the 'asyncio' marker. "
    )
    if required_by:
        result.stderr.fnmatch_lines(
            [
                f"{both}pytest-asyncio is required by pytest-aiohttp 1.1.0: keep it "
                "installed and disable it in your pytest configuration, addopts = "
                "-p no:asyncio (in [pytest] or [tool.pytest.ini_options]); "
                "pytest-aioloop then runs the async tests. For one run: "
                "-p no:asyncio, or -p no:aioloop to use pytest-asyncio."
            ]
        )
        result.stderr.no_fnmatch_line("*other-tool*")
    else:
        result.stderr.fnmatch_lines(
            [f"{both}Remove pytest-asyncio (pip uninstall pytest-asyncio), *"]
        )
    # the way out works
    pytester.makeini("[pytest]\naddopts = -p no:asyncio\n")
    pytester.runpytest_subprocess().assert_outcomes(passed=1)
