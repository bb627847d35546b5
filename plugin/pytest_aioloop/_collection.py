"""Collection: which tests are async tests of ours, and on which backends.

``parametrize`` (at ``pytest_generate_tests``) resolves a test's marker and
backends once per test function: several backends become a session-scoped
parameter of the backend fixture; one backend is kept on the collector, and
``note_collected`` (first thing at ``pytest_collection_modifyitems``) puts it
on the item, so that a run on one backend keeps pytest's order.
"""

from __future__ import annotations

import unittest
from typing import Final

import pytest

from . import _compat
from ._api import ASYNC_TEST_KEY
from ._grouping import in_error
from ._marker import (
    MARKER,
    MarkerError,
    cached_marker_options,
    is_marked,
    marks_of,
)
from ._plan import (
    BACKEND_FIXTURE,
    POLICY_FIXTURE,
    SINGLE_BACKEND_KEY,
    AsyncKind,
    BackendParam,
    async_kind,
    backend_param,
    backend_params,
    owned_by_other_plugin,
    policy_overridden,
)
from ._run import RUN_KEY
from ._scopes import ScopeError, scope_node
from ._settings import Mode

__all__ = ["ERROR_FIXTURE", "note_collected", "parametrize", "will_note"]

#: The one backend chosen for each async test function of a module or class
#: (by name), kept on that collector until its tests are collected.
_SINGLES_KEY: Final = pytest.StashKey[dict[str, BackendParam]]()
#: Requested by a test whose marker or backend is in error (see _fixtures).
ERROR_FIXTURE: Final = "_aioloop_chosen_in_error"

#: The mark auto mode gives unmarked async tests: one object for all of them,
#: so that their marks are read once (see cached_marker_options).
AUTO_MARK: Final = getattr(pytest.mark, MARKER)


def _ours(item: pytest.Item) -> tuple[pytest.Function, AsyncKind, bool] | None:
    """``item`` as a test function, its kind of async test and whether it is
    marked, when the plugin runs it (marked, or unmarked in auto mode);
    ``None`` otherwise."""
    if not isinstance(item, pytest.Function):
        return None
    kind = async_kind(item.obj)
    if kind is None:
        return None
    parent = item.parent
    if isinstance(parent, pytest.Class) and issubclass(parent.obj, unittest.TestCase):
        return None  # unittest runs its own async tests (IsolatedAsyncioTestCase)
    if is_marked(item):
        return item, kind, True
    run = _compat.stash_get(item.config.stash, RUN_KEY)
    if (
        run is None
        or run.settings.mode is not Mode.AUTO
        or owned_by_other_plugin(item, item.fixturenames)
    ):
        return None
    return item, kind, False


def will_note(item: pytest.Item) -> bool:
    """Whether :func:`note_collected` takes ``item`` as the plugin's (the same
    decision, made without noting anything)."""
    return _ours(item) is not None


def note_collected(node: pytest.Item) -> None:
    """Mark an async test the plugin runs (ASYNC_TEST_KEY), with its backend
    when one was chosen for it."""
    ours = _ours(node)
    if ours is None:
        return
    item, kind, marked = ours
    if not marked:
        item.add_marker(AUTO_MARK)
    item.stash[ASYNC_TEST_KEY] = kind
    run = _compat.stash_get(item.config.stash, RUN_KEY)
    assert run is not None
    parent = item.parent
    # "-k uvloop" selects every test that runs on uvloop, also those whose
    # ids do not name the backend (one backend for that test).
    param = backend_param(item)
    if param is None and parent is not None:
        singles = _compat.stash_get(parent.stash, _SINGLES_KEY)
        param = singles.get(item.originalname) if singles is not None else None
        if param is not None:
            item.stash[SINGLE_BACKEND_KEY] = param
            _mark_chosen_in_error(item, param)
    if param is not None:
        item.extra_keyword_matches.add(param.name)
        run.grouping.chosen = True
        return
    if policy_overridden(item):
        names = item.fixturenames
        if POLICY_FIXTURE not in names:
            # pytest_generate_tests added it, but pytest rebuilds the closure
            # of a parametrized test from what the test requests (the list is
            # shared by the function's items: added once).
            names.append(POLICY_FIXTURE)
        return
    backends = run.backends
    if not backends.honour_global_policy:
        item.extra_keyword_matches.add(backends.names[0])


def _mark_chosen_in_error(item: pytest.Function, param: BackendParam) -> None:
    # What a backend parameter in error does, for a test kept off parameters:
    # skip it, or make the error one of its setup.
    if param.skip_reason is not None:
        item.add_marker(pytest.mark.skip(reason=param.skip_reason))
    elif param.error is not None and ERROR_FIXTURE not in item.fixturenames:
        # (the list is shared by the function's items: added once)
        item.fixturenames.append(ERROR_FIXTURE)


def parametrize(metafunc: pytest.Metafunc) -> None:
    """Give an async test its backend: a session-scoped parameter of the
    backend fixture when it runs on several (or on a run of several), else
    kept on its collector for note_collected()."""
    definition = metafunc.definition
    kind = async_kind(definition.obj)
    if kind is None or kind == "asyncgen":
        return
    run = _compat.stash_get(definition.config.stash, RUN_KEY)
    assert run is not None
    marks = marks_of(definition)
    if not marks and (
        run.settings.mode is not Mode.AUTO
        or owned_by_other_plugin(definition, metafunc.fixturenames)
    ):
        return
    try:
        options = cached_marker_options(marks, definition)
        scope = options.loop_scope
        if scope == "class" or scope == "package":
            # a marker's class scope outside a class, or package scope outside
            # a regular package (a scope from the ini falls back instead)
            scope_node(definition, scope, for_test=True)
        params = backend_params(
            definition,
            options,
            run.settings,
            run.backends,
        )
    except (MarkerError, ScopeError) as exc:
        # An error of the test's setup, where pytest collected it.
        params = [BackendParam("error", None, str(exc))]
    if (
        params is not None
        and len(params) == 1
        and (len(run.backends.names) == 1 or in_error(params[0]))
    ):
        # One backend in a run on one backend: kept on the test (at
        # note_collected), not made a parameter. A session-scoped
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
            run.policy_used = True
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
