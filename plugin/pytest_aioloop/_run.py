"""The run object: one per pytest run, on ``config.stash``.

Every hook reaches the run's settings, backends, loop scopes and reporter
through :data:`RUN_KEY`; no state is kept at module level, so in-process
pytester runs each have their own.
"""

from __future__ import annotations

from typing import Final, final

import pytest

from aioloop import Backend

from . import _compat
from ._plan import BackendInUse, Plan, RunBackends, plan_for
from ._reports import Reporter
from ._scopes import LoopScopes
from ._settings import Settings

__all__ = ["RUN_KEY", "AioloopRun", "note_backend_in_use", "plan_of"]


@final
class AioloopRun:
    """Everything a pytest run of the plugin keeps: settings, backends, loops
    and their reporter, and what collection learnt. One per ``Config``, on
    its stash (:data:`RUN_KEY`)."""

    __slots__ = (
        "backend_chosen",
        "backend_in_use",
        "collected_order",
        "mixed",
        "policy_used",
        "reporter",
        "run",
        "scopes",
        "settings",
    )

    def __init__(
        self,
        settings: Settings,
        run: RunBackends,
        scopes: LoopScopes,
        reporter: Reporter,
    ) -> None:
        self.settings = settings
        self.run = run
        self.scopes = scopes
        self.reporter = reporter
        self.policy_used = False
        #: A marker, hook or the run's backends chose the backend of at least
        #: one async test (set at collection).
        self.backend_chosen = False
        #: Async tests of this run differ in backend (set at collection).
        self.mixed = False
        #: The items as collected, before any plugin reordered them.
        self.collected_order: list[pytest.Item] | None = None
        #: In a mixed run: the backend the backend fixture was last set up
        #: for, and what tears it down (with the wider async fixtures made in
        #: that backend's loops).
        self.backend_in_use: BackendInUse | None = None


RUN_KEY: Final = pytest.StashKey[AioloopRun]()


def plan_of(item: pytest.Item) -> Plan:
    """The loop plan of ``item`` (scope, backend, limits), made once."""
    run = item.config.stash[RUN_KEY]
    return plan_for(item, run.settings, run.run)


def note_backend_in_use(request: pytest.FixtureRequest, backend: Backend) -> None:
    """Called by the backend fixture when it is set up for ``backend``."""
    run = request.config.stash[RUN_KEY]
    if run.mixed:
        fixturedef = _compat.own_fixturedef(request)
        run.backend_in_use = BackendInUse(
            backend, _compat.finish_later(fixturedef, request), fixturedef
        )
