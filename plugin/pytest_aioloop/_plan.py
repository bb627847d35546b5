"""Which loop a test runs on: its loop scope, scope node and backend."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from types import FunctionType
from typing import TYPE_CHECKING, Any, Final, Literal, NamedTuple, final

import pytest

import aioloop
from aioloop import Backend

from . import _compat
from ._marker import (
    NO_LIMIT,
    MarkerError,
    MarkerOptions,
    cached_marker_options,
    has_mark,
    marks_of,
)
from ._scopes import ScopeError, ScopeNode, asyncio_compat, scope_node
from ._settings import Settings

if TYPE_CHECKING:
    from ._asyncio_compat import PolicyLike

__all__ = [
    "BACKEND_FIXTURE",
    "SINGLE_BACKEND_KEY",
    "BackendParam",
    "Plan",
    "RunBackends",
    "async_kind",
    "backend_param",
    "owned_by_other_plugin",
    "plan_for",
]

#: The session fixture that a test's backend is parametrized through.
BACKEND_FIXTURE: Final = "_aioloop_backend"
POLICY_FIXTURE: Final = "event_loop_policy"

AsyncKind = Literal["coroutine", "asyncgen", "hypothesis"]


_CO_COROUTINE: Final = inspect.CO_COROUTINE
_CO_ASYNC_GENERATOR: Final = inspect.CO_ASYNC_GENERATOR
#: Attributes that make a plain function async for inspect or hypothesis.
_ASYNC_MARKS: Final = ("hypothesis", "_is_coroutine_marker")


def async_kind(obj: object) -> AsyncKind | None:
    """What kind of async callable a test function is, if any."""
    if type(obj) is FunctionType:
        # What inspect would say of a plain function, read straight off its
        # code: this runs for every test, sync ones included.
        flags = obj.__code__.co_flags
        if flags & _CO_COROUTINE:
            return "coroutine"
        if flags & _CO_ASYNC_GENERATOR:
            return "asyncgen"
        attrs = obj.__dict__
        if not attrs or not any(name in attrs for name in _ASYNC_MARKS):
            return None
    if isinstance(obj, staticmethod):
        obj = obj.__func__
    if inspect.iscoroutinefunction(obj):
        return "coroutine"
    if inspect.isasyncgenfunction(obj):
        return "asyncgen"
    hypothesis = getattr(obj, "hypothesis", None)
    if getattr(obj, "is_hypothesis_test", False) and inspect.iscoroutinefunction(
        getattr(hypothesis, "inner_test", None)
    ):
        return "hypothesis"
    return None


_OTHER_MARKERS: Final = ("anyio", "trio")


def owned_by_other_plugin(node: pytest.Item, fixturenames: list[str]) -> bool:
    """A test that anyio's or trio's plugin runs; auto mode leaves it alone."""
    return "anyio_backend" in fixturenames or has_mark(node, _OTHER_MARKERS)


@final
class BackendParam:
    """The value a test's backend parameter carries (equal by value: tests
    of one backend share it; see pytest_collection_modifyitems)."""

    # Plain classes here rather than dataclasses: a dataclass costs ~0.5 ms
    # to define, which every run pays at start-up.
    __slots__ = ("backend", "error", "name", "skip_reason")

    def __init__(
        self,
        name: str,
        backend: Backend | None,
        error: str | None = None,
        *,
        skip_reason: str | None = None,
    ) -> None:
        self.name = name
        #: ``None`` when the test cannot run on this backend: see ``error``
        #: (the test fails its setup) and ``skip_reason`` (it is skipped).
        self.backend = backend
        self.error = error
        self.skip_reason = skip_reason

    def _key(self) -> tuple[str, Backend | None, str | None, str | None]:
        return (self.name, self.backend, self.error, self.skip_reason)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BackendParam):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return self.name


@final
class RunBackends:
    """The run's backends, and the ones made from hooks and policies.

    The run's backends are loaded at configure, except the plain default
    (``asyncio``, nothing chosen): it loads when the first loop is needed, so
    a run of sync tests never imports asyncio.
    """

    __slots__ = ("_loaded", "_made", "honour_global_policy", "hook_chose", "names")

    def __init__(
        self,
        names: tuple[str, ...],
        loaded: tuple[Backend, ...] | None = None,
        *,
        honour_global_policy: bool = False,
    ) -> None:
        self.names = names
        self._loaded = loaded
        #: Compatibility shim: with no backend chosen, a loop policy that a
        #: conftest installed (``uvloop.install()``, say) makes the loops, as
        #: it did under pytest-asyncio.
        self.honour_global_policy = honour_global_policy
        self._made: dict[tuple[str, Any], Backend] = {}
        #: A loop-factories hook chose the loops of at least one test.
        self.hook_chose = False

    @property
    def selected(self) -> tuple[Backend, ...]:
        if self._loaded is None:
            self._loaded = tuple(aioloop.load_backend(name) for name in self.names)
        return self._loaded

    @property
    def default(self) -> Backend:
        return self.selected[0]

    def default_for_run(self) -> Backend:
        """The backend of a test nothing else chose one for."""
        if self.honour_global_policy:
            policy = asyncio_compat().installed_policy()
            if policy is not None:
                return self.from_policy(policy)
        return self.default

    def from_factory(
        self, name: str, factory: Callable[[], Any], where: str
    ) -> Backend:
        key = (name, _factory_key(factory))
        backend = self._made.get(key)
        if backend is None:
            backend = Backend(name, factory, target=where)
            # (the first factory of a key is kept alive by its backend: the
            # ids in the key stay its objects' ids)
            self._made[key] = backend
        return backend

    def made_here(self, backend: Backend) -> bool:
        """Whether ``backend`` was made from a loop-factories hook's factory or
        an event_loop_policy (not loaded by name)."""
        return any(made is backend for made in self._made.values())

    def from_policy(self, policy: PolicyLike) -> Backend:
        return self.from_factory(
            f"event_loop_policy:{type(policy).__qualname__}",
            policy.new_event_loop,
            f"event_loop_policy fixture ({type(policy).__qualname__})",
        )


class BackendInUse(NamedTuple):
    """On a run whose async tests differ in backend: the backend of the test
    being run, how to finish its backend fixture (and with it the wider async
    fixtures made in its loops), and that fixture's definition."""

    backend: Backend
    finish: Callable[[], object]
    fixturedef: pytest.FixtureDef[Any]


def _factory_key(factory: Any) -> Any:
    """What tells two factories of a loop-factories hook apart.

    A hook is called once per test and often returns a new ``lambda`` or
    ``functools.partial`` each time: made at the same place from the same
    objects, they make the same loops, so they are one backend (a wider loop
    is shared, tests keep their order), not one backend per test.
    """
    if type(factory) is FunctionType:
        cells = factory.__closure__ or ()
        try:
            captured = tuple(id(cell.cell_contents) for cell in cells)
        except ValueError:  # a cell not filled yet
            return id(factory)
        return (
            factory.__code__,
            id(factory.__globals__),
            tuple(map(id, factory.__defaults__ or ())),
            tuple((k, id(v)) for k, v in (factory.__kwdefaults__ or {}).items()),
            captured,
        )
    if type(factory) is functools.partial:
        return (
            "partial",
            _factory_key(factory.func),
            tuple(map(id, factory.args)),
            tuple((k, id(v)) for k, v in factory.keywords.items()),
        )
    try:
        hash(factory)
    except TypeError:
        return id(factory)
    return factory


_FACTORY_HOOKS_SEEN: Final = pytest.StashKey[bool]()


def _hook_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], Any]] | None:
    # Which conftests apply depends on the folder: whether any implements a
    # loop-factories hook is the same for every test of one module or class.
    holder = item.parent if item.parent is not None else item
    if _compat.stash_get(holder.stash, _FACTORY_HOOKS_SEEN) is False:
        return None
    ihook = item.ihook
    hooks = [
        hook
        for hook in (
            ihook.pytest_aioloop_loop_factories,
            ihook.pytest_asyncio_loop_factories,
        )
        if hook.get_hookimpls()
    ]
    holder.stash[_FACTORY_HOOKS_SEEN] = bool(hooks)
    for hook in hooks:
        result = hook(config=config, item=item)
        if result is None:
            continue
        if (
            not isinstance(result, Mapping)
            or not result
            or any(
                not isinstance(k, str) or not k or not callable(v)
                for k, v in result.items()
            )
        ):
            raise MarkerError(
                f"{item.nodeid}: the {hook.name} hook must return a non-empty mapping "
                f"of names to loop factories (callables), got {result!r}."
            )
        return dict(result)
    return None


_POLICY_OVERRIDDEN: Final = pytest.StashKey[bool]()


def policy_overridden(item: pytest.Item) -> bool:
    """Whether a conftest, module or class overrides the ``event_loop_policy``
    fixture for ``item``. The answer is the same for the items of one module or
    class, so it is kept on that collector."""
    holder = item.parent if item.parent is not None else item
    known = _compat.stash_get(holder.stash, _POLICY_OVERRIDDEN)
    if known is not None:
        return known
    defs = _compat.fixturedefs_visible_to(item, POLICY_FIXTURE)
    overridden = bool(defs) and (
        getattr(defs[-1].func, "__module__", "") != "pytest_aioloop._fixtures"
    )
    holder.stash[_POLICY_OVERRIDDEN] = overridden
    return overridden


def _load(name: str, where: str) -> BackendParam:
    try:
        return BackendParam(name, aioloop.load_backend(name))
    except aioloop.UnknownBackendError as exc:
        return BackendParam(
            name,
            None,
            f"{where}: unknown backend {name!r} in mark.asyncio; installed backends: "
            f"{', '.join(exc.installed) or 'none'}.",
        )
    except aioloop.BackendImportError as exc:
        return BackendParam(name, None, skip_reason=str(exc))


def backend_params(
    item: pytest.Item,
    options: MarkerOptions,
    settings: Settings,
    run: RunBackends,
) -> list[BackendParam] | None:
    """The backends a test runs on, most specific first; ``None``: the run's default
    only."""
    where = item.nodeid
    if options.backends is not None:
        return [_load(name, where) for name in options.backends]
    factories = _hook_factories(item.config, item)
    if factories is not None:
        run.hook_chose = True
    if options.loop_factories is not None:
        if factories is None:
            return [_load(name, where) for name in options.loop_factories]
        offered = ", ".join(factories)
        return [
            BackendParam(
                name, run.from_factory(name, factories[name], "loop factories hook")
            )
            if name in factories
            else BackendParam(
                name,
                None,
                skip_reason=f"loop factory {name!r} is not offered by the loop "
                f"factories hook; offered: {offered}.",
            )
            for name in options.loop_factories
        ]
    if factories is not None:
        return [
            BackendParam(name, run.from_factory(name, f, "loop factories hook"))
            for name, f in factories.items()
        ]
    if policy_overridden(item):
        return None
    if len(run.names) == 1:
        return None
    return [BackendParam(b.name, b) for b in run.selected]


@final
class Plan:
    """Where and how a test runs (made once per test; not to be changed)."""

    __slots__ = (
        "backend",
        "debug",
        "idle_limit",
        "idle_limit_marked",
        "node",
        "policy",
        "scope",
        "timeout",
    )

    def __init__(
        self,
        node: ScopeNode,
        scope: str,
        backend: Backend,
        timeout: float | None,
        debug: bool,
        policy: PolicyLike | None = None,
        idle_limit: float | None = None,
        idle_limit_marked: bool = False,
    ) -> None:
        self.node = node
        self.scope = scope
        self.backend = backend
        self.timeout = timeout
        self.debug = debug
        #: An overridden event_loop_policy: installed as the global policy
        #: while the test and its fixtures run, as pytest-asyncio does.
        self.policy = policy
        #: The virtual-time loop's idle limit (None: the loop's own), and
        #: whether the test's marker set it (an error on another backend).
        self.idle_limit = idle_limit
        self.idle_limit_marked = idle_limit_marked


PLAN_KEY: Final = pytest.StashKey[Plan]()


_NO_ATTRS: Final[dict[str, Any]] = {}


#: The one backend a marker or hook chose for a test: kept on the test rather
#: than made a parameter (see plugin.pytest_generate_tests).
SINGLE_BACKEND_KEY: Final = pytest.StashKey[BackendParam]()


def backend_param(item: pytest.Item) -> BackendParam | None:
    """The backend a marker, hook or the run's backends chose for ``item``:
    its backend parameter, or the one backend kept on it; ``None``: the run's
    default (or an overridden event_loop_policy)."""
    # pytest sets ``callspec`` on parametrized tests only; reading the instance
    # dict spares the AttributeError that getattr() would raise (and catch)
    # for every other test; an item of another plugin may have no instance
    # dict at all.
    callspec = getattr(item, "__dict__", _NO_ATTRS).get("callspec")
    param = callspec.params.get(BACKEND_FIXTURE) if callspec is not None else None
    if isinstance(param, BackendParam):
        return param
    return _compat.stash_get(item.stash, SINGLE_BACKEND_KEY)


def options_for(item: pytest.Item) -> MarkerOptions:
    try:
        return cached_marker_options(marks_of(item), item)
    except MarkerError as exc:
        message = str(exc)
    pytest.fail(message, pytrace=False)


def plan_for(item: pytest.Item, settings: Settings, run: RunBackends) -> Plan:
    """The loop plan of ``item``, made once (after collection hooks are done)."""
    known = _compat.stash_get(item.stash, PLAN_KEY)
    if known is not None:
        return known
    options = options_for(item)
    scope = options.loop_scope or settings.default_test_loop_scope
    try:
        # An explicit scope that the test's place cannot have is an error; the
        # ini default falls back as pytest's fixture scopes do (class: the
        # test's own loop, package: the session's), as pytest-asyncio does.
        node = scope_node(item, scope, for_test=options.loop_scope is not None)
    except ScopeError as exc:
        error: str | None = str(exc)
    else:
        error = None
    if error is not None:
        pytest.fail(error, pytrace=False)
    backend: Backend | None = None
    policy: PolicyLike | None = None
    param = backend_param(item)
    if param is not None:
        if param.error is not None:
            pytest.fail(param.error, pytrace=False)
        backend = param.backend
    elif POLICY_FIXTURE in getattr(item, "fixturenames", ()) and policy_overridden(
        item
    ):
        from ._asyncio_compat import has_policy_api

        if not has_policy_api():
            pytest.fail(
                f"{item.nodeid}: the event_loop_policy fixture is overridden, but "
                f"this Python's asyncio has no event-loop policies (removed in "
                f"Python 3.16). Choose the loop with a backend instead: "
                f"--asyncio-backend=NAME, mark.asyncio(backend=NAME), or the "
                f"pytest_aioloop_loop_factories hook.",
                pytrace=False,
            )
        policy = _compat.item_fixture_value(item, POLICY_FIXTURE)
        # None: a fixture that installs a policy itself and yields nothing.
        # The run's default then makes the loop (from the installed policy
        # when no backend is chosen), as for a policy a conftest installs.
        if policy is not None:
            backend = run.from_policy(policy)
    if backend is None:
        backend = run.default_for_run()
    plan = Plan(
        node=node,
        scope=scope,
        backend=backend,
        timeout=(
            settings.timeout
            if options.timeout is None
            else None
            if options.timeout == NO_LIMIT
            else options.timeout
        ),
        debug=options.debug if options.debug is not None else settings.debug,
        policy=policy,
        idle_limit=(
            options.idle_limit
            if options.idle_limit is not None
            else settings.idle_limit
        ),
        idle_limit_marked=options.idle_limit is not None,
    )
    item.stash[PLAN_KEY] = plan
    return plan
