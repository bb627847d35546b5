"""The whole check, run by plain ``nox`` (and by ``.ci/run``).

- ``tests``: the suite on every CPython from 3.11 to 3.15 found on PATH, with
  the newest pytest the dependencies allow;
- ``tests_oldest``: the suite on 3.11 with the oldest pytest supported (8.4);
- ``lint``: ``ruff check``, ``ruff format --check`` and strict mypy;
- ``docs``: the documentation site built with warnings as errors, then
  opened in headless Chromium (``docs/check_site.py``);
- ``package``: both distributions built and checked with ``twine check
  --strict``, and the suite run from the unpacked sdist.

A Python version that is not installed is reported and skipped, not an error,
on CI too. Extra arguments go to pytest: ``nox -s tests -- -k uvloop``.
``docs`` and ``package`` run on the Python that runs nox.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import nox

nox.needs_version = ">=2024.10"
nox.options.default_venv_backend = "venv"
# nox turns a missing interpreter into an error when CI is set; we skip it
# everywhere, so the same command works on a machine with one Python.
nox.options.error_on_missing_interpreters = False
nox.options.sessions = ["tests", "tests_oldest", "lint", "docs", "package"]

PYTHONS = ["3.11", "3.12", "3.13", "3.14", "3.15"]
OLDEST_PYTEST = "pytest==8.4.*"


def _select_every_pyenv_python() -> None:
    """Let nox see every CPython 3.11+ that pyenv has, not only the selected one.

    pyenv's shims answer only for the selected versions, and nox honours that
    selection. With no explicit ``PYENV_VERSION``, select the current version
    (first, so ``python`` stays the same) plus every installed 3.11+.
    """
    pyenv = shutil.which("pyenv")
    if pyenv is None or "PYENV_VERSION" in os.environ:
        return

    def pyenv_output(*args: str) -> list[str]:
        done = subprocess.run(
            [pyenv, *args], capture_output=True, text=True, check=False
        )
        return done.stdout.replace(":", "\n").split() if done.returncode == 0 else []

    current = pyenv_output("version-name")
    wanted = [
        version
        for version in pyenv_output("versions", "--bare", "--skip-aliases")
        if (match := re.fullmatch(r"3\.(\d+)\.\d+", version))
        and int(match[1]) >= 11
        and version not in current
    ]
    if current and wanted:
        os.environ["PYENV_VERSION"] = ":".join([*current, *wanted])


_select_every_pyenv_python()


def _pytest(session: nox.Session) -> None:
    # The plugin's tests start many pytester runs: spread them over all cores.
    session.run("pytest", "-n", "auto", *session.posargs)


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run the test suite against the installed (not editable) distribution."""
    session.install(".[dev]")
    if session.python == PYTHONS[0]:
        # benchmarks/instructions.py under valgrind: once, not per Python
        session.env["AIOLOOP_BENCH_SMOKE"] = "valgrind"
    elif session.python == PYTHONS[-1]:
        # benchmarks/attribute.py (python -X perf, 3.12+) under valgrind
        session.env["AIOLOOP_BENCH_SMOKE"] = "attribute"
    _pytest(session)


@nox.session(python=PYTHONS[0])
def tests_oldest(session: nox.Session) -> None:
    """Run the test suite with the oldest pytest we support."""
    session.install(".[dev]", OLDEST_PYTEST)
    session.run("python", "-c", "import pytest; print('pytest', pytest.__version__)")
    _pytest(session)


@nox.session(python=PYTHONS[0])
def lint(session: nox.Session) -> None:
    """ruff (lint and format) on everything; mypy --strict on both packages."""
    session.install(".[dev]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")  # aioloop and pytest_aioloop, strict: see pyproject.toml
    session.run("mypy", "tests/backends")
    session.run("mypy", "benchmarks")  # the scripts anyone runs: typed too


# Playwright drives the system's Chromium; its own browser download is never
# used (docs/check_site.py passes executable_path).
SITE_CHECK_REQUIREMENTS = ["playwright>=1.49"]


@nox.session
def docs(session: nox.Session) -> None:
    """Build the site (warnings are errors, every reference must resolve) and
    open it in headless Chromium: pages, navigation, search, internal links."""
    session.install(".[docs]", *SITE_CHECK_REQUIREMENTS)  # docs: pyproject.toml
    build = Path("docs", "_build", "html")
    shutil.rmtree(build, ignore_errors=True)
    session.run(
        "sphinx-build", "-W", "--keep-going", "-n", "-q", "-b", "html", "docs",
        str(build),
    )  # fmt: skip
    session.env["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    session.run("python", "docs/check_site.py", str(build))


@nox.session
def package(session: nox.Session) -> None:
    """Build both distributions, check them with twine, install the wheel and
    run the test suite from the unpacked sdist."""
    # pip 25.1 or newer shows License-Expression; an older one shows nothing.
    session.install("--upgrade", "pip>=25.1", "build", "twine")
    # Outside the checkout (not session.create_tmp(), which also points TMPDIR
    # into .nox/): pytester's runs must not find this project's pyproject.toml
    # above their folders and take its pytest settings.
    with tempfile.TemporaryDirectory(prefix="aioloop-package-") as tmp:
        dist = Path(tmp, "dist")
        session.run("python", "-m", "build", "--outdir", str(dist))
        session.run("twine", "check", "--strict", *map(str, sorted(dist.iterdir())))
        (wheel,) = dist.glob("*.whl")
        (sdist,) = dist.glob("*.tar.gz")
        with tarfile.open(sdist) as archive:
            archive.extractall(Path(tmp, "sdist"), filter="data")
        (root,) = Path(tmp, "sdist").iterdir()
        session.install(f"{wheel}[dev]")
        shown = session.run("pip", "show", "pytest-aioloop", silent=True) or ""
        for field in ("License-Expression: MIT", "Home-page: https://"):
            if field not in shown:
                session.error(f"pip show lacks {field!r}:\n{shown}")
        with session.chdir(root):
            # The installed wheel, not the sources beside the tests, is
            # imported: backends/ and plugin/ are not import names.
            _pytest(session)
