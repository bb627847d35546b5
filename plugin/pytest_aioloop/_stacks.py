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

from ._asyncio_compat import (
    HAS_CALL_GRAPH,
    awaited_by,
    gather_children,
    source_traceback,
    task_group_tasks,
)
from ._asyncio_compat import waiting_on as _waiting_on

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
    for name in ("_runner.py", "_deadline.py", "_stacks.py")
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
            value = task_group_tasks(value)
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
    return gather_children(future)


def _children_by_link(loop: asyncio.AbstractEventLoop | None) -> dict[int, list[Any]]:
    """On 3.14+: for each task of ``loop``, the tasks that asyncio's "awaited
    by" links say it awaits (``shield()``, ``as_completed()``, ``wait()``,
    ``TaskGroup``, ``await task``), keyed by the awaiting task's id."""
    children: dict[int, list[Any]] = {}
    if not HAS_CALL_GRAPH or loop is None:
        return children
    for task in asyncio.all_tasks(loop):
        for parent in awaited_by(task):
            children.setdefault(id(parent), []).append(task)
    for tasks in children.values():
        tasks.sort(key=_task_name)
    return children


def _unique(futures: Iterable[Any], seen: set[int]) -> list[Any]:
    kept: list[Any] = []
    ids: set[int] = set()
    for future in futures:
        if id(future) in ids or id(future) in seen or future.done():
            continue
        ids.add(id(future))
        kept.append(future)
    return kept


def _stack_lines(
    root: Any,
    task: Any,
    waiting_on: Any,
    depth: int,
    seen: set[int],
    lines: list[str],
    children: dict[int, list[Any]],
) -> None:
    # Each awaited task's lines are indented one step under the line that
    # introduces it, so that sibling tasks line up and nested ones step in.
    indent = "    " * depth
    frames = _frames_awaited(root)
    for frame in frames:
        code = frame.f_code
        lineno = frame.f_lineno
        lines.append(
            f'{indent}  File "{code.co_filename}", line {lineno}, in {code.co_name}'
        )
        source = linecache.getline(code.co_filename, lineno).strip()
        if source:
            lines.append(f"{indent}    {source}")
    awaited = _awaited_tasks(waiting_on)
    if not awaited and frames:
        awaited = _tasks_in(frames[-1])
    if task is not None:
        awaited = [*awaited, *children.get(id(task), ())]
    pending = _unique(awaited, seen)
    if depth >= 4:
        if pending:
            lines.append(f"{indent}  ... and {len(pending)} more awaited task(s)")
        return
    for child in pending[:_MAX_AWAITED]:
        seen.add(id(child))
        if isinstance(child, asyncio.Task):
            coro = child.get_coro()
            name = getattr(coro, "__qualname__", type(coro).__name__)
            lines.append(
                f"{indent}  -- which awaits task {child.get_name()!r} ({name}):"
            )
            _stack_lines(
                child, child, _waiting_on(child), depth + 1, seen, lines, children
            )
        else:
            lines.append(f"{indent}  -- which awaits {child!r}")
    if len(pending) > _MAX_AWAITED:
        lines.append(
            f"{indent}  ... and {len(pending) - _MAX_AWAITED} more awaited task(s)"
        )


def format_await_stack(root: Any, *, task: Any = None, waiting_on: Any = None) -> str:
    """Format the await chain that ``root`` (coroutine, generator, task) sits in,
    innermost last, following into the tasks it awaits.

    ``task`` is the task running ``root`` (``root`` itself when it is one);
    ``waiting_on`` is the future the chain is blocked on, when it is known
    (the ``_fut_waiter`` of that task); a task there, or the children of a
    ``gather``, are followed. On Python 3.14+ asyncio's "awaited by" links
    are followed too.
    """
    if isinstance(root, asyncio.Task):
        task = root
        if waiting_on is None:
            waiting_on = _waiting_on(root)
    children = _children_by_link(task.get_loop() if task is not None else None)
    lines: list[str] = []
    seen = {id(root)} if task is None else {id(root), id(task)}
    _stack_lines(root, task, waiting_on, 0, seen, lines, children)
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
    source = source_traceback(task)
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
