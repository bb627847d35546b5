"""What goes wrong on a loop, in words: the errors a call raises for its
caller to state plainly, and the problems (leaked tasks, lost exceptions, a
blocked loop, a failed close) collected for the report. No pytest in here.

A problem that reaches a loop's exception handler after the loop closed (a
task whose exception was never retrieved, freed late) is kept here with the
label of its loop until the reporter takes it.
"""

from __future__ import annotations

import contextlib
import os
import traceback
import weakref
from collections.abc import Callable
from typing import Any, Final, Literal, final

from ._stacks import format_handler_context

__all__ = [
    "BlockedLoop",
    "LoopIdle",
    "LoopProblem",
    "LoopStopped",
    "ProblemKind",
    "RunFailed",
    "TimeoutExpired",
    "close_failed",
    "closed_loops",
    "closed_loops_alive",
    "late_handler",
    "log_as_asyncio_does",
    "take_late_problems",
]

#: The runner's own files: a close failure's traceback starts after them.
_RUNNER_FILES: Final = frozenset(
    os.path.join(os.path.dirname(__file__), name)
    for name in ("_runner.py", "_shutdown.py", "_problems.py")
)


class RunFailed(Exception):
    """A call on the loop failed for a reason its caller should state plainly
    (no traceback through the plugin): the message says what happened."""


@final
class TimeoutExpired(RunFailed):
    """A call ran past its time limit; the message carries the await stack."""


@final
class LoopIdle(RunFailed):
    """A call on a virtual-time loop waited with nothing that could wake it for
    the loop's idle limit; the message carries the await stack."""


@final
class LoopStopped(RunFailed):
    """The loop was stopped (``loop.stop()``) before the call finished."""


#: What a :class:`LoopProblem` is: a task left pending, an exception that
#: reached the loop's exception handler, a loop blocked past asyncio's
#: slow-callback limit (debug mode), or a failure while closing the loop.
ProblemKind = Literal["leak", "exception", "blocked", "close"]


@final
class LoopProblem:
    """A leaked task or an exception that reached the loop's exception handler.

    ``kind`` is ``"leak"``, ``"exception"`` or ``"close"`` (the loop, or a
    teardown run while closing it, failed). ``summary`` is one line;
    ``detail`` holds the await stack or traceback.
    """

    __slots__ = ("detail", "kind", "summary")

    def __init__(self, kind: ProblemKind, summary: str, detail: str = "") -> None:
        self.kind = kind
        self.summary = summary
        self.detail = detail

    def __repr__(self) -> str:
        return f"LoopProblem({self.kind!r}, {self.summary!r})"


# -- problems found after a loop was closed ------------------------------------

_late: list[tuple[str, LoopProblem]] = []

#: The loops closed here that are still alive. Closing drops every reference
#: the plugin holds, so a closed loop outlives its scope only when something
#: else holds it: most often a task or future of it in a reference cycle,
#: whose unretrieved exception reaches the late handler when the garbage
#: collector frees it.
closed_loops: weakref.WeakSet[Any] = weakref.WeakSet()


def closed_loops_alive() -> bool:
    """Whether a loop closed here is still alive (see ``closed_loops``): if
    none is, no task or future of ours is left to report late, and a full
    garbage collection at the end of the run would find nothing to report."""
    return len(closed_loops) > 0


def take_late_problems() -> list[tuple[str, LoopProblem]]:
    """Problems that reached a loop's exception handler after the loop closed
    (e.g. a task whose exception was never retrieved, collected late), with
    the label of that loop; the list is emptied."""
    taken = _late[:]
    _late.clear()
    return taken


def late_handler(label: str) -> Callable[[Any, dict[str, Any]], None]:
    def handle(loop: Any, context: dict[str, Any]) -> None:
        summary, detail = format_handler_context(context)
        _late.append(
            (
                label,
                LoopProblem("exception", f"{summary} (after the loop closed)", detail),
            )
        )
        log_as_asyncio_does(loop, context)

    return handle


def log_as_asyncio_does(loop: Any, context: dict[str, Any]) -> None:
    """Pass what reached our handler on to the loop's default handler: it logs
    it to the ``asyncio`` logger, as a loop without a handler of ours would,
    so log capture (``caplog``) and users' logging handlers still see it."""
    with contextlib.suppress(Exception):  # a logging failure is not the test's
        loop.default_exception_handler(context)


@final
class BlockedLoop(RunFailed):
    """A call kept the loop from its selector for longer than its time limit;
    the message carries the stack of the blocking call."""


def close_failed(what: str, exc: BaseException) -> LoopProblem:
    # the traceback from the first frame that is not the runner's own
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename in _RUNNER_FILES:
        tb = tb.tb_next
    lines = traceback.format_exception(type(exc), exc, tb or exc.__traceback__)
    return LoopProblem(
        "close", f"{what} failed: {type(exc).__name__}: {exc}", "".join(lines).rstrip()
    )
