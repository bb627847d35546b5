"""The pytest plugin, registered as the pytest11 entry point ``aioloop``.

``-p no:aioloop`` disables it. The hooks here only hand over to the module
named for each feature:

- ``_session``: a run's start (settings, backends, the run object) and end,
  the report header and the terminal summary;
- ``_collection``: which tests are ours, and on which backends;
- ``_grouping``: tests grouped by backend, and the switch between backends
  (a plugin object of its own, with its own hooks);
- ``_fixture_setup``: a fixture's set-up on its loop;
- ``_execute``: a test's call on its loop (imported with asyncio, only once
  an async test runs).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Generator
from typing import Any, Final

import pytest

from . import _compat
from ._api import ASYNC_TEST_KEY, UNNOTED_KEY
from ._collection import note_collected, parametrize, will_note
from ._fixture_setup import async_fixture_setup, before_sync_fixture, fixture_kind
from ._fixtures import (
    _aioloop_backend as _aioloop_backend,
)
from ._fixtures import (
    _aioloop_chosen_in_error as _aioloop_chosen_in_error,
)
from ._fixtures import (
    asyncio_backend as asyncio_backend,
)
from ._fixtures import (
    event_loop_policy as event_loop_policy,
)
from ._fixtures import (
    unused_tcp_port as unused_tcp_port,
)
from ._fixtures import (
    unused_tcp_port_factory as unused_tcp_port_factory,
)
from ._fixtures import (
    unused_udp_port as unused_udp_port,
)
from ._fixtures import (
    unused_udp_port_factory as unused_udp_port_factory,
)
from ._hookspecs import LoopFactoryHooks
from ._marker import is_marked
from ._plan import async_kind
from ._run import RUN_KEY
from ._session import (
    end_run,
    header_lines,
    list_backends,
    may_load_pytest_asyncio,
    start_run,
    write_summary,
)
from ._settings import add_options


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(LoopFactoryHooks)


def pytest_addoption(
    parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager
) -> None:
    add_options(parser, with_shared=not may_load_pytest_asyncio(pluginmanager))


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    return list_backends(config)


def pytest_configure(config: pytest.Config) -> None:
    start_run(config)
    config.stash[UNNOTED_KEY] = will_note  # (until the tests are noted)


def pytest_unconfigure(config: pytest.Config) -> None:
    end_run(config)


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> Generator[None, None, None]:
    # Scopes still open now (an interrupted run) are closed outside any test:
    # their problems can only be summarised.
    run = session.config.stash.get(RUN_KEY, None)
    if run is not None:
        run.reporter.outside_tests = True
    try:
        return (yield)
    finally:
        workeroutput = getattr(session.config, "workeroutput", None)
        if run is not None and workeroutput is not None:
            # an xdist worker: the controller prints the summary
            workeroutput[_WORKER_PROBLEMS] = run.reporter.to_wire()


_WORKER_PROBLEMS: Final = "aioloop_problems"


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    # xdist controller: take the problems a worker found, for the summary
    run = node.config.stash.get(RUN_KEY, None)
    problems = getattr(node, "workeroutput", {}).get(_WORKER_PROBLEMS)
    if run is not None and problems:
        run.reporter.add_from_wire(problems)


def pytest_report_header(config: pytest.Config) -> list[str]:
    return header_lines(config)


@pytest.hookimpl(trylast=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize(metafunc)


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> Generator[None, None, None]:
    # Before every other plugin's modifyitems: which tests are ours (their
    # backend, "-k" keywords; is_async_test() answers from here on), read
    # once per run here rather than by a hook called for every item. After
    # them all: tests grouped by backend.
    run = config.stash[RUN_KEY]
    grouping = run.grouping
    grouping.note_collected(items)
    for item in items:
        note_collected(item)
    if UNNOTED_KEY in config.stash:
        del config.stash[UNNOTED_KEY]  # is_async_test() reads the notes now
    result = yield
    grouping.group(items)
    if grouping.mixed:
        run.loops.watch()  # the backend is switched after each test's teardown
    return result


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    # (most tests of a run miss here and below)
    kind = _compat.stash_get(pyfuncitem.stash, ASYNC_TEST_KEY)
    if kind is None:
        # Not an async test of ours at collection; it may have been marked
        # since.
        if not is_marked(pyfuncitem):
            return None
        kind = async_kind(pyfuncitem.obj)
    if kind is None:
        pyfuncitem.warn(
            pytest.PytestWarning(
                f"{pyfuncitem.nodeid} is marked with @pytest.mark.asyncio but is not "
                f"an async function; the marker does nothing here. Remove it (it may "
                f"come from a pytestmark on the module or class)."
            )
        )
        return None
    execute = sys.modules.get(_EXECUTE)
    if execute is None:
        # asyncio, only once an async test runs. (Looked up each time rather
        # than kept: pytester's in-process runs drop the modules they import.)
        execute = importlib.import_module(_EXECUTE)
    run = _compat.stash_get(pyfuncitem.config.stash, RUN_KEY)
    assert run is not None
    execute.run_test(pyfuncitem, kind, run)
    return True


_EXECUTE: Final = f"{__package__}._execute"


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None, Any, Any]:
    kind = fixture_kind(fixturedef.func)
    if kind is None:
        before_sync_fixture(fixturedef, request)
        return (yield)
    return (yield from async_fixture_setup(fixturedef, request, kind))


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    write_summary(terminalreporter, config)
