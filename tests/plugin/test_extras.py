"""Ports, Hypothesis, pytest-xdist, debug mode, is_async_test and the header."""

from __future__ import annotations

import platform
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


def test_hypothesis_given_runs_async_tests_for_every_example(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import asyncio

        import pytest
        import pytest_aioloop
        from hypothesis import given, settings, strategies as st

        EXAMPLES = []

        @pytest_aioloop.fixture(scope="module", loop_scope="module")
        async def offset():
            return 1

        @pytest.mark.asyncio
        @settings(max_examples=25)
        @given(st.integers())
        async def test_each_example_awaits(n):
            await asyncio.sleep(0)
            EXAMPLES.append(n)

        @pytest.mark.asyncio(loop_scope="module")
        @given(n=st.integers(min_value=0, max_value=10))
        async def test_with_a_fixture(offset, n):
            await asyncio.sleep(0)
            assert n + offset > 0

        @pytest.mark.asyncio
        @given(st.integers())
        async def test_finds_a_counterexample(n):
            await asyncio.sleep(0)
            assert n < 100

        class TestInClass:
            @pytest.mark.asyncio
            @given(st.text())
            async def test_method(self, s):
                assert isinstance(s, str)

        def test_every_example_ran():
            assert len(EXAMPLES) >= 20
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(["*test_finds_a_counterexample*", "*n=100*"])


def test_hypothesis_async_tests_run_in_auto_mode(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    strict_ini(asyncio_mode="auto")
    pytester.makepyfile(
        """
        import asyncio

        from hypothesis import given, strategies as st

        @given(st.integers())
        async def test_unmarked(n):
            assert asyncio.get_running_loop().is_running()
        """
    )
    result = pytester.runpytest("-m", "asyncio")
    result.assert_outcomes(passed=1)


def test_xdist_workers_each_have_one_session_loop(
    pytester: pytest.Pytester, strict_ini: Ini, loops: Loops
) -> None:
    module = """
        import pytest

        pytestmark = pytest.mark.asyncio(loop_scope="session")

        @pytest.mark.parametrize("n", range(5))
        async def test_session(record_loop, n):
            record_loop(f"{__name__}-{n}")
        """
    for name in ("test_a", "test_b", "test_c", "test_d"):
        pytester.makepyfile(**{name: module})
    result = pytester.runpytest_subprocess("-p", "xdist", "-n", "2")
    result.assert_outcomes(passed=20)
    seen = loops()
    assert len(seen) == 20
    by_worker: dict[str, set[str]] = {}
    for number in seen.values():
        pid, _ = number.split(":")
        by_worker.setdefault(pid, set()).add(number)
    assert len(by_worker) == 2
    assert all(len(numbers) == 1 for numbers in by_worker.values())


DEBUG_TESTS = """
import asyncio

import pytest

@pytest.mark.asyncio
async def test_default():
    print("DEBUG default", asyncio.get_running_loop().get_debug())

@pytest.mark.asyncio(debug=True)
async def test_on():
    print("DEBUG on", asyncio.get_running_loop().get_debug())

@pytest.mark.asyncio(debug=False)
async def test_off():
    print("DEBUG off", asyncio.get_running_loop().get_debug())
"""


@pytest.mark.parametrize(
    ("ini", "args", "default"),
    [
        pytest.param({}, (), False, id="nothing"),
        pytest.param({"asyncio_debug": "true"}, (), True, id="ini"),
        pytest.param({}, ("--asyncio-debug",), True, id="option"),
    ],
)
def test_debug_mode_from_ini_option_and_marker(
    pytester: pytest.Pytester,
    strict_ini: Ini,
    ini: dict[str, str],
    args: tuple[str, ...],
    default: bool,
) -> None:
    strict_ini(**ini)
    pytester.makepyfile(DEBUG_TESTS)
    result = pytester.runpytest("-s", "-p", "no:randomly", *args)
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [f"*DEBUG default {default}*", "*DEBUG on True*", "*DEBUG off False*"]
    )


def test_debug_marker_applies_to_a_function_fixture_on_its_loop(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import asyncio

        import pytest
        import pytest_aioloop

        @pytest_aioloop.fixture
        async def fixture_debug():
            return asyncio.get_running_loop().get_debug()

        @pytest.mark.asyncio(debug=True)
        async def test_on(fixture_debug):
            assert fixture_debug is True
            assert asyncio.get_running_loop().get_debug()
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_is_async_test_tells_which_tests_the_plugin_runs(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makeconftest(
        """
        import pytest_aioloop

        def pytest_collection_modifyitems(items):
            for item in items:
                print("ASYNC", item.name, pytest_aioloop.is_async_test(item))
        """
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        @pytest.mark.asyncio
        async def test_marked():
            pass

        async def test_unmarked():
            pass

        def test_sync():
            pass

        @pytest.mark.anyio
        async def test_anyio():
            pass
        """
    )
    result = pytester.runpytest("-s", "-p", "no:randomly", "--co")
    result.stdout.fnmatch_lines(
        [
            "ASYNC test_marked True",
            "ASYNC test_unmarked False",
            "ASYNC test_sync False",
            "ASYNC test_anyio False",
        ]
    )
    result = pytester.runpytest(
        "-s", "-p", "no:randomly", "--co", "--asyncio-mode=auto"
    )
    result.stdout.fnmatch_lines(
        [
            "ASYNC test_marked True",
            "ASYNC test_unmarked True",
            "ASYNC test_sync False",
            "ASYNC test_anyio False",
        ]
    )


def test_is_async_test_is_public_and_typed() -> None:
    import pytest_aioloop

    assert "is_async_test" in pytest_aioloop.__all__
    assert pytest_aioloop.is_async_test.__annotations__["return"] in (bool, "bool")


def test_header_names_mode_debug_default_loop_scopes_and_backends(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile("def test_sync(): pass")
    python = f"{platform.python_implementation()} {platform.python_version()}"
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(
        [
            "aioloop: mode=strict, debug=False, default loop scope: "
            f"fixtures=fixture-scope, tests=function, backends: asyncio ({python})"
        ]
    )
    strict_ini(
        asyncio_default_fixture_loop_scope="module",
        asyncio_default_test_loop_scope="session",
        asyncio_timeout="30",
    )
    result = pytester.runpytest("--asyncio-mode=auto", "--asyncio-debug")
    result.stdout.fnmatch_lines(
        [
            "aioloop: mode=auto, debug=True, default loop scope: fixtures=module, "
            f"tests=session, timeout=30s, backends: asyncio ({python})"
        ]
    )
