from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class OutOfStock(Exception):
    pass


class _MemoryStore:
    def __init__(self) -> None:
        self._items: dict[str, int] = {}
        self._lock = asyncio.Lock()

    async def call(self, op: str, sku: str, qty: int = 0) -> int:
        async with self._lock:
            await asyncio.sleep(0)  # pretend to do I/O
            have = self._items.get(sku, 0)
            if op == "add":
                have += qty
            elif op == "take":
                if qty > have:
                    raise OutOfStock(sku)
                have -= qty
            self._items[sku] = have
            return have

    async def aclose(self) -> None:
        pass


class _TcpStore:
    """The same store behind a JSON-lines TCP server on localhost."""

    def __init__(self) -> None:
        self._memory = _MemoryStore()
        self._server: asyncio.Server | None = None
        self._conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self._conn = await asyncio.open_connection("127.0.0.1", port)

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            while line := await reader.readline():
                request = json.loads(line)
                try:
                    result = {"ok": await self._memory.call(**request)}
                except OutOfStock as exc:
                    result = {"out_of_stock": str(exc)}
                writer.write(json.dumps(result).encode() + b"\n")
                await writer.drain()
        finally:
            writer.close()

    async def call(self, op: str, sku: str, qty: int = 0) -> int:
        assert self._conn is not None
        reader, writer = self._conn
        async with self._lock:
            writer.write(
                json.dumps({"op": op, "sku": sku, "qty": qty}).encode() + b"\n"
            )
            await writer.drain()
            reply = json.loads(await reader.readline())
        if "out_of_stock" in reply:
            raise OutOfStock(reply["out_of_stock"])
        return reply["ok"]

    async def aclose(self) -> None:
        assert self._conn is not None
        assert self._server is not None
        writer = self._conn[1]
        writer.close()
        await writer.wait_closed()
        self._server.close()
        await self._server.wait_closed()


class InventoryClient:
    def __init__(self, store: _MemoryStore | _TcpStore, kind: str) -> None:
        self._store = store
        self.kind = kind
        # A client is bound to the loop it was opened on, like most real
        # database drivers: using it from another loop is a bug.
        self.loop = asyncio.get_running_loop()

    def _check_loop(self) -> None:
        if asyncio.get_running_loop() is not self.loop:
            raise RuntimeError("InventoryClient used from a different event loop")

    async def add(self, sku: str, qty: int) -> int:
        self._check_loop()
        return await self._store.call("add", sku, qty)

    async def take(self, sku: str, qty: int) -> int:
        self._check_loop()
        return await self._store.call("take", sku, qty)

    async def count(self, sku: str) -> int:
        self._check_loop()
        return await self._store.call("count", sku)


@asynccontextmanager
async def open_client(kind: str) -> AsyncIterator[InventoryClient]:
    store: _MemoryStore | _TcpStore
    if kind == "memory":
        store = _MemoryStore()
    elif kind == "tcp":
        store = _TcpStore()
        await store.start()
    else:
        raise ValueError(kind)
    try:
        yield InventoryClient(store, kind)
    finally:
        await store.aclose()
