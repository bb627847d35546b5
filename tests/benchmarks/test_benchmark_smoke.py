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
