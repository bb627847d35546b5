"""Choosing the backends of a run: option, ini, marker, ids, header, listing."""

from __future__ import annotations

import importlib.metadata
import platform
from collections.abc import Callable

import pytest

# Imported here so that in-process pytester runs, which drop the modules they
# imported, share one uvloop with the backend that aioloop keeps loaded.
import uvloop  # noqa: F401

BOTH = "--asyncio-backend=asyncio,uvloop"

# Each test prints the backend it ran on and the module of its running loop.
TESTS = """
import asyncio

import pytest


@pytest.mark.asyncio
async def test_plain(asyncio_backend):
    loop = asyncio.get_running_loop()
    print("RAN", asyncio_backend, type(loop).__module__)


@pytest.mark.asyncio
@pytest.mark.parametrize("n", [1, 2])
async def test_numbers(n, asyncio_backend):
    print("RAN", asyncio_backend, n)


def test_sync():
    print("RAN sync")
"""


def collected_ids(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if "::" in line]


def test_default_backend_is_asyncio_and_ids_do_not_change(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(TESTS)
    result = pytester.runpytest("-s", "-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        [
            "*::test_plain RAN asyncio asyncio.unix_events*",
            "*::test_numbers[[]1[]] RAN asyncio 1*",
            "*::test_numbers[[]2[]] RAN asyncio 2*",
        ]
    )
    result.stdout.no_fnmatch_line("*uvloop*")


def test_one_backend_on_the_command_line_keeps_test_ids(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(TESTS)
    result = pytester.runpytest("--collect-only", "-q", "--asyncio-backend=uvloop")
    assert collected_ids(result) == [
        "test_one_backend_on_the_command_line_keeps_test_ids.py::test_plain",
        "test_one_backend_on_the_command_line_keeps_test_ids.py::test_numbers[1]",
        "test_one_backend_on_the_command_line_keeps_test_ids.py::test_numbers[2]",
        "test_one_backend_on_the_command_line_keeps_test_ids.py::test_sync",
    ]


def test_one_backend_keeps_ids_of_tests_with_wider_fixtures(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_it="""
        import pytest
        import pytest_aioloop

        @pytest_aioloop.fixture(scope="session", loop_scope="session")
        async def shared():
            return 1

        @pytest.mark.asyncio(loop_scope="session")
        @pytest.mark.parametrize("n", [1, 2])
        async def test_shared(shared, n, tmp_path, asyncio_backend):
            pass

        @pytest.mark.asyncio(loop_scope="module")
        async def test_module():
            pass
        """
    )
    for args in ([], ["--asyncio-backend=uvloop"]):
        result = pytester.runpytest("-v", *args)
        result.assert_outcomes(passed=3)
        result.stdout.fnmatch_lines_random(
            [
                "test_it.py::test_shared[[]1[]] PASSED*",
                "test_it.py::test_shared[[]2[]] PASSED*",
                "test_it.py::test_module PASSED*",
            ]
        )


def test_one_backend_runs_every_async_test_on_its_loop(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(TESTS)
    result = pytester.runpytest("-s", "-v", "--asyncio-backend=uvloop")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*::test_plain RAN uvloop uvloop*"])
    result.stdout.no_fnmatch_line("*RAN asyncio*")


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--asyncio-backend=asyncio,uvloop"], id="comma-list"),
        pytest.param(
            ["--asyncio-backend", "asyncio", "--asyncio-backend", "uvloop"],
            id="repeated",
        ),
        pytest.param(["--asyncio-backend= asyncio , uvloop ,"], id="spaces"),
    ],
)
def test_several_backends_run_each_async_test_once_per_backend(
    pytester: pytest.Pytester, args: list[str]
) -> None:
    pytester.makepyfile(test_it=TESTS)
    result = pytester.runpytest("-s", "-v", *args)
    result.assert_outcomes(passed=7)
    result.stdout.fnmatch_lines_random(
        [
            "*::test_plain[[]asyncio[]] RAN asyncio asyncio.unix_events*",
            "*::test_plain[[]uvloop[]] RAN uvloop uvloop*",
            "*::test_numbers[[]1-asyncio[]] RAN asyncio 1*",
            "*::test_numbers[[]2-asyncio[]] RAN asyncio 2*",
            "*::test_numbers[[]1-uvloop[]] RAN uvloop 1*",
            "*::test_numbers[[]2-uvloop[]] RAN uvloop 2*",
            "*::test_sync RAN sync*",
        ]
    )


def test_a_backend_named_twice_runs_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TESTS)
    result = pytester.runpytest(
        "--asyncio-backend=uvloop", "--asyncio-backend=uvloop,uvloop"
    )
    result.assert_outcomes(passed=4)


def test_ini_asyncio_backend_selects_the_backends(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_backend = asyncio, uvloop\n")
    pytester.makepyfile(test_it=TESTS)
    result = pytester.runpytest("--collect-only", "-q")
    assert sorted(collected_ids(result)) == [
        "test_it.py::test_numbers[1-asyncio]",
        "test_it.py::test_numbers[1-uvloop]",
        "test_it.py::test_numbers[2-asyncio]",
        "test_it.py::test_numbers[2-uvloop]",
        "test_it.py::test_plain[asyncio]",
        "test_it.py::test_plain[uvloop]",
        "test_it.py::test_sync",
    ]


def test_ini_with_one_backend_runs_on_it(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_backend = uvloop\n")
    pytester.makepyfile(TESTS)
    result = pytester.runpytest("-s", "-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*::test_plain RAN uvloop uvloop*"])


def test_command_line_backend_overrides_the_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_backend = asyncio, uvloop\n")
    pytester.makepyfile(TESTS)
    result = pytester.runpytest("-s", "-v", "--asyncio-backend=uvloop")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*::test_plain RAN uvloop uvloop*"])


def test_dash_k_with_a_backend_name_selects_that_backend(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_it=TESTS)
    result = pytester.runpytest(
        "-s", "-v", "--asyncio-backend=asyncio,uvloop", "-k", "uvloop"
    )
    result.assert_outcomes(passed=3, deselected=4)
    result.stdout.no_fnmatch_line("*RAN asyncio*")
    result.stdout.fnmatch_lines(["*::test_plain[[]uvloop[]] RAN uvloop uvloop*"])


def test_dash_k_with_a_backend_name_selects_tests_pinned_to_it_too(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_it="""
        import pytest

        @pytest.mark.asyncio(backend="uvloop")
        async def test_pinned():
            pass

        @pytest.mark.asyncio
        async def test_run(asyncio_backend):
            pass

        def test_sync():
            pass
        """
    )
    result = pytester.runpytest("--collect-only", "-q", BOTH, "-k", "uvloop")
    assert sorted(collected_ids(result)) == [
        "test_it.py::test_pinned",
        "test_it.py::test_run[uvloop]",
    ]
    result = pytester.runpytest("--collect-only", "-q", BOTH, "-k", "not uvloop")
    assert sorted(collected_ids(result)) == [
        "test_it.py::test_run[asyncio]",
        "test_it.py::test_sync",
    ]
    # A run on uvloop alone: every async test is selected, none renamed.
    result = pytester.runpytest(
        "--collect-only", "-q", "--asyncio-backend=uvloop", "-k", "uvloop"
    )
    assert sorted(collected_ids(result)) == [
        "test_it.py::test_pinned",
        "test_it.py::test_run",
    ]


def test_sync_tests_are_never_multiplied(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        def test_sync():
            pass

        @pytest.mark.parametrize("x", [1, 2])
        def test_sync_params(x):
            pass

        def test_sync_asks_backend(asyncio_backend):
            assert asyncio_backend == "asyncio"

        class TestSync:
            def test_in_class(self):
                pass

        @pytest.fixture
        async def not_ours():
            return 1
        """
    )
    for mode in ("strict", "auto"):
        result = pytester.runpytest(
            "-v", f"--asyncio-mode={mode}", "--asyncio-backend=asyncio,uvloop"
        )
        result.assert_outcomes(passed=5)
        result.stdout.no_fnmatch_line("*uvloop]*")


def test_auto_mode_multiplies_unmarked_async_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import asyncio

        async def test_unmarked(asyncio_backend):
            print("RAN", asyncio_backend, type(asyncio.get_running_loop()).__module__)
        """
    )
    result = pytester.runpytest(
        "-s", "-v", "--asyncio-mode=auto", "--asyncio-backend=asyncio,uvloop"
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines_random(
        [
            "*::test_unmarked[[]asyncio[]] RAN asyncio asyncio.unix_events*",
            "*::test_unmarked[[]uvloop[]] RAN uvloop uvloop*",
        ]
    )


def test_asyncio_backend_fixture_names_the_backend(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import asyncio

        import pytest
        import uvloop

        LOOP_TYPES = {"asyncio": asyncio.BaseEventLoop, "uvloop": uvloop.Loop}

        @pytest.mark.asyncio
        async def test_name_matches_loop(asyncio_backend):
            assert isinstance(asyncio.get_running_loop(), LOOP_TYPES[asyncio_backend])
            print("NAME", asyncio_backend)

        @pytest.mark.asyncio(backend="uvloop")
        async def test_pinned(asyncio_backend):
            assert asyncio_backend == "uvloop"
        """
    )
    result = pytester.runpytest("-s", "-v", "--asyncio-backend=asyncio,uvloop")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines_random(["*NAME asyncio*", "*NAME uvloop*"])
    result = pytester.runpytest("-s", "--asyncio-backend=asyncio")
    result.assert_outcomes(passed=2)


# --- the marker's backend= keyword ---------------------------------------------

MARKED = """
import asyncio

import pytest

{module_mark}


@pytest.mark.asyncio{test_mark}
async def test_function(asyncio_backend):
    print("RAN", asyncio_backend, type(asyncio.get_running_loop()).__module__)


@pytest.mark.asyncio{class_mark}
class TestClass:
    async def test_method(self, asyncio_backend):
        print("RAN", asyncio_backend, type(asyncio.get_running_loop()).__module__)
"""


def test_marker_backend_on_a_test_overrides_the_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_it=MARKED.format(
            module_mark="", test_mark='(backend="uvloop")', class_mark=""
        )
    )
    result = pytester.runpytest("-s", "-v", "--asyncio-backend=asyncio")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines_random(
        [
            "test_it.py::test_function RAN uvloop uvloop*",
            "test_it.py::TestClass::test_method RAN asyncio asyncio.unix_events*",
        ]
    )


def test_marker_backend_list_on_a_class_runs_it_on_each(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_it=MARKED.format(
            module_mark="", test_mark="", class_mark='(backend=["asyncio", "uvloop"])'
        )
    )
    result = pytester.runpytest("-s", "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines_random(
        [
            "test_it.py::test_function RAN asyncio asyncio.unix_events*",
            "test_it.py::TestClass::test_method[[]asyncio[]] RAN asyncio asyncio.*",
            "test_it.py::TestClass::test_method[[]uvloop[]] RAN uvloop uvloop*",
        ]
    )


def test_module_pytestmark_backend_overrides_the_run(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_it=MARKED.format(
            module_mark='pytestmark = pytest.mark.asyncio(backend="uvloop")',
            test_mark="",
            class_mark="",
        )
    )
    result = pytester.runpytest("-s", "-v", "--asyncio-backend=asyncio,uvloop")
    result.assert_outcomes(passed=2)
    # One backend for these tests: no backend in their ids.
    result.stdout.fnmatch_lines_random(
        [
            "test_it.py::test_function RAN uvloop uvloop*",
            "test_it.py::TestClass::test_method RAN uvloop uvloop*",
        ]
    )


def test_marker_on_the_test_wins_over_class_and_module(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_it="""
        import asyncio

        import pytest

        pytestmark = pytest.mark.asyncio(backend="uvloop")

        @pytest.mark.asyncio(backend="uvloop")
        class TestClass:
            @pytest.mark.asyncio(backend="asyncio")
            async def test_method(self, asyncio_backend):
                print("RAN", asyncio_backend)

            async def test_other(self, asyncio_backend):
                print("RAN", asyncio_backend)
        """
    )
    result = pytester.runpytest("-s", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines_random(
        [
            "test_it.py::TestClass::test_method RAN asyncio*",
            "test_it.py::TestClass::test_other RAN uvloop*",
        ]
    )


def test_unknown_backend_in_a_marker_errors_that_test_naming_the_installed(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_it="""
        import pytest

        @pytest.mark.asyncio(backend="no_such_loop")
        async def test_bad():
            pass

        @pytest.mark.asyncio
        async def test_good():
            pass
        """
    )
    result = pytester.runpytest()
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 1
    assert outcomes.get("failed", 0) + outcomes.get("errors", 0) == 1
    result.stdout.fnmatch_lines(
        [
            "*test_it.py::test_bad*unknown backend 'no_such_loop'*"
            "installed backends: asyncio, *uvloop*"
        ]
    )


def test_marker_backend_accepts_a_comma_string_and_drops_repeats(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_it="""
        import pytest

        @pytest.mark.asyncio(backend=["asyncio", "asyncio", "uvloop"])
        async def test_repeated(asyncio_backend):
            pass

        @pytest.mark.asyncio(backend="asyncio, uvloop")
        async def test_comma(asyncio_backend):
            pass
        """
    )
    result = pytester.runpytest("--collect-only", "-q")
    assert sorted(collected_ids(result)) == [
        "test_it.py::test_comma[asyncio]",
        "test_it.py::test_comma[uvloop]",
        "test_it.py::test_repeated[asyncio]",
        "test_it.py::test_repeated[uvloop]",
    ]


def test_marker_backend_of_a_wrong_kind_errors_that_test(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_it="""
        import pytest

        @pytest.mark.asyncio(backend=[])
        async def test_empty():
            pass

        @pytest.mark.asyncio(backend=3)
        async def test_number():
            pass

        @pytest.mark.asyncio
        async def test_fine():
            pass
        """
    )
    result = pytester.runpytest()
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 1
    assert outcomes.get("failed", 0) + outcomes.get("errors", 0) == 2
    result.stdout.fnmatch_lines_random(
        [
            "test_it.py::test_empty: mark.asyncio backend= *",
            "test_it.py::test_number: mark.asyncio backend= *3*",
        ]
    )


# --- the header and the listing -------------------------------------------------


DEFAULTS = "debug=False, default loop scope: fixtures=fixture-scope, tests=function, "


def test_header_names_mode_debug_default_loop_scopes_and_backends(
    pytester: pytest.Pytester, strict_ini: Callable[..., None]
) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    python = f"CPython {platform.python_version()}"
    uv = f"uvloop {importlib.metadata.version('uvloop')}"
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(
        [f"aioloop: mode=strict, {DEFAULTS}backends: asyncio ({python})"]
    )
    result = pytester.runpytest("--asyncio-backend=asyncio,uvloop")
    result.stdout.fnmatch_lines(
        [f"aioloop: mode=strict, {DEFAULTS}backends: asyncio ({python}), {uv}"]
    )
    strict_ini(
        asyncio_default_fixture_loop_scope="module",
        asyncio_default_test_loop_scope="session",
        asyncio_timeout="30",
    )
    result = pytester.runpytest("--asyncio-mode=auto", "--asyncio-debug")
    result.stdout.fnmatch_lines(
        [
            "aioloop: mode=auto, debug=True, default loop scope: fixtures=module, "
            f"tests=session, timeout=30s, backends: asyncio ({python})"
        ]
    )


def test_list_backends_shows_each_installed_and_exits_0(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("def test_never_run(): raise AssertionError")
    result = pytester.runpytest_subprocess("--asyncio-backends")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "event loop backends*aioloop.backends*",
            f"  asyncio *asyncio (CPython {platform.python_version()})",
            f"  uvloop *uvloop {importlib.metadata.version('uvloop')}",
        ]
    )
    result.stdout.no_fnmatch_line("*test_never_run*")
    result.stdout.no_fnmatch_line("*passed*")


def test_in_process_pytester_runs_that_import_asyncio_each_get_working_loops(
    pytester: pytest.Pytester,
) -> None:
    # A plugin's own test suite runs small async suites in-process with
    # pytester. When asyncio is first imported inside such a run (a quiet outer
    # run never loads a backend for its header), pytester drops asyncio and the
    # backend's module when the run ends; the next run must not get loops of
    # the dropped asyncio from a backend loaded under it.
    pytester.makepyfile(
        test_outer='''
        import sys

        import pytest

        INNER = """
        import asyncio

        import pytest

        @pytest.mark.asyncio
        async def test_inner():
            await asyncio.sleep(0)
        """

        def test_asyncio_is_not_imported_yet():
            assert "asyncio" not in sys.modules  # else this checks nothing

        @pytest.mark.parametrize("backend", ["asyncio", "uvloop"])
        @pytest.mark.parametrize("run", [1, 2])
        def test_inner_run(pytester, run, backend):
            pytester.makepyfile(INNER)
            result = pytester.runpytest(f"--asyncio-backend={backend}")
            result.assert_outcomes(passed=1)
        '''
    )
    # (pytest's debugging plugin imports pdb, which imports asyncio from
    # Python 3.14 on: without it the outer run starts without asyncio there too)
    result = pytester.runpytest_subprocess(
        "-q", "-p", "pytester", "-p", "no:anyio", "-p", "no:debugging"
    )
    result.assert_outcomes(passed=5)


# --- unknown names -------------------------------------------------------------


def test_unknown_backend_on_the_command_line_is_a_usage_error(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(
        "def pytest_collectstart(collector):\n    print('COLLECTING')\n"
    )
    pytester.makepyfile("def test_never_run(): pass")
    result = pytester.runpytest_subprocess("-s", "--asyncio-backend=asyncio,nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: --asyncio-backend: unknown event loop backend 'nope'; "
            "installed backends: asyncio, *uvloop*"
        ]
    )
    assert "Traceback" not in result.stderr.str()
    result.stdout.no_fnmatch_line("*COLLECTING*")


def test_unknown_backend_in_the_ini_is_a_usage_error(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\nasyncio_backend = nope\n")
    pytester.makepyfile("def test_never_run(): pass")
    result = pytester.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: ini asyncio_backend: unknown event loop backend 'nope'; "
            "installed backends: asyncio, *uvloop*"
        ]
    )
    assert "Traceback" not in result.stderr.str()
    result.stdout.no_fnmatch_line("*collected*")


def test_empty_backend_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_never_run(): pass")
    result = pytester.runpytest("--asyncio-backend=,")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--asyncio-backend needs at least one backend*"])


# --- a built-in backend that cannot load here ------------------------------------

# Shadows the real uvloop, as on a platform uvloop does not support.
NO_UVLOOP = """
raise ImportError("uvloop does not support this platform (test stand-in)")
"""


def test_uvloop_that_cannot_load_is_a_usage_error_on_the_command_line(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(uvloop=NO_UVLOOP, test_it=TESTS)
    result = pytester.runpytest_subprocess("--asyncio-backend=asyncio,uvloop")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: --asyncio-backend: event loop backend 'uvloop' "
            "(aioloop._uvloop:UvloopBackend, from package 'pytest-aioloop *') "
            "failed to load: ImportError: uvloop does not support this platform*"
        ]
    )
    assert "Traceback" not in result.stderr.str()


def test_uvloop_that_is_not_installed_says_which_package_to_install(
    pytester: pytest.Pytester,
) -> None:
    # a conftest hides uvloop, as when it is not installed
    pytester.makeconftest("import sys\n\nsys.modules['uvloop'] = None\n")
    pytester.makepyfile(test_it=TESTS)
    result = pytester.runpytest_subprocess("--asyncio-backend=uvloop")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: --asyncio-backend: event loop backend 'uvloop' "
            "(aioloop._uvloop:UvloopBackend, from package 'pytest-aioloop *') "
            "failed to load: ModuleNotFoundError: *uvloop*. Install the package "
            "it needs: pip install uvloop, or choose another backend."
        ]
    )
    result.stderr.no_fnmatch_line("*reinstall*")


def test_uvloop_that_cannot_load_skips_tests_marked_for_it(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        uvloop=NO_UVLOOP,
        test_it="""
        import pytest

        @pytest.mark.asyncio(backend="uvloop")
        async def test_on_uvloop():
            pass

        @pytest.mark.asyncio
        async def test_on_asyncio():
            pass
        """,
    )
    result = pytester.runpytest_subprocess("-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "SKIPPED [[]1[]] test_it.py:*: event loop backend 'uvloop' *"
            "ImportError: uvloop does not support this platform*"
        ]
    )


def test_several_backends_under_xdist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_it=TESTS)
    result = pytester.runpytest_subprocess("-n", "2", BOTH)
    result.assert_outcomes(passed=7)
