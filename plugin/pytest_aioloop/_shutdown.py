"""A loop's shutdown, in three named steps: cancel what is left (and report
it), report the tasks that would not be cancelled, close the loop (async
generators and the default executor first, as ``asyncio.Runner.close()``
does). No pytest in here."""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Mapping
from typing import Any, Final

from ._asyncio_compat import nothing_to_shut_down, quiet_destroy, work_scheduled
from ._problems import LoopProblem, log_as_asyncio_does
from ._stacks import describe_task

__all__ = [
    "CANCEL_GRACE",
    "cancel_leftovers",
    "close_loop",
    "report_stubborn",
    "shut_down_steps",
]

#: How long cancelled leftovers (and a call that swallowed its timeout's
#: cancellation) get to finish before they are given up on.
CANCEL_GRACE: Final = 1.0

#: Passes of a loop about to close while it has callbacks ready or
#: transports open: enough for a transport closed at the end of a test to
#: close its socket, and for the peer on the same loop to see the end of the
#: connection and close its own (asyncio.Runner.close() makes four passes).
_SETTLE_PASSES: Final = 8


async def shut_down_steps(
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
            problems.append(shutdown_failed(name, label, exc))


def shutdown_failed(step: str, label: str, exc: BaseException) -> LoopProblem:
    return LoopProblem(
        "exception",
        f"{step}() of the {label} event loop raised {type(exc).__name__}: {exc}",
        "".join(traceback.format_exception(exc)).rstrip(),
    )


def let_generators_close(
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


def cancel_leftovers(
    loop: asyncio.AbstractEventLoop,
    worker: asyncio.Task[Any] | None,
    started_by: Mapping[asyncio.Task[Any], str],
    problems: list[LoopProblem],
) -> list[asyncio.Task[Any]]:
    """Step one: cancel every task still pending on ``loop`` but ``worker``
    (a dropped generator's ``aclose()`` is let finish first), report each as
    a leak, and wait at most ``CANCEL_GRACE`` for them and the worker; an
    exception raised while being cancelled is reported as lost. Return the
    tasks that are still not done (the worker included)."""
    leftovers = [t for t in asyncio.all_tasks(loop) if t is not worker]
    if leftovers:
        leftovers = let_generators_close(loop, leftovers)
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
            log_as_asyncio_does(
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
    return stubborn


def report_stubborn(
    stubborn: list[asyncio.Task[Any]], problems: list[LoopProblem]
) -> None:
    """Step two: a task that ignored cancellation for ``CANCEL_GRACE`` is
    abandoned, and its leak entry says so (or one is added)."""
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


def close_loop(
    loop: asyncio.AbstractEventLoop,
    label: str,
    problems: list[LoopProblem],
    *,
    abandoned: bool,
) -> None:
    """Step three: shut down async generators and the default executor, as
    ``asyncio.Runner.close()`` does, and close the loop. With tasks
    ``abandoned``, ``Runner.close()`` would wait for them forever: the
    generators get ``CANCEL_GRACE``, and the loop is closed by hand."""
    if abandoned:
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
            loop.run_until_complete(shut_down_steps(loop, label, problems))
        finally:
            loop.close()
