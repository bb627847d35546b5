"""pytest-asyncio suites, migrated by the README's three migration steps, pass.

Each folder under ``projects/`` is a small suite written the way a
pytest-asyncio 1.5 user writes one, with its imports switched from
``pytest_asyncio`` to ``pytest_aioloop``. Every project is copied into a
pytester directory and run in a subprocess once per built-in backend, with
exact outcomes.

A probe plugin (``-p compat_probe``) records the class of the loop each async
test really ran on, so a run on ``--asyncio-backend=uvloop`` has to show
uvloop's loop, and a project that chooses its own loops has to show those.

With ``AIOLOOP_COMPAT_REFERENCE=1`` the same expectations are checked against
pytest-asyncio itself (imports switched back, no ``--asyncio-backend``), in an
environment with pytest-asyncio 1.5 and uvloop instead of pytest-aioloop (the
ini option keeps pytest-asyncio's own deprecation warning out of this suite's
``filterwarnings = error``)::

    AIOLOOP_COMPAT_REFERENCE=1 python -m pytest tests/compat \
        -o asyncio_default_fixture_loop_scope=function
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PROJECTS = Path(__file__).parent / "projects"
REFERENCE = os.environ.get("AIOLOOP_COMPAT_REFERENCE") == "1"

STDLIB_LOOP = "asyncio.unix_events._UnixSelectorEventLoop"
UVLOOP_LOOP = "uvloop.Loop"
TIME_TRAVEL_LOOP = "timetravel.TimeTravelLoop"

PROBE = """
import asyncio
import functools
import inspect

import pytest

LOOP_CLASSES = set()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_call(item):
    original = getattr(item, "obj", None)
    if not inspect.iscoroutinefunction(original):
        return (yield)

    @functools.wraps(original)
    async def probe(*args, **kwargs):
        loop = asyncio.get_running_loop()
        LOOP_CLASSES.add(f"{type(loop).__module__}.{type(loop).__qualname__}")
        return await original(*args, **kwargs)

    item.obj = probe
    try:
        return (yield)
    finally:
        item.obj = original


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(
        "compat-probe: loops: " + " ".join(sorted(LOOP_CLASSES))
    )
"""

BACKENDS = ["reference"] if REFERENCE else ["asyncio", "uvloop"]

skip_in_reference = pytest.mark.skipif(
    REFERENCE, reason="pytest-aioloop behaviour, not pytest-asyncio's"
)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "uvloop":
        pytest.importorskip("uvloop")
    return str(request.param)


def _to_reference(text: str) -> str:
    """Undo the migration step: pytest_aioloop imports back to pytest_asyncio."""
    return re.sub(r"\bpytest_aioloop\b", "pytest_asyncio", text)


def copy_project(pytester: pytest.Pytester, name: str) -> None:
    shutil.copytree(
        PROJECTS / name,
        pytester.path,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"),
    )
    if REFERENCE:
        for path in pytester.path.rglob("*.py"):
            path.write_text(_to_reference(path.read_text()))
    (pytester.path / "compat_probe.py").write_text(PROBE)


def run_project(
    pytester: pytest.Pytester, name: str, backend: str, *args: str
) -> pytest.RunResult:
    copy_project(pytester, name)
    options = ["-p", "compat_probe", "-p", "no:cacheprovider", "-v", "-rs", *args]
    if backend == "reference":
        return pytester.runpytest_subprocess(*options, timeout=120)
    options.append(f"--asyncio-backend={backend}")
    result = pytester.runpytest_subprocess(*options, timeout=120)
    # Clean code leaves no task behind and loses no exception.
    result.stdout.no_fnmatch_line("*leaked tasks and lost exceptions*")
    return result


def default_loop(backend: str) -> str:
    return UVLOOP_LOOP if backend == "uvloop" else STDLIB_LOOP


def probe_line(*loop_classes: str) -> str:
    return "compat-probe: loops: " + " ".join(sorted(loop_classes))


def test_smtpish_server_with_port_fixtures_in_auto_mode(
    pytester: pytest.Pytester, backend: str
) -> None:
    result = run_project(pytester, "smtpish", backend)
    result.assert_outcomes(passed=23)
    result.stdout.fnmatch_lines(
        [
            "*test_concurrency.py::test_clients_in_a_task_group PASSED*",
            "*test_shared_server.py::TestInAClass::"
            "test_class_shares_the_module_loop PASSED*",
            probe_line(default_loop(backend)),
        ]
    )


def test_session_loop_suite_with_is_async_test_and_filterwarnings_error(
    pytester: pytest.Pytester, backend: str
) -> None:
    result = run_project(pytester, "session_loop", backend)
    result.assert_outcomes(passed=18)
    result.stdout.fnmatch_lines(
        [
            "*test_orders.py::test_loop_is_the_clients_loop[[]memory[]] PASSED*",
            "*test_stock.py::test_concurrent_takes_are_serialised[[]tcp[]] PASSED*",
            "inventory: loops seen: 1",
            "inventory: clients opened: memory,tcp",
            probe_line(default_loop(backend)),
        ]
    )


def test_custom_loop_from_an_overridden_event_loop_policy(
    pytester: pytest.Pytester, backend: str
) -> None:
    # The overridden policy beats --asyncio-backend: the time-travel loop (and
    # uvloop's policy in on_uvloop/) are used whatever the run's backend.
    result = run_project(pytester, "custom_loop_policy", backend)
    outcomes = result.parseoutcomes()
    outcomes.pop("warnings", None)
    outcomes.pop("warning", None)
    assert outcomes == {"passed": 10}
    result.stdout.fnmatch_lines([probe_line(TIME_TRAVEL_LOOP, UVLOOP_LOOP)])
    if not REFERENCE:
        # At most one deprecation notice of ours for the whole run, pointing to
        # backends. (From 3.14 on, Python itself warns about the project's
        # policy subclass and uvloop's policy: those are not ours.)
        output = result.stdout.str() + result.stderr.str()
        notices = [
            line
            for line in output.splitlines()
            if "deprecat" in line.lower() and "slated for removal" not in line
        ]
        assert len(notices) <= 1, notices
        assert all("backend" in line for line in notices), notices


def test_threads_and_run_coroutine_threadsafe(
    pytester: pytest.Pytester, backend: str
) -> None:
    result = run_project(pytester, "threads", backend)
    result.assert_outcomes(passed=7)
    result.stdout.fnmatch_lines(
        ["threads left: none", probe_line(default_loop(backend))]
    )


def test_loop_factories_hook_and_marker_keyword(
    pytester: pytest.Pytester, backend: str
) -> None:
    # The conftest hook beats --asyncio-backend: both factories run either way.
    result = run_project(pytester, "loop_factories", backend)
    result.assert_outcomes(passed=12, skipped=1)
    result.stdout.fnmatch_lines_random(
        [
            "*::test_runs_once_per_factory[[]stdlib[]] PASSED*",
            "*::test_runs_once_per_factory[[]uv[]] PASSED*",
            "*::test_only_on_uvloop PASSED*",
            "*::test_unknown_factory_is_skipped[[]stdlib[]] PASSED*",
            "*::test_unknown_factory_is_skipped[[]trio[]] SKIPPED*",
            "*::test_hook_sees_the_item PASSED*",
            "*::TestClassLoopPerFactory::test_second[[]uv[]] PASSED*",
            "*::test_sync_tests_are_not_parametrized PASSED*",
            "SKIPPED * 'trio' *",
            probe_line(STDLIB_LOOP, UVLOOP_LOOP),
        ]
    )


def test_ini_defaults_debug_and_mode_from_the_command_line(
    pytester: pytest.Pytester, backend: str
) -> None:
    # The ini says strict mode; --asyncio-mode=auto on the command line wins.
    result = run_project(pytester, "ini_defaults", backend, "--asyncio-mode=auto")
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines([probe_line(default_loop(backend))])


def test_asyncio_debug_from_the_command_line(
    pytester: pytest.Pytester, backend: str
) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        textwrap.dedent(
            """
            import asyncio

            import pytest


            @pytest.mark.asyncio
            async def test_debug():
                assert asyncio.get_running_loop().get_debug()


            @pytest.mark.asyncio(loop_scope="module")
            async def test_debug_in_module_loop():
                assert asyncio.get_running_loop().get_debug()
            """
        )
    )
    options = ["--asyncio-debug", "-W", "error"]
    if backend != "reference":
        options.append(f"--asyncio-backend={backend}")
    pytester.runpytest_subprocess(*options).assert_outcomes(passed=2)


@skip_in_reference
def test_marker_scope_keyword_is_accepted_without_a_warning(
    pytester: pytest.Pytester,
) -> None:
    # pytest-asyncio 1.5 deprecates scope= in favour of loop_scope=; the seed
    # document spells it scope=, so pytest-aioloop takes it silently.
    pytester.makepyfile(
        textwrap.dedent(
            """
            import asyncio

            import pytest

            pytestmark = pytest.mark.asyncio(scope="module")

            loop = None


            async def test_remember():
                global loop
                loop = asyncio.get_running_loop()


            async def test_shared():
                assert asyncio.get_running_loop() is loop
            """
        )
    )
    pytester.runpytest_subprocess("-W", "error").assert_outcomes(passed=2)


@skip_in_reference
@pytest.mark.parametrize(
    ("project", "outcomes", "lines"),
    [
        pytest.param(
            "smtpish",
            {"passed": 44},
            ["*::test_clients_in_a_task_group[[]uvloop[]] PASSED*"],
            id="smtpish",
        ),
        pytest.param(
            "session_loop",
            {"passed": 34},
            [
                "*::test_add_then_count[[]memory-asyncio[]] PASSED*",
                "*::test_add_then_count[[]tcp-uvloop[]] PASSED*",
                # One session loop per backend, whatever the order of the tests.
                "inventory: loops seen: 2",
            ],
            id="session_loop",
        ),
        pytest.param(
            "threads",
            {"passed": 11},
            ["*::test_sync_test_may_use_asyncio_run PASSED*", "threads left: none"],
            id="threads",
        ),
    ],
)
def test_one_run_on_both_backends(
    pytester: pytest.Pytester, project: str, outcomes: dict[str, int], lines: list[str]
) -> None:
    # Step 4 of the migration: every async test once per backend, sync tests once.
    result = run_project(pytester, project, "asyncio,uvloop")
    result.assert_outcomes(**outcomes)
    result.stdout.fnmatch_lines_random([*lines, probe_line(STDLIB_LOOP, UVLOOP_LOOP)])


@skip_in_reference
def test_pytest_plugins_naming_the_package_is_harmless(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest('pytest_plugins = "pytest_aioloop"\n')
    pytester.makepyfile(
        test_plugins=textwrap.dedent(
            """
            import asyncio

            import pytest

            pytest_plugins = ["pytest_aioloop"]


            @pytest.mark.asyncio
            async def test_runs():
                assert asyncio.get_running_loop()
            """
        )
    )
    result = pytester.runpytest_subprocess("-W", "error")
    result.assert_outcomes(passed=1)


@skip_in_reference
def test_our_own_loop_factories_hook_name(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        textwrap.dedent(
            """
            import asyncio


            class MarkedLoop(asyncio.SelectorEventLoop):
                pass


            def pytest_aioloop_loop_factories(config, item):
                return {"marked": MarkedLoop, "plain": asyncio.SelectorEventLoop}
            """
        )
    )
    pytester.makepyfile(
        textwrap.dedent(
            """
            import asyncio

            import pytest


            @pytest.mark.asyncio
            async def test_variant(request):
                name = type(asyncio.get_running_loop()).__name__
                assert request.node.name.endswith("[marked]") == (name == "MarkedLoop")


            @pytest.mark.asyncio(loop_factories=["marked"])
            async def test_selected():
                assert type(asyncio.get_running_loop()).__name__ == "MarkedLoop"
            """
        )
    )
    result = pytester.runpytest_subprocess("-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines_random(
        ["*test_variant[[]marked[]] PASSED*", "*test_variant[[]plain[]] PASSED*"]
    )


@skip_in_reference
def test_overridden_policy_is_the_global_policy_during_the_test(
    pytester: pytest.Pytester,
) -> None:
    # Code under test that makes its own loops (a thread-owned loop, say) gets
    # them from the policy under pytest-asyncio: asyncio.new_event_loop() asks
    # the global policy, which pytest-asyncio sets to the fixture's value.
    pytester.makeconftest(
        textwrap.dedent(
            """
            import asyncio

            import pytest


            class CountingLoop(asyncio.SelectorEventLoop):
                pass


            class CountingPolicy(asyncio.DefaultEventLoopPolicy):
                def new_event_loop(self):
                    return CountingLoop()


            @pytest.fixture(scope="session")
            def event_loop_policy():
                return CountingPolicy()
            """
        )
    )
    pytester.makepyfile(
        textwrap.dedent(
            """
            import asyncio

            import pytest


            @pytest.mark.asyncio
            async def test_policy_is_global():
                policy = asyncio.get_event_loop_policy()
                assert type(policy).__name__ == "CountingPolicy"


            @pytest.mark.asyncio
            async def test_new_event_loop_follows_the_policy():
                def make():
                    loop = asyncio.new_event_loop()
                    loop.close()
                    return type(loop).__name__

                assert await asyncio.to_thread(make) == "CountingLoop"
            """
        )
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=2)


def test_overridden_policy_makes_the_loops_of_parametrized_tests_too(
    pytester: pytest.Pytester,
) -> None:
    # pytest rebuilds a parametrized test's fixture closure after the
    # parametrize hooks ran, dropping names a hook added to it.
    pytester.makeconftest(
        textwrap.dedent(
            """
            import asyncio

            import pytest


            class MyLoop(asyncio.SelectorEventLoop):
                pass


            class MyPolicy(asyncio.DefaultEventLoopPolicy):
                def new_event_loop(self):
                    return MyLoop()


            @pytest.fixture(scope="session")
            def event_loop_policy():
                return MyPolicy()
            """
        )
    )
    pytester.makepyfile(
        textwrap.dedent(
            """
            import asyncio

            import pytest


            @pytest.fixture(params=["a", "b"])
            def letter(request):
                return request.param


            @pytest.mark.asyncio
            async def test_plain():
                assert type(asyncio.get_running_loop()).__name__ == "MyLoop"


            @pytest.mark.asyncio
            @pytest.mark.parametrize("x", [1, 2])
            async def test_parametrized(x):
                assert type(asyncio.get_running_loop()).__name__ == "MyLoop"


            @pytest.mark.asyncio
            async def test_parametrized_fixture(letter):
                assert type(asyncio.get_running_loop()).__name__ == "MyLoop"


            class TestInClass:
                @pytest.mark.asyncio(loop_scope="class")
                @pytest.mark.parametrize("x", [1, 2])
                async def test_class_loop(self, x):
                    assert type(asyncio.get_running_loop()).__name__ == "MyLoop"
            """
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=7)


def test_a_parametrized_event_loop_policy_runs_each_test_once_per_policy(
    pytester: pytest.Pytester,
) -> None:
    # pytest-asyncio's fixtures reference: "Multiple policies can be provided
    # via fixture parameters", and the test runs once for each.
    pytester.makeconftest(
        textwrap.dedent(
            """
            import asyncio

            import pytest


            class FirstLoop(asyncio.SelectorEventLoop):
                pass


            class SecondLoop(asyncio.SelectorEventLoop):
                pass


            class FirstPolicy(asyncio.DefaultEventLoopPolicy):
                def new_event_loop(self):
                    return FirstLoop()


            class SecondPolicy(asyncio.DefaultEventLoopPolicy):
                def new_event_loop(self):
                    return SecondLoop()


            @pytest.fixture(scope="session", params=[FirstPolicy(), SecondPolicy()])
            def event_loop_policy(request):
                return request.param
            """
        )
    )
    pytester.makepyfile(
        textwrap.dedent(
            """
            import asyncio

            import pytest

            SEEN = []


            @pytest.mark.asyncio
            async def test_loop_of_the_policy():
                policy = type(asyncio.get_event_loop_policy()).__name__
                loop = type(asyncio.get_running_loop()).__name__
                assert loop == policy.replace("Policy", "Loop")
                SEEN.append(loop)


            @pytest.mark.asyncio
            @pytest.mark.parametrize("x", [1, 2])
            async def test_parametrized_too(x):
                SEEN.append(type(asyncio.get_running_loop()).__name__)


            def test_zz_every_policy_ran():
                assert sorted(set(SEEN)) == ["FirstLoop", "SecondLoop"]
                assert len(SEEN) == 6
            """
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-v")
    result.assert_outcomes(passed=7)
    result.stdout.fnmatch_lines(
        [
            "*test_loop_of_the_policy[[]event_loop_policy0[]] PASSED*",
            "*test_loop_of_the_policy[[]event_loop_policy1[]] PASSED*",
        ]
    )


def _install_pytest_asyncio(target: Path) -> None:
    """pip-install the real pytest-asyncio 1.5 (no dependencies) into ``target``."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            "pytest-asyncio==1.5.*",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if done.returncode != 0:
        pytest.fail(f"could not install pytest-asyncio:\n{done.stdout}{done.stderr}")


@pytest.fixture(scope="module")
def pytest_asyncio_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the real pytest-asyncio 1.5 in it, for PYTHONPATH."""
    site = tmp_path_factory.mktemp("site")
    _install_pytest_asyncio(site)
    return site


@pytest.fixture
def pytest_asyncio_installed(
    pytest_asyncio_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pytest-asyncio 1.5 importable, with its entry points, in subprocess runs."""
    monkeypatch.setenv("PYTHONPATH", str(pytest_asyncio_site), prepend=os.pathsep)


@skip_in_reference
def test_pytest_asyncio_installed_too_is_a_usage_error(
    pytester: pytest.Pytester, pytest_asyncio_installed: None
) -> None:
    pytester.makepyfile(
        textwrap.dedent(
            """
            import asyncio

            import pytest


            @pytest.mark.asyncio
            async def test_runs():
                assert asyncio.get_running_loop()
            """
        )
    )
    both = pytester.runpytest_subprocess()
    assert both.ret == pytest.ExitCode.USAGE_ERROR
    both.stderr.fnmatch_lines(["*pytest-asyncio*pytest-aioloop*"])
    assert "pip uninstall pytest-asyncio" in both.stderr.str()

    # Disabling either one makes the run work again.
    for disabled in ("asyncio", "aioloop"):
        alone = pytester.runpytest_subprocess("-p", f"no:{disabled}")
        alone.assert_outcomes(passed=1)


@skip_in_reference
def test_fixtures_a_plugin_made_with_pytest_asyncio_run_in_strict_mode(
    pytester: pytest.Pytester, pytest_asyncio_installed: None
) -> None:
    # A plugin that depends on pytest-asyncio (pytest-aiohttp's aiohttp_client,
    # say) keeps it installed; the suite turns it off with -p no:asyncio and
    # the plugin's pytest_asyncio.fixture fixtures run on pytest-aioloop.
    pytester.makepyfile(
        other_plugin="""
        import asyncio

        import pytest_asyncio


        @pytest_asyncio.fixture
        async def client():
            yield asyncio.get_running_loop()


        @pytest_asyncio.fixture(scope="module", loop_scope="module")
        async def server():
            return asyncio.get_running_loop()
        """,
        test_it="""
        import asyncio

        import pytest


        @pytest.mark.asyncio(loop_scope="module")
        async def test_uses_them(client, server):
            assert client is server is asyncio.get_running_loop()
        """,
    )
    pytester.makeini("[pytest]\naddopts = -p no:asyncio -p other_plugin\n")
    for backend in ("asyncio", "uvloop"):
        result = pytester.runpytest_subprocess(f"--asyncio-backend={backend}")
        result.assert_outcomes(passed=1)


def _guide_commands() -> dict[str, str]:
    """The import-replacing commands of the migration guide, as printed there:
    ``"git"`` (tracked files) and ``"plain"`` (any folder). The README's short
    version may print them too: the same commands."""
    root = Path(__file__).parents[2]
    pages = {
        page: {
            "git" if line.strip().startswith("git ") else "plain": line.strip()
            for line in (root / page).read_text(encoding="utf-8").splitlines()
            if "xargs" in line and "pytest_asyncio" in line
        }
        for page in ("docs/how-to/migrate.md", "README.md")
    }
    found = pages["docs/how-to/migrate.md"]
    if set(found) != {"git", "plain"}:
        pytest.fail(f"the migration guide: expected a git and a plain command: {found}")
    for kind, command in pages["README.md"].items():
        assert command == found[kind], f"README.md's {kind} command differs"
    return found


def _guide_command() -> str:
    return _guide_commands()["plain"]


@pytest.mark.parametrize("kind", ["git", "plain"])
def test_the_guides_import_step_leaves_virtualenvs_alone(
    tmp_path: Path, kind: str
) -> None:
    # A project with its own .venv (the set-up for pytest-aiohttp users, which
    # keep pytest-asyncio installed) and a virtualenv under another name.
    uses = "import pytest_asyncio\n\n\n@pytest_asyncio.fixture\nasync def f(): ...\n"
    project = {
        "conftest.py": "pytest_plugins = 'pytest_asyncio'\n",
        "tests/test_it.py": uses,
    }
    installed = [
        ".venv/lib/python3.11/site-packages/pytest_asyncio/plugin.py",
        ".venv/lib/python3.11/site-packages/pytest_aiohttp/plugin.py",
        "env/lib/python3.11/site-packages/pytest_asyncio/plugin.py",
    ]
    for name, text in project.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    for name in installed:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(uses)
    if kind == "git":
        subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
        subprocess.run(["git", "add", *project], cwd=tmp_path, check=True)
    subprocess.run(["bash", "-c", _guide_commands()[kind]], cwd=tmp_path, check=True)
    assert (tmp_path / "conftest.py").read_text() == (
        "pytest_plugins = 'pytest_aioloop'\n"
    )
    assert (tmp_path / "tests/test_it.py").read_text() == uses.replace(
        "pytest_asyncio", "pytest_aioloop"
    )
    for name in installed:
        assert (tmp_path / name).read_text() == uses, name


@skip_in_reference
def test_the_guides_import_step_migrates_a_pytest_asyncio_project(
    pytester: pytest.Pytester,
) -> None:
    # The project as its pytest-asyncio user wrote it...
    copy_project(pytester, "session_loop")
    for path in pytester.path.rglob("*.py"):
        path.write_text(_to_reference(path.read_text()))
    assert "pytest_asyncio" in (pytester.path / "conftest.py").read_text()
    # ...after step 3 of the guide, run as written in the project's root.
    subprocess.run(["bash", "-c", _guide_command()], cwd=pytester.path, check=True)
    for path in pytester.path.rglob("*.py"):
        assert not re.search(r"\bpytest_asyncio\b", path.read_text()), path
    result = pytester.runpytest_subprocess("--asyncio-backend=asyncio,uvloop")
    result.assert_outcomes(passed=34)
