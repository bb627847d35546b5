"""Finding backends through stevedore entry points, importing only those asked for."""

from __future__ import annotations

import threading
from typing import Any

from ._backend import Backend
from ._errors import BackendImportError, UnknownBackendError

__all__ = ["GROUP", "backend_names", "clear_backend_cache", "load_backend"]

#: The entry-point group that backends are registered under.
GROUP = "aioloop.backends"

_loaded: dict[str, Backend] = {}
_lock = threading.Lock()


def _entry_points() -> list[Any]:
    # stevedore is imported here, not at module level: listing or loading
    # backends is rare and must not cost every import of the package.
    from stevedore import ExtensionManager

    # A manager made from no extensions lists the group without importing
    # any of its entry points (a plain ExtensionManager imports them all).
    manager: Any = ExtensionManager.make_test_instance([], namespace=GROUP)
    return list(manager.list_entry_points())


def backend_names() -> list[str]:
    """The names of the installed backends, sorted. Imports no driver."""
    return sorted({ep.name for ep in _entry_points()})


def _distribution_of(entry_point: Any) -> str | None:
    dist = getattr(entry_point, "dist", None)
    if dist is None:
        return None
    return f"{dist.name} {dist.version}"


def load_backend(name: str) -> Backend:
    """Load the backend called ``name`` (once; later calls return the same object).

    Only that backend's entry point is imported.

    Raises:
        UnknownBackendError: no backend of that name is installed.
        BackendImportError: its entry point failed to import, or points at
            something that is neither a driver nor a loop factory; the
            original error is the ``__cause__``.
    """
    backend = _loaded.get(name)
    if backend is not None:
        return backend
    with _lock:
        backend = _loaded.get(name)
        if backend is None:
            backend = _load(name)
            _loaded[name] = backend
    return backend


def _load(name: str) -> Backend:
    from stevedore import NamedExtensionManager

    failures: list[tuple[Any, BaseException]] = []

    def on_failure(_manager: Any, entry_point: Any, error: BaseException) -> None:
        failures.append((entry_point, error))

    manager: Any = NamedExtensionManager(
        GROUP,
        names=[name],
        on_load_failure_callback=on_failure,
        on_missing_entrypoints_callback=None,
    )
    for failed_entry_point, error in failures:
        raise BackendImportError(
            name,
            failed_entry_point.value,
            _distribution_of(failed_entry_point),
            error,
        ) from error
    extensions = [ext for ext in manager.extensions if ext.name == name]
    if not extensions:
        raise UnknownBackendError(name, backend_names())
    extension = extensions[0]
    target = extension.entry_point.value
    distribution = _distribution_of(extension.entry_point)
    try:
        return Backend.from_driver(
            name, extension.plugin, target=target, distribution=distribution
        )
    except Exception as error:
        raise BackendImportError(name, target, distribution, error) from error


def clear_backend_cache() -> None:
    """Forget loaded backends and stevedore's entry-point cache for the group.

    For tests and tools that install or remove backends in a running process.
    """
    from stevedore import ExtensionManager

    with _lock:
        _loaded.clear()
        ExtensionManager.ENTRY_POINT_CACHE.pop(GROUP, None)
