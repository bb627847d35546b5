"""One call in the worker task, and its time limit.

A call (a test, a fixture's set-up or teardown) runs inside the loop's one
worker task, step by step in a context of its caller's choosing
(:class:`InContext`). A call with a time limit runs under a
:class:`Deadline`: at expiry it is cancelled, with the await stack it was
stuck on; if it swallows the cancellation it is closed a grace period later.
The limit counts loop time, so on a virtual-time loop it is virtual too.
While a call with a limit runs (or any call in debug mode), a watchdog thread
notices a loop blocked past the limit. No pytest in here.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Generator
from typing import Any, final

from aioloop import VirtualClock

from ._asyncio_compat import waiting_on
from ._problems import (
    BlockedLoop,
    LoopIdle,
    LoopProblem,
    LoopStopped,
    TimeoutExpired,
)
from ._shutdown import CANCEL_GRACE
from ._stacks import format_await_stack
from ._watchdog import Block, Watchdog

__all__ = [
    "Deadline",
    "InContext",
    "Job",
    "note_blocks",
    "slow_callback_duration",
    "start_watchdog",
    "virtual_clock_of",
]


class InContext:
    """Await a coroutine step by step inside ``context``, in the awaiting task.

    With ``abandon`` set, the next exception delivered to it (the second
    cancellation of an expired call) closes the coroutine instead of passing
    the exception in, so a call that keeps swallowing cancellations ends.
    """

    __slots__ = ("_context", "_coro", "abandon")

    def __init__(self, coro: Any, context: contextvars.Context) -> None:
        self._coro = coro
        self._context = context
        self.abandon = False

    def __await__(self) -> Generator[Any, Any, Any]:
        __tracebackhide__ = True  # a failure's traceback starts at the test
        coro = self._coro
        run = self._context.run
        send = coro.send
        value: Any = None
        yielded: Any = None
        error: BaseException | None = None
        try:
            while True:
                try:
                    if error is None:
                        yielded = run(send, value)
                    else:
                        yielded = run(coro.throw, error)
                        error = None
                except StopIteration as stop:
                    return stop.value
                except StopAsyncIteration:
                    raise
                try:
                    value = yield yielded
                except BaseException as exc:  # delivered into the coroutine
                    if self.abandon:
                        run(force_close, coro)
                        raise
                    error = exc
                    value = None
        finally:
            # An exception delivered here has this frame in its traceback,
            # and a frame kept by a traceback keeps its locals: the exception
            # (or the future that holds it) would be in a reference cycle
            # with it, and everything the test's frames refer to would wait
            # for the garbage collector instead of being freed when the test
            # ends (a socket's ResourceWarning would land on a later test).
            value = yielded = error = None


def force_close(coro: Any) -> None:
    # GeneratorExit at the await point: a coroutine that only catches
    # CancelledError ends here. One that catches everything and awaits again
    # is dropped as it is. ``throw`` rather than ``close`` because on 3.11
    # closing an async generator's ``asend`` does not reach the generator.
    with contextlib.suppress(BaseException):
        coro.throw(GeneratorExit)


@final
class Job:
    __slots__ = (
        "context",
        "coro",
        "done",
        "error",
        "label",
        "last",
        "name",
        "result",
        "root",
        "timeout",
    )

    def __init__(
        self,
        coro: Any,
        context: contextvars.Context,
        timeout: float | None,
        root: Any,
        label: str,
        done: asyncio.Future[None] | None,
        last: bool,
        name: str,
    ) -> None:
        self.coro = coro
        self.name = name
        self.last = last
        self.context = context
        self.timeout = timeout
        self.root = root
        self.label = label
        self.done = done
        self.result: Any = None
        self.error: BaseException | None = None


@final
class Deadline:
    """The time limit of one call: cancel at expiry, give up after the grace."""

    __slots__ = (
        "awaitable",
        "cancels",
        "expired",
        "handle",
        "idle_limit",
        "job",
        "stack",
        "task",
    )

    def __init__(
        self,
        job: Job,
        awaitable: InContext,
        task: asyncio.Task[Any],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.job = job
        self.awaitable = awaitable
        self.task = task
        self.cancels = 0
        self.expired = False
        self.stack = ""
        #: Set when the call was cancelled for idling, not for its timeout.
        self.idle_limit: float | None = None
        # Without a timeout (on a virtual-time loop), only idling ends it.
        self.handle: asyncio.TimerHandle | None = (
            None if job.timeout is None else loop.call_later(job.timeout, self._expire)
        )

    @property
    def virtual(self) -> bool:
        return virtual_clock_of(self.task.get_loop()) is not None

    def _cancel(self) -> None:
        self.cancels += 1
        if self.idle_limit is not None:
            self.task.cancel(
                f"{self.job.label} was idle for {self.idle_limit:g} s with nothing "
                f"scheduled"
            )
        else:
            self.task.cancel(f"{self.job.label} timed out after {self.job.timeout:g} s")

    def idle(self, limit: float) -> None:
        """The loop waited ``limit`` real seconds with nothing that can wake it."""
        if self.expired:
            return
        if self.handle is not None:
            self.handle.cancel()
        self.idle_limit = limit
        self._expire()

    def _expire(self) -> None:
        self.expired = True
        job = self.job
        self.stack = format_await_stack(
            job.root if job.root is not None else job.coro,
            task=self.task,
            waiting_on=waiting_on(self.task),
        )
        self._cancel()
        self.handle = self.task.get_loop().call_later(CANCEL_GRACE, self._give_up)

    def _give_up(self) -> None:
        # It caught the cancellation and went on: close it instead.
        self.awaitable.abandon = True
        self._cancel()

    def finish(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
        # Undo our cancellations: a later asyncio.timeout() in this task must
        # see only its own (Task.uncancel bookkeeping).
        for _ in range(self.cancels):
            self.task.uncancel()

    def error(self) -> TimeoutExpired | LoopIdle:
        job = self.job
        note = ""
        if self.cancels > 1:
            note = (
                f" and it caught the cancellation and went on; it was closed "
                f"{CANCEL_GRACE:g} s later"
            )
        if self.idle_limit is not None:
            return LoopIdle(
                f"{job.label} was idle: its event loop (virtual time) waited "
                f"{self.idle_limit:g} s of real time with nothing scheduled (no "
                f"timer, no I/O ready, no executor work or subprocess pending), "
                f"so nothing could ever wake it{note}. It was awaiting:\n"
                f"{self.stack}\n"
                f"If it waits for something from outside the loop, raise the "
                f"limit: mark.asyncio(idle_limit=SECONDS) or asyncio_idle_limit."
            )
        clock = " of loop time (virtual)" if self.virtual else ""
        return TimeoutExpired(
            f"{job.label} timed out after {job.timeout:g} s{clock}{note}. "
            f"At the timeout it was awaiting:\n{self.stack}"
        )


def virtual_clock_of(loop: object) -> VirtualClock | None:
    """``loop`` as a :class:`~aioloop.VirtualClock`, or ``None``. (isinstance()
    against a runtime protocol reads every member: tens of µs a call, which
    every test on a real loop would pay; the type is looked at first.)"""
    if not hasattr(type(loop), "set_idle_handler"):
        return None
    return loop if isinstance(loop, VirtualClock) else None


def slow_callback_duration(loop: asyncio.AbstractEventLoop) -> float:
    # asyncio's debug-mode threshold (uvloop has it too); 0.1 s by default.
    value = getattr(loop, "slow_callback_duration", 0.1)
    return value if isinstance(value, int | float) and value > 0 else 0.1


def start_watchdog(loop: asyncio.AbstractEventLoop, timeout: float | None) -> Watchdog:
    threshold = timeout if timeout is not None else slow_callback_duration(loop)
    if timeout is not None and loop.get_debug():
        threshold = min(threshold, slow_callback_duration(loop))
    return Watchdog(loop, threshold)


def note_blocks(
    job: Job,
    blocks: list[Block],
    timeout: float | None,
    loop: asyncio.AbstractEventLoop,
    problems: list[LoopProblem],
) -> None:
    """What the watchdog saw during ``job``: the longest block past the
    call's limit fails the call, unless the call failed on its own (its error
    comes first, with a note); shorter ones (debug mode: past
    ``slow_callback_duration``) are reported as problems."""
    longest = max(blocks, key=lambda b: b.seconds)
    if timeout is not None and longest.seconds > timeout:
        message = (
            f"{job.label} blocked the event loop for {longest.seconds:.1f} s "
            f"(limit {timeout:g} s) in:\n{longest.stack}"
        )
        error = job.error
        if error is None or isinstance(error, TimeoutExpired | LoopStopped):
            job.error = BlockedLoop(message)
            job.error.__cause__ = error
        else:
            error.add_note(message)
        return
    slow = slow_callback_duration(loop)
    for block in blocks:
        problems.append(
            LoopProblem(
                "blocked",
                f"{block.seconds:.2f} s without returning to the loop in "
                f"{job.label}, at {block.where} (debug mode's "
                f"slow_callback_duration: {slow:g} s)",
                block.stack,
            )
        )
