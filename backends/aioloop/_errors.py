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
        super().__init__(
            name,
            f"event loop backend {name!r} ({target}, from {package}) failed to "
            f"load: {type(cause).__name__}: {cause}. Fix or reinstall {package}, "
            f"or choose another backend.",
        )


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
