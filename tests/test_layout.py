"""The layout DESIGN.md sets: the arrow goes one way, pytest_aioloop ->
aioloop; the backend system never imports pytest; no import cycle inside the
plugin (function-level imports included); the benchmarks use the public API
only; the public API of pytest_aioloop is exactly its ``__all__``."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import pytest_aioloop

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ROOT / "backends" / "aioloop"
PLUGIN = ROOT / "plugin" / "pytest_aioloop"
BENCHMARKS = ROOT / "benchmarks"


def _imports(path: Path, package: str) -> Iterator[str]:
    """Every module ``path`` imports, anywhere in it, as absolute names."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package if node.level == 1 else package.rsplit(".", 1)[0]
                module = f"{base}.{node.module}" if node.module else base
                if node.module is None:
                    yield from (f"{base}.{alias.name}" for alias in node.names)
                    continue
            else:
                module = node.module or ""
            yield module


def test_the_backend_system_never_imports_pytest_or_the_plugin() -> None:
    for path in sorted(BACKENDS.glob("*.py")):
        for module in _imports(path, "aioloop"):
            top = module.split(".")[0]
            assert top not in ("pytest", "_pytest", "pytest_aioloop"), (path, module)


def test_the_plugin_modules_import_each_other_without_a_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for path in sorted(PLUGIN.glob("*.py")):
        name = f"pytest_aioloop.{path.stem}".removesuffix(".__init__")
        graph[name] = {
            module
            for module in _imports(path, "pytest_aioloop")
            if module.startswith("pytest_aioloop.") and module != name
        }

    def visit(module: str, path: list[str]) -> None:
        for imported in sorted(graph.get(module, ())):
            if imported in path:
                cycle = [*path[path.index(imported) :], imported]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            visit(imported, [*path, imported])

    for module in graph:
        if module != "pytest_aioloop":  # the package re-exports its modules
            visit(module, [module])


def test_the_benchmarks_use_no_private_module_of_either_package() -> None:
    for path in sorted(BENCHMARKS.glob("*.py")):
        for module in _imports(path, "benchmarks"):
            parts = module.split(".")
            if parts[0] in ("aioloop", "pytest_aioloop"):
                assert not any(part.startswith("_") for part in parts[1:]), (
                    path,
                    module,
                )


def test_pytest_aioloop_exports_exactly_its_public_api() -> None:
    assert set(pytest_aioloop.__all__) == {
        "AioloopLeakWarning",
        "__version__",
        "fixture",
        "is_async_test",
    }
    for name in pytest_aioloop.__all__:
        assert hasattr(pytest_aioloop, name), name
    public = {name for name in vars(pytest_aioloop) if not name.startswith("_")}
    # submodules imported by the package are attributes too; nothing else is
    assert public - set(pytest_aioloop.__all__) <= {"annotations", "plugin"}, public
    for name in ("fixture", "is_async_test", "AioloopLeakWarning"):
        assert getattr(pytest_aioloop, name).__doc__, name
