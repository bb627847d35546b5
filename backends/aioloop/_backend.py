"""The driver contract and :class:`Backend`, the checked wrapper around a driver."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, final, runtime_checkable

from ._errors import BackendLoopError

__all__ = ["Backend", "BackendDriver", "LoopFactory", "VirtualClock"]

if TYPE_CHECKING:
    import asyncio

# asyncio is imported only when a loop is made or checked: importing this
# package (as pytest does at start-up) must not cost asyncio's import time.
LoopFactory = Callable[[], "asyncio.AbstractEventLoop"]


@runtime_checkable
class BackendDriver(Protocol):
    """What a backend's entry point may point at (besides a plain loop factory).

    ``describe()`` is optional; it names the implementation and its version for
    pytest's report header, e.g. ``"uvloop 0.23.0"``.
    """

    def new_event_loop(self) -> asyncio.AbstractEventLoop: ...


@runtime_checkable
class VirtualClock(Protocol):
    """An event loop on a virtual clock, as the ``virtual`` backend makes.

    Its ``time()`` jumps to the next timer when nothing can run. With nothing
    that could ever wake it (no timer, no I/O ready, no executor work), it
    waits at most ``idle_limit`` real seconds (``None``: forever), then calls
    the handler given to ``set_idle_handler()`` or, without one, raises
    :class:`~aioloop.LoopIdleError` out of its run. ``idle_waiting`` is true
    while it waits so: a thread that wakes it then (with
    ``call_soon_threadsafe``) ends the wait and starts the limit again.
    """

    idle_limit: float | None
    idle_waiting: bool

    def set_idle_handler(self, handler: Callable[[], object] | None) -> None: ...


@final
class Backend:
    """A loaded backend: makes event loops and checks that they are event loops.

    Made by :func:`load_backend`. ``name`` is the backend's name (its entry
    point's name) and ``target`` what the entry point points at
    (``"package.module:attribute"``). ``new_event_loop`` fits
    ``asyncio.Runner(loop_factory=...)``.
    """

    __slots__ = ("_describe", "_distribution", "_factory", "name", "target")

    name: str
    target: str

    def __init__(
        self,
        name: str,
        factory: LoopFactory,
        *,
        target: str = "",
        distribution: str | Callable[[], str | None] | None = None,
        describe: Callable[[], str] | None = None,
    ) -> None:
        self.name = name
        self.target = target or getattr(factory, "__qualname__", repr(factory))
        self._distribution = distribution
        self._factory = factory
        self._describe = describe

    @property
    def distribution(self) -> str | None:
        """The package that provides this backend, ``"<name> <version>"``, if known.

        Found in the installed packages' metadata the first time it is asked for.
        """
        if callable(self._distribution):
            self._distribution = self._distribution()
        return self._distribution

    @classmethod
    def from_driver(
        cls,
        name: str,
        driver: object,
        *,
        target: str = "",
        distribution: str | Callable[[], str | None] | None = None,
    ) -> Backend:
        """Wrap what an entry point loaded: a driver class or object, or a factory.

        A class that is not an event loop class is instantiated without
        arguments; an object with ``new_event_loop()`` is a driver; any other
        callable is a loop factory. Raises :class:`TypeError` for anything else.
        """
        import asyncio

        if isinstance(driver, type) and not issubclass(
            driver, asyncio.AbstractEventLoop
        ):
            driver = driver()
        new_event_loop = getattr(driver, "new_event_loop", None)
        if callable(new_event_loop):
            describe = getattr(driver, "describe", None)
            return cls(
                name,
                new_event_loop,
                target=target,
                distribution=distribution,
                describe=describe if callable(describe) else None,
            )
        if callable(driver):
            return cls(name, driver, target=target, distribution=distribution)
        raise TypeError(
            f"{type(driver).__qualname__} object is neither a backend driver "
            f"(an object or class with new_event_loop()) nor a loop factory"
        )

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        """Return a new event loop; raise :class:`BackendLoopError` if it is not one."""
        import asyncio

        loop: object = self._factory()  # a third party's promise, checked here
        if not isinstance(loop, asyncio.AbstractEventLoop):
            if inspect.iscoroutine(loop):
                loop.close()
            raise BackendLoopError(self.name, self.target, loop)
        return loop

    def describe(self) -> str:
        """A one-line description, e.g. ``"uvloop 0.23.0"``."""
        if self._describe is not None:
            try:
                return str(self._describe())
            except Exception as exc:  # a broken describe() must not break a run
                return f"{self.name} (describe() failed: {exc!r})"
        if self.distribution:
            return f"{self.name} ({self.distribution})"
        return self.name

    def __repr__(self) -> str:
        return f"<Backend {self.name!r} {self.target}>"
