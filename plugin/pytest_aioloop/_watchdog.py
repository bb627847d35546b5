"""Noticing a blocked event loop: a thread that watches one call on the loop.

While a call with a time limit runs (or any call on a loop in asyncio debug
mode), a daemon thread posts a *beat* to the loop with
``call_soon_threadsafe`` and waits for the loop to run it. A loop that is
back at its selector runs the beat at once; one that is stuck in a callback
(``time.sleep()``, a busy loop, blocking I/O) runs it late. When a beat is
later than the threshold, the thread captures the stack of the loop's thread
at that moment (``sys._current_frames()``): the blocking call. When the beat
finally runs, the block's length is known. This works on any loop that has
``call_soon_threadsafe`` (the stdlib loops and uvloop alike) and needs no
timer on the loop, so a loop on virtual time sees no extra timers.

No pytest in here. The thread lives only while the call runs: :meth:`stop`
joins it.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
import traceback
from typing import Final, final

from ._stacks import user_frames

__all__ = ["Block", "Watchdog"]

#: How often the thread looks at the loop, at most (it looks ten times per
#: threshold, at least every 2 ms).
_MAX_INTERVAL: Final = 0.05
_MIN_INTERVAL: Final = 0.002


@final
class Block:
    """The loop did not come back to its selector for ``seconds``; ``stack``
    is where its thread was once the threshold had passed."""

    __slots__ = ("seconds", "stack", "where")

    def __init__(self, seconds: float, stack: str, where: str) -> None:
        self.seconds = seconds
        self.stack = stack
        #: The innermost frame, in one line ("test_x.py:7 in test_x: time.sleep(2)").
        self.where = where

    def __repr__(self) -> str:
        return f"Block({self.seconds:.3f})"


def _blocking_stack(thread_id: int) -> tuple[str, str]:
    frame = sys._current_frames().get(thread_id)
    if frame is None:
        return "  (the stack of the loop's thread could not be read)", "?"
    frames = user_frames(traceback.extract_stack(frame))
    last = frames[-1]
    where = f"{os.path.basename(last.filename)}:{last.lineno} in {last.name}"
    if last.line:
        where += f": {last.line.strip()}"
    return "".join(traceback.format_list(frames)).rstrip(), where


@final
class Watchdog:
    """Watches ``loop`` (run by the calling thread) from a thread of its own
    until :meth:`stop`; every block longer than ``threshold`` seconds is kept
    in ``blocks``."""

    __slots__ = (
        "_interval",
        "_lock",
        "_loop",
        "_sent",
        "_stack",
        "_stop",
        "_target",
        "_thread",
        "blocks",
        "threshold",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop, threshold: float) -> None:
        self._loop = loop
        self.threshold = threshold
        self._interval = min(max(threshold / 10, _MIN_INTERVAL), _MAX_INTERVAL)
        self._target = threading.get_ident()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        #: When the beat not yet run was posted (monotonic), if one is out.
        self._sent: float | None = None
        #: The stack captured while that beat was late, and its innermost frame.
        self._stack: tuple[str, str] | None = None
        self.blocks: list[Block] = []
        self._thread = threading.Thread(
            target=self._watch, name="aioloop-watchdog", daemon=True
        )
        self._thread.start()

    def _watch(self) -> None:
        loop = self._loop
        while not self._stop.wait(self._interval):
            with self._lock:
                sent = self._sent
                now = time.monotonic()
                if sent is None and getattr(loop, "idle_waiting", False):
                    # A virtual-time loop waiting with nothing that can wake
                    # it is not blocked, and a beat would end its idle wait.
                    continue
                if sent is None:
                    self._sent = now
                    try:
                        loop.call_soon_threadsafe(self._beat, now)
                    except RuntimeError:  # the loop was closed under the call
                        return
                elif self._stack is None and now - sent > self.threshold:
                    self._stack = _blocking_stack(self._target)

    def _beat(self, sent: float) -> None:
        # On the loop: it came back.
        with self._lock:
            if self._sent != sent:
                return  # stopped since, or a beat of an earlier round
            self._note(time.monotonic() - sent)

    def _note(self, late: float) -> None:
        stack = self._stack
        self._sent = None
        self._stack = None
        if stack is not None and late > self.threshold:
            # The block began between the previous beat and this one's
            # posting: count half a look's interval before the posting.
            self.blocks.append(Block(late + self._interval / 2, *stack))

    def stop(self) -> list[Block]:
        """End the thread (joined before this returns) and return the blocks
        seen, a block still going on at the end of the call included."""
        self._stop.set()
        self._thread.join()
        with self._lock:
            sent = self._sent
            if sent is not None:
                self._note(time.monotonic() - sent)
        return self.blocks
