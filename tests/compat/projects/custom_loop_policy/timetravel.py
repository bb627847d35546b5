"""An event loop whose clock is virtual.

Whenever the loop has nothing to do but wait for a timer, it jumps its clock
forward to that timer instead of sleeping, so ``await asyncio.sleep(3600)``
returns at once. Tests can also move the clock by hand with :meth:`advance`.
"""

import asyncio
import selectors


class _JumpingSelector(selectors.DefaultSelector):
    def __init__(self) -> None:
        super().__init__()
        self.loop: TimeTravelLoop | None = None

    def select(self, timeout=None):
        if timeout is None or timeout <= 0 or self.loop is None:
            return super().select(timeout)
        ready = super().select(0)
        if not ready:
            # Idle until the next timer: skip the wait instead of sleeping.
            self.loop.advance(timeout)
        return ready


class TimeTravelLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        selector = _JumpingSelector()
        super().__init__(selector)
        selector.loop = self
        self._offset = 0.0
        self.jumps = 0

    def time(self) -> float:
        return super().time() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._offset += seconds
        self.jumps += 1
