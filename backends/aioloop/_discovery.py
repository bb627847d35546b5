"""Finding backends through stevedore entry points, importing only those asked for."""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
import threading
from typing import TYPE_CHECKING

from ._backend import Backend
from ._errors import BackendImportError, UnknownBackendError

if TYPE_CHECKING:
    from stevedore import ExtensionManager, NamedExtensionManager

    _Failures = list[tuple[importlib.metadata.EntryPoint, BaseException]]

__all__ = ["GROUP", "backend_names", "clear_backend_cache", "load_backend"]

#: The entry-point group that backends are registered under.
GROUP = "aioloop.backends"

#: Each loaded backend, with the ``asyncio`` module it was loaded under.
_loaded: dict[str, tuple[Backend, object]] = {}
_lock = threading.Lock()


def _named_manager(
    names: list[str], failures: _Failures
) -> NamedExtensionManager[object]:
    # stevedore is imported here, not at module level: listing or loading
    # backends happens once per run and must not cost every import of aioloop.
    from stevedore import NamedExtensionManager

    def on_failure(
        _manager: ExtensionManager[object],
        entry_point: importlib.metadata.EntryPoint,
        error: BaseException,
    ) -> None:
        failures.append((entry_point, error))

    # A named manager checks each entry point's name before importing it, so
    # entry points with other names (other backends) are never imported.
    return NamedExtensionManager(
        GROUP,
        names=names,
        on_load_failure_callback=on_failure,
        on_missing_entrypoints_callback=None,
    )


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    return list(_named_manager([], []).list_entry_points())


def backend_names() -> list[str]:
    """The names of the installed backends, sorted. Imports no driver."""
    return sorted({ep.name for ep in _entry_points()})


def _distribution_of(name: str, target: str) -> str | None:
    """``"<distribution> <version>"`` of the package that registers this entry point.

    stevedore's entry-point cache drops the distribution, so it is looked up
    again in the installed packages' metadata, only when it is asked for.
    """
    for entry_point in importlib.metadata.entry_points(group=GROUP, name=name):
        dist = entry_point.dist
        if entry_point.value == target and dist is not None:
            return f"{dist.name} {dist.version}"
    return None


def load_backend(name: str) -> Backend:
    """Load the backend called ``name`` (once; later calls return the same object
    for as long as the same ``asyncio`` module is imported).

    Only that backend's entry point is imported.

    Raises:
        UnknownBackendError: no backend of that name is installed.
        BackendImportError: its entry point failed to import, or points at
            something that is neither a driver nor a loop factory; the
            original error is the ``__cause__``.
    """
    # A backend is kept for as long as the asyncio it was loaded under: an
    # in-process pytester run that first imported asyncio drops it, with the
    # driver's module, when it ends; loops from the old module would not be
    # loops of the new one.
    asyncio = sys.modules.get("asyncio")
    loaded = _loaded.get(name)
    if loaded is not None and loaded[1] is asyncio:
        return loaded[0]
    with _lock:
        loaded = _loaded.get(name)
        if loaded is None or loaded[1] is not asyncio:
            backend = _load(name)  # may import asyncio for the first time
            loaded = _loaded[name] = (backend, sys.modules.get("asyncio"))
    return loaded[0]


def _load(name: str) -> Backend:
    failures: _Failures = []
    try:
        manager = _named_manager([name], failures)
    except Exception as error:
        # stevedore lets AssertionError from a driver's import through.
        targets = [ep.value for ep in _entry_points() if ep.name == name]
        target = targets[0] if targets else "?"
        raise BackendImportError(
            name, target, _distribution_of(name, target), error
        ) from error
    for entry_point, failure in failures:
        raise BackendImportError(
            name, entry_point.value, _distribution_of(name, entry_point.value), failure
        ) from failure
    extensions = [ext for ext in manager.extensions if ext.name == name]
    if not extensions:
        raise UnknownBackendError(name, backend_names())
    # Several packages may register the same name; the first one found wins,
    # as it does for any other stevedore user.
    extension = extensions[0]
    target = extension.entry_point.value
    try:
        return Backend.from_driver(
            name,
            extension.plugin,
            target=target,
            distribution=lambda: _distribution_of(name, target),
        )
    except Exception as error:
        raise BackendImportError(
            name, target, _distribution_of(name, target), error
        ) from error


def clear_backend_cache() -> None:
    """Forget loaded backends and every cached list of installed entry points.

    For tests and tools that install or remove backends in a running process.
    Modules that were already imported stay imported.
    """
    from stevedore import ExtensionManager

    with _lock:
        _loaded.clear()
        ExtensionManager.ENTRY_POINT_CACHE.pop(GROUP, None)
        _forget_stevedore_scan()
        importlib.invalidate_caches()


def _forget_stevedore_scan() -> None:
    # stevedore 5 also memoises its scan of all installed entry points per
    # sys.path value, for the life of the process, in a private object: a
    # package installed into a folder already on sys.path would stay invisible.
    # Guarded, so a stevedore without that memo needs nothing here.
    scan_cache = sys.modules.get("stevedore._cache")
    memo = getattr(getattr(scan_cache, "_c", None), "_internal", None)
    if isinstance(memo, dict):
        memo.clear()
