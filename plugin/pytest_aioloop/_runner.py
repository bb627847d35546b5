"""One event loop of one scope: made, driven and closed. No pytest in here.

A :class:`LoopRunner` owns a loop made by a backend's loop factory (what
``asyncio.Runner`` would make), and one long-lived *worker* task on that loop.
Every fixture setup, test and fixture teardown that shares the loop runs
inside that one task (as anyio does), so an async-generator fixture may hold a
``TaskGroup`` or a ``timeout()`` across its ``yield``. Each call runs in a
``contextvars.Context`` of the caller's choosing while staying in the worker
task (:class:`_InContext`). A test whose own loop no fixture used is the one
call on that loop: it runs as a task of its own, made in its context.

What goes wrong on a loop is collected as :class:`LoopProblem` objects for the
caller to report: tasks left pending, exceptions that reach the loop's
exception handler, a loop that fails to close. A call with a time limit is
cancelled when it expires (:class:`TimeoutExpired` carries the await stack);
the limit is counted in loop time, so on a virtual-time loop it is virtual
too. A call on a virtual-time loop that waits with nothing that can wake it
is cancelled after the loop's idle limit (:class:`LoopIdle`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import signal
import threading
import traceback
import weakref
from collections.abc import Callable, Generator, Mapping
from types import FrameType
from typing import Any, Final, Literal, final

from aioloop import Backend, VirtualClock

from ._asyncio_compat import (
    awaited,
    no_task_but,
    nothing_to_shut_down,
    quiet_destroy,
    waiting_on,
    work_scheduled,
)
from ._stacks import describe_task, format_await_stack, format_handler_context
from ._watchdog import Block, Watchdog

__all__ = [
    "CANCEL_GRACE",
    "IDLE_WORKER_NAME",
    "BlockedLoop",
    "LoopIdle",
    "LoopProblem",
    "LoopRunner",
    "LoopStopped",
    "ProblemKind",
    "RunFailed",
    "TimeoutExpired",
    "closed_loops_alive",
    "restore_interrupt_handler",
    "take_late_problems",
]

#: The worker task's name while it waits for the next call; while it runs
#: one, it is named after it (a test's node id).
IDLE_WORKER_NAME: Final = "aioloop-worker (idle)"

#: How long cancelled leftovers (and a call that swallowed its timeout's
#: cancellation) get to finish before they are given up on.
CANCEL_GRACE: Final = 1.0


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
_closed_loops: weakref.WeakSet[Any] = weakref.WeakSet()


def closed_loops_alive() -> bool:
    """Whether a loop closed here is still alive (see ``_closed_loops``): if
    none is, no task or future of ours is left to report late, and a full
    garbage collection at the end of the run would find nothing to report."""
    return len(_closed_loops) > 0


def take_late_problems() -> list[tuple[str, LoopProblem]]:
    """Problems that reached a loop's exception handler after the loop closed
    (e.g. a task whose exception was never retrieved, collected late), with
    the label of that loop; the list is emptied."""
    taken = _late[:]
    _late.clear()
    return taken


def _late_handler(label: str) -> Callable[[Any, dict[str, Any]], None]:
    def handle(loop: Any, context: dict[str, Any]) -> None:
        summary, detail = format_handler_context(context)
        _late.append(
            (
                label,
                LoopProblem("exception", f"{summary} (after the loop closed)", detail),
            )
        )
        _log_as_asyncio_does(loop, context)

    return handle


def _log_as_asyncio_does(loop: Any, context: dict[str, Any]) -> None:
    """Pass what reached our handler on to the loop's default handler: it logs
    it to the ``asyncio`` logger, as a loop without a handler of ours would,
    so log capture (``caplog``) and users' logging handlers still see it."""
    with contextlib.suppress(Exception):  # a logging failure is not the test's
        loop.default_exception_handler(context)


# -- Ctrl-C while a call runs ----------------------------------------------------


@final
class _Interrupts:
    """One SIGINT handler for the whole run (``asyncio.Runner`` installs one
    per call, which costs more than a trivial test). While a call runs, the
    first Ctrl-C cancels its task, so that the test's ``finally`` blocks and
    async context managers run on the loop; the call then raises
    ``KeyboardInterrupt``. A second Ctrl-C, or one between calls, behaves as
    without the plugin."""

    __slots__ = ("installed", "interrupted", "previous", "running")

    def __init__(self) -> None:
        self.installed = False
        self.interrupted = False
        self.previous: Any = None
        self.running: LoopRunner | None = None

    def install(self) -> None:
        self.installed = True  # tried once, whatever the outcome
        if threading.current_thread() is not threading.main_thread():
            return
        current = signal.getsignal(signal.SIGINT)
        if current is not signal.default_int_handler:
            return  # someone installed their own: leave it alone
        signal.signal(signal.SIGINT, self._on_sigint)
        self.previous = current

    def restore(self) -> None:
        previous = self.previous
        self.installed = False
        self.interrupted = False
        self.previous = None
        if (
            previous is None
            or threading.current_thread() is not threading.main_thread()
        ):
            return
        if signal.getsignal(signal.SIGINT) == self._on_sigint:
            signal.signal(signal.SIGINT, previous)

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        runner = self.running
        worker = runner._worker if runner is not None else None
        if runner is None or worker is None or worker.done() or self.interrupted:
            raise KeyboardInterrupt
        self.interrupted = True
        worker.cancel("KeyboardInterrupt")
        # wake the loop if it is waiting in select()
        with contextlib.suppress(RuntimeError):
            runner._loop.call_soon_threadsafe(_nothing)


def _nothing() -> None:
    pass


_interrupts: Final = _Interrupts()


def restore_interrupt_handler() -> None:
    """Put back the SIGINT handler that was there before the first loop ran
    (call at the end of the run)."""
    _interrupts.restore()


# -- running one call in the worker task -----------------------------------------


class _InContext:
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
                        run(_force_close, coro)
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


def _force_close(coro: Any) -> None:
    # GeneratorExit at the await point: a coroutine that only catches
    # CancelledError ends here. One that catches everything and awaits again
    # is dropped as it is. ``throw`` rather than ``close`` because on 3.11
    # closing an async generator's ``asend`` does not reach the generator.
    with contextlib.suppress(BaseException):
        coro.throw(GeneratorExit)


@final
class _Job:
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
class _Deadline:
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
        job: _Job,
        awaitable: _InContext,
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
        return isinstance(self.task.get_loop(), VirtualClock)

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


@final
class BlockedLoop(RunFailed):
    """A call kept the loop from its selector for longer than its time limit;
    the message carries the stack of the blocking call."""


def _slow_callback_duration(loop: asyncio.AbstractEventLoop) -> float:
    # asyncio's debug-mode threshold (uvloop has it too); 0.1 s by default.
    value = getattr(loop, "slow_callback_duration", 0.1)
    return value if isinstance(value, int | float) and value > 0 else 0.1


def _start_watchdog(loop: asyncio.AbstractEventLoop, timeout: float | None) -> Watchdog:
    threshold = timeout if timeout is not None else _slow_callback_duration(loop)
    if timeout is not None and loop.get_debug():
        threshold = min(threshold, _slow_callback_duration(loop))
    return Watchdog(loop, threshold)


# -- describing what a task or coroutine is waiting for --------------------------


#: Passes of a loop about to close while it has callbacks ready or
#: transports open: enough for a transport closed at the end of a test to
#: close its socket, and for the peer on the same loop to see the end of the
#: connection and close its own (asyncio.Runner.close() makes four passes).
_SETTLE_PASSES: Final = 8


async def _shut_down(
    loop: asyncio.AbstractEventLoop, label: str, problems: list[LoopProblem]
) -> None:
    # asyncio.Runner.close()'s two steps, in one loop run. Like it on 3.11,
    # this waits for the default executor's threads: a thread that never
    # ends is not something a loop can stop. An exception of either step is
    # reported as a lost exception (asyncio.Runner would raise it from
    # close()); the other step and the close still happen. First, what is
    # scheduled runs, as it does in Runner.close()'s passes of the loop: a
    # transport that the test closed last closes its socket (else its
    # ResourceWarning lands on whatever test collects it).
    for _ in range(_SETTLE_PASSES):
        if not work_scheduled(loop):
            break
        await asyncio.sleep(0)
    steps = (
        ("shutdown_asyncgens", loop.shutdown_asyncgens),
        ("shutdown_default_executor", loop.shutdown_default_executor),
    )
    for name, step in steps:
        try:
            await step()
        except Exception as exc:
            problems.append(_shutdown_failed(name, label, exc))


def _shutdown_failed(step: str, label: str, exc: BaseException) -> LoopProblem:
    return LoopProblem(
        "exception",
        f"{step}() of the {label} event loop raised {type(exc).__name__}: {exc}",
        "".join(traceback.format_exception(exc)).rstrip(),
    )


def _let_generators_close(
    loop: asyncio.AbstractEventLoop, tasks: list[asyncio.Task[Any]]
) -> list[asyncio.Task[Any]]:
    # An async generator dropped half-way (by a test that returned, say) is
    # closed by the loop: its finaliser hook makes a task that runs aclose().
    # That is the loop's own clean-up, not a leak: let it finish, as it would
    # have on a loop that ran on, so that the generator's `finally` runs in
    # full (cancelling it would stop that at its first await). Return the
    # other tasks (leftovers of the scope, even if one ended in the meantime),
    # and any such task still running after CANCEL_GRACE.
    closing = {
        t for t in tasks if type(t.get_coro()).__name__ == "async_generator_athrow"
    }
    if not closing:
        return tasks
    loop.run_until_complete(asyncio.wait(closing, timeout=CANCEL_GRACE))
    return [t for t in tasks if t not in closing or not t.done()]


def _close_failed(what: str, exc: BaseException) -> LoopProblem:
    # the traceback from the first frame that is not this module's
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    lines = traceback.format_exception(type(exc), exc, tb or exc.__traceback__)
    return LoopProblem(
        "close", f"{what} failed: {type(exc).__name__}: {exc}", "".join(lines).rstrip()
    )


@final
class LoopRunner:
    """An event loop for one scope and one backend, and the task that serves it."""

    __slots__ = (
        "_abandoned",
        "_busy",
        "_clock",
        "_closed",
        "_closing",
        "_deadline",
        "_default_idle_limit",
        "_finished",
        "_holds",
        "_jobs",
        "_loop",
        "_on_close",
        "_started_by",
        "_wake",
        "_worker",
        "backend",
        "keep_worker",
        "label",
        "problems",
    )

    def __init__(self, backend: Backend, *, debug: bool, label: str) -> None:
        self.backend = backend
        #: The scope's node id ("module tests/test_x.py"); a function loop's
        #: label is its test's node id.
        self.label = label
        self.problems: list[LoopProblem] = []
        # What asyncio.Runner(loop_factory=..., debug=...) would make; its
        # run() and close() are not used (see run() and close()).
        self._loop = backend.new_event_loop()
        self._loop.set_debug(debug)
        self._loop.set_exception_handler(self._on_loop_exception)
        # A loop with virtual time: every call on it runs under a _Deadline,
        # which the loop's idle handler expires.
        clock = self._loop if isinstance(self._loop, VirtualClock) else None
        self._clock: VirtualClock | None = clock
        self._deadline: _Deadline | None = None
        self._default_idle_limit: float | None = None
        if clock is not None:
            self._default_idle_limit = clock.idle_limit
            clock.set_idle_handler(self._on_idle)
        self._jobs: collections.deque[_Job | None] = collections.deque()
        self._wake: asyncio.Future[None] | None = None
        self._on_close: list[Callable[[], object]] = []
        self._closing = False
        self._closed = False
        #: The last call did what closing does on the loop (see run(last=)).
        self._finished = False
        self._abandoned = False
        self._busy = False
        # On a shared loop, the tasks a call (a test, a fixture's setup or
        # teardown) started and left pending, for the report when the scope
        # ends: task -> the call's label. (A function loop's label is its
        # test's node id; a wider one's is "class ...", "module ...",
        # "package ..." or "session".)
        shared = label == "session" or label.startswith(
            ("class ", "module ", "package ")
        )
        self._started_by: weakref.WeakKeyDictionary[asyncio.Task[Any], str] | None = (
            weakref.WeakKeyDictionary() if shared else None
        )
        # The worker task is made by the first run() and ends when it is idle
        # and no async-generator fixture is suspended in it (see hold()).
        self._worker: asyncio.Task[None] | None = None
        self._holds = 0
        #: The worker waits for the next call while it has none: fixtures and
        #: tests that share the loop run in one task. A test's own loop clears
        #: this before the test's call, after which only the teardowns of
        #: async-generator fixtures (which hold the worker) can follow.
        self.keep_worker = True
        if not _interrupts.installed:
            _interrupts.install()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    @property
    def virtual(self) -> bool:
        """Whether the loop has virtual time (see ``aioloop.VirtualClock``)."""
        return self._clock is not None

    @property
    def closed(self) -> bool:
        return self._closed

    def _on_loop_exception(
        self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]
    ) -> None:
        # Cancellation is not an error nobody saw. (On 3.11 the streams module
        # passes the CancelledError of a cancelled start_server handler to the
        # handler; it would be reported on every such test.)
        if not isinstance(context.get("exception"), asyncio.CancelledError):
            summary, detail = format_handler_context(context)
            self.problems.append(LoopProblem("exception", summary, detail))
        _log_as_asyncio_does(loop, context)

    def _on_idle(self) -> None:
        clock = self._clock
        assert clock is not None
        limit = clock.idle_limit or 0.0
        deadline = self._deadline
        if deadline is not None:
            deadline.idle(limit)
            return
        # Idle outside a call (closing: an async generator's clean-up waiting
        # for something nobody sends): stop the loop rather than wait forever.
        self.problems.append(
            LoopProblem(
                "close",
                f"the {self.label} event loop (virtual time) was idle for "
                f"{limit:g} s with nothing scheduled while closing; it was stopped",
            )
        )
        self._loop.stop()

    def hold(self) -> None:
        """Keep the worker task alive after the next job, even once
        ``keep_worker`` is cleared: an async-generator fixture is about to be
        suspended in it until its teardown."""
        self._holds += 1

    def release(self) -> None:
        """Undo one :meth:`hold` (the fixture has finished, or failed to start)."""
        self._holds -= 1
        wake = self._wake
        if (
            self._holds <= 0
            and not self.keep_worker
            and not self._jobs
            and wake is not None
            and not wake.done()
        ):
            wake.set_result(None)  # let the idle worker end

    def on_close(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` first thing when the runner closes (newest first)."""
        self._on_close.append(callback)

    # -- running ---------------------------------------------------------------

    async def _serve(self) -> None:
        __tracebackhide__ = True
        jobs = self._jobs
        loop = self._loop
        me = asyncio.current_task()
        while True:
            if self._worker is not me:
                return  # replaced after a test stopped the loop under it
            if not jobs:
                if self._closing or (self._holds <= 0 and not self.keep_worker):
                    return
                self._wake = loop.create_future()
                try:
                    await self._wake
                except asyncio.CancelledError:
                    # Cancelled while idle. By code that cancels every task of
                    # the loop and waits for them (a common clean-up fixture):
                    # end, or that wait never ends; the next call starts a new
                    # worker. By a cancel scope, timeout or TaskGroup that a
                    # suspended fixture holds (anyio repeats its cancellation
                    # until the scope is left): keep serving, so that the
                    # fixture's teardown leaves it in the task that entered
                    # it. A call queued in the meantime is served first.
                    if not jobs and (self._holds <= 0 or awaited(me)):
                        return
                continue
            job = jobs.popleft()
            if job is None:
                return
            self._busy = True
            # named after what it runs: `python -m asyncio ps` shows the test
            assert me is not None
            me.set_name(job.name)
            try:
                if job.timeout is None and self._clock is None:
                    job.result = await _InContext(job.coro, job.context)
                else:
                    job.result = await self._run_with_deadline(job)
            except BaseException as exc:  # handed to the caller, whatever it is
                job.error = exc
            finally:
                self._busy = False
                me.set_name(IDLE_WORKER_NAME)
            try:
                if job.last and not jobs and self._holds <= 0:
                    await self._finish_in_run()
            finally:
                assert job.done is not None
                job.done.set_result(None)

    async def _serve_one(self, job: _Job) -> None:
        # One call as a task of its own, in the call's context (see run()).
        __tracebackhide__ = True
        self._busy = True
        try:
            job.result = await job.coro
        except BaseException as exc:  # handed to the caller, whatever it is
            job.error = exc
        finally:
            self._busy = False
        if job.last and self._holds <= 0:
            await self._finish_in_run()

    async def _finish_in_run(self) -> None:
        # The call before close(): when it left nothing pending, shut down
        # async generators and the default executor now, in the call's own
        # loop run, so that close() only has to close the loop (one loop run
        # fewer for a test's own loop; uvloop's runs are not cheap).
        loop = self._loop
        me = self._worker
        if not no_task_but(me):
            for task in asyncio.all_tasks(loop):
                if task is not me:
                    return  # close() cancels and reports them first
        try:
            if not nothing_to_shut_down(loop) or work_scheduled(loop):
                await _shut_down(loop, self.label, self.problems)
        except asyncio.CancelledError:
            return  # Ctrl-C: close() does it all
        self._finished = True

    async def _run_with_deadline(self, job: _Job) -> Any:
        __tracebackhide__ = True
        awaitable = _InContext(job.coro, job.context)
        worker = self._worker
        assert worker is not None
        deadline = self._deadline = _Deadline(job, awaitable, worker, self._loop)
        try:
            result = await awaitable
        except BaseException as exc:
            if not deadline.expired:
                raise
            raise deadline.error() from exc
        finally:
            self._deadline = None
            deadline.finish()
        if deadline.expired:
            raise deadline.error()  # it swallowed the cancellation and returned
        return result

    def run(
        self,
        coro: Any,
        *,
        context: contextvars.Context,
        timeout: float | None = None,
        idle_limit: float | None = None,
        root: Any = None,
        label: str = "test",
        name: str | None = None,
        last: bool = False,
    ) -> Any:
        """Run ``coro`` to completion in the worker task and return its result.

        ``last``: :meth:`close` comes right after this call; what closing can
        do on the loop is done at the end of this call's loop run. ``name``:
        the worker task's name while it runs this call (default ``label``).

        ``timeout`` is in loop time. ``idle_limit``: on a virtual-time loop,
        the real seconds the call may wait with nothing that can wake it
        (``None``: the loop's own default).

        Raises what the coroutine raised; :class:`TimeoutExpired` when
        ``timeout`` expires; :class:`LoopIdle` when the idle limit does;
        :class:`LoopStopped` when the loop is stopped under it;
        ``KeyboardInterrupt`` after a Ctrl-C cancelled it.
        """
        __tracebackhide__ = True
        if self._closed:
            if hasattr(coro, "close"):
                coro.close()
            raise RuntimeError(f"the {self.label} event loop is already closed")
        loop = self._loop
        if loop.is_closed():
            if hasattr(coro, "close"):
                coro.close()
            raise RuntimeError(
                f"the {self.label} event loop was closed by a test or fixture; "
                f"tests must not close the loop they run on"
            )
        worker = self._worker
        self._finished = False
        waiter: asyncio.Future[Any]
        clock = self._clock
        if clock is not None:
            clock.idle_limit = (
                self._default_idle_limit if idle_limit is None else idle_limit
            )
        if (
            not self.keep_worker
            and (worker is None or worker.done())
            and self._holds <= 0
            and timeout is None
            and clock is None
            and not self._abandoned
        ):
            # The only call on a test's own loop (no fixture ran on it, none
            # will): a task of its own, made in the call's context, does what
            # the worker would, minus the queue and the step-by-step context
            # switch of _InContext.
            job = _Job(coro, context, timeout, root, label, None, last, name or label)
            waiter = self._worker = loop.create_task(
                self._serve_one(job), name=job.name, context=context
            )
        else:
            if worker is None or worker.done() or self._abandoned:
                self._abandoned = False
                # No worker yet, or it ended (idle with nothing held, or
                # stopped by a test that stopped the loop under it): serve
                # from a new one.
                self._wake = None
                self._worker = loop.create_task(self._serve(), name=IDLE_WORKER_NAME)
            waiter = loop.create_future()
            job = _Job(coro, context, timeout, root, label, waiter, last, name or label)
            self._jobs.append(job)
            wake = self._wake
            if wake is not None and not wake.done():
                wake.set_result(None)
        interrupts = _interrupts
        interrupts.running = self
        # Only a call with a limit, or on a loop in debug mode, is watched.
        watchdog = (
            None
            if timeout is None and not loop.get_debug()
            else _start_watchdog(loop, timeout)
        )
        blocks: list[Block] | None = None
        try:
            loop.run_until_complete(waiter)
        except RuntimeError as exc:
            if not waiter.done():
                self._jobs.clear()
                if self._worker is not None:
                    self._worker.cancel()
                self._abandoned = True
                raise LoopStopped(
                    f"{job.label} stopped the event loop before it finished "
                    f"({exc}); tests must not stop or close the loop they run on"
                ) from None
            raise
        finally:
            interrupts.running = None
            if watchdog is not None:
                blocks = watchdog.stop()
        if interrupts.interrupted:
            interrupts.interrupted = False
            if self._worker is not None:
                self._worker.uncancel()
            raise KeyboardInterrupt(f"Ctrl-C cancelled {job.label}") from None
        started_by = self._started_by
        if started_by is not None:
            self._note_started(started_by, label)
        if blocks:
            self._note_blocks(job, blocks, timeout)
        if job.error is not None:
            error = job.error
            job.error = None
            raise error
        return job.result

    def _note_blocks(
        self, job: _Job, blocks: list[Block], timeout: float | None
    ) -> None:
        # The longest block past the call's limit fails the call, unless the
        # call failed on its own (its error comes first, with a note); shorter
        # ones (debug mode: past slow_callback_duration) are reported.
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
        slow = _slow_callback_duration(self._loop)
        for block in blocks:
            self.problems.append(
                LoopProblem(
                    "blocked",
                    f"{block.seconds:.2f} s without returning to the loop in "
                    f"{job.label}, at {block.where} (debug mode's "
                    f"slow_callback_duration: {slow:g} s)",
                    block.stack,
                )
            )

    def _note_started(
        self, started_by: weakref.WeakKeyDictionary[asyncio.Task[Any], str], label: str
    ) -> None:
        # A task pending now that no earlier call was seen to leave pending was
        # started by this one (or by sync code between calls, which cannot be
        # told apart). One scan after the call, none before it.
        worker = self._worker
        if no_task_but(worker):
            return
        for task in asyncio.all_tasks(self._loop):
            if task is not worker and task not in started_by:
                started_by[task] = label

    # -- closing ---------------------------------------------------------------

    def close(self) -> list[LoopProblem]:
        """Finish everything on the loop and close it; return what went wrong.

        Fixture finalisers registered with :meth:`on_close` run first; then
        tasks still pending are cancelled (waiting at most ``CANCEL_GRACE``)
        and reported, async generators and the default executor are shut down,
        and the loop is closed. Never raises for problems; they are returned
        (a ``KeyboardInterrupt`` in a finaliser is raised after closing).
        """
        if self._closed:
            return []
        problems = self.problems
        errors: list[BaseException] = []
        while self._on_close:
            callback = self._on_close.pop()
            try:
                callback()
            except BaseException as exc:  # reported; closing goes on
                if isinstance(exc, KeyboardInterrupt):
                    errors.append(exc)
                problems.append(_close_failed("teardown before closing the loop", exc))
        self._closed = True
        self._closing = True
        loop = self._loop
        try:
            if not loop.is_closed():
                self._finish_tasks(loop, problems)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                errors.append(exc)
            problems.append(_close_failed(f"closing the {self.label} event loop", exc))
            # whatever failed, do not leave the loop open
            if not loop.is_closed() and not loop.is_running():
                with contextlib.suppress(BaseException):
                    loop.close()
        finally:
            self._drop()
        if errors:
            raise errors[0]
        return problems

    def _finish_tasks(
        self, loop: asyncio.AbstractEventLoop, problems: list[LoopProblem]
    ) -> None:
        worker = self._worker
        if (
            self._finished
            and (worker is None or worker.done())
            # a task made at the very end of the last call (a dropped
            # generator's aclose()) keeps the loop from this shortcut
            and (no_task_but(worker) or not asyncio.all_tasks(loop))
        ):
            loop.close()  # the last call left nothing to do (run(last=))
            return
        wake = self._wake
        if worker is not None and not worker.done():
            if self._busy:
                # interrupted in the middle of a call (KeyboardInterrupt)
                worker.cancel()
            self._jobs.append(None)
            if wake is not None and not wake.done():
                wake.set_result(None)
        else:
            worker = None
        leftovers = [t for t in asyncio.all_tasks(loop) if t is not worker]
        if leftovers:
            leftovers = _let_generators_close(loop, leftovers)
        started_by: Mapping[asyncio.Task[Any], str] = self._started_by or {}
        for task in leftovers:
            summary, detail = describe_task(task, started_by.get(task))
            problems.append(LoopProblem("leak", summary, detail))
            task.cancel()
        waiting: set[asyncio.Task[Any]] = set(leftovers)
        if worker is not None:
            waiting.add(worker)
        if waiting:
            loop.run_until_complete(asyncio.wait(waiting, timeout=CANCEL_GRACE))
        stubborn = [t for t in leftovers if not t.done()]
        for task in leftovers:
            if task.done() and not task.cancelled() and task.exception() is not None:
                exc = task.exception()
                assert exc is not None
                # logged as asyncio.Runner (so pytest-asyncio) logs it
                _log_as_asyncio_does(
                    loop,
                    {
                        "message": "unhandled exception during asyncio.run() shutdown",
                        "exception": exc,
                        "task": task,
                    },
                )
                problems.append(
                    LoopProblem(
                        "exception",
                        f"task {task.get_name()!r} raised while being cancelled: "
                        f"{type(exc).__name__}: {exc}",
                        "".join(traceback.format_exception(exc)).rstrip(),
                    )
                )
        if worker is not None and not worker.done():
            worker.cancel()
            loop.run_until_complete(asyncio.wait({worker}, timeout=CANCEL_GRACE))
            if not worker.done():
                stubborn.append(worker)
        for task in stubborn:
            for problem in problems:
                if problem.kind == "leak" and problem.summary.startswith(
                    f"task {task.get_name()!r} "
                ):
                    problem.summary += (
                        f"; it ignored cancellation for {CANCEL_GRACE:g} s "
                        f"and was abandoned"
                    )
                    break
            else:
                problems.append(
                    LoopProblem(
                        "leak",
                        f"task {task.get_name()!r} ignored cancellation for "
                        f"{CANCEL_GRACE:g} s and was abandoned",
                    )
                )
            # reported already; no "Task was destroyed but it is pending!" later
            quiet_destroy(task)
        if stubborn:
            # Runner.close() would wait for these forever: close by hand.
            try:
                loop.run_until_complete(
                    asyncio.wait_for(loop.shutdown_asyncgens(), CANCEL_GRACE)
                )
            finally:
                loop.close()
        elif nothing_to_shut_down(loop) and not work_scheduled(loop):
            # What Runner.close() would do, minus two loop runs that have
            # nothing to do: most stdlib function loops end here.
            loop.close()
        else:
            # What Runner.close() does, in one loop run instead of two (other
            # loops, uvloop, do not show whether there is anything to do).
            try:
                loop.run_until_complete(_shut_down(loop, self.label, problems))
            finally:
                loop.close()

    def _drop(self) -> None:
        # A closed loop kept alive keeps its tasks alive; and asyncio.all_tasks()
        # on 3.11 walks every live task. Drop every reference. What reaches the
        # loop's exception handler from now on is reported late, not lost.
        self._jobs.clear()
        self._wake = None
        self._on_close.clear()
        self._deadline = None
        if self._started_by is not None:
            self._started_by.clear()
        if self._clock is not None:
            with contextlib.suppress(Exception):
                self._clock.set_idle_handler(None)
        with contextlib.suppress(RuntimeError, TypeError):  # a loop that refuses
            self._loop.set_exception_handler(_late_handler(self.label))
        with contextlib.suppress(TypeError):  # a loop type without weakrefs
            _closed_loops.add(self._loop)
