import asyncio

import pytest
from mailserver import MailClient, MailServer


@pytest.fixture
async def mail_server(unused_tcp_port):
    server = MailServer()
    await server.start("127.0.0.1", unused_tcp_port)
    yield server
    await server.stop()


@pytest.fixture
async def client(mail_server):
    client = await MailClient.connect(mail_server.host, mail_server.port)
    yield client
    await client.close()


@pytest.fixture
async def connect(mail_server):
    """Open as many clients as a test wants; all are closed afterwards."""
    clients = []

    async def open_client():
        client = await MailClient.connect(mail_server.host, mail_server.port)
        clients.append(client)
        return client

    yield open_client
    await asyncio.gather(*(client.close() for client in clients))
