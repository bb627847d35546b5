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
        """pytest-aioloop's own name for the loop-factories hook."""
        raise NotImplementedError


class PytestAsyncioHooks:
    """pytest-asyncio's name for the same hook. Registered at configure, once
    pytest-asyncio is known not to be active: it declares this hook too, and
    two declarations of one hook stop pytest before any clear message."""

    @pytest.hookspec(firstresult=True)
    def pytest_asyncio_loop_factories(
        self, config: pytest.Config, item: pytest.Item
    ) -> LoopFactories | None:
        """pytest-asyncio's hook, with the same meaning."""
        raise NotImplementedError
