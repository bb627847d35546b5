"""A fixture's set-up: async fixtures on their loop, sync fixtures of async
tests with the test's loop open.

An async fixture's function is replaced, for its set-up, by a sync stand-in
that runs it on its loop (see ``_execute.setup_async_fixture``). A sync
fixture of an async test finds the test's loop made and current before it
runs; one made with ``pytest_aioloop.fixture`` has its own loop opened.
Errors of the test's marker or backend found here are left for the test.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Generator
from typing import Any, Final

import pytest

import aioloop

from . import _compat
from ._api import ASYNC_TEST_KEY, fixture_loop_scope
from ._plan import (
    PLAN_KEY,
    POLICY_FIXTURE,
    async_kind,
    owned_by_other_plugin,
    policy_overridden,
)
from ._run import RUN_KEY, plan_of
from ._settings import LOOP_SCOPES, LoopScope, Mode, loop_scope_of

__all__ = ["async_fixture_setup", "before_sync_fixture", "fixture_kind"]

_EXECUTE: Final = f"{__package__}._execute"


def _execute() -> Any:
    # The _execute module: asyncio, only once an async fixture runs. (Looked
    # up in sys.modules: a relative import in a function resolves its package
    # in Python code on every call.)
    execute = sys.modules.get(_EXECUTE)
    if execute is None:
        execute = importlib.import_module(_EXECUTE)
    return execute


def fixture_kind(function: Any) -> str | None:
    # Every fixture of every test passes here: async_kind reads a plain
    # function's kind off its code.
    kind = async_kind(getattr(function, "__func__", function))
    return kind if kind in ("coroutine", "asyncgen") else None


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
    run = request.config.stash[RUN_KEY]
    loop_scope = loop_scope_of(declared, run.settings, fixturedef.scope)
    try:
        _execute().fixture_runner(
            fixturedef,
            request,
            loop_scope,
            run,
            cached_per_backend=False,
            in_use=run.grouping.in_use_for_sync_test(request),
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
            item.config.stash[RUN_KEY].loops.runner(
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


def before_sync_fixture(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> None:
    """Before a sync fixture is set up: an async test's loop is made current
    for it, and the loop of one made with ``pytest_aioloop.fixture`` is open."""
    _make_test_loop_current(fixturedef, request)
    declared = fixture_loop_scope(fixturedef.func)
    # The event_loop_policy fixture makes the loop: it runs before there is one,
    # whatever its decorator.
    if declared is not False and fixturedef.argname != POLICY_FIXTURE:
        _open_loop_of_sync_fixture(fixturedef, request, declared)


def async_fixture_setup(
    fixturedef: pytest.FixtureDef[Any],
    request: pytest.FixtureRequest,
    kind: str,
) -> Generator[None, Any, Any]:
    """The ``pytest_fixture_setup`` wrapper's body for an async fixture
    (``kind`` "coroutine" or "asyncgen"): it runs through a sync stand-in
    bound to its loop."""
    declared = fixture_loop_scope(fixturedef.func)
    run = request.config.stash[RUN_KEY]
    settings = run.settings
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
    try:
        stand_in = _execute().setup_async_fixture(
            fixturedef,
            request,
            kind,
            loop_scope,
            run,
            run.grouping.in_use_for_sync_test(request),
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
