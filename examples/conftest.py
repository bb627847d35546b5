"""Fixtures of the example suite: an echo server per backend, for the session."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_aioloop


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while line := await reader.readline():
        writer.write(line)
        await writer.drain()
    writer.close()
    await writer.wait_closed()


@pytest_aioloop.fixture(scope="session", loop_scope="session")
async def echo_server(asyncio_backend: str) -> AsyncIterator[int]:
    """An echo server on a free port, started once per backend's session loop."""
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    print(f"\n[{asyncio_backend}] echo server up")
    async with server:
        yield server.sockets[0].getsockname()[1]
    print(f"\n[{asyncio_backend}] echo server down")
