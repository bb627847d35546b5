"""Backend grouping and order: on a run whose async tests differ in backend.

Tests are grouped by backend, so that each backend's wider loops (and the
async fixtures made in them) are set up once; sync tests stay where they were
collected; a change of backend from one test to the next tears down the
wider async fixtures of the previous backend. A run whose async tests all
have one backend keeps pytest's order and pays none of this.

:class:`BackendGrouping` owns the state this needs and is kept on the run
object; the plugin's ``pytest_collection_modifyitems`` wrapper hands it the
items before and after the other plugins' hooks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, final

import pytest

from aioloop import Backend

from . import _compat
from ._api import ASYNC_TEST_KEY
from ._plan import (
    BACKEND_FIXTURE,
    POLICY_FIXTURE,
    BackendInUse,
    BackendParam,
    RunBackends,
    backend_param,
    policy_overridden,
)

__all__ = ["BackendGrouping", "in_error"]


def in_error(param: object) -> bool:
    """A backend parameter that makes its test an error at setup (a bad
    marker, an unknown backend): the test runs on no loop."""
    return (
        isinstance(param, BackendParam)
        and param.backend is None
        and param.error is not None
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
            item not in chosen or in_error(chosen[item])
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
class BackendGrouping:
    """Groups a run's tests by backend and switches backend between tests."""

    __slots__ = ("_collected", "_run", "chosen", "in_use", "mixed")

    def __init__(self, run: RunBackends) -> None:
        self._run = run
        #: A marker, hook or the run's backends chose the backend of at least
        #: one async test (set at collection).
        self.chosen = False
        #: Async tests of this run differ in backend (set at collection).
        self.mixed = False
        #: The items as collected, before any plugin reordered them.
        self._collected: list[pytest.Item] | None = None
        #: The backend the backend fixture was last set up for, and what
        #: tears it down (with the wider async fixtures made in its loops).
        self.in_use: BackendInUse | None = None

    def note_collected(self, items: list[pytest.Item]) -> None:
        """The items as collected, before any plugin reorders them."""
        self._collected = list(items)

    def group(self, items: list[pytest.Item]) -> None:
        """Group ``items`` by backend, in place, when their backends differ."""
        if not self.chosen:
            return  # every async test on the run's default (or a policy's loops)
        chosen: dict[pytest.Item, BackendParam | None] = {
            item: backend_param(item) for item in items if ASYNC_TEST_KEY in item.stash
        }
        default = self._run.default_for_run()

        def backend_of(item: pytest.Item) -> object:
            param = chosen[item]
            if param is None or in_error(param):
                # (a test in error runs on no loop: it stays where it was collected)
                return default
            return param.backend if param.backend is not None else param

        if len({backend_of(item) for item in chosen}) < 2:
            return
        self.mixed = True
        # pytest groups parametrized tests itself, but pytest 8 compares the
        # parameter's index, not its value: a test pinned to uvloop and one on
        # the run's asyncio both have index 0. A stable sort by backend groups
        # them on every pytest; a sync test stays after its predecessor.
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
            self._collected,
            chosen,
            first,
        )
        self._collected = None
        for item in chosen:
            # A parametrized test sets the backend fixture up first, so that
            # pytest's own switch of parameter comes before its other fixtures.
            callspec = getattr(item, "callspec", None)
            if callspec is None or BACKEND_FIXTURE not in callspec.params:
                continue
            names: list[str] = getattr(item, "fixturenames", [])
            if names and names[0] == BACKEND_FIXTURE:
                continue
            if BACKEND_FIXTURE in names:
                names.remove(BACKEND_FIXTURE)
            names.insert(0, BACKEND_FIXTURE)

    def note_in_use(self, request: pytest.FixtureRequest, backend: Backend) -> None:
        """The backend fixture was set up for ``backend``."""
        if self.mixed:
            fixturedef = _compat.own_fixturedef(request)
            self.in_use = BackendInUse(
                backend, _compat.finish_later(fixturedef, request), fixturedef
            )

    def in_use_for_sync_test(
        self, request: pytest.FixtureRequest
    ) -> BackendInUse | None:
        """For a sync test on a mixed run: the backend of the tests around it
        (its async fixtures join that backend's wider fixtures)."""
        if not self.mixed or self.in_use is None:
            return None
        if ASYNC_TEST_KEY in _compat.requesting_item(request).stash:
            return None
        return self.in_use

    def switch_before(self, nextitem: pytest.Item) -> None:
        """After a test's teardown: tear down the backend in use if the next
        test runs on another one. (pytest does it when the backend parameter
        changes; a test with one backend has no parameter.)"""
        in_use = self.in_use
        if in_use is None or ASYNC_TEST_KEY not in nextitem.stash:
            return
        param = backend_param(nextitem)
        backend: Any
        if param is not None:
            backend = param.backend
        elif POLICY_FIXTURE in getattr(nextitem, "fixturenames", ()) and (
            policy_overridden(nextitem)
        ):
            return  # a policy's loops: known only once its fixture is set up
        else:
            backend = self._run.default_for_run()
        if backend is None or backend is in_use.backend:
            return
        self.in_use = None
        in_use.finish()
