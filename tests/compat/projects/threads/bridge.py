"""Glue between blocking code in threads and asyncio event loops."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """An event loop owned by, and running in, its own thread."""

    def __init__(self, name: str = "loop-thread") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()
        # Leave nothing behind: finish async generators and the executor.
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.run_until_complete(self.loop.shutdown_default_executor())
        self.loop.close()

    def start(self) -> LoopThread:
        self._thread.start()
        return self

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 5) -> T:
        return self.submit(coro).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        assert not self._thread.is_alive()


class Producer:
    """A worker thread that feeds items into an asyncio.Queue of some loop.

    The thread is started first and waits to be told which loop and queue to
    feed: the loop only exists once the async test runs.
    """

    def __init__(self, items: list[Any]) -> None:
        self._items = items
        self._target: queue.Queue[
            tuple[asyncio.AbstractEventLoop, asyncio.Queue[Any]]
        ] = queue.Queue()
        self.delivered = 0
        self._thread = threading.Thread(target=self._work, name="producer")
        self._thread.start()

    def feed(self, loop: asyncio.AbstractEventLoop, q: asyncio.Queue[Any]) -> None:
        self._target.put((loop, q))

    def _work(self) -> None:
        try:
            loop, q = self._target.get(timeout=5)
        except queue.Empty:
            return
        for item in self._items:
            # Blocks this thread until the loop has accepted the item.
            asyncio.run_coroutine_threadsafe(q.put(item), loop).result(5)
            self.delivered += 1
        asyncio.run_coroutine_threadsafe(q.put(None), loop).result(5)

    def join(self) -> None:
        self._thread.join(5)
        assert not self._thread.is_alive()
