"""Every use of pytest's private API, in one place, each with the reason.

The two ends of the supported pytest range (8.4 and the newest 9.x) run the
whole suite, which is what proves these still hold.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pytest
from _pytest.fixtures import resolve_fixture_function

__all__ = [
    "active_fixturedef",
    "bound_fixture_function",
    "finish_later",
    "fixturedefs_visible_to",
    "item_argnames",
    "item_fixture_value",
    "own_fixturedef",
    "params_only_per_test",
    "replace_fixture_function",
    "requesting_item",
    "stash_get",
]


_T = TypeVar("_T")


def stash_get(stash: pytest.Stash, key: pytest.StashKey[_T]) -> _T | None:
    # ``Stash.get`` is two Python calls (and ``typing.cast``) on a hit and
    # raises and catches a KeyError on a miss; the per-test hooks read
    # several keys of every test. ``_storage`` is the stash's dict (pytest
    # 7.0 to 9.x).
    storage: dict[Any, Any] = stash._storage
    value: _T | None = storage.get(key)  # (no typing.cast call: a Python call)
    return value


def item_argnames(item: pytest.Function) -> Sequence[str]:
    # The test function's own parameters, as pytest's pytest_pyfunc_call uses
    # them: there is no public accessor.
    names: Sequence[str] = item._fixtureinfo.argnames
    return names


def bound_fixture_function(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Callable[..., Any]:
    # A fixture defined in a test class must be bound to the test's instance
    # exactly as pytest would; pytest keeps that logic private.
    function: Callable[..., Any] = resolve_fixture_function(fixturedef, request)  # type: ignore[arg-type]
    return function


def active_fixturedef(
    request: pytest.FixtureRequest, argname: str
) -> pytest.FixtureDef[Any]:
    # To tear an async fixture down when the backend parameter changes, its
    # finaliser must be registered on the backend fixture's definition, as
    # pytest does for declared dependencies.
    fixturedef: pytest.FixtureDef[Any] = request._get_active_fixturedef(argname)  # type: ignore[attr-defined]
    return fixturedef


def finish_later(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Callable[[], None]:
    # FixtureDef.finish is typed for pytest's private SubRequest, which is what
    # a fixture's request always is at run time.
    return functools.partial(fixturedef.finish, request=request)  # type: ignore[arg-type]


def replace_fixture_function(
    fixturedef: pytest.FixtureDef[Any], function: Callable[..., Any]
) -> None:
    # pytest has no hook to run an async fixture function; like every asyncio
    # plugin, swap in a sync stand-in for the duration of pytest_fixture_setup.
    fixturedef.func = function  # type: ignore[misc]


def requesting_item(request: pytest.FixtureRequest) -> pytest.Item:
    # A session or module fixture runs on the loop chosen for the test that
    # caused its setup; the request knows that test only privately.
    item: pytest.Item = request._pyfuncitem  # type: ignore[attr-defined]
    return item


def item_fixture_value(item: pytest.Item, argname: str) -> Any:
    # The test's own request, to read a fixture value (event_loop_policy) while
    # one of the test's fixtures is being set up.
    return item._request.getfixturevalue(argname)  # type: ignore[attr-defined]


def fixturedefs_visible_to(
    node: pytest.Item | pytest.Collector, argname: str
) -> Sequence[pytest.FixtureDef[Any]]:
    # Whether a conftest overrides event_loop_policy for a test: pytest's
    # fixture manager is the only one that knows which definitions apply.
    manager = node.session._fixturemanager
    defs = manager.getfixturedefs(argname, node)
    return tuple(defs or ())


def own_fixturedef(request: pytest.FixtureRequest) -> pytest.FixtureDef[Any]:
    # The backend fixture tears itself down (and what depends on it) when the
    # backend changes between tests that have no backend parameter: it needs
    # its own definition, which its request knows only privately.
    fixturedef: pytest.FixtureDef[Any] = request._fixturedef  # type: ignore[attr-defined]
    return fixturedef


def params_only_per_test(item: pytest.Item) -> bool:
    # Whether every parameter of a parametrized test is function-scoped, so
    # that pytest's grouping by wider parameters has nothing to keep together:
    # a parameter's scope is kept only in the callspec's private map.
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return True
    scopes = getattr(callspec, "_arg2scope", None)
    if scopes is None:
        return False
    return all(getattr(scope, "value", None) == "function" for scope in scopes.values())
