"""The benchmark script runs end to end on a tiny suite.

Only that it runs and produces its table is checked: no timing is asserted
(the numbers of a 4-test suite mean nothing, and the machine is shared).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
