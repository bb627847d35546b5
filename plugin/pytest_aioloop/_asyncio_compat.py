"""asyncio's private names and version differences, in one place.

Every private attribute of asyncio that the plugin reads is read here, with
the Python versions it covers and why the public API does not do. A name that
a version lacks is read with ``getattr`` and a fallback, so a Python that
drops it degrades (a slower path, a shorter report), never breaks.

The event-loop *policy* API is deprecated from Python 3.14 on and slated for
removal in 3.16. The plugin never uses it for its own loops (they come from
the backends' ``new_event_loop()``); it is touched only where a user's own
code brought a policy in (an overridden ``event_loop_policy`` fixture, a
conftest that installed one), always through the functions below, which
warn nothing and work on a Python whose ``asyncio`` has no policy API.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import selectors
import sys
import warnings
from collections.abc import Collection, Iterator, Mapping
from typing import Any, Final, Protocol

__all__ = [
    "HAS_CALL_GRAPH",
    "PolicyLike",
    "awaited",
    "awaited_by",
    "current_loop",
    "gather_children",
    "has_policy_api",
    "installed_policy",
    "no_task_but",
    "nothing_to_shut_down",
    "policy_installed",
    "quiet_destroy",
    "running_loop",
    "set_current_loop",
    "source_traceback",
    "task_group_tasks",
    "the_policy",
    "waiting_on",
    "work_scheduled",
]


class PolicyLike(Protocol):
    """What the plugin needs of an event-loop policy a user brought in."""

    def new_event_loop(self) -> asyncio.AbstractEventLoop: ...


# -- event-loop policies ----------------------------------------------------------


def has_policy_api() -> bool:
    """Whether this Python's asyncio still has event-loop policies (removed
    in 3.16). Read at each call: a conftest may remove them after import."""
    return hasattr(asyncio, "set_event_loop_policy") and hasattr(
        asyncio.events, "_event_loop_policy"
    )


def installed_policy() -> PolicyLike | None:
    """The policy a user's code installed (``asyncio.set_event_loop_policy``,
    ``uvloop.install()``), or ``None`` when none is, or it is the default.

    Read from ``asyncio.events._event_loop_policy`` (3.11+): the public
    getter creates the default policy, and warns from 3.14 on.
    """
    policy = getattr(asyncio.events, "_event_loop_policy", None)
    if policy is None or type(policy) in _DEFAULT_POLICY_TYPES:
        return None  # (read for every test's plan: the type is looked up once)
    if _is_default_policy(policy):
        _DEFAULT_POLICY_TYPES.add(type(policy))
        return None
    return policy  # type: ignore[no-any-return]


#: The default policy's classes seen so far (see installed_policy).
_DEFAULT_POLICY_TYPES: Final[set[type]] = set()


def _is_default_policy(policy: object) -> bool:
    # asyncio.DefaultEventLoopPolicy warns when read from 3.14 on; the class
    # lives on, under a private name, in the platform's events module.
    module = sys.modules.get(type(policy).__module__)
    return module is not None and module.__name__ in (
        "asyncio.unix_events",
        "asyncio.windows_events",
    )


def _require_policy_api() -> None:
    if not has_policy_api():
        raise RuntimeError(
            "this Python's asyncio has no event-loop policies (removed in "
            "Python 3.16): choose the loop with a backend instead"
        )


def the_policy() -> PolicyLike:
    """The global policy (what ``asyncio.get_event_loop_policy()`` returns),
    without its deprecation warning. Raises ``RuntimeError`` on a Python
    without policies."""
    _require_policy_api()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return asyncio.get_event_loop_policy()


@contextlib.contextmanager
def policy_installed(policy: PolicyLike) -> Iterator[None]:
    """Install ``policy`` as the global policy while the block runs, then put
    back exactly what was there (``None`` included, so that no default
    policy is created). Raises ``RuntimeError`` on a Python without policies."""
    _require_policy_api()
    events: Any = asyncio.events
    previous = events._event_loop_policy
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        asyncio.set_event_loop_policy(policy)  # type: ignore[arg-type]
    try:
        yield
    finally:
        events._event_loop_policy = previous


#: From 3.14 on, the policy getter warns; ``asyncio.get_event_loop()`` no
#: longer makes a loop and returns the current one without a warning.
_GET_EVENT_LOOP_IS_PLAIN: Final[bool] = sys.version_info >= (3, 14)
#: From 3.16 on, the current loop is kept without a policy.
_CURRENT_LOOP_WITHOUT_POLICY: Final[bool] = sys.version_info >= (3, 16)


def _current_loop_kept() -> bool:
    # Before 3.16, asyncio keeps the current loop in its policy: with the
    # policy system taken out of such an asyncio (a test of readiness for
    # 3.16 does that), set_event_loop() itself would fail.
    return _CURRENT_LOOP_WITHOUT_POLICY or hasattr(asyncio.events, "_event_loop_policy")


def current_loop() -> asyncio.AbstractEventLoop | None:
    """The current (set, not running) loop of this thread, or ``None``; never
    makes one and never warns."""
    if _GET_EVENT_LOOP_IS_PLAIN:
        if not _current_loop_kept():
            return None
        try:
            return asyncio.get_event_loop()
        except RuntimeError:
            return None
    if not has_policy_api():
        return None
    # 3.11-3.13: asyncio.get_event_loop() warns when no loop is set; the
    # policy's own method raises instead, once a loop was ever set.
    try:
        return asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        return None


def set_current_loop(loop: asyncio.AbstractEventLoop | None) -> None:
    """Make ``loop`` this thread's current loop (``None``: none). Warns in no
    supported Python; a no-op on an asyncio without a place to keep it."""
    if _current_loop_kept():
        asyncio.set_event_loop(loop)


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The loop running in this thread, or ``None`` (``get_running_loop``
    raises instead; this is its documented non-raising twin)."""
    return asyncio._get_running_loop()


# -- the task registry ----------------------------------------------------------

# Every task alive in the process, of every loop, in asyncio's own registry:
# ``_all_tasks`` on 3.11, ``_scheduled_tasks`` and ``_eager_tasks`` on 3.12
# and 3.13. Counting it is cheap; ``asyncio.all_tasks()`` copies and filters
# it, which costs as much as a few steps of a loop, on every test. From 3.14
# on, asyncio keeps its own tasks in per-thread lists (``_scheduled_tasks``
# holds only third-party task types) and ``all_tasks()`` walks those lists
# in C, which is cheap: no count there.
_TASKS: Final = getattr(asyncio.tasks, "_all_tasks", None)
_SCHEDULED_TASKS: Final = (
    None
    if sys.version_info >= (3, 14)
    else _TASKS
    if _TASKS is not None
    else getattr(asyncio.tasks, "_scheduled_tasks", None)
)
_EAGER_TASKS: Final[Collection[Any]] = (
    () if sys.version_info >= (3, 14) else getattr(asyncio.tasks, "_eager_tasks", ())
)


def no_task_but(task: asyncio.Task[Any] | None) -> bool:
    """Whether no task other than ``task`` (alive, or ``None``) is alive at
    all; ``False`` when that cannot be told cheaply (then scan all_tasks())."""
    if _SCHEDULED_TASKS is None:
        return False
    alive = len(_SCHEDULED_TASKS) + len(_EAGER_TASKS)
    return alive <= (0 if task is None else 1)


# -- futures and tasks ------------------------------------------------------------


def awaited(task: asyncio.Future[Any] | None) -> bool:
    """Whether something waits for ``task`` to end (``gather()`` and
    ``wait()`` add a done callback). Futures keep their callbacks in
    ``_callbacks`` (3.11+); without it, assume nobody waits."""
    return bool(getattr(task, "_callbacks", None))


def waiting_on(task: asyncio.Task[Any]) -> Any:
    """The future a suspended task is blocked on (``_fut_waiter``, 3.11+),
    or ``None``."""
    return getattr(task, "_fut_waiter", None)


def gather_children(future: object) -> list[asyncio.Future[Any]]:
    """The futures a ``gather()`` future waits for (``_children``, 3.11+)."""
    children = getattr(future, "_children", None)
    if isinstance(children, list):
        return [c for c in children if isinstance(c, asyncio.Future)]
    return []


def task_group_tasks(group: asyncio.TaskGroup) -> Collection[asyncio.Task[Any]]:
    """The tasks a ``TaskGroup`` still waits for (``_tasks``, 3.11+)."""
    tasks = getattr(group, "_tasks", ())
    return tasks if isinstance(tasks, Collection) else ()


def source_traceback(task: asyncio.Future[Any]) -> Any:
    """Where a task was created, in debug mode (``_source_traceback``)."""
    return getattr(task, "_source_traceback", None)


def quiet_destroy(task: asyncio.Task[Any]) -> None:
    """No "Task was destroyed but it is pending!" for a task already reported
    (``_log_destroy_pending``, 3.11+)."""
    with contextlib.suppress(AttributeError):
        task._log_destroy_pending = False  # type: ignore[attr-defined]


#: 3.14's call graph: ``asyncio.capture_call_graph`` and the "awaited by"
#: links that ``shield()``, ``wait()``, ``as_completed()``, ``TaskGroup`` and
#: ``await task`` record on the awaited future.
HAS_CALL_GRAPH: Final[bool] = hasattr(asyncio, "capture_call_graph")


def awaited_by(future: asyncio.Future[Any]) -> Collection[asyncio.Future[Any]]:
    """The futures (tasks) that await ``future``, by 3.14's links; empty
    before 3.14."""
    return getattr(future, "_asyncio_awaited_by", None) or ()


# -- loops ---------------------------------------------------------------------------


def _own_shutdown(loop: asyncio.AbstractEventLoop) -> bool:
    # A loop class (or instance) with its own shutdown steps gets them called,
    # whatever the stdlib attributes say.
    cls = type(loop)
    base = asyncio.BaseEventLoop
    return (
        cls.shutdown_asyncgens is not base.shutdown_asyncgens
        or cls.shutdown_default_executor is not base.shutdown_default_executor
        or "shutdown_asyncgens" in vars(loop)
        or "shutdown_default_executor" in vars(loop)
    )


def nothing_to_shut_down(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether a stdlib loop has no async generator left to close and no
    default executor to shut down, so ``Runner.close()``'s two loop runs
    would do nothing. Read from ``_asyncgens`` and ``_default_executor``
    (3.11+); other loops (uvloop) do not show it: ``False``."""
    if not isinstance(loop, asyncio.BaseEventLoop) or _own_shutdown(loop):
        return False
    asyncgens = getattr(loop, "_asyncgens", None)
    executor = getattr(loop, "_default_executor", True)
    if asyncgens is None or executor is not None:
        return False
    if not len(asyncgens):
        return True  # (iterating a WeakSet costs several Python calls)
    # An async-generator fixture's generator stays registered until it is
    # dropped; once its teardown ran it to the end, there is nothing to close.
    return all(generator.ag_frame is None for generator in asyncgens)


def work_scheduled(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether a stdlib loop has a callback ready to run (a closed transport's
    ``connection_lost``) or watches a file descriptor other than its own
    wake-up socket (a transport or server still open), so that one more pass
    of the loop may finish something. Read from ``_ready``, ``_selector`` and
    ``_ssock`` (3.11+); a loop that does not show them (uvloop, the proactor
    loop): ``False``."""
    if not isinstance(loop, asyncio.BaseEventLoop):
        return False
    ready = getattr(loop, "_ready", None)
    if isinstance(ready, collections.deque) and ready:
        return True
    selector = getattr(loop, "_selector", None)
    if selector is None:
        return False
    # The stdlib selectors' own map (3.11+), read directly: get_map()'s view
    # is three Python calls more, for every test's own loop.
    watched: object = getattr(selector, "_fd_to_key", None)
    if type(watched) is not dict:
        if not isinstance(selector, selectors.BaseSelector):
            return False  # a test loop's stand-in (a Mock)
        # (typed as a Mapping, but None once the selector is closed)
        mapped: object = selector.get_map()
        if not isinstance(mapped, Mapping):
            return False
        watched = mapped
    wakeup = getattr(loop, "_ssock", None)
    own = 0 if wakeup is None or wakeup.fileno() not in watched else 1
    return len(watched) > own
