"""Each error names the backend, says what went wrong, and says what to do."""

from __future__ import annotations

import asyncio
import gc
import importlib.metadata
import logging
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import aioloop

InstallBackends = Callable[..., Path]

BROKEN_IMPORT = """
    import asyncio
    import aioloop_missing_dependency_xyz

    def new_event_loop():
        return asyncio.SelectorEventLoop()
"""

NOT_A_LOOP = """
    import asyncio

    def new_event_loop():
        return "a loop, honestly"

    async def forgot_it_is_a_coroutine():
        return asyncio.SelectorEventLoop()

    class DriverReturningNone:
        def new_event_loop(self):
            return None

    NOT_CALLABLE = 42

    class NeedsArguments:
        def __init__(self, config):
            self.config = config

        def new_event_loop(self):
            return asyncio.SelectorEventLoop()
"""

ASSERTS_ON_IMPORT = """
    assert False, "this platform is not supported"
"""


def test_unknown_backend_lists_the_installed_ones(
    install_backends: InstallBackends,
) -> None:
    install_backends({"mine": "never_imported_mine:new_event_loop"})

    with pytest.raises(aioloop.UnknownBackendError) as info:
        aioloop.load_backend("uvlop")

    error = info.value
    assert isinstance(error, aioloop.BackendError)
    assert isinstance(error, LookupError)
    assert error.name == "uvlop"
    assert {"asyncio", "uvloop", "mine"} <= set(error.installed)
    message = str(error)
    assert message.startswith(
        "unknown event loop backend 'uvlop'; installed backends: "
    )
    assert "asyncio, mine, " in message
    assert "uvloop" in message
    assert "Install the package that provides 'uvlop'" in message
    assert "'aioloop.backends'" in message
    assert "never_imported_mine" not in sys.modules


def test_unknown_backend_with_nothing_installed_says_none() -> None:
    error = aioloop.UnknownBackendError("fast", [])

    assert "installed backends: none." in str(error)
    assert error.installed == ()


def test_import_failure_names_backend_target_package_and_cause(
    install_backends: InstallBackends,
) -> None:
    install_backends(
        {"broken": "broken_backend:new_event_loop"},
        {"broken_backend": BROKEN_IMPORT},
        distribution="broken-backend",
        version="0.3",
    )

    with pytest.raises(aioloop.BackendImportError) as info:
        aioloop.load_backend("broken")

    error = info.value
    assert isinstance(error, aioloop.BackendError)
    assert isinstance(error, ImportError)
    assert error.name == "broken"
    assert error.target == "broken_backend:new_event_loop"
    assert error.distribution == "broken-backend 0.3"
    assert isinstance(error.__cause__, ModuleNotFoundError)
    assert error.__cause__.name == "aioloop_missing_dependency_xyz"
    assert str(error) == (
        "event loop backend 'broken' (broken_backend:new_event_loop, from package "
        "'broken-backend 0.3') failed to load: ModuleNotFoundError: No module named "
        "'aioloop_missing_dependency_xyz'. Install the package it needs: pip "
        "install aioloop_missing_dependency_xyz, or choose another backend."
    )


def test_a_driver_module_that_is_missing_says_to_reinstall_its_package(
    install_backends: InstallBackends,
) -> None:
    install_backends(
        {"gone": "no_such_driver_module_xyz:new_event_loop"},
        {},
        distribution="gone-backend",
        version="1.2",
    )

    with pytest.raises(aioloop.BackendImportError) as info:
        aioloop.load_backend("gone")

    assert str(info.value).endswith(
        "Fix or reinstall package 'gone-backend 1.2', or choose another backend."
    )


def test_a_missing_dependency_is_named_by_its_requirement() -> None:
    # uvloop, built in and required by pytest-aioloop: the requirement's name
    cause = ModuleNotFoundError("No module named 'uvloop'", name="uvloop")
    version = importlib.metadata.version("pytest-aioloop")
    error = aioloop.BackendImportError(
        "uvloop", "aioloop._uvloop:UvloopBackend", f"pytest-aioloop {version}", cause
    )

    assert str(error) == (
        "event loop backend 'uvloop' (aioloop._uvloop:UvloopBackend, from package "
        f"'pytest-aioloop {version}') failed to load: ModuleNotFoundError: No "
        "module named 'uvloop'. Install the package it needs: pip install uvloop, "
        "or choose another backend."
    )


def test_import_failure_is_not_cached(install_backends: InstallBackends) -> None:
    install_backends(
        {"broken": "broken_backend:new_event_loop"}, {"broken_backend": BROKEN_IMPORT}
    )

    for _ in range(2):
        with pytest.raises(aioloop.BackendImportError, match="'broken'"):
            aioloop.load_backend("broken")


def test_assertion_at_import_is_a_backend_import_error(
    install_backends: InstallBackends,
) -> None:
    # stevedore re-raises AssertionError instead of reporting it as a failure.
    install_backends(
        {"asserts": "asserting_backend:new_event_loop"},
        {"asserting_backend": ASSERTS_ON_IMPORT},
    )

    with pytest.raises(aioloop.BackendImportError) as info:
        aioloop.load_backend("asserts")

    assert isinstance(info.value.__cause__, AssertionError)
    message = str(info.value)
    assert "event loop backend 'asserts' (asserting_backend:new_event_loop" in message
    assert "from package 'tiny-backends 1.0'" in message
    assert "AssertionError: this platform is not supported" in message


@pytest.mark.parametrize(
    ("target", "cause", "detail"),
    [
        pytest.param(
            "not_a_loop:NOT_CALLABLE",
            TypeError,
            "TypeError: int object is neither a backend driver (an object or class "
            "with new_event_loop()) nor a loop factory",
            id="neither-driver-nor-factory",
        ),
        pytest.param(
            "not_a_loop:NeedsArguments",
            TypeError,
            "TypeError: ",
            id="driver-class-needs-arguments",
        ),
        pytest.param(
            "not_a_loop:nowhere",
            AttributeError,
            "AttributeError: ",
            id="missing-attribute",
        ),
    ],
)
def test_entry_point_that_is_not_a_driver_is_an_import_error(
    install_backends: InstallBackends,
    target: str,
    cause: type[Exception],
    detail: str,
) -> None:
    install_backends({"odd": target}, {"not_a_loop": NOT_A_LOOP})

    with pytest.raises(aioloop.BackendImportError) as info:
        aioloop.load_backend("odd")

    assert isinstance(info.value.__cause__, cause)
    message = str(info.value)
    assert f"event loop backend 'odd' ({target}, from package 'tiny-backends 1.0')" in (
        message
    )
    assert f"failed to load: {detail}" in message
    assert "Fix or reinstall package 'tiny-backends 1.0'" in message


def test_factory_returning_a_non_loop_fails_at_the_first_loop(
    install_backends: InstallBackends,
) -> None:
    install_backends({"liar": "not_a_loop:new_event_loop"}, {"not_a_loop": NOT_A_LOOP})

    backend = aioloop.load_backend("liar")  # loading alone cannot tell
    with pytest.raises(aioloop.BackendLoopError) as info:
        backend.new_event_loop()

    error = info.value
    assert isinstance(error, aioloop.BackendError)
    assert isinstance(error, TypeError)
    assert error.name == "liar"
    assert error.target == "not_a_loop:new_event_loop"
    assert str(error) == (
        "event loop backend 'liar' (not_a_loop:new_event_loop) returned builtins.str "
        "instead of an asyncio.AbstractEventLoop; its new_event_loop() (or the "
        "factory itself) must return a new event loop."
    )


def test_non_loop_from_a_driver_fails_inside_asyncio_runner(
    install_backends: InstallBackends,
) -> None:
    install_backends(
        {"nothing": "not_a_loop:DriverReturningNone"}, {"not_a_loop": NOT_A_LOOP}
    )
    backend = aioloop.load_backend("nothing")

    async def main() -> None:
        raise AssertionError("never runs")

    coroutine = main()
    with (
        pytest.raises(aioloop.BackendLoopError, match=r"returned builtins\.NoneType"),
        asyncio.Runner(loop_factory=backend.new_event_loop) as runner,
    ):
        runner.run(coroutine)
    coroutine.close()


def test_coroutine_factory_is_reported_and_its_coroutine_closed(
    install_backends: InstallBackends,
) -> None:
    install_backends(
        {"async": "not_a_loop:forgot_it_is_a_coroutine"}, {"not_a_loop": NOT_A_LOOP}
    )
    backend = aioloop.load_backend("async")

    with pytest.raises(aioloop.BackendLoopError) as info:
        backend.new_event_loop()

    assert "returned builtins.coroutine instead of an asyncio.AbstractEventLoop" in str(
        info.value
    )
    # No "coroutine was never awaited" warning (an error in this suite) follows.
    del info
    gc.collect()


def test_broken_backend_nobody_selected_has_no_effect(
    install_backends: InstallBackends, caplog: pytest.LogCaptureFixture
) -> None:
    install_backends(
        {"broken": "broken_backend:new_event_loop", "asserts": "asserting_backend:x"},
        {"broken_backend": BROKEN_IMPORT, "asserting_backend": ASSERTS_ON_IMPORT},
    )
    caplog.set_level(logging.DEBUG)

    names = aioloop.backend_names()
    backend = aioloop.load_backend("asyncio")

    assert {"broken", "asserts"} <= set(names)
    with asyncio.Runner(loop_factory=backend.new_event_loop) as runner:
        assert runner.run(asyncio.sleep(0, "fine")) == "fine"
    assert "broken_backend" not in sys.modules
    assert "asserting_backend" not in sys.modules
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_broken_describe_does_not_break_the_backend() -> None:
    def boom() -> str:
        raise RuntimeError("no version today")

    backend = aioloop.Backend("flaky", asyncio.SelectorEventLoop, describe=boom)

    assert backend.describe() == (
        "flaky (describe() failed: RuntimeError('no version today'))"
    )
