"""Every form an entry point may take is found through stevedore and makes loops."""

from __future__ import annotations

import asyncio
import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest

import aioloop

InstallBackends = Callable[..., Path]

DRIVER_CLASS = """
    import asyncio

    created = []

    class MarkedLoop(asyncio.SelectorEventLoop):
        pass

    class Driver:
        def __init__(self):
            created.append(self)

        def new_event_loop(self):
            return MarkedLoop()

        def describe(self):
            return "classy 1.2 (made by hand)"
"""

DRIVER_OBJECT = """
    import asyncio

    class _Driver:
        loops = 0

        def new_event_loop(self):
            self.loops += 1
            return asyncio.SelectorEventLoop()

    driver = _Driver()
"""

ONE_LINE = """
    import asyncio

    def new_event_loop():
        return asyncio.SelectorEventLoop()
"""

LOOP_SUBCLASS = """
    import asyncio

    made = []

    class SubclassedLoop(asyncio.SelectorEventLoop):
        def __init__(self):
            super().__init__()
            made.append(self)
"""


async def running_loop_name() -> str:
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop()).__name__


def run_on(backend: aioloop.Backend) -> str:
    with asyncio.Runner(loop_factory=backend.new_event_loop) as runner:
        return runner.run(running_loop_name())


def test_driver_class_is_instantiated_once_and_describes_itself(
    install_backends: InstallBackends,
) -> None:
    install_backends(
        {"classy": "classy_driver:Driver"}, {"classy_driver": DRIVER_CLASS}
    )

    backend = aioloop.load_backend("classy")

    created = sys.modules["classy_driver"].created
    assert len(created) == 1
    assert backend.name == "classy"
    assert backend.target == "classy_driver:Driver"
    assert backend.describe() == "classy 1.2 (made by hand)"
    assert run_on(backend) == "MarkedLoop"
    assert run_on(backend) == "MarkedLoop"
    assert len(created) == 1


def test_driver_object_is_used_as_is(install_backends: InstallBackends) -> None:
    install_backends(
        {"objective": "object_driver:driver"},
        {"object_driver": DRIVER_OBJECT},
        distribution="object-backend",
        version="2.5",
    )

    backend = aioloop.load_backend("objective")

    assert run_on(backend) == "_UnixSelectorEventLoop"
    assert sys.modules["object_driver"].driver.loops == 1
    # No describe(): the name and the package that provides it, from metadata.
    assert backend.distribution == "object-backend 2.5"
    assert backend.describe() == "objective (object-backend 2.5)"


def test_plain_factory_function_is_a_one_line_backend(
    install_backends: InstallBackends,
) -> None:
    install_backends(
        {"oneline": "oneline_backend:new_event_loop"}, {"oneline_backend": ONE_LINE}
    )

    backend = aioloop.load_backend("oneline")

    assert run_on(backend) == "_UnixSelectorEventLoop"
    assert backend.target == "oneline_backend:new_event_loop"
    assert backend.describe() == "oneline (tiny-backends 1.0)"


def test_event_loop_class_is_the_factory_not_instantiated_at_load(
    install_backends: InstallBackends,
) -> None:
    install_backends(
        {"subclassed": "loop_subclass:SubclassedLoop"}, {"loop_subclass": LOOP_SUBCLASS}
    )

    backend = aioloop.load_backend("subclassed")

    made = sys.modules["loop_subclass"].made
    assert made == []
    assert run_on(backend) == "SubclassedLoop"
    assert run_on(backend) == "SubclassedLoop"
    assert len(made) == 2
    assert made[0] is not made[1]
    assert all(loop.is_closed() for loop in made)


def test_backend_names_lists_installed_backends_sorted(
    install_backends: InstallBackends,
) -> None:
    install_backends(
        {"zeta": "not_imported_zeta:new_event_loop", "alpha": "not_imported_alpha:x"}
    )

    names = aioloop.backend_names()

    assert names == sorted(names)
    assert {"asyncio", "uvloop", "alpha", "zeta"} <= set(names)
    assert "not_imported_zeta" not in sys.modules


def test_load_backend_caches_until_the_cache_is_cleared(
    install_backends: InstallBackends,
) -> None:
    install_backends(
        {"classy": "classy_driver:Driver"}, {"classy_driver": DRIVER_CLASS}
    )

    first = aioloop.load_backend("classy")
    assert aioloop.load_backend("classy") is first
    assert len(sys.modules["classy_driver"].created) == 1

    aioloop.clear_backend_cache()
    again = aioloop.load_backend("classy")

    assert again is not first
    assert len(sys.modules["classy_driver"].created) == 2


def test_backend_added_to_a_folder_already_on_sys_path_is_found_after_clearing(
    install_backends: InstallBackends,
) -> None:
    site = install_backends(
        {"early": "oneline_backend:new_event_loop"}, {"oneline_backend": ONE_LINE}
    )
    assert "late" not in aioloop.backend_names()
    later = site / "late_backends-1.0.dist-info"
    later.mkdir()
    (later / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: late-backends\nVersion: 1.0\n"
    )
    (later / "entry_points.txt").write_text(
        "[aioloop.backends]\nlate = oneline_backend:new_event_loop\n"
    )

    aioloop.clear_backend_cache()

    assert "late" in aioloop.backend_names()
    assert run_on(aioloop.load_backend("late")) == "_UnixSelectorEventLoop"


def test_builtin_asyncio_backend_makes_stdlib_loops() -> None:
    backend = aioloop.load_backend("asyncio")

    assert run_on(backend) == "_UnixSelectorEventLoop"
    assert backend.describe().startswith("asyncio (CPython 3.")
    assert backend.distribution is not None
    assert backend.distribution.startswith("pytest-aioloop ")


def test_builtin_uvloop_backend_runs_a_coroutine_on_a_real_uvloop() -> None:
    uvloop = pytest.importorskip("uvloop")
    backend = aioloop.load_backend("uvloop")

    async def main() -> tuple[type[asyncio.AbstractEventLoop], int]:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        loop.call_later(0.01, future.set_result, 42)
        return type(loop), await future

    with asyncio.Runner(loop_factory=backend.new_event_loop) as runner:
        loop_type, value = runner.run(main())

    assert loop_type is uvloop.Loop
    assert value == 42
    assert backend.describe() == f"uvloop {uvloop.__version__}"


def test_backend_made_by_hand_names_its_factory() -> None:
    backend = aioloop.Backend("handmade", asyncio.SelectorEventLoop)

    assert backend.target == asyncio.SelectorEventLoop.__qualname__
    assert repr(backend) == f"<Backend 'handmade' {backend.target}>"
    assert backend.distribution is None
    assert backend.describe() == "handmade"
    assert run_on(backend).endswith("SelectorEventLoop")


def test_module_like_driver_object_with_describe() -> None:
    driver = types.SimpleNamespace(
        new_event_loop=asyncio.SelectorEventLoop, describe=lambda: "namespace 0.1"
    )

    backend = aioloop.Backend.from_driver("ns", driver, distribution="ns-dist 0.1")

    assert backend.describe() == "namespace 0.1"
    assert backend.distribution == "ns-dist 0.1"
    assert run_on(backend).endswith("SelectorEventLoop")
