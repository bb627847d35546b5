"""The benchmark script runs end to end on a tiny suite.

Only that it runs and produces its table is checked: no timing is asserted
(the numbers of a 4-test suite mean nothing, and the machine is shared).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"


def test_benchmark_script_prints_and_saves_a_table(tmp_path: Path) -> None:
    command = [
        sys.executable,
        str(SCRIPT),
        "--in-place",
        "--n=4",
        "--files=2",
        "--runs=1",
        "--suites=function",
        "--backends=asyncio",
        "--no-reference",
        f"--results-dir={tmp_path}",
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=300, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "| suite" in result.stdout
    assert "| function" in result.stdout
    saved = sorted(path.suffix for path in tmp_path.iterdir())
    assert saved == [".json", ".md"]
    record = json.loads(next(tmp_path.glob("*.json")).read_text())
    rows = [(row["suite"], row["backend"]) for row in record["rows"]]
    assert rows == [("function", "asyncio")]


INSTRUCTIONS = SCRIPT.with_name("instructions.py")


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="needs valgrind")
@pytest.mark.skipif(
    os.environ.get("AIOLOOP_BENCH_SMOKE") != "valgrind",
    reason="four pytest runs under valgrind (~1 min): nox runs it in one "
    "session; set AIOLOOP_BENCH_SMOKE=valgrind to run it here",
)
def test_instruction_count_script_prints_a_table() -> None:
    # Tiny sizes under valgrind: only that it runs and reports each plugin.
    command = [
        sys.executable,
        str(INSTRUCTIONS),
        "--in-place",
        "--sizes=1,2",
        "--suites=sync",
        "--plugins=aioloop",
        "--rate=4000",
        "--no-save",
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=600, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "4000 instructions per µs (given)" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith("| sync")]
    assert len(rows) == 1
    assert "pytest-aioloop kI/test over floor" in result.stdout


def test_real_work_suites_run_on_both_backends(tmp_path: Path) -> None:
    # The real-work body (a loopback echo whose client resets its connection,
    # through asyncio's and uvloop's socket wrappers alike) runs in sync tests
    # on a kept loop and in async tests on a session loop.
    command = [
        sys.executable,
        str(SCRIPT),
        "--in-place",
        "--n=4",
        "--files=2",
        "--runs=1",
        "--suites=real-work-floor,real-work-session",
        "--backends=asyncio,uvloop",
        "--plugins=aioloop",
        "--no-reference",
        "--no-save",
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=300, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAILED" not in result.stdout, result.stdout
    for suite in ("real-work-floor", "real-work-session"):
        for backend in ("asyncio", "uvloop"):
            assert f"{suite} / {backend} done" in result.stdout, result.stdout


def _report_module() -> Any:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import _report  # type: ignore[import-not-found]  # benchmarks/ script
    finally:
        sys.path.remove(str(SCRIPT.parent))
    return _report


def test_uvloop_ratio_targets_read_their_suite_and_the_reference_is_unjudged() -> None:
    report_module = _report_module()

    def row(suite: str, backend: str, median: float) -> dict[str, Any]:
        cell = {"median_s": median, "cpu_median_s": median}
        return {"suite": suite, "backend": backend, "cells": {"aioloop": cell}}

    report = {
        "plugins": ["aioloop"],
        "startup_over_floor_s": {},
        "startup_cpu_over_floor_s": {},
        "rows": [
            row("real-work", "asyncio", 2.0),
            row("real-work", "uvloop", 3.0),
            row("real-work-session", "asyncio", 2.0),
            row("real-work-session", "uvloop", 1.0),
            row("real-work-floor", "asyncio", 4.0),
            row("real-work-floor", "uvloop", 1.0),
        ],
    }
    targets = {t["target"]: t for t in report_module.targets(report)}
    function = targets["real work: uvloop / asyncio time"]
    session = targets["real work, session loop: uvloop / asyncio time"]
    (reference,) = (t for t in targets.values() if t["target"].startswith("for "))
    assert (function["values"]["aioloop"], function["met"]) == (1.5, False)
    assert (session["values"]["aioloop"], session["met"]) == (0.5, True)
    assert reference["values"]["aioloop"] == 0.25
    assert reference["met"] is None
    table = report_module.targets_table({**report, "targets": [reference]})
    line = next(line for line in table.splitlines() if line.startswith("| for "))
    cells = [cell.strip() for cell in line.strip("|").split("|")]
    assert cells[1] == "—"  # no limit
    assert cells[-1] == "— / —"  # not judged


def test_uvloop_ratios_read_the_two_size_cost_over_the_floor_when_measured() -> None:
    # Whole-process times would count start-up and uvloop's import; the cost
    # of one more test over the sync floor (two sizes) is read instead.
    report_module = _report_module()

    def row(suite: str, backend: str, **cells: float) -> dict[str, Any]:
        return {
            "suite": suite,
            "backend": backend,
            "cells": {
                plugin: {
                    "median_s": 10.0,
                    "cpu_median_s": 10.0,
                    "cpu_us_per_test_2": value,
                    "us_per_test_2": 2 * value,
                }
                for plugin, value in cells.items()
            },
        }

    report = {
        "plugins": ["aioloop", "asyncio"],
        "startup_over_floor_s": {},
        "startup_cpu_over_floor_s": {},
        "reference": {
            "asyncio": {"real-work body, shared loop": 400.0},
            "uvloop": {"real-work body, shared loop": 100.0},
        },
        "rows": [
            row("real-work", "asyncio", aioloop=400.0, asyncio=800.0),
            row("real-work", "uvloop", aioloop=200.0, asyncio=1000.0),
            row("real-work-session", "asyncio", aioloop=500.0, asyncio=600.0),
            row("real-work-session", "uvloop", aioloop=250.0, asyncio=300.0),
            row("real-work-floor", "asyncio", aioloop=1.0, bare=300.0),
            row("real-work-floor", "uvloop", aioloop=1.0, bare=150.0),
        ],
    }
    targets = {t["target"]: t for t in report_module.targets(report)}
    function = targets["real work: uvloop / asyncio time"]
    assert function["cpu_values"] == {"aioloop": 0.5, "asyncio": 1.25}
    assert function["values"] == {"aioloop": 0.5, "asyncio": 1.25}
    assert function["met_cpu"] is True
    lines = report_module.uvloop_table(report).splitlines()
    function_line, session_line = (
        [cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]
    )
    assert function_line[1:] == [
        "0.50x (+200 / +400)",
        "1.25x (+1000 / +800)",
        "—",
        "—",
    ]
    assert session_line[1:] == [
        "0.50x (+250 / +500)",
        "0.50x (+300 / +600)",
        "0.50x (+150 / +300)",
        "0.25x (+100 / +400)",
    ]


VIRTUAL_TIME = SCRIPT.with_name("virtual_time.py")


def test_virtual_time_benchmark_prints_and_saves_a_table(tmp_path: Path) -> None:
    command = [
        sys.executable,
        str(VIRTUAL_TIME),
        "--n=3",
        "--files=2",
        "--runs=1",
        f"--results-dir={tmp_path}",
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=300, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "| sleep-1s | virtual | 3 |" in result.stdout
    assert "| wait_for | virtual | 3 |" in result.stdout
    saved = sorted(path.suffix for path in tmp_path.iterdir())
    assert saved == [".json", ".md"]


ATTRIBUTE = SCRIPT.with_name("attribute.py")


#: attribute.py runs pytest under valgrind with -X perf: slow, so only where
#: nox asks for it (the newest Python).
attribute_smoke = pytest.mark.skipif(
    shutil.which("valgrind") is None
    or not hasattr(sys, "activate_stack_trampoline")
    or os.environ.get("AIOLOOP_BENCH_SMOKE") != "attribute",
    reason="needs valgrind and -X perf (CPython 3.12+); pytest runs under "
    "valgrind: nox runs it on the newest Python; set AIOLOOP_BENCH_SMOKE="
    "attribute to run it here",
)


def _attribute(*options: str) -> list[str]:
    """attribute.py's output lines on the module suite at 2 and 6 tests."""
    command = [sys.executable, str(ATTRIBUTE), "--suite=module", "--sizes=2,6"]
    result = subprocess.run(
        [*command, *options], capture_output=True, text=True, timeout=900, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.splitlines()


@attribute_smoke
def test_attribution_script_names_the_plugins_functions() -> None:
    lines = _attribute("--top=60")
    assert lines[0].startswith("module on asyncio, cpython")
    # one more test runs through the plugin's call hook and its runner
    named = {line.split()[2] for line in lines[1:] if line.strip()}
    assert {"pytest_pyfunc_call", "run_test", "LoopRunner.run"} <= named, lines


@attribute_smoke
def test_attribution_against_the_floor_lists_both_sides() -> None:
    lines = _attribute("--top=400", "--against-floor")
    assert lines[0].endswith("against its floor run-floor (no plugin)"), lines
    assert lines[1].startswith("whole run: +"), lines
    rows = {}
    for line in lines[3:]:
        *figures, function = line.split(maxsplit=3)
        rows[function.split()[0]] = tuple(map(float, figures))
    # the plugin's call is on the suite's side only; the floor's own hook
    # (the kept loop) on the floor's only
    over, suite, floor = rows["run_test"]
    assert over == suite > 0, rows["run_test"]
    assert floor == 0, rows["run_test"]
    over, suite, floor = rows["run_on_kept_loop"]
    assert over == -floor < 0, rows["run_on_kept_loop"]
    assert suite == 0, rows["run_on_kept_loop"]
