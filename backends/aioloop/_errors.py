"""The typed errors of the backend system: each says what happened and what to do."""

from __future__ import annotations

from collections.abc import Sequence
from typing import final

__all__ = [
    "BackendError",
    "BackendImportError",
    "BackendLoopError",
    "LoopIdleError",
    "UnknownBackendError",
]


class BackendError(Exception):
    """Base class of every error about a backend; ``name`` is the backend's name."""

    name: str

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


@final
class UnknownBackendError(BackendError, LookupError):
    """No backend of that name is installed (``installed`` lists those that are)."""

    def __init__(self, name: str, installed: Sequence[str]) -> None:
        self.installed = tuple(installed)
        listed = ", ".join(self.installed) or "none"
        super().__init__(
            name,
            f"unknown event loop backend {name!r}; installed backends: {listed}. "
            f"Install the package that provides {name!r} (entry point group "
            f"'aioloop.backends') or pick one of the installed names.",
        )


@final
class BackendImportError(BackendError, ImportError):  # type: ignore[misc]
    # mypy: ImportError.name may be None (the module's name); here it is the
    # backend's name, always set. Being an ImportError lets callers that
    # already catch import failures catch this one too.
    """The backend's entry point is installed but its driver cannot be loaded.

    The original exception is kept as ``__cause__``.
    """

    def __init__(
        self, name: str, target: str, distribution: str | None, cause: BaseException
    ) -> None:
        self.target = target
        self.distribution = distribution
        package = f"package {distribution!r}" if distribution else "its package"
        missing = _missing_dependency(cause, target)
        if missing is not None:
            advice = (
                f"Install the package it needs: pip install "
                f"{_pip_name(missing, distribution)}"
            )
        else:
            advice = f"Fix or reinstall {package}"
        super().__init__(
            name,
            f"event loop backend {name!r} ({target}, from {package}) failed to "
            f"load: {type(cause).__name__}: {cause}. {advice}, "
            f"or choose another backend.",
        )


def _missing_dependency(cause: BaseException, target: str) -> str | None:
    """The top-level module a driver imports that is not installed; ``None``
    when the failure is another one, or the driver's own module is missing
    (then its package is broken)."""
    if not isinstance(cause, ModuleNotFoundError) or not cause.name:
        return None
    missing = cause.name.partition(".")[0]
    own = target.partition(":")[0].partition(".")[0]
    return None if missing == own else missing


def _pip_name(module: str, distribution: str | None) -> str:
    """What to ``pip install`` for ``module``: the requirement of the
    backend's package that names it (``uvloop>=0.21`` -> ``uvloop``), else
    the module's own name."""
    if distribution:
        import importlib.metadata
        import re

        try:
            requirements = importlib.metadata.requires(distribution.split(" ")[0])
        except importlib.metadata.PackageNotFoundError:
            requirements = None
        wanted = re.sub(r"[-_.]+", "-", module).lower()
        for requirement in requirements or ():
            match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
            if match and re.sub(r"[-_.]+", "-", match[1]).lower() == wanted:
                return match[1]
    return module


@final
class BackendLoopError(BackendError, TypeError):
    """A backend's loop factory returned something that is not an event loop."""

    def __init__(self, name: str, target: str, result: object) -> None:
        self.target = target
        super().__init__(
            name,
            f"event loop backend {name!r} ({target}) returned "
            f"{type(result).__module__}.{type(result).__qualname__} "
            f"instead of an asyncio.AbstractEventLoop; its new_event_loop() "
            f"(or the factory itself) must return a new event loop.",
        )


@final
class LoopIdleError(RuntimeError):
    """A virtual-time loop waited ``idle_limit`` real seconds with nothing that
    could ever wake it: no timer, no I/O ready, no executor work or subprocess
    pending. Raised out of the loop's run when it has no idle handler."""

    idle_limit: float

    def __init__(self, idle_limit: float) -> None:
        super().__init__(
            f"the event loop was idle for {idle_limit:g} s of real time with "
            f"nothing scheduled: no timer, no I/O ready, no executor work or "
            f"subprocess pending, so nothing can wake it (an Event nobody sets, "
            f"a future nobody resolves?)"
        )
        self.idle_limit = idle_limit
