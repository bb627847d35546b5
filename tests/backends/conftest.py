"""Fixtures that install throwaway backends, in this process or in a subprocess.

These tests exercise ``aioloop`` alone: they never rely on the pytest plugin.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest

import aioloop

MakeSite = Callable[..., Path]
InstallBackends = Callable[..., Path]
RunPython = Callable[..., subprocess.CompletedProcess[str]]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: builds a virtual environment and pip-installs into it"
    )


def write_site(
    root: Path,
    entry_points: Mapping[str, str],
    modules: Mapping[str, str],
    *,
    distribution: str = "tiny-backends",
    version: str = "1.0",
) -> Path:
    """Write a folder that importlib.metadata sees as one installed distribution.

    ``entry_points`` maps backend names to entry-point targets (``mod:attr``);
    ``modules`` maps module names to their source. The folder's name is unique,
    so stevedore's on-disk entry-point cache (keyed by sys.path) never serves
    an older folder's entries.
    """
    site = root / f"site-{uuid.uuid4().hex}"
    dist_info = site / f"{distribution.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n",
        encoding="utf-8",
    )
    lines = [f"{name} = {target}" for name, target in entry_points.items()]
    (dist_info / "entry_points.txt").write_text(
        "[aioloop.backends]\n" + "\n".join(lines) + "\n", encoding="utf-8"
    )
    for module, source in modules.items():
        (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return site


@pytest.fixture
def make_site(tmp_path: Path) -> MakeSite:
    """Write a site folder (see :func:`write_site`) without putting it on sys.path."""

    def make(
        entry_points: Mapping[str, str],
        modules: Mapping[str, str] | None = None,
        **metadata: str,
    ) -> Path:
        return write_site(tmp_path, entry_points, modules or {}, **metadata)

    return make


@pytest.fixture
def install_backends(make_site: MakeSite) -> Iterator[InstallBackends]:
    """Install backends in this process: ``install_backends(entry_points, modules)``.

    The folder goes first on sys.path and every entry-point cache is cleared;
    afterwards the folder, its imported modules and the caches are removed.
    """
    sites: list[Path] = []
    module_names: set[str] = set()

    def install(
        entry_points: Mapping[str, str],
        modules: Mapping[str, str] | None = None,
        **metadata: str,
    ) -> Path:
        site = make_site(entry_points, modules, **metadata)
        sites.append(site)
        module_names.update(modules or {})
        sys.path.insert(0, str(site))
        importlib.invalidate_caches()
        aioloop.clear_backend_cache()
        return site

    yield install

    for site in sites:
        sys.path.remove(str(site))
    for name in module_names:
        sys.modules.pop(name, None)
    importlib.invalidate_caches()
    aioloop.clear_backend_cache()


@pytest.fixture
def run_python(tmp_path: Path) -> RunPython:
    """Run a snippet in a fresh interpreter; return the finished process.

    ``run_python(code, path=[site, ...])`` puts the given folders on
    PYTHONPATH. stevedore's on-disk cache goes to a folder of this test's own.
    """

    def run(
        code: str, *, path: Sequence[Path] = (), check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ)
        env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in path)
        env.pop("PYTHONWARNINGS", None)
        result = subprocess.run(
            [sys.executable, "-W", "error", "-c", textwrap.dedent(code)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check and result.returncode != 0:
            pytest.fail(
                f"snippet exited {result.returncode}\n"
                f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
            )
        return result

    return run
