"""The pytest plugin, registered as the pytest11 entry point ``aioloop``.

``-p no:aioloop`` disables it. Each hook here is thin: the work is in the
private modules beside this one.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import sys
import unittest
from collections.abc import Generator, Mapping
from typing import Any, Final, final

import pytest

import aioloop

from . import _compat
from ._api import ASYNC_TEST_KEY, fixture_loop_scope
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
from ._hookspecs import LoopFactoryHooks, PytestAsyncioHooks
from ._marker import (
    MARKER,
    MarkerError,
    cached_marker_options,
    forget_parsed_marks,
    is_marked,
    marks_of,
)
from ._plan import (
    BACKEND_FIXTURE,
    PLAN_KEY,
    POLICY_FIXTURE,
    SINGLE_BACKEND_KEY,
    BackendInUse,
    BackendParam,
    RunBackends,
    async_kind,
    backend_param,
    backend_params,
    owned_by_other_plugin,
    policy_overridden,
)
from ._reports import Reporter
from ._run import RUN_KEY, AioloopRun, plan_of
from ._scopes import LoopScopes, ScopeError, scope_node
from ._settings import (
    LOOP_SCOPES,
    LoopScope,
    Mode,
    Settings,
    add_options,
    loop_scope_of,
    read_settings,
)

_MARKER_HELP: Final = (
    "asyncio(loop_scope='function', backend=None, timeout=None, debug=False, "
    "leaks=None): run the async test on an event loop of that scope (function, "
    "class, module, package, session), on the named backend(s)"
)


#: The one backend chosen for each async test function of a module or class
#: (by name), kept on that collector until its tests are collected.
_SINGLES_KEY: Final = pytest.StashKey[dict[str, BackendParam]]()
ERROR_FIXTURE: Final = "_aioloop_chosen_in_error"


#: Each configured run's state. (A dict keyed by the config rather than the
#: config's stash: it is read in every per-test hook, and a stash lookup
#: costs two Python calls.)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(LoopFactoryHooks)


def pytest_addoption(
    parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager
) -> None:
    add_options(parser, with_shared=not _pytest_asyncio_may_load(pluginmanager))


def _pytest_asyncio_may_load(pluginmanager: pytest.PytestPluginManager) -> bool:
    # Plugins load in an arbitrary order; this one cannot know yet whether
    # pytest-asyncio will be loaded after it, only whether it is importable
    # and not disabled with -p no:asyncio.
    if pluginmanager.is_blocked("asyncio") or pluginmanager.is_blocked(
        "pytest_asyncio.plugin"
    ):
        return False
    return importlib.util.find_spec("pytest_asyncio") is not None


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
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
        raise pytest.UsageError(
            "pytest-asyncio and pytest-aioloop are both installed and active; both "
            "claim the 'asyncio' marker. Remove pytest-asyncio (pip uninstall "
            "pytest-asyncio), or disable one of them for this run with "
            "-p no:asyncio (pytest-asyncio) or -p no:aioloop (pytest-aioloop)."
        )


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


def pytest_configure(config: pytest.Config) -> None:
    _refuse_pytest_asyncio(config)
    declared = getattr(config.pluginmanager.hook, "pytest_asyncio_loop_factories", None)
    if declared is None or not declared.has_spec():
        config.pluginmanager.add_hookspecs(PytestAsyncioHooks)
    config.addinivalue_line("markers", _MARKER_HELP)
    settings = read_settings(config)
    reporter = Reporter(settings.leaks)
    config.stash[RUN_KEY] = AioloopRun(
        settings=settings,
        run=RunBackends(
            settings.backends,
            _load_backends(settings),
            honour_global_policy=(
                not settings.backends_from_cli and settings.backends == ("asyncio",)
            ),
        ),
        scopes=LoopScopes(reporter, debug=settings.debug),
        reporter=reporter,
    )
    config.pluginmanager.register(
        _CollectedOrder(config.stash[RUN_KEY]), "aioloop-collected-order"
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(RUN_KEY, None)
    if state is not None:
        del config.stash[RUN_KEY]
        state.scopes.close_all()
    forget_parsed_marks()
    # The SIGINT handler the first loop of the run installed goes away with it.
    runner_module = sys.modules.get(f"{__package__}._runner")
    if runner_module is not None:
        runner_module.restore_interrupt_handler()


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> Generator[None, None, None]:
    # Scopes still open now (an interrupted run) are closed outside any test:
    # their problems can only be summarised.
    state = session.config.stash.get(RUN_KEY, None)
    if state is not None:
        state.reporter.outside_tests = True
    try:
        return (yield)
    finally:
        workeroutput = getattr(session.config, "workeroutput", None)
        if state is not None and workeroutput is not None:
            # an xdist worker: the controller prints the summary
            workeroutput[_WORKER_PROBLEMS] = state.reporter.to_wire()


_WORKER_PROBLEMS: Final = "aioloop_problems"


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    # xdist controller: take the problems a worker found, for the summary
    state = node.config.stash.get(RUN_KEY, None)
    problems = getattr(node, "workeroutput", {}).get(_WORKER_PROBLEMS)
    if state is not None and problems:
        state.reporter.add_from_wire(problems)


def pytest_report_header(config: pytest.Config) -> list[str]:
    state = config.stash[RUN_KEY]
    settings = state.settings
    backends = ", ".join(b.describe() for b in state.run.selected)
    extras = []
    if settings.debug:
        extras.append("debug")
    if settings.timeout is not None:
        extras.append(f"timeout={settings.timeout:g}s")
    if settings.default_test_loop_scope != "function":
        extras.append(f"test loop scope={settings.default_test_loop_scope}")
    tail = f" ({', '.join(extras)})" if extras else ""
    return [f"aioloop: mode={settings.mode.value}, backends: {backends}{tail}"]


#: The mark auto mode gives unmarked async tests: one object for all of them,
#: so that their marks are read once (see cached_marker_options).
_AUTO_MARK: Final = getattr(pytest.mark, MARKER)


def pytest_itemcollected(item: pytest.Item) -> None:
    if not isinstance(item, pytest.Function):
        return
    kind = async_kind(item.obj)
    if kind is None:
        return
    parent = item.parent
    if isinstance(parent, pytest.Class) and issubclass(parent.obj, unittest.TestCase):
        return  # unittest runs its own async tests (IsolatedAsyncioTestCase)
    if not is_marked(item):
        state = item.config.stash[RUN_KEY]
        if state.settings.mode is not Mode.AUTO or owned_by_other_plugin(
            item, item.fixturenames
        ):
            return
        item.add_marker(_AUTO_MARK)
    item.stash[ASYNC_TEST_KEY] = kind
    # "-k uvloop" selects every test that runs on uvloop, also those whose
    # ids do not name the backend (one backend for that test).
    param = backend_param(item)
    if param is None and parent is not None and _SINGLES_KEY in parent.stash:
        param = parent.stash[_SINGLES_KEY].get(item.originalname)
        if param is not None:
            item.stash[SINGLE_BACKEND_KEY] = param
            _mark_chosen_in_error(item, param)
    if param is not None:
        item.extra_keyword_matches.add(param.name)
        item.config.stash[RUN_KEY].backend_chosen = True
        return
    if policy_overridden(item):
        names = item.fixturenames
        if POLICY_FIXTURE not in names:
            # pytest_generate_tests added it, but pytest rebuilds the closure
            # of a parametrized test from what the test requests (the list is
            # shared by the function's items: added once).
            names.append(POLICY_FIXTURE)
        return
    run = item.config.stash[RUN_KEY].run
    if not run.honour_global_policy:
        item.extra_keyword_matches.add(run.names[0])


def _mark_chosen_in_error(item: pytest.Function, param: BackendParam) -> None:
    # What a backend parameter in error does, for a test kept off parameters:
    # skip it, or make the error one of its setup.
    if param.skip_reason is not None:
        item.add_marker(pytest.mark.skip(reason=param.skip_reason))
    elif param.error is not None and ERROR_FIXTURE not in item.fixturenames:
        # (the list is shared by the function's items: added once)
        item.fixturenames.append(ERROR_FIXTURE)


def _in_error(param: object) -> bool:
    """A backend parameter that makes its test an error at setup (a bad
    marker, an unknown backend): the test runs on no loop."""
    return (
        isinstance(param, BackendParam)
        and param.backend is None
        and param.error is not None
        and not param.error.startswith("skip: ")
    )


def _with_sync_tests_in_place(
    items: list[pytest.Item],
    collected: list[pytest.Item] | None,
    chosen: Mapping[pytest.Item, BackendParam | None],
    first: set[pytest.Item],
) -> list[pytest.Item]:
    # pytest's grouping by a session-scoped parameter moves the tests without
    # one (sync tests) after all those with one: out of their module, whose
    # fixtures are then set up once more at the end of the run. A sync test
    # without parameters wider than a test (those pytest groups on purpose)
    # goes back after the test it followed when collected, in the first
    # backend's group (``first``).
    if collected is None:
        return items
    present = set(items)

    def movable(item: pytest.Item) -> bool:
        return (
            item not in chosen or _in_error(chosen[item])
        ) and _compat.params_only_per_test(item)

    after: dict[pytest.Item | None, list[pytest.Item]] = {}
    anchor: pytest.Item | None = None
    for item in collected:
        if item not in present:
            continue  # deselected since
        if movable(item):
            after.setdefault(anchor, []).append(item)
        elif item in first:
            anchor = item
    if not after:
        return items
    result = after.pop(None, [])
    for item in items:
        if movable(item):
            continue
        result.append(item)
        result.extend(after.pop(item, ()))
    return result


@final
class _CollectedOrder:
    """Keeps the order of collection for pytest_collection_modifyitems."""

    def __init__(self, state: AioloopRun) -> None:
        self._state = state

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self._state.collected_order = list(items)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    # Only when async tests of this run differ in backend: they are grouped by
    # backend, and a switch of backend from one test to the next tears down
    # the wider async fixtures made in the previous backend's loops (see
    # pytest_runtest_teardown). A run where every async test has the same
    # backend keeps pytest's order and skips the per-test cost.
    state = config.stash[RUN_KEY]
    if not state.backend_chosen:
        return  # every async test on the run's default (or a policy's loops)
    chosen: dict[pytest.Item, BackendParam | None] = {
        item: backend_param(item) for item in items if ASYNC_TEST_KEY in item.stash
    }
    default = state.run.default_for_run()

    def backend_of(item: pytest.Item) -> object:
        param = chosen[item]
        if param is None or _in_error(param):
            # (a test in error runs on no loop: it stays where it was collected)
            return default
        return param.backend if param.backend is not None else param

    if len({backend_of(item) for item in chosen}) < 2:
        return
    state.mixed = True
    # pytest groups parametrized tests itself, but pytest 8 compares the
    # parameter's index, not its value: a test pinned to uvloop and one on the
    # run's asyncio both have index 0. A stable sort by backend groups them on
    # every pytest; a sync test stays after its predecessor.
    ranks: dict[object, int] = {}
    rank = 0
    keyed = []
    for position, item in enumerate(items):
        if item in chosen:
            rank = ranks.setdefault(backend_of(item), len(ranks))
        keyed.append((rank, position, item))
    first = {item for rank, _, item in keyed if rank == 0}
    items[:] = _with_sync_tests_in_place(
        [item for _, _, item in sorted(keyed, key=lambda k: k[:2])],
        state.collected_order,
        chosen,
        first,
    )
    state.collected_order = None
    for item in chosen:
        # A parametrized test sets the backend fixture up first, so that
        # pytest's own switch of parameter comes before its other fixtures.
        callspec = getattr(item, "callspec", None)
        if callspec is None or BACKEND_FIXTURE not in callspec.params:
            continue
        names = item.fixturenames  # type: ignore[attr-defined]
        if names and names[0] == BACKEND_FIXTURE:
            continue
        if BACKEND_FIXTURE in names:
            names.remove(BACKEND_FIXTURE)
        names.insert(0, BACKEND_FIXTURE)


@pytest.hookimpl(trylast=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    definition = metafunc.definition
    kind = async_kind(definition.obj)
    if kind is None or kind == "asyncgen":
        return
    state = definition.config.stash[RUN_KEY]
    marks = marks_of(definition)
    if not marks and (
        state.settings.mode is not Mode.AUTO
        or owned_by_other_plugin(definition, metafunc.fixturenames)
    ):
        return
    try:
        options = cached_marker_options(marks, definition)
        _check_marker_scope(definition, options.loop_scope)
        params = backend_params(
            definition,
            options,
            state.settings,
            state.run,
        )
    except (MarkerError, ScopeError) as exc:
        # An error of the test's setup, where pytest collected it.
        params = [BackendParam("error", None, str(exc))]
    if (
        params is not None
        and len(params) == 1
        and (len(state.run.names) == 1 or _in_error(params[0]))
    ):
        # One backend in a run on one backend: kept on the test (at
        # pytest_itemcollected), not made a parameter. A session-scoped
        # parameter, even a hidden one, makes pytest regroup the run around
        # it (splitting modules, moving sync tests). (A run on several
        # backends is grouped by backend anyway: there a test pinned to one
        # has a hidden parameter, so that pytest caches its wider fixtures
        # with that backend's other tests.)
        holder = definition.parent if definition.parent is not None else definition
        if _SINGLES_KEY not in holder.stash:
            holder.stash[_SINGLES_KEY] = {}
        holder.stash[_SINGLES_KEY][definition.name] = params[0]
        return
    if params is None:
        if (
            policy_overridden(definition)
            and POLICY_FIXTURE not in metafunc.fixturenames
        ):
            metafunc.fixturenames.append(POLICY_FIXTURE)
            state.policy_used = True
            # pytest parametrizes only the fixtures of the closure it computed
            # before this hook: an event_loop_policy with params (one run per
            # policy, as pytest-asyncio documents) is parametrized here.
            policy = _compat.fixturedefs_visible_to(definition, POLICY_FIXTURE)[-1]
            if policy.params is not None:
                metafunc.parametrize(
                    POLICY_FIXTURE,
                    policy.params,
                    indirect=True,
                    ids=policy.ids,
                    scope=policy.scope,
                )
        return
    metafunc.fixturenames.append(BACKEND_FIXTURE)
    hide = len(params) == 1
    values = [
        pytest.param(
            param,
            id=pytest.HIDDEN_PARAM if hide else param.name,
            marks=(
                [pytest.mark.skip(reason=param.skip_reason)]
                if param.skip_reason is not None
                else []
            ),
        )
        for param in params
    ]
    metafunc.parametrize(BACKEND_FIXTURE, values, indirect=True, scope="session")


def _check_marker_scope(definition: pytest.Item, scope: LoopScope | None) -> None:
    # A marker's class scope outside a class, or package scope outside a
    # regular package (a scope from the ini falls back instead).
    if scope == "class" or scope == "package":
        scope_node(definition, scope, for_test=True)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    # (``in`` first: Stash.get raises and catches a KeyError on a miss, and
    # most tests of a run miss here and below.)
    stash = pyfuncitem.stash
    kind = stash[ASYNC_TEST_KEY] if ASYNC_TEST_KEY in stash else None  # noqa: SIM401
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
    state = pyfuncitem.config.stash[RUN_KEY]
    execute = sys.modules.get(_EXECUTE)
    if execute is None:
        # asyncio, only once an async test runs. (Looked up each time rather
        # than kept: pytester's in-process runs drop the modules they import.)
        execute = importlib.import_module(_EXECUTE)
    execute.run_test(
        pyfuncitem, kind, state.settings, state.run, state.scopes, state.reporter
    )
    return True


_EXECUTE: Final = f"{__package__}._execute"


def _fixture_kind(function: Any) -> str | None:
    # Every fixture of every test passes here: async_kind reads a plain
    # function's kind off its code.
    kind = async_kind(getattr(function, "__func__", function))
    return kind if kind in ("coroutine", "asyncgen") else None


def _in_use_for_sync_test(
    state: AioloopRun, request: pytest.FixtureRequest
) -> BackendInUse | None:
    # A sync test runs once, among the tests of one backend: on a run whose
    # async tests differ in backend, its async fixtures join that backend's.
    if not state.mixed or state.backend_in_use is None:
        return None
    if ASYNC_TEST_KEY in _compat.requesting_item(request).stash:
        return None
    return state.backend_in_use


def _open_loop_of_sync_fixture(
    fixturedef: pytest.FixtureDef[Any],
    request: pytest.FixtureRequest,
    declared: LoopScope | None,
) -> None:
    # A sync fixture made with pytest_aioloop.fixture (or pytest_asyncio's)
    # is set up after its loop is opened and torn down before it closes, as
    # under pytest-asyncio, where it requests the loop: the loop is current
    # while it runs and its teardown may drive it. Not cached per backend (it
    # makes nothing in the loop). An error of the test's marker or backend is
    # left for the test (raised here, it would break pytest's fixture state).
    state = request.config.stash[RUN_KEY]
    settings = state.settings
    loop_scope = loop_scope_of(declared, settings, fixturedef.scope)
    from ._execute import fixture_runner

    try:
        fixture_runner(
            fixturedef,
            request,
            loop_scope,
            settings,
            state.run,
            state.scopes,
            cached_per_backend=False,
            in_use=_in_use_for_sync_test(state, request),
        )
    except _LEFT_FOR_THE_TEST:
        return


#: A bad marker, scope or backend found while opening a loop early (for a
#: sync fixture): the test fails on it at its own setup or call. Anything
#: else (a warning turned into an error, a bug of ours) surfaces as itself.
_LEFT_FOR_THE_TEST: Final = (aioloop.BackendError, pytest.fail.Exception)


def _raise(error: BaseException, **kwargs: Any) -> Any:
    raise error


def _make_test_loop_current(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> None:
    # A sync fixture of an async test finds the test's loop current
    # (asyncio.get_event_loop()) if that loop outlives the fixture: make the
    # loop, on first use, before the fixture runs. A bad marker or backend is
    # left for the test to fail on (raised here, it would break pytest's
    # fixture state).
    item = _compat.requesting_item(request)
    if ASYNC_TEST_KEY not in item.stash or _policy_not_set_up(item):
        return
    try:
        plan = plan_of(item)
        if LOOP_SCOPES.index(plan.scope) >= LOOP_SCOPES.index(fixturedef.scope):
            state = item.config.stash[RUN_KEY]
            state.scopes.runner(
                plan.node, plan.backend, debug=plan.debug, end_later=plan.node is item
            )
    except _LEFT_FOR_THE_TEST:
        return


def _policy_not_set_up(item: pytest.Item) -> bool:
    # An overridden event_loop_policy makes the test's loop: the loop cannot
    # be made before that fixture (or one it depends on) is set up.
    if PLAN_KEY in item.stash or not policy_overridden(item):
        return False
    if POLICY_FIXTURE not in getattr(item, "fixturenames", ()):
        return False
    definitions = _compat.fixturedefs_visible_to(item, POLICY_FIXTURE)
    return bool(definitions) and definitions[-1].cached_result is None


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    # After the test's own teardown: a loop it closed or replaced is told of.
    state = item.config.stash.get(RUN_KEY, None)
    if state is not None:
        state.scopes.check_after_test(item)
        if state.mixed and nextitem is not None:
            _switch_backend(state, nextitem)


def _switch_backend(state: AioloopRun, nextitem: pytest.Item) -> None:
    # pytest tears the backend fixture down (and with it the wider async
    # fixtures made in its loops) when its parameter changes; a test with one
    # backend has no parameter, so a change of backend is done here.
    in_use = state.backend_in_use
    if in_use is None or ASYNC_TEST_KEY not in nextitem.stash:
        return
    param = backend_param(nextitem)
    if param is not None:
        backend = param.backend
    elif POLICY_FIXTURE in getattr(nextitem, "fixturenames", ()) and (
        policy_overridden(nextitem)
    ):
        return  # a policy's loops: known only once its fixture is set up
    else:
        backend = state.run.default_for_run()
    if backend is None or backend is in_use.backend:
        return
    state.backend_in_use = None
    in_use.finish()


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None, Any, Any]:
    kind = _fixture_kind(fixturedef.func)
    if kind is None:
        _make_test_loop_current(fixturedef, request)
        declared_sync = fixture_loop_scope(fixturedef.func)
        if declared_sync is not False:
            _open_loop_of_sync_fixture(fixturedef, request, declared_sync)
        return (yield)
    declared = fixture_loop_scope(fixturedef.func)
    state = request.config.stash[RUN_KEY]
    settings = state.settings
    if declared is False:
        if settings.mode is not Mode.AUTO:
            try:
                return (yield)
            except (pytest.fail.Exception, Warning) as exc:
                _with_strict_mode_hint(exc, fixturedef.argname)
                raise
        item = _compat.requesting_item(request)
        if owned_by_other_plugin(item, item.fixturenames):  # type: ignore[attr-defined]
            return (yield)  # anyio's or trio's fixture, whatever the plugin order
        declared = None
    loop_scope = loop_scope_of(declared, settings, fixturedef.scope)
    from ._execute import setup_async_fixture  # asyncio, only when needed

    try:
        stand_in = setup_async_fixture(
            fixturedef,
            request,
            kind,
            loop_scope,
            settings,
            state.run,
            state.scopes,
            _in_use_for_sync_test(state, request),
        )
    except (Exception, pytest.fail.Exception) as exc:
        # Raised from the fixture function itself, so that pytest records it
        # as this fixture's error (raised here, it would leave the fixture
        # half set up and break the next test that uses it).
        stand_in = functools.partial(_raise, exc)
    original = fixturedef.func
    _compat.replace_fixture_function(fixturedef, stand_in)
    try:
        return (yield)
    finally:
        _compat.replace_fixture_function(fixturedef, original)


#: What pytest's own error (pytest 9) or warning (8.4) about an async fixture
#: that no plugin ran starts with after the test's name.
_UNHANDLED_ASYNC_FIXTURE: Final = " requested an async fixture "


def _with_strict_mode_hint(error: BaseException, name: str) -> None:
    # A plain @pytest.fixture async def in strict mode: pytest says no plugin
    # ran it; say which decorator or mode would have.
    text = str(error)
    if _UNHANDLED_ASYNC_FIXTURE not in text:
        return
    hint = (
        f"pytest-aioloop: in strict mode (asyncio_mode = strict, the default) "
        f"only async fixtures made with @pytest_aioloop.fixture run; decorate "
        f"{name!r} with @pytest_aioloop.fixture, or set asyncio_mode = auto."
    )
    # (pytest 8.4's warning, raised as an error, too: as a plain message,
    # not a traceback through this hook)
    raise pytest.fail.Exception(f"{text}\n{hint}", pytrace=False) from None


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    state = config.stash.get(RUN_KEY, None)
    if state is None:
        return
    verbose = terminalreporter.verbosity > 0
    lines = state.reporter.summary_lines(verbose=verbose)
    if lines:
        # write_sep, not section: it ends the progress line first
        terminalreporter.write_sep("=", "aioloop: leaked tasks and lost exceptions")
        for line in lines:
            terminalreporter.write_line(line)
        if state.settings.leaks.value == "report":
            terminalreporter.write_line(
                "(--asyncio-leaks=fail makes them failures)"
                if verbose
                else "(-v shows where each task was; "
                "--asyncio-leaks=fail makes them failures)"
            )
    settings = state.settings
    if state.run.hook_chose and (
        settings.backends_from_cli or settings.backends != ("asyncio",)
    ):
        terminalreporter.write_line(
            "aioloop: a loop-factories hook (pytest_asyncio_loop_factories) chose "
            "the loops of some tests; the run's backends "
            f"({', '.join(settings.backends)}) were not used for those.",
            yellow=True,
        )
    if state.policy_used:
        terminalreporter.write_line(
            "aioloop: tests ran on loops from an overridden event_loop_policy fixture; "
            "event loop policies are deprecated, prefer a backend "
            "(--asyncio-backend, mark.asyncio(backend=...)).",
            yellow=True,
        )
