"""A third-party backend package, pip-installed into a fresh venv, is found by name."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

TINY_PYPROJECT = """
    [build-system]
    requires = ["hatchling"]
    build-backend = "hatchling.build"

    [project]
    name = "tiny-aioloop-backend"
    version = "0.1"

    [project.entry-points."aioloop.backends"]
    tiny = "tiny_aioloop_backend:new_event_loop"
"""

# The whole backend: one entry point and one loop factory.
TINY_MODULE = """
    import asyncio


    class TinyLoop(asyncio.SelectorEventLoop):
        pass


    def new_event_loop():
        return TinyLoop()
"""

CHECK = """
    import asyncio
    import sys

    import aioloop

    async def main():
        await asyncio.sleep(0.01)
        return type(asyncio.get_running_loop()).__name__

    backend = aioloop.load_backend("tiny")
    with asyncio.Runner(loop_factory=backend.new_event_loop) as runner:
        print(runner.run(main()))
    print(backend.describe())
    print(",".join(aioloop.backend_names()))
    print("uvloop" in sys.modules)
"""


def run(command: list[str | Path], cwd: Path) -> str:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}
    }
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, (
        f"{command} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout


@pytest.mark.slow
def test_pip_installed_third_party_backend_runs_a_coroutine(tmp_path: Path) -> None:
    assert (REPO_ROOT / "backends" / "aioloop" / "__init__.py").is_file()
    package = tmp_path / "tiny"
    package.mkdir()
    (package / "pyproject.toml").write_text(textwrap.dedent(TINY_PYPROJECT))
    (package / "tiny_aioloop_backend.py").write_text(textwrap.dedent(TINY_MODULE))
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv], cwd=tmp_path)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")

    run(
        [python, "-m", "pip", "install", "--quiet", REPO_ROOT, package],
        cwd=tmp_path,
    )
    lines = run([python, "-c", textwrap.dedent(CHECK)], cwd=tmp_path).splitlines()

    assert lines == [
        "TinyLoop",
        "tiny (tiny-aioloop-backend 0.1)",
        "asyncio,tiny,uvloop,virtual",
        "False",
    ]
