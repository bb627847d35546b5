"""The unused_*_port fixtures: ports free to bind, never given twice."""

from __future__ import annotations

from collections.abc import Callable

import pytest

Ini = Callable[..., None]
Loops = Callable[[], dict[str, str]]


def test_unused_ports_are_free_to_bind(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import asyncio
        import socket

        import pytest

        def test_tcp_port_is_free(unused_tcp_port):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.bind(("127.0.0.1", unused_tcp_port))
                sock.listen()

        def test_udp_port_is_free(unused_udp_port):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.bind(("127.0.0.1", unused_udp_port))

        @pytest.mark.asyncio
        async def test_server_on_unused_port(unused_tcp_port):
            async def echo(reader, writer):
                writer.write(await reader.read(5))
                await writer.drain()
                writer.close()
                await writer.wait_closed()

            server = await asyncio.start_server(echo, "127.0.0.1", unused_tcp_port)
            async with server:
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", unused_tcp_port
                )
                writer.write(b"hello")
                assert await reader.read(5) == b"hello"
                writer.close()
                await writer.wait_closed()
        """
    )
    pytester.runpytest().assert_outcomes(passed=3)


def test_port_factories_never_give_the_same_port_twice(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import pytest

        SEEN = {"tcp": [], "udp": []}

        @pytest.mark.parametrize("round", range(3))
        def test_factories(unused_tcp_port_factory, unused_udp_port_factory, round):
            SEEN["tcp"] += [unused_tcp_port_factory() for _ in range(30)]
            SEEN["udp"] += [unused_udp_port_factory() for _ in range(30)]

        def test_all_distinct():
            assert len(set(SEEN["tcp"])) == 90
            assert len(set(SEEN["udp"])) == 90
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=4)
    result = pytester.runpytest("--fixtures")
    result.stdout.fnmatch_lines_random(
        [
            "unused_tcp_port_factory [[]session scope[]]*",
            "unused_udp_port_factory [[]session scope[]]*",
        ]
    )


def test_port_factory_skips_a_port_it_gave_before(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    # The OS may hand the same free port out again; the factory must not.
    pytester.makepyfile(
        """
        import socket

        import pytest_aioloop._fixtures as fixtures

        def test_repeated_port_is_skipped(monkeypatch):
            ports = iter([5001, 5001, 5001, 5002])
            monkeypatch.setattr(fixtures, "_unused_port", lambda kind: next(ports))
            factory = fixtures._port_factory(socket.SOCK_STREAM)
            assert [factory(), factory()] == [5001, 5002]
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)
