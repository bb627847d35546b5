"""A run's start and end: settings and backends at configure, the report
header, the terminal summary, ``--asyncio-backends``, and the loops closed
at unconfigure."""

from __future__ import annotations

import importlib.util
import sys
from typing import Final, final

import pytest

import aioloop

from ._hookspecs import PytestAsyncioHooks
from ._marker import forget_parsed_marks
from ._plan import RunBackends
from ._reports import Reporter
from ._run import RUN_KEY, AioloopRun
from ._scopes import LoopRegistry
from ._settings import FIXTURE_SCOPE, Settings, read_settings

__all__ = [
    "end_run",
    "header_lines",
    "list_backends",
    "may_load_pytest_asyncio",
    "start_run",
    "write_summary",
]

MARKER_HELP: Final = (
    "asyncio(loop_scope='function', backend=None, timeout=None, debug=False, "
    "leaks=None, idle_limit=None): run the async test on an event loop of that "
    "scope (function, class, module, package, session), on the named backend(s)"
)


def may_load_pytest_asyncio(pluginmanager: pytest.PytestPluginManager) -> bool:
    # Plugins load in an arbitrary order; this one cannot know yet whether
    # pytest-asyncio will be loaded after it, only whether it is importable
    # and not disabled with -p no:asyncio.
    if pluginmanager.is_blocked("asyncio") or pluginmanager.is_blocked(
        "pytest_asyncio.plugin"
    ):
        return False
    return importlib.util.find_spec("pytest_asyncio") is not None


def list_backends(config: pytest.Config) -> int | None:
    """``--asyncio-backends``: print the installed backends; exit status 0."""
    if not config.getoption("asyncio_list_backends"):
        return None
    names = aioloop.backend_names()
    print(f"event loop backends (entry point group {aioloop.GROUP!r}):")
    for name in names:
        try:
            description = aioloop.load_backend(name).describe()
        except aioloop.BackendError as exc:
            print(f"  {name:<12} cannot load: {exc}")
        else:
            print(f"  {name:<12} {description}")
    if not names:
        print("  (none installed)")
    return 0


def _refuse_pytest_asyncio(config: pytest.Config) -> None:
    manager = config.pluginmanager
    if manager.has_plugin("asyncio") or manager.has_plugin("pytest_asyncio.plugin"):
        both = (
            "pytest-asyncio and pytest-aioloop are both installed and active; both "
            "claim the 'asyncio' marker."
        )
        requirers = _requirers_of_pytest_asyncio()
        if requirers:
            raise pytest.UsageError(
                f"{both} pytest-asyncio is required by {', '.join(requirers)}: keep "
                f"it installed and disable it in your pytest configuration, "
                f"addopts = -p no:asyncio (in [pytest] or "
                f"[tool.pytest.ini_options]); pytest-aioloop then runs the async "
                f"tests. For one run: -p no:asyncio, or -p no:aioloop to use "
                f"pytest-asyncio."
            )
        raise pytest.UsageError(
            f"{both} Remove pytest-asyncio (pip uninstall pytest-asyncio), or "
            f"disable one of them with -p no:asyncio (pytest-asyncio; in addopts "
            f"to keep it so) or -p no:aioloop (pytest-aioloop)."
        )


def _requirers_of_pytest_asyncio() -> list[str]:
    """The installed distributions that require pytest-asyncio (not only as
    an extra), as "name version"."""
    import importlib.metadata
    import re

    found: set[str] = set()
    for dist in importlib.metadata.distributions():
        for requirement in dist.requires or ():
            name, _, marker = requirement.partition(";")
            match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", name)
            if (
                match
                and re.sub(r"[-_.]+", "-", match[1]).lower() == "pytest-asyncio"
                and "extra" not in marker
            ):
                found.add(f"{dist.metadata['Name']} {dist.version}")
    return sorted(found)


def _load_backends(settings: Settings) -> tuple[aioloop.Backend, ...] | None:
    """Load the run's backends; a bad one is a usage error before collection.

    The plain default (the built-in ``asyncio``, nothing chosen) is left to
    load on first use, so that a run of sync tests never imports asyncio.
    """
    if settings.backends == ("asyncio",) and not settings.backends_from_cli:
        return None
    source = (
        "--asyncio-backend" if settings.backends_from_cli else "ini asyncio_backend"
    )
    loaded = []
    for name in settings.backends:
        try:
            loaded.append(aioloop.load_backend(name))
        except aioloop.BackendError as exc:
            raise pytest.UsageError(f"{source}: {exc}") from None
    return tuple(loaded)


def start_run(config: pytest.Config) -> None:
    """Read the settings, load the run's backends and put the run object on
    the config's stash; refuse a run with pytest-asyncio active too."""
    _refuse_pytest_asyncio(config)
    declared = getattr(config.pluginmanager.hook, "pytest_asyncio_loop_factories", None)
    if declared is None or not declared.has_spec():
        config.pluginmanager.add_hookspecs(PytestAsyncioHooks)
    config.addinivalue_line("markers", MARKER_HELP)
    settings = read_settings(config)
    reporter = Reporter(settings.leaks)
    backends = RunBackends(
        settings.backends,
        _load_backends(settings),
        honour_global_policy=(
            not settings.backends_from_cli and settings.backends == ("asyncio",)
        ),
    )

    def watch() -> None:
        config.pluginmanager.register(AfterTest(config.stash[RUN_KEY]), AFTER_TEST)

    loops = LoopRegistry(reporter, debug=settings.debug, watch=watch)
    config.stash[RUN_KEY] = AioloopRun(settings, backends, loops, reporter)


#: The name AfterTest is registered under.
AFTER_TEST: Final = "aioloop-after-test"


@final
class AfterTest:
    """After each test's teardown: a loop the test closed, replaced or unset
    is told of (``check_after_test``), and on a run whose tests differ in
    backend, the backend switched before the next test.

    A plugin object registered only once there is something to check (a loop
    has become current, a test's own loop was made early, or the tests'
    backends differ): a run of sync tests, or of tests on their own loops,
    pays no hook call per test for it.
    """

    __slots__ = ("_run",)

    def __init__(self, run: AioloopRun) -> None:
        self._run = run

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_teardown(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> None:
        run = self._run
        run.loops.check_after_test(item)
        if run.grouping.mixed and nextitem is not None:
            run.grouping.switch_before(nextitem)


def end_run(config: pytest.Config) -> None:
    """Close every loop still open and forget the run."""
    run = config.stash.get(RUN_KEY, None)
    if run is not None:
        del config.stash[RUN_KEY]
        run.loops.close_all()
    forget_parsed_marks()
    # The SIGINT handler the first loop of the run installed goes away with it.
    interrupts = sys.modules.get(f"{__package__}._interrupts")
    if interrupts is not None:
        interrupts.restore_interrupt_handler()


def header_lines(config: pytest.Config) -> list[str]:
    """The report header's line: the mode, the backends with their versions."""
    run = config.stash[RUN_KEY]
    settings = run.settings
    backends = ", ".join(b.describe() for b in run.backends.selected)
    # what the ini values and options made of the run, in their own spelling
    fixtures = settings.default_fixture_loop_scope or FIXTURE_SCOPE
    timeout = "" if settings.timeout is None else f", timeout={settings.timeout:g}s"
    idle = (
        "" if settings.idle_limit is None else f", idle limit={settings.idle_limit:g}s"
    )
    return [
        f"aioloop: mode={settings.mode.value}, debug={settings.debug}, default loop "
        f"scope: fixtures={fixtures}, tests={settings.default_test_loop_scope}"
        f"{timeout}{idle}, backends: {backends}"
    ]


def write_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """The terminal summary: leaked tasks and lost exceptions, and notes on
    loops that did not come from the run's backends."""
    run = config.stash.get(RUN_KEY, None)
    if run is None:
        return
    verbose = terminalreporter.verbosity > 0
    lines = run.reporter.summary_lines(verbose=verbose)
    if lines:
        # write_sep, not section: it ends the progress line first
        terminalreporter.write_sep("=", "aioloop: leaked tasks and lost exceptions")
        for line in lines:
            terminalreporter.write_line(line)
        if run.settings.leaks.value == "report":
            terminalreporter.write_line(
                "(--asyncio-leaks=fail makes them failures)"
                if verbose
                else "(-v shows where each task was; "
                "--asyncio-leaks=fail makes them failures)"
            )
    settings = run.settings
    if run.backends.hook_chose and (
        settings.backends_from_cli or settings.backends != ("asyncio",)
    ):
        terminalreporter.write_line(
            "aioloop: a loop-factories hook (pytest_asyncio_loop_factories) chose "
            "the loops of some tests; the run's backends "
            f"({', '.join(settings.backends)}) were not used for those.",
            yellow=True,
        )
    if run.policy_used:
        terminalreporter.write_line(
            "aioloop: tests ran on loops from an overridden event_loop_policy fixture; "
            "event loop policies are deprecated, prefer a backend "
            "(--asyncio-backend, mark.asyncio(backend=...)).",
            yellow=True,
        )
