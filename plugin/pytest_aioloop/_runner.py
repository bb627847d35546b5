"""One event loop of one scope: made, driven and closed. No pytest in here.

A :class:`LoopRunner` owns an ``asyncio.Runner`` made with a backend's loop
factory, and one long-lived *worker* task on that loop. Every fixture setup,
test and fixture teardown that shares the loop runs inside that one task
(as anyio does), so an async-generator fixture may hold a ``TaskGroup`` or a
``timeout()`` across its ``yield``. Each call runs in a ``contextvars.Context``
of the caller's choosing while staying in the worker task (:class:`_InContext`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import linecache
import traceback
from collections.abc import Callable, Generator
from typing import Any, Final, final

from aioloop import Backend

__all__ = ["LoopProblem", "LoopRunner", "TimeoutExpired", "format_await_stack"]

#: How long cancelled leftovers get to finish before they are given up on.
CANCEL_GRACE: Final = 1.0


@final
class TimeoutExpired(Exception):
    """A call ran past its time limit; the message carries the await stack."""


@final
class LoopProblem:
    """A leaked task or an exception that reached the loop's exception handler."""

    __slots__ = ("detail", "kind", "summary")

    def __init__(self, kind: str, summary: str, detail: str = "") -> None:
        self.kind = kind  # "leak" | "exception" | "close"
        self.summary = summary
        self.detail = detail

    def __repr__(self) -> str:
        return f"LoopProblem({self.kind!r}, {self.summary!r})"


class _InContext:
    """Await a coroutine step by step inside ``context``, in the awaiting task."""

    __slots__ = ("_context", "_coro")

    def __init__(self, coro: Any, context: contextvars.Context) -> None:
        self._coro = coro
        self._context = context

    def __await__(self) -> Generator[Any, Any, Any]:
        coro = self._coro
        run = self._context.run
        send = coro.send
        value: Any = None
        error: BaseException | None = None
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
                error = exc
                value = None


@final
class _Job:
    __slots__ = (
        "context",
        "coro",
        "done",
        "error",
        "label",
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
        done: asyncio.Future[None],
    ) -> None:
        self.coro = coro
        self.context = context
        self.timeout = timeout
        self.root = root
        self.label = label
        self.done = done
        self.result: Any = None
        self.error: BaseException | None = None


def _frames_awaited(root: Any) -> list[tuple[Any, int]]:
    """The (frame, line) chain that ``root`` is suspended in, outermost first."""
    chain: list[tuple[Any, int]] = []
    seen: set[int] = set()
    current = root
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, asyncio.Task):
            current = current.get_coro()
            continue
        frame = (
            getattr(current, "cr_frame", None)
            or getattr(current, "ag_frame", None)
            or getattr(current, "gi_frame", None)
        )
        if frame is not None:
            chain.append((frame, frame.f_lineno))
        current = (
            getattr(current, "cr_await", None)
            or getattr(current, "ag_await", None)
            or getattr(current, "gi_yieldfrom", None)
        )
    return chain


def format_await_stack(root: Any) -> str:
    """Format the await chain that ``root`` (coroutine, generator, task) sits in."""
    lines = []
    for frame, lineno in _frames_awaited(root):
        code = frame.f_code
        lines.append(f'  File "{code.co_filename}", line {lineno}, in {code.co_name}')
        source = linecache.getline(code.co_filename, lineno).strip()
        if source:
            lines.append(f"    {source}")
    return "\n".join(lines) if lines else "  (no await stack: it was not suspended)"


def _describe_task(task: asyncio.Task[Any]) -> tuple[str, str]:
    coro = task.get_coro()
    qualname = getattr(coro, "__qualname__", type(coro).__name__)
    summary = f"task {task.get_name()!r} running {qualname}"
    detail = ["awaiting:", format_await_stack(task)]
    source = getattr(task, "_source_traceback", None)
    if source:
        detail.append("created at (asyncio debug mode):")
        detail.append("".join(traceback.format_list(source)).rstrip())
    return summary, "\n".join(detail)


def _format_handler_context(context: dict[str, Any]) -> tuple[str, str]:
    message = str(context.get("message") or "unhandled exception in event loop")
    exception = context.get("exception")
    detail_parts: list[str] = []
    for key in ("task", "future", "handle", "transport", "protocol"):
        if key in context:
            detail_parts.append(f"{key}: {context[key]!r}")
    if isinstance(exception, BaseException):
        summary = f"{message}: {type(exception).__name__}: {exception}"
        detail_parts.append(
            "".join(
                traceback.format_exception(
                    type(exception), exception, exception.__traceback__
                )
            ).rstrip()
        )
    else:
        summary = message
    return summary, "\n".join(detail_parts)


def _nothing_to_shut_down(loop: asyncio.AbstractEventLoop) -> bool:
    # The stdlib loop keeps its async generators and default executor in
    # private attributes; other loops (uvloop) always get the full shutdown.
    if not isinstance(loop, asyncio.BaseEventLoop):
        return False
    asyncgens = getattr(loop, "_asyncgens", None)
    executor = getattr(loop, "_default_executor", True)
    return asyncgens is not None and not asyncgens and executor is None


@final
class LoopRunner:
    """An event loop for one scope and one backend, and the task that serves it."""

    __slots__ = (
        "_abandoned",
        "_closed",
        "_closing",
        "_holds",
        "_jobs",
        "_loop",
        "_on_close",
        "_runner",
        "_wake",
        "_worker",
        "backend",
        "label",
        "problems",
    )

    def __init__(self, backend: Backend, *, debug: bool, label: str) -> None:
        self.backend = backend
        self.label = label
        self.problems: list[LoopProblem] = []
        self._runner = asyncio.Runner(debug=debug, loop_factory=backend.new_event_loop)
        self._loop = self._runner.get_loop()
        self._loop.set_exception_handler(self._on_loop_exception)
        self._jobs: collections.deque[_Job | None] = collections.deque()
        self._wake: asyncio.Future[None] | None = None
        self._on_close: list[Callable[[], object]] = []
        self._closing = False
        self._closed = False
        self._abandoned = False
        # The worker task is made by the first run() and ends when it is idle
        # and no async-generator fixture is suspended in it (see hold()).
        self._worker: asyncio.Task[None] | None = None
        self._holds = 0

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    @property
    def closed(self) -> bool:
        return self._closed

    def _on_loop_exception(
        self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]
    ) -> None:
        summary, detail = _format_handler_context(context)
        self.problems.append(LoopProblem("exception", summary, detail))

    def hold(self) -> None:
        """Keep the worker task alive after the next job: an async-generator
        fixture is about to be suspended in it until its teardown."""
        self._holds += 1

    def release(self) -> None:
        """Undo one :meth:`hold` (the fixture has finished, or failed to start)."""
        self._holds -= 1
        wake = self._wake
        if self._holds <= 0 and not self._jobs and wake is not None and not wake.done():
            wake.set_result(None)  # let the idle worker end

    def on_close(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` first thing when the runner closes (newest first)."""
        self._on_close.append(callback)

    # -- running ---------------------------------------------------------------

    async def _serve(self) -> None:
        jobs = self._jobs
        loop = self._loop
        while True:
            if not jobs:
                if self._holds <= 0 or self._closing:
                    return
                self._wake = loop.create_future()
                # Cancelled while idle (e.g. a fixture's TaskGroup saw a child
                # fail): keep serving unless the loop is closing, which the top
                # of the loop checks.
                with contextlib.suppress(asyncio.CancelledError):
                    await self._wake
                continue
            job = jobs.popleft()
            if job is None:
                return
            try:
                job.result = await self._run_job(job)
            except BaseException as exc:  # handed to the caller, whatever it is
                job.error = exc
            finally:
                job.done.set_result(None)

    async def _run_job(self, job: _Job) -> Any:
        awaitable = _InContext(job.coro, job.context)
        if job.timeout is None:
            return await awaitable
        task = asyncio.current_task()
        assert task is not None
        loop = self._loop
        state: dict[str, Any] = {"expired": False, "cancels": 0, "stack": ""}

        def cancel() -> None:
            state["cancels"] += 1
            task.cancel(f"{job.label} timed out after {job.timeout} s")

        def expire() -> None:
            state["expired"] = True
            state["stack"] = format_await_stack(
                job.root if job.root is not None else job.coro
            )
            cancel()
            state["handle"] = loop.call_later(CANCEL_GRACE, give_up)

        def give_up() -> None:
            # It swallowed the cancellation: close the coroutine outright.
            state["abandon"] = True
            cancel()

        handle = loop.call_later(job.timeout, expire)
        try:
            result = await awaitable
        except BaseException as exc:
            if not state["expired"]:
                raise
            raise self._timeout_error(job, state, swallowed=False) from exc
        finally:
            handle.cancel()
            if "handle" in state:
                state["handle"].cancel()
            for _ in range(state["cancels"]):
                task.uncancel()
        if state["expired"]:
            raise self._timeout_error(job, state, swallowed=True)
        return result

    @staticmethod
    def _timeout_error(
        job: _Job, state: dict[str, Any], *, swallowed: bool
    ) -> TimeoutExpired:
        note = (
            " (it caught the cancellation and went on; it was stopped anyway)"
            if swallowed
            else ""
        )
        return TimeoutExpired(
            f"{job.label} timed out after {job.timeout:g} s{note}; "
            f"it was awaiting:\n{state['stack']}"
        )

    def run(
        self,
        coro: Any,
        *,
        context: contextvars.Context,
        timeout: float | None = None,
        root: Any = None,
        label: str = "test",
    ) -> Any:
        """Run ``coro`` to completion in the worker task and return its result."""
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
        if worker is None or worker.done() or self._abandoned:
            self._abandoned = False
            # No worker yet, or it ended (idle with nothing held, or stopped by
            # a test that stopped the loop): serve from a new one.
            self._wake = None
            self._worker = loop.create_task(self._serve(), name="aioloop-worker")
        job = _Job(coro, context, timeout, root, label, loop.create_future())
        self._jobs.append(job)
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)
        try:
            loop.run_until_complete(job.done)
        except RuntimeError as exc:
            if not job.done.done():
                self._jobs.clear()
                if self._worker is not None:
                    self._worker.cancel()
                self._abandoned = True
                raise RuntimeError(
                    f"{job.label} stopped the event loop before it finished "
                    f"({exc}); tests must not stop or close the loop they run on"
                ) from exc
            raise
        if job.error is not None:
            error = job.error
            job.error = None
            raise error
        return job.result

    # -- closing ---------------------------------------------------------------

    def close(self) -> list[LoopProblem]:
        """Finish everything on the loop and close it; return what went wrong.

        Fixture finalisers registered with :meth:`on_close` run first; then
        tasks still pending are cancelled (waiting at most ``CANCEL_GRACE``)
        and reported, async generators and the default executor are shut down,
        and the loop is closed. Never raises for problems; they are returned.
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
                problems.append(
                    LoopProblem(
                        "close",
                        f"teardown before closing the loop failed: "
                        f"{type(exc).__name__}: {exc}",
                        "".join(traceback.format_exception(exc)).rstrip(),
                    )
                )
        self._closed = True
        self._closing = True
        loop = self._loop
        try:
            if not loop.is_closed():
                self._finish_tasks(loop, problems)
        except BaseException as exc:
            problems.append(
                LoopProblem(
                    "close", f"closing the loop failed: {type(exc).__name__}: {exc}"
                )
            )
        finally:
            self._drop()
        if errors:
            raise errors[0]
        return problems

    def _finish_tasks(
        self, loop: asyncio.AbstractEventLoop, problems: list[LoopProblem]
    ) -> None:
        worker = self._worker
        wake = self._wake
        if worker is not None and not worker.done():
            self._jobs.append(None)
            if wake is not None and not wake.done():
                wake.set_result(None)
        else:
            worker = None
        leftovers = [t for t in asyncio.all_tasks(loop) if t is not worker]
        for task in leftovers:
            summary, detail = _describe_task(task)
            problems.append(LoopProblem("leak", f"{summary} was still pending", detail))
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
            problems.append(
                LoopProblem(
                    "leak",
                    f"task {task.get_name()!r} ignored cancellation for "
                    f"{CANCEL_GRACE:g} s and was abandoned",
                )
            )
        if stubborn:
            # Runner.close() would wait for these forever: close by hand.
            try:
                loop.run_until_complete(
                    asyncio.wait_for(loop.shutdown_asyncgens(), CANCEL_GRACE)
                )
            finally:
                loop.close()
        elif _nothing_to_shut_down(loop):
            # What Runner.close() would do, minus two loop runs that have
            # nothing to do: most function loops end here.
            loop.close()
        else:
            self._runner.close()

    def _drop(self) -> None:
        # A closed loop kept alive keeps its tasks alive; and asyncio.all_tasks()
        # on 3.11 walks every live task. Drop every reference.
        self._jobs.clear()
        self._wake = None
        self._on_close.clear()
