"""The public API of ``aioloop`` is exactly ``__all__``, typed, and documented."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import aioloop

PUBLIC = {
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
}


def test_all_lists_exactly_the_public_names() -> None:
    assert set(aioloop.__all__) == PUBLIC
    for name in aioloop.__all__:
        assert hasattr(aioloop, name), name
    undocumented = [
        name
        for name in PUBLIC - {"GROUP", "LoopFactory", "__version__"}
        if not getattr(aioloop, name).__doc__
    ]
    assert undocumented == []


def test_group_and_version_match_the_installed_metadata() -> None:
    assert aioloop.GROUP == "aioloop.backends"
    assert aioloop.__version__ == importlib.metadata.version("pytest-aioloop")


def test_package_is_typed() -> None:
    assert (Path(aioloop.__file__).parent / "py.typed").is_file()


def test_errors_share_one_base_class() -> None:
    for error in (
        aioloop.UnknownBackendError,
        aioloop.BackendImportError,
        aioloop.BackendLoopError,
    ):
        assert issubclass(error, aioloop.BackendError)
    assert issubclass(aioloop.BackendError, Exception)


def test_builtin_drivers_satisfy_the_driver_protocol() -> None:
    for name in ("asyncio", "uvloop", "virtual"):
        entry_point = next(
            ep for ep in importlib.metadata.entry_points(group=aioloop.GROUP, name=name)
        )
        driver = entry_point.load()()
        assert isinstance(driver, aioloop.BackendDriver)
        assert callable(getattr(driver, "describe", None))
