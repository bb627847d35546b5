"""The public helpers: the ``fixture`` decorator and ``is_async_test``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final, Literal, TypeVar, cast, overload

import pytest

from ._settings import LOOP_SCOPES, LoopScope

__all__ = [
    "ASYNC_TEST_KEY",
    "FIXTURE_ATTR",
    "UNNOTED_KEY",
    "fixture",
    "fixture_loop_scope",
    "is_async_test",
]

F = TypeVar("F", bound=Callable[..., Any])

#: Set on functions made fixtures by :func:`fixture`; the value is the loop scope.
FIXTURE_ATTR: Final = "_aioloop_loop_scope"
_UNSET: Final = "unset"
#: What ``pytest_asyncio.fixture`` sets on the functions it makes fixtures
#: (with the loop scope in ``_loop_scope``).
_PYTEST_ASYNCIO_ATTR: Final = "_force_asyncio_fixture"

#: Set on the async tests the plugin runs: what kind of async function the
#: test is ("coroutine", "asyncgen" or "hypothesis").
ASYNC_TEST_KEY: Final = pytest.StashKey[str]()
#: On the config until the plugin has noted which collected tests are its own
#: (first thing at ``pytest_collection_modifyitems``): how to tell a test the
#: noting will take, without noting anything.
UNNOTED_KEY: Final = pytest.StashKey[Callable[[pytest.Item], bool]]()


def _mark(function: Any, loop_scope: LoopScope | None) -> None:
    if loop_scope is not None and loop_scope not in LOOP_SCOPES:
        raise ValueError(
            f"pytest_aioloop.fixture got an invalid loop_scope {loop_scope!r} for "
            f"{getattr(function, '__qualname__', function)!r}; valid scopes: "
            f"{', '.join(LOOP_SCOPES)}."
        )
    target = getattr(function, "__func__", function)
    setattr(target, FIXTURE_ATTR, loop_scope or _UNSET)


def fixture_loop_scope(function: Any) -> LoopScope | Literal[False] | None:
    """The loop scope given to :func:`fixture`; ``None`` if not given there;
    ``False`` if ``function`` was not made with :func:`fixture`.

    A fixture made with ``pytest_asyncio.fixture`` counts as made with
    :func:`fixture`: plugins that depend on pytest-asyncio (pytest-aiohttp's
    ``aiohttp_client``, say) keep it installed, turned off with
    ``-p no:asyncio``, and their async fixtures must still run in strict mode.
    """
    target = getattr(function, "__func__", function)
    value: Any = getattr(target, FIXTURE_ATTR, False)
    if value is False:
        if getattr(target, _PYTEST_ASYNCIO_ATTR, False) is not True:
            return False
        scope = getattr(target, "_loop_scope", None)
        return scope if scope in LOOP_SCOPES else None
    return None if value == _UNSET else value


@overload
def fixture(
    fixture_function: F,
    *,
    scope: str | Callable[[str, pytest.Config], str] = ...,
    loop_scope: LoopScope | None = ...,
    params: Iterable[object] | None = ...,
    autouse: bool = ...,
    ids: Iterable[object] | Callable[[Any], object | None] | None = ...,
    name: str | None = ...,
) -> F: ...


@overload
def fixture(
    fixture_function: None = ...,
    *,
    scope: str | Callable[[str, pytest.Config], str] = ...,
    loop_scope: LoopScope | None = ...,
    params: Iterable[object] | None = ...,
    autouse: bool = ...,
    ids: Iterable[object] | Callable[[Any], object | None] | None = ...,
    name: str | None = ...,
) -> Callable[[F], F]: ...


def fixture(
    fixture_function: F | None = None,
    *,
    loop_scope: LoopScope | None = None,
    **kwargs: Any,
) -> F | Callable[[F], F]:
    """``pytest.fixture`` for async fixtures, plus ``loop_scope``.

    Takes every keyword of ``pytest.fixture``. ``loop_scope`` names the loop
    the fixture runs in (default: ``asyncio_default_fixture_loop_scope``, else
    the fixture's own scope); it may not be narrower than ``scope``. In strict
    mode only fixtures made with this decorator run on pytest-aioloop's loops.

    Raises:
        ValueError: ``loop_scope`` is not a loop scope.
    """
    if fixture_function is not None:
        _mark(fixture_function, loop_scope)
        made = cast(F, pytest.fixture(fixture_function, **kwargs))
        return made

    def decorator(function: F) -> F:
        _mark(function, loop_scope)
        made = cast(F, pytest.fixture(function, **kwargs))
        return made

    return decorator


def is_async_test(item: pytest.Item) -> bool:
    """Whether pytest-aioloop runs ``item`` (an async test it handles)."""
    if item.stash.get(ASYNC_TEST_KEY, None) is not None:
        return True
    # Asked before the plugin noted its tests (from a pytest_itemcollected
    # hook, or a modifyitems wrapper ordered before the plugin's): the answer
    # the noting will give, as pytest-asyncio answers from collection on.
    will_note = item.config.stash.get(UNNOTED_KEY, None)
    return will_note is not None and will_note(item)
