"""The run object: one per pytest run, on ``config.stash``.

Every hook reaches the run's settings, backends, loop registry, reporter and
backend grouping through :data:`RUN_KEY`; no state is kept at module level,
so in-process pytester runs each have their own.
"""

from __future__ import annotations

from typing import Final, final

import pytest

from aioloop import Backend

from ._grouping import BackendGrouping
from ._plan import Plan, RunBackends, plan_for
from ._reports import Reporter
from ._scopes import LoopRegistry
from ._settings import Settings

__all__ = ["RUN_KEY", "AioloopRun", "note_backend_in_use", "plan_of"]


@final
class AioloopRun:
    """Everything a pytest run of the plugin keeps. One per ``Config``, on
    its stash (:data:`RUN_KEY`)."""

    __slots__ = ("backends", "grouping", "loops", "policy_used", "reporter", "settings")

    def __init__(
        self,
        settings: Settings,
        backends: RunBackends,
        loops: LoopRegistry,
        reporter: Reporter,
    ) -> None:
        self.settings = settings
        #: The run's backends, and those made from hooks and policies.
        self.backends = backends
        #: Every open loop of the run, by scope node and backend.
        self.loops = loops
        #: What went wrong on the loops, for the summary (and failures).
        self.reporter = reporter
        #: Grouping by backend, on a run whose async tests differ in backend.
        self.grouping = BackendGrouping(backends)
        #: An overridden event_loop_policy fixture made some test's loops.
        self.policy_used = False


RUN_KEY: Final = pytest.StashKey[AioloopRun]()


def plan_of(item: pytest.Item) -> Plan:
    """The loop plan of ``item`` (scope, backend, limits), made once."""
    run = item.config.stash[RUN_KEY]
    return plan_for(item, run.settings, run.backends)


def note_backend_in_use(request: pytest.FixtureRequest, backend: Backend) -> None:
    """Called by the backend fixture when it is set up for ``backend``."""
    request.config.stash[RUN_KEY].grouping.note_in_use(request, backend)
