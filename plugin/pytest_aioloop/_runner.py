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
import weakref
from collections.abc import Callable
from typing import Any, Final, final

from aioloop import Backend, VirtualClock

from ._asyncio_compat import (
    awaited,
    no_task_but,
    nothing_to_shut_down,
    work_scheduled,
)
from ._deadline import (
    Deadline,
    InContext,
    Job,
    note_blocks,
    start_watchdog,
    virtual_clock_of,
)
from ._interrupts import INTERRUPTS
from ._problems import (
    LoopProblem,
    LoopStopped,
    close_failed,
    closed_loops,
    late_handler,
    log_as_asyncio_does,
)
from ._shutdown import (
    cancel_leftovers,
    close_loop,
    report_stubborn,
    shut_down_steps,
)
from ._stacks import format_handler_context
from ._watchdog import Block

__all__ = ["IDLE_WORKER_NAME", "LoopRunner"]


def _nothing() -> None:
    pass


#: The close() of stdlib loops: with nothing left on the loop, it only
#: closes the selector and the loop's own wake-up socket.
_STDLIB_CLOSES: Final = frozenset(
    {
        asyncio.BaseEventLoop.close,
        asyncio.SelectorEventLoop.close,
        asyncio.selector_events.BaseSelectorEventLoop.close,
    }
)


#: The worker task's name while it waits for the next call; while it runs
#: one, it is named after it (a test's node id).
IDLE_WORKER_NAME: Final = "aioloop-worker (idle)"


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

    def __init__(
        self, backend: Backend, *, debug: bool, label: str, shared: bool
    ) -> None:
        self.backend = backend
        #: The scope's node id ("module tests/test_x.py"); a function loop's
        #: label is its test's node id.
        self.label = label
        self.problems: list[LoopProblem] = []
        # What asyncio.Runner(loop_factory=..., debug=...) would make; its
        # run() and close() are not used (see run() and close()).
        self._loop = backend.new_event_loop()
        if debug or self._loop.get_debug():  # (one call fewer per loop)
            self._loop.set_debug(debug)
        self._loop.set_exception_handler(self._on_loop_exception)
        # A loop with virtual time: every call on it runs under a Deadline,
        # which the loop's idle handler expires.
        clock = virtual_clock_of(self._loop)
        self._clock: VirtualClock | None = clock
        self._deadline: Deadline | None = None
        self._default_idle_limit: float | None = None
        if clock is not None:
            self._default_idle_limit = clock.idle_limit
            clock.set_idle_handler(self._on_idle)
        self._jobs: collections.deque[Job | None] = collections.deque()
        self._wake: asyncio.Future[None] | None = None
        self._on_close: list[Callable[[], object]] = []
        self._closing = False
        self._closed = False
        #: The last call did what closing does on the loop (see run(last=)).
        self._finished = False
        self._abandoned = False
        self._busy = False
        # On a shared loop (class, module, package, session), the tasks a call
        # (a test, a fixture's setup or teardown) started and left pending,
        # for the report when the scope ends: task -> the call's label.
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
        if not INTERRUPTS.installed:
            INTERRUPTS.install()

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

    def closes_quietly(self) -> bool:
        """Whether :meth:`close` would only close a stdlib loop: the last call
        did what closing does on the loop, left nothing pending and no
        fixture finaliser waits (so nothing of the user's runs in close() and
        it cannot warn). When it does, say so to close(): it then does not
        scan the loop's tasks again."""
        return (
            not self._on_close
            and type(self._loop).close in _STDLIB_CLOSES
            and self._nothing_left()
        )

    def _nothing_left(self) -> bool:
        # The last call did what closing does (see run(last=)) and left nothing.
        worker = self._worker
        return (
            self._finished
            and (worker is None or worker.done())
            # a task made at the very end of the last call (a dropped
            # generator's aclose()) keeps the loop from this shortcut
            and (no_task_but(worker) or not asyncio.all_tasks(self._loop))
        )

    def _on_loop_exception(
        self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]
    ) -> None:
        # Cancellation is not an error nobody saw. (On 3.11 the streams module
        # passes the CancelledError of a cancelled start_server handler to the
        # handler; it would be reported on every such test.)
        if not isinstance(context.get("exception"), asyncio.CancelledError):
            summary, detail = format_handler_context(context)
            self.problems.append(LoopProblem("exception", summary, detail))
        log_as_asyncio_does(loop, context)

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
                    job.result = await InContext(job.coro, job.context)
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

    async def _serve_one(self, job: Job) -> None:
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
                await shut_down_steps(loop, self.label, self.problems)
        except asyncio.CancelledError:
            return  # Ctrl-C: close() does it all
        self._finished = True

    async def _run_with_deadline(self, job: Job) -> Any:
        __tracebackhide__ = True
        awaitable = InContext(job.coro, job.context)
        worker = self._worker
        assert worker is not None
        deadline = self._deadline = Deadline(job, awaitable, worker, self._loop)
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
            job, waiter = self._start_own_task(coro, context, root, label, name, last)
        else:
            job, waiter = self._queue_for_worker(
                coro, context, timeout, root, label, name, last
            )
        interrupts = INTERRUPTS
        interrupts.running = self
        # Only a call with a limit, or on a loop in debug mode, is watched.
        watchdog = (
            None
            if timeout is None and not loop.get_debug()
            else start_watchdog(loop, timeout)
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
            note_blocks(job, blocks, timeout, self._loop, self.problems)
        if job.error is not None:
            error = job.error
            job.error = None
            raise error
        return job.result

    def _start_own_task(
        self,
        coro: Any,
        context: contextvars.Context,
        root: Any,
        label: str,
        name: str | None,
        last: bool,
    ) -> tuple[Job, asyncio.Future[Any]]:
        # The only call on a test's own loop (no fixture ran on it, none
        # will): a task of its own, made in the call's context, does what the
        # worker would, minus the queue and the step-by-step context switch of
        # InContext.
        job = Job(coro, context, None, root, label, None, last, name or label)
        task = self._worker = self._loop.create_task(
            self._serve_one(job), name=job.name, context=context
        )
        return job, task

    def _queue_for_worker(
        self,
        coro: Any,
        context: contextvars.Context,
        timeout: float | None,
        root: Any,
        label: str,
        name: str | None,
        last: bool,
    ) -> tuple[Job, asyncio.Future[Any]]:
        # Every other call: queued for the loop's long-lived worker task.
        loop = self._loop
        worker = self._worker
        if worker is None or worker.done() or self._abandoned:
            self._abandoned = False
            # No worker yet, or it ended (idle with nothing held, or stopped
            # by a test that stopped the loop under it): serve from a new one.
            self._wake = None
            self._worker = loop.create_task(self._serve(), name=IDLE_WORKER_NAME)
        waiter: asyncio.Future[None] = loop.create_future()
        job = Job(coro, context, timeout, root, label, waiter, last, name or label)
        self._jobs.append(job)
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)
        return job, waiter

    def interrupt(self) -> bool:
        """Ctrl-C: cancel the call in progress (its ``finally`` blocks run on
        the loop); ``False`` when no call is in progress."""
        worker = self._worker
        if worker is None or worker.done():
            return False
        worker.cancel("KeyboardInterrupt")
        # wake the loop if it is waiting in select()
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(_nothing)
        return True

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

    def close(self, *, quietly: bool = False) -> list[LoopProblem]:
        """Finish everything on the loop and close it; return what went wrong.

        Fixture finalisers registered with :meth:`on_close` run first; then
        tasks still pending are cancelled (waiting at most ``CANCEL_GRACE``)
        and reported, async generators and the default executor are shut down,
        and the loop is closed. Never raises for problems; they are returned
        (a ``KeyboardInterrupt`` in a finaliser is raised after closing).
        ``quietly``: :meth:`closes_quietly` said so just before; the loop is
        only closed.
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
                problems.append(close_failed("teardown before closing the loop", exc))
        self._closed = True
        self._closing = True
        loop = self._loop
        try:
            if not loop.is_closed():
                self._finish_tasks(loop, problems, quietly=quietly)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                errors.append(exc)
            problems.append(close_failed(f"closing the {self.label} event loop", exc))
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
        self,
        loop: asyncio.AbstractEventLoop,
        problems: list[LoopProblem],
        *,
        quietly: bool,
    ) -> None:
        if quietly or self._nothing_left():
            loop.close()
            return
        worker = self._stop_worker()
        stubborn = cancel_leftovers(loop, worker, self._started_by or {}, problems)
        report_stubborn(stubborn, problems)
        close_loop(loop, self.label, problems, abandoned=bool(stubborn))

    def _stop_worker(self) -> asyncio.Task[None] | None:
        # The worker, if still running, is told to end after its queue (and
        # cancelled if it is in the middle of a call: an interrupt).
        worker = self._worker
        if worker is None or worker.done():
            return None
        if self._busy:
            worker.cancel()
        self._jobs.append(None)
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)
        return worker

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
        # (try/except rather than contextlib.suppress: this runs for every
        # test's own loop, and suppress() is three Python calls)
        if self._clock is not None:
            try:  # noqa: SIM105
                self._clock.set_idle_handler(None)
            except Exception:  # a clock that refuses: nothing left to stop
                pass
        try:  # noqa: SIM105
            self._loop.set_exception_handler(late_handler(self.label))
        except (RuntimeError, TypeError):  # a loop that refuses
            pass
        try:  # noqa: SIM105
            closed_loops.add(self._loop)
        except TypeError:  # a loop type without weakrefs
            pass
