"""pytest-aioloop: async tests and fixtures on scoped loops from pluggable backends.

The pytest plugin itself is the submodule ``pytest_aioloop.plugin`` (entry
point ``aioloop``); importing this package registers nothing, so
``pytest_plugins = "pytest_aioloop"`` in a conftest is harmless. (That line
makes pytest try to rewrite this package's asserts after it was imported, and
warn; it has none to rewrite: PYTEST_DONT_REWRITE.)
"""

from __future__ import annotations

from aioloop import __version__ as __version__

from ._api import fixture as fixture
from ._api import is_async_test as is_async_test
from ._reports import AioloopLeakWarning as AioloopLeakWarning

__all__ = ["AioloopLeakWarning", "__version__", "fixture", "is_async_test"]
