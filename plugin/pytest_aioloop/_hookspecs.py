"""Hooks a conftest may implement to choose the loops of a test."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import pytest

__all__ = ["LoopFactoryHooks", "PytestAsyncioHooks"]

if TYPE_CHECKING:
    import asyncio

LoopFactories = Mapping[str, Callable[[], "asyncio.AbstractEventLoop"]]


class LoopFactoryHooks:
    """Return a mapping of name to loop factory for ``item``, or ``None``.

    The names become the test's backends (and, with several, part of its
    ids). The first implementation that returns a mapping wins.
    """

    @pytest.hookspec(firstresult=True)
    def pytest_aioloop_loop_factories(
        self, config: pytest.Config, item: pytest.Item
    ) -> LoopFactories | None:
        """Choose the event loops of the async test ``item``.

        Return a mapping of names to loop factories (callables without
        arguments that return a new event loop), or ``None`` to leave the
        choice to the marker and the options. The names become the test's
        backends: with several, the test runs once per name, and the name ends
        its id; the marker keyword ``loop_factories=[...]`` picks some of
        them. The first implementation that returns a mapping wins, and it
        wins over ``--asyncio-backend`` and the ini value ``asyncio_backend``.
        A factory made anew on each call at one place from the same objects
        (a ``lambda``, a ``functools.partial``) counts as one, so wider loops
        are shared. A return value that is not such a mapping is an error of
        each async test's setup.

        pytest-aioloop's own name for the hook; see
        :func:`pytest_asyncio_loop_factories`.
        """
        raise NotImplementedError


class PytestAsyncioHooks:
    """pytest-asyncio's name for the same hook. Registered at configure, once
    pytest-asyncio is known not to be active: it declares this hook too, and
    two declarations of one hook stop pytest before any clear message."""

    @pytest.hookspec(firstresult=True)
    def pytest_asyncio_loop_factories(
        self, config: pytest.Config, item: pytest.Item
    ) -> LoopFactories | None:
        """pytest-asyncio's name for :func:`pytest_aioloop_loop_factories`.

        Same arguments, same meaning: a conftest written for pytest-asyncio
        keeps working unchanged.
        """
        raise NotImplementedError
