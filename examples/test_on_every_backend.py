"""Run with: pytest --asyncio-backend=asyncio,uvloop examples/

Every async test below runs once per backend; the backend's name is in the
test id, so ``-k uvloop`` picks one backend.
"""

from __future__ import annotations

import asyncio

import pytest

ON_SESSION_LOOP = pytest.mark.asyncio(loop_scope="session")


async def talk(port: int, message: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(message + b"\n")
    await writer.drain()
    reply = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return reply.rstrip(b"\n")


@ON_SESSION_LOOP
async def test_echo(echo_server: int, asyncio_backend: str) -> None:
    assert await talk(echo_server, asyncio_backend.encode()) == (
        asyncio_backend.encode()
    )


@ON_SESSION_LOOP
@pytest.mark.parametrize("clients", [1, 10])
async def test_many_clients(echo_server: int, clients: int) -> None:
    messages = [f"client {n}".encode() for n in range(clients)]
    replies = await asyncio.gather(*(talk(echo_server, m) for m in messages))
    assert replies == messages


@pytest.mark.asyncio
async def test_loop_matches_backend(asyncio_backend: str) -> None:
    loop = asyncio.get_running_loop()
    expected = "uvloop" if asyncio_backend == "uvloop" else "asyncio"
    assert type(loop).__module__.split(".")[0] == expected


@pytest.mark.asyncio(backend="asyncio")
async def test_only_on_asyncio(asyncio_backend: str) -> None:
    # backend= pins this test to one backend, whatever the run chose.
    assert asyncio_backend == "asyncio"


def test_sync_tests_run_once() -> None:
    assert sum([1, 2, 3]) == 6
