"""aioloop: event loop backends found through entry points.

A backend is registered in the entry-point group ``aioloop.backends``; its
entry-point name is the name users type. It points at a driver (an object or
class with ``new_event_loop()`` and, optionally, ``describe()``) or at a plain
loop factory. This package never imports pytest.
"""

from __future__ import annotations

from ._backend import Backend as Backend
from ._backend import BackendDriver as BackendDriver
from ._backend import LoopFactory as LoopFactory
from ._backend import VirtualClock as VirtualClock
from ._discovery import GROUP as GROUP
from ._discovery import backend_names as backend_names
from ._discovery import clear_backend_cache as clear_backend_cache
from ._discovery import load_backend as load_backend
from ._errors import BackendError as BackendError
from ._errors import BackendImportError as BackendImportError
from ._errors import BackendLoopError as BackendLoopError
from ._errors import LoopIdleError as LoopIdleError
from ._errors import UnknownBackendError as UnknownBackendError
from ._version import __version__ as __version__

__all__ = [
    "GROUP",
    "Backend",
    "BackendDriver",
    "BackendError",
    "BackendImportError",
    "BackendLoopError",
    "LoopFactory",
    "LoopIdleError",
    "UnknownBackendError",
    "VirtualClock",
    "__version__",
    "backend_names",
    "clear_backend_cache",
    "load_backend",
]
