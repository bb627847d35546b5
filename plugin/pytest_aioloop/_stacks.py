"""What a coroutine or task was doing, in words: await stacks and task
descriptions for timeouts and leak reports, and the exception handler's
context for lost exceptions. No pytest in here."""

from __future__ import annotations

import asyncio
import linecache
import os
import traceback
from collections.abc import Iterable
from types import FrameType
from typing import Any, Final

__all__ = [
    "describe_task",
    "format_await_stack",
    "format_handler_context",
    "user_frames",
]

#: Tasks shown at most below one await (a gather, a TaskGroup).
_MAX_AWAITED: Final = 8
_ASYNCIO_DIR: Final = os.path.dirname(asyncio.__file__)
#: The runner's frames sit between the loop and the test's own code.
_PLUGIN_FILES: Final = frozenset(
    os.path.join(os.path.dirname(__file__), name)
    for name in ("_runner.py", "_stacks.py")
)


def _frames_awaited(root: Any) -> list[FrameType]:
    """The frames of the await chain ``root`` is suspended in, outermost first."""
    chain: list[FrameType] = []
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
            chain.append(frame)
        current = (
            getattr(current, "cr_await", None)
            or getattr(current, "ag_await", None)
            or getattr(current, "gi_yieldfrom", None)
        )
    return chain


def _task_name(task: asyncio.Task[Any]) -> str:
    return task.get_name()


def _tasks_in(frame: FrameType) -> list[asyncio.Future[Any]]:
    """Tasks an asyncio frame (``wait``, ``wait_for``, a ``TaskGroup``'s exit)
    is waiting for, read from its local variables."""
    if not frame.f_code.co_filename.startswith(_ASYNCIO_DIR):
        return []
    found: list[asyncio.Future[Any]] = []
    for value in frame.f_locals.values():
        if isinstance(value, asyncio.TaskGroup):
            value = getattr(value, "_tasks", ())
        if isinstance(value, asyncio.Task):
            found.append(value)
        elif isinstance(value, list | tuple):
            found.extend(v for v in value if isinstance(v, asyncio.Task))
        elif isinstance(value, set | frozenset):
            tasks: list[asyncio.Task[Any]] = [
                v for v in value if isinstance(v, asyncio.Task)
            ]
            tasks.sort(key=_task_name)
            found.extend(tasks)
    return found


def _awaited_tasks(future: Any) -> list[asyncio.Future[Any]]:
    if isinstance(future, asyncio.Task):
        return [future]
    children = getattr(future, "_children", None)  # asyncio.gather
    if isinstance(children, list):
        return [c for c in children if isinstance(c, asyncio.Future)]
    return []


def _stack_lines(
    root: Any, waiting_on: Any, depth: int, seen: set[int], lines: list[str]
) -> None:
    frames = _frames_awaited(root)
    for frame in frames:
        code = frame.f_code
        lineno = frame.f_lineno
        lines.append(f'  File "{code.co_filename}", line {lineno}, in {code.co_name}')
        source = linecache.getline(code.co_filename, lineno).strip()
        if source:
            lines.append(f"    {source}")
    awaited = _awaited_tasks(waiting_on)
    if not awaited and frames:
        awaited = _tasks_in(frames[-1])
    pending = [t for t in awaited if not t.done() and id(t) not in seen]
    if depth >= 4:
        if pending:
            lines.append(f"  ... and {len(pending)} more awaited task(s)")
        return
    for task in pending[:_MAX_AWAITED]:
        seen.add(id(task))
        if isinstance(task, asyncio.Task):
            coro = task.get_coro()
            name = getattr(coro, "__qualname__", type(coro).__name__)
            lines.append(f"  -- which awaits task {task.get_name()!r} ({name}):")
            _stack_lines(
                task, getattr(task, "_fut_waiter", None), depth + 1, seen, lines
            )
        else:
            lines.append(f"  -- which awaits {task!r}")
    if len(pending) > _MAX_AWAITED:
        lines.append(f"  ... and {len(pending) - _MAX_AWAITED} more awaited task(s)")


def format_await_stack(root: Any, *, waiting_on: Any = None) -> str:
    """Format the await chain that ``root`` (coroutine, generator, task) sits in,
    innermost last, following into the tasks it awaits.

    ``waiting_on`` is the future the chain is blocked on, when it is known
    (the ``_fut_waiter`` of the task running ``root``); a task there, or the
    children of a ``gather``, are followed.
    """
    if isinstance(root, asyncio.Task) and waiting_on is None:
        waiting_on = getattr(root, "_fut_waiter", None)
    lines: list[str] = []
    _stack_lines(root, waiting_on, 0, {id(root)}, lines)
    return "\n".join(lines) if lines else "  (no await stack: it was not suspended)"


def _where_defined(coro: Any) -> str:
    code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
    if code is None:
        return ""
    return f" ({os.path.basename(code.co_filename)}:{code.co_firstlineno})"


def user_frames(frames: Iterable[Any]) -> list[Any]:
    """A creation traceback from asyncio debug mode without the frames of
    pytest, the plugin and the loop that lead to the test's own code."""
    frames = list(frames)
    start = 0
    for index, frame in enumerate(frames):
        filename, name = str(frame[0]), frame[2]
        if filename in _PLUGIN_FILES or (
            filename.startswith(_ASYNCIO_DIR) and name in ("_run", "__step")
        ):
            start = index + 1
    kept = frames[start:]
    while kept and str(kept[-1][0]).startswith(_ASYNCIO_DIR):
        kept.pop()
    return kept or frames


def _created_at(source: Iterable[Any]) -> str:
    """The innermost frame of a task's creation traceback outside asyncio."""
    frames = [f for f in source if not str(f[0]).startswith(_ASYNCIO_DIR)]
    if not frames:
        return ""
    filename, lineno, name = frames[-1][0], frames[-1][1], frames[-1][2]
    return f", created at {os.path.basename(filename)}:{lineno} in {name}"


def describe_task(task: asyncio.Task[Any], started_by: str | None) -> tuple[str, str]:
    coro = task.get_coro()
    qualname = getattr(coro, "__qualname__", type(coro).__name__)
    source = getattr(task, "_source_traceback", None)
    summary = (
        f"task {task.get_name()!r} running {qualname}{_where_defined(coro)} "
        f"was still pending"
    )
    if source:
        summary += _created_at(source)
    if started_by is not None:
        summary += f" (started by {started_by})"
    detail = ["awaiting:", format_await_stack(task)]
    if source:
        detail.append("created at (asyncio debug mode):")
        detail.append("".join(traceback.format_list(user_frames(source))).rstrip())
    return summary, "\n".join(detail)


def format_handler_context(context: dict[str, Any]) -> tuple[str, str]:
    message = str(context.get("message") or "unhandled exception in event loop")
    exception = context.get("exception")
    detail_parts: list[str] = []
    for key in ("task", "future", "handle", "transport", "protocol", "socket"):
        if key in context:
            detail_parts.append(f"{key}: {context[key]!r}")
    for key, title in (
        ("source_traceback", "created at"),
        ("handle_traceback", "scheduled at"),
    ):
        frames = context.get(key)
        if frames:
            detail_parts.append(f"{title} (asyncio debug mode):")
            detail_parts.append(
                "".join(traceback.format_list(user_frames(frames))).rstrip()
            )
    if isinstance(exception, BaseException):
        summary = f"{message}: {type(exception).__name__}: {exception}"
        detail_parts.append("".join(traceback.format_exception(exception)).rstrip())
    else:
        summary = message
    return summary, "\n".join(detail_parts)
