"""The plugins under comparison and the interpreters that run them.

Each plugin gets a virtual environment of its own under the cache folder, all
with the same pytest, pytest-xdist and uvloop, so that "installed" means
installed and nothing else differs. ``--in-place`` instead uses the current
interpreter and switches the other plugins off with ``-p no:NAME``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
import venv
from dataclasses import dataclass, field
from pathlib import Path

from _suites import NO_BACKEND


@dataclass(frozen=True, slots=True)
class Plugin:
    """An async test plugin (or none, for the floor)."""

    key: str
    label: str
    #: The pytest11 entry-point name, for ``-p no:NAME``.
    entry_point: str | None
    #: The module whose import proves the plugin is present.
    module: str | None
    requirements: tuple[str, ...]
    #: Command-line arguments for a backend (beyond the env variables).
    uvloop_args: tuple[str, ...] = ()
    extra_args: tuple[str, ...] = ()

    def args(self, backend: str) -> list[str]:
        args = list(self.extra_args)
        if backend == "uvloop":
            args.extend(self.uvloop_args)
        return args


FLOOR = Plugin("none", "no plugin (floor)", None, None, ())
AIOLOOP = Plugin(
    "aioloop",
    "pytest-aioloop",
    "aioloop",
    "pytest_aioloop.plugin",
    (),  # the repository itself, installed editable (see ensure_venv)
    uvloop_args=("--asyncio-backend=uvloop",),
)
PYTEST_ASYNCIO = Plugin(
    "asyncio",
    "pytest-asyncio",
    "asyncio",
    "pytest_asyncio",
    ("pytest-asyncio==1.5.*",),
    # What a pytest-asyncio user sets to silence its start-up warning.
    extra_args=("-o", "asyncio_default_fixture_loop_scope=function"),
)
ANYIO = Plugin("anyio", "anyio", "anyio", "anyio.pytest_plugin", ("anyio",))

PLUGINS: tuple[Plugin, ...] = (AIOLOOP, PYTEST_ASYNCIO, ANYIO)
PLUGINS_BY_KEY = {plugin.key: plugin for plugin in (FLOOR, *PLUGINS)}

COMMON_REQUIREMENTS = ("pytest-xdist", "uvloop")

_VERSIONS_SCRIPT = """
import importlib.metadata as m, json, platform
names = ["pytest", "pytest-xdist", "uvloop", "pytest-aioloop", "pytest-asyncio",
         "anyio", "stevedore", "pluggy"]
out = {"python": platform.python_version()}
for name in names:
    try:
        out[name] = m.version(name)
    except m.PackageNotFoundError:
        pass
print(json.dumps(out))
"""


@dataclass(frozen=True, slots=True)
class Interpreter:
    """A python that runs pytest with exactly one async plugin active."""

    plugin: Plugin
    python: Path
    disabled: tuple[str, ...] = ()
    versions: dict[str, str] = field(default_factory=dict)

    def command(self, backend: str, pytest_args: tuple[str, ...]) -> list[str]:
        args = [str(self.python), "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        for name in self.disabled:
            args += ["-p", f"no:{name}"]
        args += self.plugin.args(backend if backend != NO_BACKEND else "asyncio")
        return args + list(pytest_args)


def read_versions(python: Path) -> dict[str, str]:
    result = subprocess.run(
        [str(python), "-c", _VERSIONS_SCRIPT],
        capture_output=True,
        text=True,
        check=True,
    )
    versions: dict[str, str] = json.loads(result.stdout)
    return versions


def _pip(python: Path, *args: str) -> None:
    cmd = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*cmd, *args], check=True)


def _venv_python(path: Path) -> Path:
    return path / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


#: The installable part of the repository. run.py copies it at the start of a
#: run and installs the copy (editable), so that edits made to the working
#: tree while a run goes on cannot mix two versions of the plugin in a table.
_SOURCE_PARTS = ("pyproject.toml", "README.md", "backends", "plugin")


def source_copy(cache: Path) -> Path:
    return cache / "aioloop-src"


def copy_source(repo: Path, cache: Path) -> str:
    """Refresh the copy of ``repo`` that the aioloop venv runs; return a
    digest of its contents (it names the code measured)."""
    target = source_copy(cache)
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in _SOURCE_PARTS:
        if (repo / part).is_dir():
            shutil.copytree(repo / part, target / part, ignore=ignore)
        elif (repo / part).exists():
            shutil.copy2(repo / part, target / part)
    digest = hashlib.sha256()
    for path in sorted(p for p in target.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(target)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def ensure_venv(
    plugin: Plugin, cache: Path, pytest_requirement: str, repo: Path, recreate: bool
) -> Path:
    """Create (or reuse) the venv for ``plugin``; return its python.

    pytest-aioloop is installed editable from the copy made by
    :func:`copy_source`; its pyproject.toml is part of the stamp, so a change
    to it (e.g. a new entry point) reinstalls.
    """
    path = cache / plugin.key
    requirements = [pytest_requirement, *COMMON_REQUIREMENTS, *plugin.requirements]
    if plugin is AIOLOOP:
        source = source_copy(cache)
        pyproject = hashlib.sha256((source / "pyproject.toml").read_bytes())
        requirements += ["-e", str(source), f"# pyproject {pyproject.hexdigest()}"]
    stamp = path / "bench-requirements.json"
    python = _venv_python(path)
    wanted = json.dumps(requirements)
    fresh = python.exists() and stamp.exists() and stamp.read_text() == wanted
    if fresh and not recreate:
        return python
    print(f"creating venv {path} with {' '.join(requirements)}", flush=True)
    shutil.rmtree(path, ignore_errors=True)
    venv.create(path, with_pip=True, clear=True)
    _pip(python, *(r for r in requirements if not r.startswith("#")))
    stamp.write_text(wanted)
    return python


def build_venvs(
    plugins: list[Plugin], cache: Path, pytest_spec: str, repo: Path, recreate: bool
) -> list[Interpreter]:
    """The floor's venv is made first; its exact pytest is pinned in the others."""
    cache.mkdir(parents=True, exist_ok=True)
    digest = copy_source(repo, cache) if AIOLOOP in plugins else ""
    floor_python = ensure_venv(FLOOR, cache, f"pytest{pytest_spec}", repo, recreate)
    pytest_version = read_versions(floor_python)["pytest"]
    interpreters = [Interpreter(FLOOR, floor_python, (), read_versions(floor_python))]
    for plugin in plugins:
        python = ensure_venv(plugin, cache, f"pytest=={pytest_version}", repo, recreate)
        versions = read_versions(python)
        if plugin is AIOLOOP:
            versions["pytest-aioloop source digest"] = digest
        interpreters.append(Interpreter(plugin, python, (), versions))
    return interpreters


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:
        return False


def in_place(plugins: list[Plugin]) -> list[Interpreter]:
    """Interpreters on the current python: each plugin alone, the floor with none.

    Plugins that cannot be imported here are left out.
    """
    present = [p for p in PLUGINS if p.module is not None and _importable(p.module)]
    names = tuple(p.entry_point for p in present if p.entry_point is not None)
    python = Path(sys.executable)
    versions = read_versions(python)
    interpreters = [Interpreter(FLOOR, python, names, versions)]
    for plugin in plugins:
        if plugin in present:
            others = tuple(name for name in names if name != plugin.entry_point)
            interpreters.append(Interpreter(plugin, python, others, versions))
        else:
            print(f"skipping {plugin.label}: not importable here", flush=True)
    return interpreters


def xdist_available(interpreter: Interpreter) -> bool:
    return "pytest-xdist" in interpreter.versions
