import asyncio

import pytest
from mailserver import MailClient, MailServer, ProtocolError


async def test_greeting_names_the_host(client):
    assert client.banner == "mx.example.test ready"


async def test_helo_is_answered(client):
    assert await client.command("HELO laptop") == (250, "mx.example.test greets laptop")


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("NOOP", 250),
        ("VRFY someone", 500),
        ("MAIL FROM:<a@example.test>", 503),
        ("RCPT TO:<b@example.test>", 503),
        ("DATA", 503),
    ],
)
async def test_replies_before_helo(client, line, code):
    got, _ = await client.command(line)
    assert got == code


async def test_message_is_delivered(client, mail_server):
    await client.expect("HELO laptop", 250)
    reply = await client.send_mail(
        "<ann@example.test>",
        ["<bob@example.test>", "<cy@example.test>"],
        "Subject: lunch\n\nNoon?",
    )
    assert reply == "queued as 1"
    [message] = mail_server.mailbox
    assert message.sender == "<ann@example.test>"
    assert message.recipients == ["<bob@example.test>", "<cy@example.test>"]
    assert message.body == "Subject: lunch\n\nNoon?"


async def test_leading_dots_survive_the_trip(client, mail_server):
    await client.expect("HELO laptop", 250)
    await client.send_mail("<a@x.test>", ["<b@x.test>"], ".\n..hidden\nend.")
    assert mail_server.mailbox[0].body == ".\n..hidden\nend."


async def test_rset_forgets_the_envelope(client, mail_server):
    await client.expect("HELO laptop", 250)
    await client.expect("MAIL FROM:<a@x.test>", 250)
    await client.expect("RSET", 250)
    with pytest.raises(ProtocolError) as excinfo:
        await client.expect("RCPT TO:<b@x.test>", 250)
    assert excinfo.value.code == 503
    assert mail_server.mailbox == []


async def test_quit_ends_the_session(client, mail_server):
    assert await client.command("QUIT") == (221, "bye")
    async with asyncio.timeout(5):
        while mail_server.sessions_served < 1:
            await asyncio.sleep(0.01)
    assert mail_server.open_sessions == 0


async def test_stopping_the_server_disconnects_clients(unused_tcp_port_factory):
    server = MailServer()
    await server.start("127.0.0.1", unused_tcp_port_factory())
    client = await MailClient.connect(server.host, server.port)
    assert server.open_sessions == 1
    await server.stop()
    with pytest.raises(ConnectionError):
        await client.command("NOOP")
    await client.close()


def test_port_factory_gives_distinct_ports(unused_tcp_port_factory, unused_tcp_port):
    ports = {unused_tcp_port_factory() for _ in range(3)}
    assert len(ports) == 3
    assert 1024 < unused_tcp_port < 65536
