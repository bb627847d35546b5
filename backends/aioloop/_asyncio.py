"""The built-in ``asyncio`` backend: the standard library's own event loop."""

from __future__ import annotations

import asyncio
import platform
import sys
from typing import final

__all__ = ["AsyncioBackend"]


@final
class AsyncioBackend:
    """Make the loop ``asyncio.Runner()`` would make, without any loop policy."""

    __slots__ = ()

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        if sys.platform == "win32":  # pragma: no cover - not tested here
            return asyncio.ProactorEventLoop()
        return asyncio.SelectorEventLoop()

    def describe(self) -> str:
        return (
            f"asyncio ({platform.python_implementation()} {platform.python_version()})"
        )
