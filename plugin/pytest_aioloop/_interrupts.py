"""Ctrl-C while a call runs on a loop: one SIGINT handler for the whole run.
No pytest in here."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any, Final, Protocol, final

__all__ = ["INTERRUPTS", "Interruptible", "restore_interrupt_handler"]


class Interruptible(Protocol):
    """What runs a call (a LoopRunner): told of a Ctrl-C while it runs."""

    def interrupt(self) -> bool:
        """Cancel the call in progress; ``False`` when there is none."""


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
        self.running: Interruptible | None = None

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
        if runner is None or self.interrupted or not runner.interrupt():
            raise KeyboardInterrupt
        self.interrupted = True


INTERRUPTS: Final = _Interrupts()


def restore_interrupt_handler() -> None:
    """Put back the SIGINT handler that was there before the first loop ran
    (call at the end of the run)."""
    INTERRUPTS.restore()
