"""A tiny SMTP-like mail server and client speaking a line protocol over TCP.

Replies are ``<code> <text>\r\n``.  Supported commands: HELO, MAIL FROM:,
RCPT TO:, DATA (body ends with a line holding a single dot), RSET, NOOP, QUIT.
Like the old Unix biff service, the server can announce each new message with
a UDP datagram ``<recipient>@<queue id>`` to a listener.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field


@dataclass
class Message:
    sender: str
    recipients: list[str]
    body: str


@dataclass
class _Envelope:
    sender: str | None = None
    recipients: list[str] = field(default_factory=list)


class MailServer:
    def __init__(
        self,
        hostname: str = "mx.example.test",
        notify: tuple[str, int] | None = None,
    ) -> None:
        self.hostname = hostname
        self.notify = notify
        self._notifier: asyncio.DatagramTransport | None = None
        self.mailbox: list[Message] = []
        self.sessions_served = 0
        self._server: asyncio.Server | None = None
        self._handlers: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self.host = ""
        self.port = 0

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._handle, host, port)
        self.host, self.port = self._server.sockets[0].getsockname()[:2]
        self.loop = asyncio.get_running_loop()
        if self.notify is not None:
            self._notifier, _ = await self.loop.create_datagram_endpoint(
                asyncio.DatagramProtocol, remote_addr=self.notify
            )

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        # Hang up on every client: each session then reads EOF and ends.
        for writer in self._handlers.values():
            writer.close()
        if self._handlers:
            await asyncio.wait(list(self._handlers), timeout=5)
        await self._server.wait_closed()
        if self._notifier is not None:
            self._notifier.close()

    @property
    def open_sessions(self) -> int:
        return len(self._handlers)

    async def _handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers[task] = writer
        try:
            await self._session(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._handlers.pop(task, None)
            self.sessions_served += 1
            writer.close()

    async def _session(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        def reply(code: int, text: str) -> None:
            writer.write(f"{code} {text}\r\n".encode())

        reply(220, f"{self.hostname} ready")
        greeted = False
        envelope = _Envelope()
        while True:
            await writer.drain()
            raw = await reader.readline()
            if not raw:
                return
            line = raw.decode().rstrip("\r\n")
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if verb == "HELO":
                greeted = True
                reply(250, f"{self.hostname} greets {arg or 'stranger'}")
            elif verb == "QUIT":
                reply(221, "bye")
                await writer.drain()
                return
            elif verb == "NOOP":
                reply(250, "ok")
            elif verb == "RSET":
                envelope = _Envelope()
                reply(250, "reset")
            elif verb == "MAIL" and arg.upper().startswith("FROM:"):
                if not greeted:
                    reply(503, "say HELO first")
                else:
                    envelope = _Envelope(sender=arg[5:].strip())
                    reply(250, "sender ok")
            elif verb == "RCPT" and arg.upper().startswith("TO:"):
                if envelope.sender is None:
                    reply(503, "need MAIL first")
                else:
                    envelope.recipients.append(arg[3:].strip())
                    reply(250, "recipient ok")
            elif verb == "DATA":
                if not envelope.recipients:
                    reply(503, "need RCPT first")
                    continue
                reply(354, "end with <CRLF>.<CRLF>")
                await writer.drain()
                lines = []
                while True:
                    data = await reader.readline()
                    if not data:
                        return
                    text = data.decode().rstrip("\r\n")
                    if text == ".":
                        break
                    # Undo dot-stuffing: the client doubled every leading dot.
                    lines.append(text[1:] if text.startswith("..") else text)
                assert envelope.sender is not None
                self.mailbox.append(
                    Message(envelope.sender, envelope.recipients, "\n".join(lines))
                )
                if self._notifier is not None:
                    for rcpt in envelope.recipients:
                        note = f"{rcpt}@{len(self.mailbox)}"
                        self._notifier.sendto(note.encode())
                envelope = _Envelope()
                reply(250, f"queued as {len(self.mailbox)}")
            else:
                reply(500, f"unknown command {verb!r}")


class ProtocolError(Exception):
    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code} {text}")
        self.code = code
        self.text = text


class MailClient:
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.banner = ""

    @classmethod
    async def connect(cls, host: str, port: int) -> MailClient:
        reader, writer = await asyncio.open_connection(host, port)
        client = cls(reader, writer)
        code, client.banner = await client._read_reply()
        assert code == 220, client.banner
        return client

    async def _read_reply(self) -> tuple[int, str]:
        async with asyncio.timeout(5):
            line = await self._reader.readline()
        if not line:
            raise ConnectionError("server closed the connection")
        code, _, text = line.decode().rstrip("\r\n").partition(" ")
        return int(code), text

    async def command(self, line: str) -> tuple[int, str]:
        self._writer.write(line.encode() + b"\r\n")
        await self._writer.drain()
        return await self._read_reply()

    async def expect(self, line: str, code: int) -> str:
        got, text = await self.command(line)
        if got != code:
            raise ProtocolError(got, text)
        return text

    async def send_mail(self, sender: str, recipients: list[str], body: str) -> str:
        await self.expect(f"MAIL FROM:{sender}", 250)
        for rcpt in recipients:
            await self.expect(f"RCPT TO:{rcpt}", 250)
        await self.expect("DATA", 354)
        for line in body.split("\n"):
            if line.startswith("."):
                line = "." + line
            self._writer.write(line.encode() + b"\r\n")
        self._writer.write(b".\r\n")
        await self._writer.drain()
        code, text = await self._read_reply()
        if code != 250:
            raise ProtocolError(code, text)
        return text

    async def close(self) -> None:
        if not self._writer.is_closing():
            with contextlib.suppress(ConnectionError):
                await self.command("QUIT")
            self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()
