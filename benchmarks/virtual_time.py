"""Virtual time: suites that sleep, on the ``virtual`` backend, next to trivial tests.

    python benchmarks/virtual_time.py               # N=500, 3 runs
    python benchmarks/virtual_time.py --n 100 --runs 1 --no-save

Three generated suites of N async tests each, run with the current python
(``python -m pytest -q -p no:cacheprovider``), median whole-process wall time
of alternating runs:

- ``trivial``: each test awaits ``asyncio.sleep(0)``: the floor;
- ``sleep-1s``: each test awaits ``asyncio.sleep(1)``;
- ``wait_for``: each test lets ``asyncio.wait_for(asyncio.sleep(10), 1)``
  time out, and passes a ``wait_for`` of 5 s around a 1 s sleep.

``trivial`` runs on ``asyncio`` and on ``virtual``; the sleeping suites run
on ``virtual`` (on ``asyncio`` they take at least N seconds, which is the
"real time" column: the time the sleeps alone would take). The claim under
test: on ``virtual``, a suite of N one-second sleeps costs about what N
trivial tests cost.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

HERE: Final = Path(__file__).resolve().parent

_BODIES: Final = {
    "trivial": """
        @pytest.mark.asyncio
        async def test_trivial_{i}():
            await asyncio.sleep(0)
    """,
    "sleep-1s": """
        @pytest.mark.asyncio
        async def test_sleep_{i}():
            loop = asyncio.get_running_loop()
            start = loop.time()
            await asyncio.sleep(1)
            assert loop.time() - start >= 1
    """,
    "wait_for": """
        @pytest.mark.asyncio
        async def test_wait_for_{i}():
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(asyncio.sleep(10), timeout=1)
            await asyncio.wait_for(asyncio.sleep(1), timeout=5)
    """,
}
#: Real seconds the sleeps of one test of each suite take on a real clock.
_REAL_SECONDS: Final = {"trivial": 0.0, "sleep-1s": 1.0, "wait_for": 2.0}
#: (suite, backend) rows, in the order they run in each round.
ROWS: Final = (
    ("trivial", "asyncio"),
    ("trivial", "virtual"),
    ("sleep-1s", "virtual"),
    ("wait_for", "virtual"),
)
_PASSED: Final = re.compile(r"(\d+) passed")


def generate(root: Path, suite: str, n: int, files: int) -> Path:
    """Write ``n`` tests of ``suite`` in ``files`` modules under ``root/suite``."""
    directory = root / suite
    directory.mkdir(parents=True)
    (directory / "pytest.ini").write_text("[pytest]\nasyncio_mode = strict\n")
    per_file = -(-n // files)
    body = textwrap.dedent(_BODIES[suite])
    for number, first in enumerate(range(0, n, per_file)):
        tests = [body.format(i=i) for i in range(first, min(n, first + per_file))]
        source = "import asyncio\n\nimport pytest\n\n" + "\n".join(tests)
        (directory / f"test_{number:03}.py").write_text(source)
    return directory


def run_once(directory: Path, backend: str, expected: int) -> float:
    """Wall seconds of one pytest run; raises if the tests did not all pass."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--asyncio-backend={backend}",
    ]
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    start = time.perf_counter()
    result = subprocess.run(
        command, cwd=directory, env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    passed = _PASSED.findall(result.stdout)
    if result.returncode != 0 or not passed or int(passed[-1]) != expected:
        tail = "\n".join(result.stdout.strip().splitlines()[-15:])
        raise SystemExit(f"{directory.name} on {backend} failed:\n{tail}")
    return wall


def table(n: int, medians: dict[tuple[str, str], float]) -> str:
    floor = medians[("trivial", "virtual")]
    lines = [
        "| suite | backend | tests | median wall s | ÷ trivial on virtual | "
        "real time of the sleeps s |",
        "|---|---|---|---|---|---|",
    ]
    for suite, backend in ROWS:
        wall = medians[(suite, backend)]
        real = _REAL_SECONDS[suite] * n
        lines.append(
            f"| {suite} | {backend} | {n} | {wall:.2f} | {wall / floor:.2f}x | "
            f"{real:.0f} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=500, help="tests per suite")
    parser.add_argument("--files", type=int, default=10, help="files per suite")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per row")
    parser.add_argument(
        "--results-dir", type=Path, default=HERE / "results", help="where to save"
    )
    parser.add_argument("--no-save", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if args.n < 1 or args.files < 1 or args.runs < 1:
        parser.error("--n, --files and --runs must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    samples: dict[tuple[str, str], list[float]] = {row: [] for row in ROWS}
    with tempfile.TemporaryDirectory(prefix="aioloop-virtual-bench-") as tmp:
        root = Path(tmp)
        directories = {
            suite: generate(root, suite, args.n, args.files) for suite in _BODIES
        }
        for suite, backend in ROWS:  # warm-up: bytecode and assertion rewriting
            run_once(directories[suite], backend, args.n)
        for round_number in range(args.runs):
            for suite, backend in ROWS:
                wall = run_once(directories[suite], backend, args.n)
                samples[(suite, backend)].append(wall)
            print(f"round {round_number + 1}/{args.runs} done", file=sys.stderr)
    medians = {row: statistics.median(walls) for row, walls in samples.items()}
    text = table(args.n, medians)
    print(text)
    if not args.no_save:
        args.results_dir.mkdir(parents=True, exist_ok=True)
        stamp = started.strftime("%Y-%m-%dT%H%MZ")
        base = args.results_dir / f"{stamp}-virtual-time-{platform.node() or 'host'}"
        record = {
            "started": started.isoformat(),
            "python": platform.python_version(),
            "n": args.n,
            "files": args.files,
            "runs": args.runs,
            "samples": {f"{s} {b}": walls for (s, b), walls in samples.items()},
        }
        base.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
        command = " ".join(["python benchmarks/virtual_time.py", *(argv or [])])
        base.with_suffix(".md").write_text(
            f"# Virtual time, {stamp}\n\nPython {record['python']}; "
            f"`{command.strip()}`\n\n{text}\n"
        )
        print(f"saved {base}.md and .json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
