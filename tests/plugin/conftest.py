"""Shared helpers of the plugin tests: a strict ini and a loop recorder."""

from __future__ import annotations

from collections.abc import Callable

# anyio, hypothesis and uvloop are loaded here so that in-process pytester runs
# reuse them: pytester drops the modules an inner run imported, and pytest
# rewrites the asserts of a pytest11 plugin's whole package (all of hypothesis)
# each time it is imported anew: seconds per inner run.
import anyio  # noqa: F401
import hypothesis  # noqa: F401
import pytest
import uvloop  # noqa: F401

# Inner runs record which loop each test or fixture ran on: ``record_loop(label)``
# appends "label pid:number" to loops.log. The numbers keep every loop alive, so
# two loops never share one (ids of dropped loops could be reused).
_RECORDER = """
import asyncio
import os
import warnings
from pathlib import Path

import pytest

_NUMBERS = {}


@pytest.fixture(scope="session")
def record_loop():
    def record(label):
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                loop = asyncio.get_event_loop()
        number = _NUMBERS.setdefault(loop, len(_NUMBERS))
        with Path(__file__).with_name("loops.log").open("a") as log:
            log.write(f"{label} {os.getpid()}:{number}\\n")
        return loop

    return record
"""


@pytest.fixture
def strict_ini(pytester: pytest.Pytester) -> Callable[..., None]:
    """Write a pytest.ini with ``filterwarnings = error`` plus the given options;
    it is written once right away with no options."""

    def write(**options: str) -> None:
        lines = ["[pytest]", "filterwarnings = error"]
        lines += [f"{name} = {value}" for name, value in options.items()]
        pytester.makeini("\n".join(lines) + "\n")

    write()
    return write


@pytest.fixture
def loops(pytester: pytest.Pytester) -> Callable[[], dict[str, str]]:
    """Install the ``record_loop`` fixture in the inner run's root conftest;
    return a reader of what it recorded: label -> "pid:loop number"."""
    pytester.makeconftest(_RECORDER)

    def read() -> dict[str, str]:
        path = pytester.path / "loops.log"
        seen: dict[str, str] = {}
        for line in path.read_text().splitlines() if path.exists() else []:
            label, number = line.rsplit(" ", 1)
            assert label not in seen, f"{label} recorded twice"
            seen[label] = number
        return seen

    return read
