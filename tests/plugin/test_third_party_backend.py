"""Third-party backends: installed packages found by name, working or broken.

The pip test builds the example package of docs/how-to/write-a-backend.md
exactly as the page shows it; the others put a ``.dist-info`` folder on the
test run's path (the folder pytester runs in is on ``PYTHONPATH`` of its
subprocesses).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# The how-to guide "Write and publish a backend".
DOC = REPO_ROOT / "docs" / "how-to" / "write-a-backend.md"

# A fenced block whose first line is a comment naming the file it holds.
_FILE_BLOCK = re.compile(
    r"^```(?:toml|python)\n# (?P<name>[\w.]+)\n(?P<body>.*?)^```", re.M | re.S
)


def doc_files() -> dict[str, str]:
    """The files of the example backend package in the guide."""
    text = DOC.read_text(encoding="utf-8")
    return {m["name"]: m["body"] for m in _FILE_BLOCK.finditer(text)}


def run(command: list[str | Path], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, (
        f"{command} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout


VENV_SUITE = """
import asyncio

import pytest


@pytest.mark.asyncio
async def test_runs_on_the_counting_loop(asyncio_backend):
    loop = asyncio.get_running_loop()
    assert type(loop).__name__ == "CountingLoop"
    before = loop.tasks_created
    await asyncio.gather(asyncio.sleep(0), asyncio.sleep(0))
    assert loop.tasks_created >= before + 2
    print("BACKEND", asyncio_backend, type(loop).__name__)


@pytest.mark.asyncio(loop_scope="module")
async def test_module_loop_too():
    assert type(asyncio.get_running_loop()).__name__ == "CountingLoop"
"""


def test_doc_example_package_has_the_two_files() -> None:
    files = doc_files()
    assert sorted(files) == ["aioloop_counting.py", "pyproject.toml"]
    assert 'counting = "aioloop_counting:new_event_loop"' in files["pyproject.toml"]


def test_pip_installed_doc_backend_runs_a_suite_by_name(tmp_path: Path) -> None:
    package = tmp_path / "aioloop-counting"
    package.mkdir()
    for name, body in doc_files().items():
        (package / name).write_text(body, encoding="utf-8")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PYTEST_ADDOPTS"}
        and not key.startswith(("PYTEST_XDIST", "PYTEST_CURRENT"))
    }
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    run(
        [python, "-m", "pip", "install", "--quiet", REPO_ROOT, package],
        cwd=tmp_path,
        env=env,
    )
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (suite / "test_counting.py").write_text(VENV_SUITE, encoding="utf-8")

    listing = run([python, "-m", "pytest", "--asyncio-backends"], suite, env)
    assert re.search(r"^  counting +counting \(aioloop-counting 1\.0\)$", listing, re.M)

    out = run(
        [python, "-m", "pytest", "-v", "-s", "--asyncio-backend=counting"], suite, env
    )
    assert ", backends: counting (aioloop-counting 1.0)" in out
    assert "test_counting.py::test_runs_on_the_counting_loop BACKEND counting" in out
    assert "2 passed" in out


# --- backends from a .dist-info folder on the path ---------------------------


def install(pytester: pytest.Pytester, entry_points: dict[str, str]) -> None:
    """Make the pytester folder an installed distribution with these backends."""
    dist_info = pytester.path / "tp_backends-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: tp-backends\nVersion: 1.0\n"
    )
    lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
    (dist_info / "entry_points.txt").write_text(f"[aioloop.backends]\n{lines}")


@pytest.fixture
def third_party(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain factory, a driver class, a broken one and a non-loop factory."""
    # stevedore's on-disk entry-point cache goes to this test's own folder.
    monkeypatch.setenv("XDG_CACHE_HOME", str(pytester.path / ".cache"))
    install(
        pytester,
        {
            "plain": "tp_plain:new_event_loop",
            "described": "tp_described:Driver",
            "broken": "tp_broken:new_event_loop",
            "notaloop": "tp_notaloop:make",
        },
    )
    pytester.makepyfile(
        tp_plain="""
        import asyncio

        class PlainLoop(asyncio.SelectorEventLoop):
            pass

        def new_event_loop():
            return PlainLoop()
        """,
        tp_described="""
        import asyncio

        class DescribedLoop(asyncio.SelectorEventLoop):
            pass

        class Driver:
            def new_event_loop(self):
                return DescribedLoop()

            def describe(self):
                return "described 9.9 (a driver class)"
        """,
        tp_broken="""
        from pathlib import Path

        Path(__file__).with_name("broken-was-imported").touch()
        import missing_dependency_of_tp_broken
        """,
        tp_notaloop="""
        def make():
            return object()
        """,
    )


LOOP_TESTS = """
import asyncio

import pytest


@pytest.mark.asyncio
async def test_function_loop(asyncio_backend):
    print("LOOP", asyncio_backend, type(asyncio.get_running_loop()).__name__)


@pytest.mark.asyncio(loop_scope="module")
async def test_module_loop(asyncio_backend):
    print("LOOP", asyncio_backend, type(asyncio.get_running_loop()).__name__)


def test_sync():
    pass
"""


@pytest.mark.usefixtures("third_party")
def test_plain_factory_backend_runs_tests_by_name(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_it=LOOP_TESTS)
    result = pytester.runpytest_subprocess("-v", "-s", "--asyncio-backend=plain")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "aioloop: mode=strict, * backends: plain (tp-backends 1.0)",
            "test_it.py::test_function_loop LOOP plain PlainLoop*",
            "test_it.py::test_module_loop LOOP plain PlainLoop*",
        ]
    )
    assert not (pytester.path / "broken-was-imported").exists()


@pytest.mark.usefixtures("third_party")
def test_third_party_backend_beside_a_built_in_one(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_it=LOOP_TESTS)
    result = pytester.runpytest_subprocess(
        "-v", "-s", "--asyncio-backend=asyncio,described"
    )
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(
        [
            "aioloop: mode=strict, * backends: asyncio (*), "
            "described 9.9 (a driver class)"
        ]
    )
    result.stdout.fnmatch_lines_random(
        [
            "test_it.py::test_function_loop[[]asyncio[]] LOOP asyncio *Selector*",
            "test_it.py::test_function_loop[[]described[]] LOOP described Described*",
            "test_it.py::test_module_loop[[]described[]] LOOP described Described*",
        ]
    )


@pytest.mark.usefixtures("third_party")
def test_marker_names_a_third_party_backend(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_it="""
        import asyncio

        import pytest

        @pytest.mark.asyncio(backend="plain")
        async def test_pinned():
            assert type(asyncio.get_running_loop()).__name__ == "PlainLoop"
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)


@pytest.mark.usefixtures("third_party")
def test_list_backends_says_which_load_and_why_not(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--asyncio-backends")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "  asyncio *asyncio (CPython *)",
            "  broken *cannot load: *ModuleNotFoundError: No module named "
            "'missing_dependency_of_tp_broken'*",
            "  described *described 9.9 (a driver class)",
            "  notaloop *",
            "  plain *plain (tp-backends 1.0)",
            "  uvloop *uvloop *",
        ]
    )


@pytest.mark.usefixtures("third_party")
@pytest.mark.parametrize("where", ["command line", "ini"])
def test_broken_backend_chosen_for_the_run_is_a_usage_error_with_the_cause(
    pytester: pytest.Pytester, where: str
) -> None:
    pytester.makeconftest(
        "def pytest_collectstart(collector):\n    print('COLLECTING')\n"
    )
    pytester.makepyfile(test_it=LOOP_TESTS)
    if where == "ini":
        pytester.makeini("[pytest]\nasyncio_backend = asyncio, broken\n")
        result = pytester.runpytest_subprocess("-s")
        source = "ini asyncio_backend"
    else:
        result = pytester.runpytest_subprocess("-s", "--asyncio-backend=broken")
        source = "--asyncio-backend"
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: {source}: event loop backend 'broken' (tp_broken:new_event_loop, "
            f"from package 'tp-backends 1.0') failed to load: ModuleNotFoundError: "
            f"No module named 'missing_dependency_of_tp_broken'*"
        ]
    )
    assert "Traceback" not in result.stderr.str()
    result.stdout.no_fnmatch_line("*COLLECTING*")


@pytest.mark.usefixtures("third_party")
def test_broken_backend_in_a_marker_skips_those_tests_with_the_cause(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_it="""
        import pytest

        @pytest.mark.asyncio(backend="broken")
        async def test_on_broken():
            raise AssertionError("never runs")

        @pytest.mark.asyncio(backend=["asyncio", "broken"])
        async def test_on_both():
            pass

        @pytest.mark.asyncio
        async def test_on_the_run_backend():
            pass
        """
    )
    result = pytester.runpytest_subprocess("-rs", "-v")
    result.assert_outcomes(passed=2, skipped=2)
    result.stdout.fnmatch_lines_random(
        [
            "test_it.py::test_on_broken SKIPPED*",
            "test_it.py::test_on_both[[]asyncio[]] PASSED*",
            "test_it.py::test_on_both[[]broken[]] SKIPPED*",
            "test_it.py::test_on_the_run_backend PASSED*",
        ]
    )
    reason = (
        "SKIPPED [[]1[]] test_it.py:*: event loop backend 'broken' *"
        "ModuleNotFoundError: No module named 'missing_dependency_of_tp_broken'*"
    )
    result.stdout.fnmatch_lines([reason, reason])


@pytest.mark.usefixtures("third_party")
def test_non_loop_factory_fails_only_its_tests_naming_the_backend(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_it="""
        import asyncio

        import pytest
        import pytest_aioloop

        @pytest_aioloop.fixture(scope="module", loop_scope="module")
        async def module_value():
            return 1

        @pytest.mark.asyncio
        async def test_function_loop():
            pass

        @pytest.mark.asyncio(loop_scope="module")
        async def test_module_loop(module_value):
            pass

        def test_sync():
            pass
        """
    )
    result = pytester.runpytest_subprocess("-v", "--asyncio-backend=asyncio,notaloop")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 3
    assert outcomes.get("failed", 0) + outcomes.get("errors", outcomes.get("error", 0))
    result.stdout.fnmatch_lines_random(
        [
            "test_it.py::test_function_loop[[]asyncio[]] PASSED*",
            "test_it.py::test_module_loop[[]asyncio[]] PASSED*",
            "test_it.py::test_function_loop[[]notaloop[]] FAILED*",
            "test_it.py::test_module_loop[[]notaloop[]] ERROR*",
            "test_it.py::test_sync PASSED*",
        ]
    )
    message = (
        "event loop backend 'notaloop' (tp_notaloop:make) returned builtins.object "
        "instead of an asyncio.AbstractEventLoop*"
    )
    result.stdout.fnmatch_lines([message, message])
    # The message is the whole report: no traceback through the plugin.
    result.stdout.no_fnmatch_line("*pytest_aioloop*.py:*")
    result.stdout.no_fnmatch_line("*aioloop/_backend.py*")


@pytest.mark.usefixtures("third_party")
def test_backends_the_run_does_not_use_are_never_imported(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_it="""
        import sys

        import pytest

        @pytest.mark.asyncio
        async def test_modules():
            assert "tp_broken" not in sys.modules
            assert "tp_plain" not in sys.modules
            assert "uvloop" not in sys.modules
        """
    )
    result = pytester.runpytest_subprocess("--asyncio-backend=asyncio,described")
    result.assert_outcomes(passed=2)
    assert not (pytester.path / "broken-was-imported").exists()


def test_in_process_run_finds_a_backend_installed_after_clearing_the_cache(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An in-process run sees a backend installed after aioloop first looked,
    # once aioloop.clear_backend_cache() is called (as the docs say).
    import aioloop

    aioloop.backend_names()  # fill the caches
    install(pytester, {"inproc": "tp_inproc:new_event_loop"})
    pytester.makepyfile(
        tp_inproc="""
        import asyncio

        def new_event_loop():
            return asyncio.SelectorEventLoop()
        """,
        test_it="""
        import pytest

        @pytest.mark.asyncio
        async def test_it(asyncio_backend):
            assert asyncio_backend == "inproc"
        """,
    )
    monkeypatch.syspath_prepend(pytester.path)
    aioloop.clear_backend_cache()
    try:
        result = pytester.runpytest("--asyncio-backend=inproc")
        result.assert_outcomes(passed=1)
    finally:
        monkeypatch.undo()
        sys.modules.pop("tp_inproc", None)
        aioloop.clear_backend_cache()


def test_doc_snippets_are_valid_python_and_toml() -> None:
    import tomllib

    files = doc_files()
    project = tomllib.loads(files["pyproject.toml"])
    entry_points = project["project"]["entry-points"]["aioloop.backends"]
    assert entry_points == {"counting": "aioloop_counting:new_event_loop"}
    compile(textwrap.dedent(files["aioloop_counting.py"]), "aioloop_counting", "exec")
    assert len(files["aioloop_counting.py"].splitlines()) <= 16
