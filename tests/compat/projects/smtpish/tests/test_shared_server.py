"""One server for the whole module: the tests share the module's event loop."""

import asyncio

import pytest
from mailserver import MailClient, MailServer

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
async def shared_server(unused_tcp_port_factory):
    server = MailServer(hostname="shared.example.test")
    await server.start("127.0.0.1", unused_tcp_port_factory())
    yield server
    await server.stop()


async def _send(server, body):
    client = await MailClient.connect(server.host, server.port)
    try:
        await client.expect("HELO module", 250)
        await client.send_mail("<a@x.test>", ["<b@x.test>"], body)
    finally:
        await client.close()


async def test_first_delivery(shared_server):
    await _send(shared_server, "one")
    assert [m.body for m in shared_server.mailbox] == ["one"]


async def test_second_delivery_sees_the_first(shared_server):
    await _send(shared_server, "two")
    assert [m.body for m in shared_server.mailbox] == ["one", "two"]


async def test_runs_on_the_servers_loop(shared_server):
    assert asyncio.get_running_loop() is shared_server.loop


class TestInAClass:
    async def test_class_shares_the_module_loop(self, shared_server):
        assert asyncio.get_running_loop() is shared_server.loop
        await _send(shared_server, "three")
        assert len(shared_server.mailbox) == 3
