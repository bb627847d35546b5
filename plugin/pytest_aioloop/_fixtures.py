"""The fixtures pytest-aioloop provides."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from aioloop import Backend

from . import _compat
from ._plan import BackendParam
from ._run import note_backend_in_use, plan_of

if TYPE_CHECKING:
    import socket

    from ._asyncio_compat import PolicyLike

__all__ = [
    "_aioloop_backend",
    "_aioloop_chosen_in_error",
    "asyncio_backend",
    "event_loop_policy",
    "unused_tcp_port",
    "unused_tcp_port_factory",
    "unused_udp_port",
    "unused_udp_port_factory",
]


@pytest.fixture(scope="session")
def _aioloop_backend(request: pytest.FixtureRequest) -> Backend:
    """The backend of the test being set up.

    Wider async fixtures register their teardown with it: when the backend
    changes from one test to the next, tearing it down tears them down (in the
    old backend's loops) before they could be used again.
    """
    param = getattr(request, "param", None)
    if isinstance(param, BackendParam) and param.backend is not None:
        backend = param.backend
    else:
        backend = plan_of(_compat.requesting_item(request)).backend
    note_backend_in_use(request, backend)
    return backend


@pytest.fixture
def _aioloop_chosen_in_error(request: pytest.FixtureRequest) -> None:
    """Requested only by a test whose marker or loop-factories hook is in error:
    fails the test's setup with that error."""
    plan_of(request.node)


@pytest.fixture(scope="session")
def asyncio_backend(_aioloop_backend: Backend) -> str:
    """The name of the backend the current test runs on (e.g. ``"uvloop"``)."""
    return _aioloop_backend.name


@pytest.fixture(scope="session")
def event_loop_policy() -> PolicyLike:
    """The global loop policy. Overriding this fixture (pytest-asyncio's way to
    choose a loop) makes tests run on loops from the returned policy; prefer
    backends (``--asyncio-backend``, ``mark.asyncio(backend=...)``)."""
    from ._asyncio_compat import the_policy

    return the_policy()


def _unused_port(kind: socket.SocketKind) -> int:
    import socket

    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _port_factory(kind: socket.SocketKind) -> Callable[[], int]:
    produced: set[int] = set()

    def factory() -> int:
        """Return a free port on 127.0.0.1, never one this factory gave before."""
        for _ in range(1000):
            port = _unused_port(kind)
            if port not in produced:
                produced.add(port)
                return port
        raise RuntimeError("no unused port found after 1000 tries")

    return factory


@pytest.fixture
def unused_tcp_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on."""
    import socket

    return _unused_port(socket.SOCK_STREAM)


@pytest.fixture
def unused_udp_port() -> int:
    """A UDP port on 127.0.0.1 that nothing is bound to."""
    import socket

    return _unused_port(socket.SOCK_DGRAM)


@pytest.fixture(scope="session")
def unused_tcp_port_factory() -> Callable[[], int]:
    """A function returning a different unused TCP port at each call."""
    import socket

    return _port_factory(socket.SOCK_STREAM)


@pytest.fixture(scope="session")
def unused_udp_port_factory() -> Callable[[], int]:
    """A function returning a different unused UDP port at each call."""
    import socket

    return _port_factory(socket.SOCK_DGRAM)
