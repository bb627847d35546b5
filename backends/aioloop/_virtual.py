"""The built-in ``virtual`` backend: the stdlib selector loop on a virtual clock.

``loop.time()`` starts at ``time.monotonic()`` when the loop is made and then
moves only forward, in two ways:

- it *jumps* to the next timer when nothing can run: no ready callbacks, no
  I/O ready on a zero-timeout poll, and no real work pending through the
  loop (``run_in_executor``/``to_thread`` calls, the default executor's
  shutdown, subprocesses it started that have not exited);
- while real work is pending, the loop waits for it in real time, and the
  real time spent waiting is added to the clock (a 50 ms thread call inside
  ``timeout(5)`` takes 50 ms of loop time, as it would on a real clock).

Running callbacks takes no loop time. With no timer and no real work pending,
nothing can wake the loop but I/O from outside: it waits in real time for at
most ``idle_limit`` seconds, then calls its idle handler (or raises
:class:`~aioloop.LoopIdleError` out of ``run_until_complete()`` when there is
none), so that a test waiting for an event nobody sets fails instead of
hanging.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import platform
import selectors
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from typing import Any, Final, TypeVar, final

from ._errors import LoopIdleError

__all__ = ["DEFAULT_IDLE_LIMIT", "VirtualBackend", "VirtualTimeLoop"]

#: Real seconds a virtual-time loop waits with nothing that can wake it
#: before it calls its idle handler.
DEFAULT_IDLE_LIMIT: Final = 5.0

_T = TypeVar("_T")

# What BaseEventLoop adds to time() when it picks the timers that are due.
_RESOLUTION: Final = time.get_clock_info("monotonic").resolution


# -- asyncio's private attributes, in one place --------------------------------
#
# The loop decides to jump from inside its selector's select(), which
# BaseEventLoop._run_once() calls with the time to the next timer, or 0 when
# callbacks are ready, or None when there is no timer. To jump to the next
# timer *exactly* (so that ``loop.time()`` after ``sleep(3600)`` is the start
# plus 3600, not that plus a rounding error), the jump reads the head of the
# loop's timer heap, ``BaseEventLoop._scheduled``: a heap of TimerHandle whose
# head _run_once() has just cleared of cancelled handles. It has this name and
# meaning in CPython 3.11 to 3.15. Without it (another implementation), the
# jump adds the select() timeout instead, which is the same up to rounding.


def _next_timer(loop: asyncio.AbstractEventLoop) -> float | None:
    scheduled: list[asyncio.TimerHandle] | None = getattr(loop, "_scheduled", None)
    if not scheduled:
        return None
    head = scheduled[0]
    if head.cancelled():  # _run_once() pops cancelled heads; be safe anyway
        live = [h for h in scheduled if not h.cancelled()]
        if not live:
            return None
        head = heapq.nsmallest(1, live)[0]
    return head.when()


# -- the selector that decides when to jump -------------------------------------


@final
class _VirtualSelector(selectors.BaseSelector):
    """Wraps the platform's selector: select() polls, then jumps or waits."""

    __slots__ = ("_loop", "_selector")

    def __init__(self, selector: selectors.BaseSelector) -> None:
        self._selector = selector
        self._loop: VirtualTimeLoop | None = None

    def register(
        self, fileobj: Any, events: int, data: Any = None
    ) -> selectors.SelectorKey:
        return self._selector.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._selector.unregister(fileobj)

    def modify(
        self, fileobj: Any, events: int, data: Any = None
    ) -> selectors.SelectorKey:
        return self._selector.modify(fileobj, events, data)

    def get_key(self, fileobj: Any) -> selectors.SelectorKey:
        return self._selector.get_key(fileobj)

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._selector.get_map()

    def close(self) -> None:
        self._loop = None
        self._selector.close()

    def select(
        self, timeout: float | None = None
    ) -> list[tuple[selectors.SelectorKey, int]]:
        loop = self._loop
        selector = self._selector
        if loop is None or (timeout is not None and timeout <= 0):
            return selector.select(timeout)
        events = selector.select(0)
        if events:
            return events
        if loop._real_work_pending():
            return loop._wait_real(selector, timeout)
        if timeout is not None:
            loop._jump(timeout)
            return []
        limit = loop.idle_limit
        loop.idle_waiting = True
        try:
            events = loop._wait_real(selector, limit)
        finally:
            loop.idle_waiting = False
        if events or limit is None:
            return events
        loop._idle(limit)
        return []


@final
class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose ``time()`` jumps to the next timer when
    nothing can run (see the module's docstring).

    ``idle_limit``: real seconds to wait with nothing that can wake the loop
    before the idle handler is called; ``None`` waits forever, as the stdlib
    loop does.
    """

    def __init__(self, *, idle_limit: float | None = DEFAULT_IDLE_LIMIT) -> None:
        self._clock = time.monotonic()
        self._threads = 0
        self._processes: set[asyncio.SubprocessTransport] = set()
        self._idle_handler: Callable[[], object] | None = None
        self.idle_limit = idle_limit
        #: True while it waits in real time with nothing that can wake it.
        self.idle_waiting = False
        selector = _VirtualSelector(selectors.DefaultSelector())
        super().__init__(selector)
        selector._loop = self

    # -- the clock -------------------------------------------------------------

    def time(self) -> float:
        return self._clock

    def _jump(self, timeout: float) -> None:
        when = _next_timer(self)
        target = when if when is not None else self._clock + timeout
        if not target < target + _RESOLUTION:
            # The loop runs a timer when its time is below time() plus the
            # clock's resolution; far from zero that sum rounds back to
            # time(): step one float further, or the timer never runs.
            target = math.nextafter(target, math.inf)
        if target > self._clock:
            self._clock = target

    def _wait_real(
        self, selector: selectors.BaseSelector, timeout: float | None
    ) -> list[tuple[selectors.SelectorKey, int]]:
        start = time.monotonic()
        try:
            return selector.select(timeout)
        finally:
            self._clock += time.monotonic() - start

    # -- real work the clock must not jump past -----------------------------------

    def _real_work_pending(self) -> bool:
        if self._threads > 0:
            return True
        processes = self._processes
        if processes:
            for transport in list(processes):
                if transport.get_returncode() is not None:
                    processes.discard(transport)
            return bool(processes)
        return False

    def _thread_done(self, future: object) -> None:
        self._threads -= 1

    def run_in_executor(  # type: ignore[override]
        self, executor: Executor | None, func: Callable[..., _T], *args: Any
    ) -> asyncio.Future[_T]:
        future: asyncio.Future[_T] = super().run_in_executor(executor, func, *args)
        self._threads += 1
        future.add_done_callback(self._thread_done)
        return future

    async def shutdown_default_executor(self, *args: Any, **kwargs: Any) -> None:
        # It waits in a thread of its own for the executor's threads.
        self._threads += 1
        try:
            await super().shutdown_default_executor(*args, **kwargs)
        finally:
            self._threads -= 1

    async def subprocess_exec(
        self, protocol_factory: Callable[[], Any], *args: Any, **kwargs: Any
    ) -> tuple[asyncio.SubprocessTransport, Any]:
        transport, protocol = await super().subprocess_exec(
            protocol_factory, *args, **kwargs
        )
        self._processes.add(transport)
        return transport, protocol

    async def subprocess_shell(
        self, protocol_factory: Callable[[], Any], cmd: Any, **kwargs: Any
    ) -> tuple[asyncio.SubprocessTransport, Any]:
        transport, protocol = await super().subprocess_shell(
            protocol_factory, cmd, **kwargs
        )
        self._processes.add(transport)
        return transport, protocol

    # -- nothing can wake it -------------------------------------------------------

    def set_idle_handler(self, handler: Callable[[], object] | None) -> None:
        """Call ``handler()`` (as a callback of the loop) each time the loop
        has waited ``idle_limit`` real seconds with nothing that can wake it;
        ``None``: raise :class:`~aioloop.LoopIdleError` out of the loop's run."""
        self._idle_handler = handler

    def _idle(self, limit: float) -> None:
        handler = self._idle_handler
        if handler is None:
            raise LoopIdleError(limit)
        self.call_soon(handler)

    def close(self) -> None:
        super().close()
        self._processes.clear()
        self._idle_handler = None


@final
class VirtualBackend:
    """Make :class:`VirtualTimeLoop` event loops."""

    __slots__ = ()

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        return VirtualTimeLoop()

    def describe(self) -> str:
        return (
            f"virtual time on the asyncio selector loop "
            f"({platform.python_implementation()} {platform.python_version()})"
        )
