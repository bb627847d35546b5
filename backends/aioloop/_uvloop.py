"""The built-in ``uvloop`` backend. Importing this module imports uvloop."""

from __future__ import annotations

import asyncio
import importlib.metadata
from typing import final

import uvloop

__all__ = ["UvloopBackend"]


@final
class UvloopBackend:
    """Make ``uvloop.Loop`` event loops."""

    __slots__ = ()

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        return loop

    def describe(self) -> str:
        return f"uvloop {importlib.metadata.version('uvloop')}"
