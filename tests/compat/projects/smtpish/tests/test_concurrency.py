import asyncio

import pytest
from mailserver import ProtocolError


async def _deliver(connect, n):
    client = await connect()
    await client.expect(f"HELO client{n}", 250)
    return await client.send_mail(f"<user{n}@x.test>", ["<inbox@x.test>"], f"note {n}")


async def test_clients_in_parallel_with_gather(connect, mail_server):
    replies = await asyncio.gather(*(_deliver(connect, n) for n in range(20)))
    assert sorted(replies) == sorted(f"queued as {i}" for i in range(1, 21))
    senders = {message.sender for message in mail_server.mailbox}
    assert senders == {f"<user{n}@x.test>" for n in range(20)}


async def test_clients_in_a_task_group(connect, mail_server):
    async with asyncio.TaskGroup() as tg:
        for n in range(10):
            tg.create_task(_deliver(connect, n))
    assert len(mail_server.mailbox) == 10
    assert mail_server.open_sessions == 10


async def test_task_group_reports_a_protocol_error(connect, mail_server):
    async def misbehave():
        client = await connect()
        await client.expect("DATA", 354)

    async def deliver_and_misbehave():
        async with asyncio.TaskGroup() as tg:
            tg.create_task(_deliver(connect, 1))
            tg.create_task(misbehave())

    with pytest.raises(ExceptionGroup) as excinfo:
        await deliver_and_misbehave()
    assert excinfo.group_contains(ProtocolError)


async def test_slow_client_does_not_block_others(connect, mail_server):
    slow = await connect()
    await slow.expect("HELO slow", 250)
    await slow.expect("MAIL FROM:<slow@x.test>", 250)
    # The slow client sits in the middle of a transaction while others deliver.
    await asyncio.gather(*(_deliver(connect, n) for n in range(5)))
    await slow.expect("RCPT TO:<inbox@x.test>", 250)
    assert len(mail_server.mailbox) == 5
