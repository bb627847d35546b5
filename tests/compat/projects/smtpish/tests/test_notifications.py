"""The server's UDP new-mail notifications, caught with unused_udp_port."""

import asyncio

import pytest
from mailserver import MailClient, MailServer


class Listener(asyncio.DatagramProtocol):
    def __init__(self):
        self.notes = asyncio.Queue()

    def datagram_received(self, data, addr):
        self.notes.put_nowait(data.decode())


@pytest.fixture
async def listener(unused_udp_port):
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        Listener, local_addr=("127.0.0.1", unused_udp_port)
    )
    protocol.port = unused_udp_port
    yield protocol
    transport.close()


@pytest.fixture
async def notifying_server(listener, unused_tcp_port):
    server = MailServer(notify=("127.0.0.1", listener.port))
    await server.start("127.0.0.1", unused_tcp_port)
    yield server
    await server.stop()


async def test_each_recipient_is_notified(notifying_server, listener):
    client = await MailClient.connect(notifying_server.host, notifying_server.port)
    await client.expect("HELO laptop", 250)
    await client.send_mail("<a@x.test>", ["<b@x.test>", "<c@x.test>"], "hi")
    await client.close()
    async with asyncio.timeout(5):
        notes = {await listener.notes.get(), await listener.notes.get()}
    assert notes == {"<b@x.test>@1", "<c@x.test>@1"}


def test_udp_port_factory_gives_distinct_ports(unused_udp_port_factory):
    assert len({unused_udp_port_factory() for _ in range(3)}) == 3
