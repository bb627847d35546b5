"""Instructions per test: a cross-check of run.py's wall times that noise cannot move.

    python benchmarks/instructions.py                        # the default suites
    python benchmarks/instructions.py --suites function,module --plugins aioloop,asyncio
    python benchmarks/instructions.py --in-place --sizes 2,4 --suites sync  # smoke

Every (suite, backend, plugin) cell runs ``python -m pytest`` under
``valgrind --tool=callgrind`` on the same generated files as run.py, at two
sizes (default 20 and 220 tests). The difference in instructions divided by
the difference in tests is what one more test costs, with start-up cancelled
out; the small run minus that is the start-up cost. With the children's hash
seed fixed (PYTHONHASHSEED=0), the count is the same run after run, within
0.2 kI per test, whatever else the machine does, so differences of a few
percent can be read, which wall time on a shared machine cannot show.

Instructions are not time: Python-heavy code runs fewer instructions per µs
than C-heavy code. The "≈ µs" columns convert with the floor's own rate
(instructions of the large floor run over its median wall time, measured here
without valgrind): an estimate, for reading the targets of issue 7 against.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import _envs
from _suites import ASYNC_BACKENDS, NO_BACKEND, SUITES_BY_NAME, Suite
from _suites import generate as generate_suite
from run import _child_env

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

DEFAULT_SUITES = (
    "sync",
    "loop-floor",
    "run-floor",
    "function",
    "function-each",
    "module",
    "module-each",
    "session",
    "asyncgen-fixture",
    "collect-async",
)
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


@dataclass(frozen=True, slots=True)
class Count:
    per_test: float  # instructions one more test costs
    fixed: float  # instructions of start-up and everything not per test


def _command(interpreter: _envs.Interpreter, suite: Suite, backend: str) -> list[str]:
    return interpreter.command(backend, suite.pytest_args)


def _instructions(cmd: list[str], directory: Path, env: dict[str, str]) -> int:
    # one run outside valgrind first: it writes the bytecode caches, so that
    # the counted run does not compile anything
    subprocess.run(cmd, cwd=directory, env=env, capture_output=True, check=False)
    counted = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    match = _COLLECTED.search(counted.stderr)
    if counted.returncode != 0 or match is None:
        raise SystemExit(
            f"{' '.join(cmd)} in {directory} failed under valgrind "
            f"(exit {counted.returncode}):\n{counted.stdout[-2000:]}"
            f"{counted.stderr[-2000:]}"
        )
    return int(match.group(1))


def _count(
    interpreter: _envs.Interpreter,
    suite: Suite,
    backend: str,
    sizes: tuple[int, int],
    root: Path,
    in_place: bool,
) -> Count:
    totals = []
    for size in sizes:
        where = root / f"{interpreter.plugin.key}-{backend}-{size}"
        directory = generate_suite(suite, size, max(1, min(10, size)), where)
        cmd = _command(interpreter, suite, backend)
        env = _child_env(interpreter.plugin.key, backend, in_place)
        # Hash randomisation moves a per-test figure by ±4 kI from one run to
        # the next (dict and set layouts); a fixed seed makes it repeatable.
        env["PYTHONHASHSEED"] = "0"
        if _STEADY_GC is not None:
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(_STEADY_GC), env.get("PYTHONPATH", "")) if p
            )
        totals.append(_instructions(cmd, directory, env))
    small, large = (suite.count(size) for size in sizes)
    per_test = (totals[1] - totals[0]) / (large - small)
    return Count(per_test, totals[0] - per_test * small)


#: With --steady-gc: a folder whose sitecustomize.py holds off full (gen2)
#: garbage collections in the measured processes (see the option's help).
_STEADY_GC: Path | None = None
_STEADY_GC_SOURCE = """import gc
gc.set_threshold(*gc.get_threshold()[:2], 1_000_000_000)
"""


def steady_gc_dir(root: Path) -> Path:
    """A folder under ``root`` whose sitecustomize.py holds off full garbage
    collections, for the measured processes' PYTHONPATH (see --steady-gc)."""
    folder = root / "steady-gc"
    folder.mkdir(exist_ok=True)
    (folder / "sitecustomize.py").write_text(_STEADY_GC_SOURCE)
    return folder


def _floor_rate(
    interpreter: _envs.Interpreter, size: int, runs: int, root: Path, in_place: bool
) -> float:
    """Instructions per µs of the sync floor: its count over its wall time."""
    suite = SUITES_BY_NAME["sync"]
    directory = generate_suite(suite, size, 10, root / "rate")
    cmd = _command(interpreter, suite, NO_BACKEND)
    env = _child_env("none", NO_BACKEND, in_place)
    total = _instructions(cmd, directory, env)
    walls = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=directory, env=env, capture_output=True, check=True)
        walls.append(time.perf_counter() - start)
    return total / (statistics.median(walls) * 1e6)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--suites", default=",".join(DEFAULT_SUITES))
    parser.add_argument("--backends", default="asyncio,uvloop")
    parser.add_argument("--plugins", default="aioloop,asyncio")
    parser.add_argument("--sizes", default="20,220", help="two test counts")
    parser.add_argument("--in-place", action="store_true", help="current python")
    parser.add_argument("--venvs", type=Path, default=HERE / ".venvs")
    parser.add_argument("--pytest", default="==9.*")
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="instructions per µs for the ≈ µs columns (default: measure the "
        "floor's, which takes one more valgrind run and three timed runs)",
    )
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=HERE / "results",
        help="where to save the table (as run.py does)",
    )
    parser.add_argument(
        "--no-save", dest="results_dir", action="store_const", const=None
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="valgrind runs at once (the counts do not depend on it)",
    )
    parser.add_argument(
        "--steady-gc",
        action="store_true",
        help="hold off full garbage collections in the measured pytest runs "
        "(a sitecustomize.py on PYTHONPATH; the plugin itself never does "
        "this). The first full collection of a run costs about 10 ms and "
        "lands wherever the run's allocations put it: between the two sizes "
        "in one cell and not in another, it moves a per-test figure by tens "
        "of kI. With it off, young collections still run: what is left is "
        "each test's own cost",
    )
    args = parser.parse_args(argv)

    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt install valgrind)")
        return 2
    small, large = (int(s) for s in args.sizes.split(","))
    names = [s.strip() for s in args.suites.split(",") if s.strip()]
    unknown = [n for n in names if n not in SUITES_BY_NAME]
    if unknown:
        parser.error(f"unknown suites {unknown}; known: {', '.join(SUITES_BY_NAME)}")
    wanted_backends = {b.strip() for b in args.backends.split(",")}
    plugins = [_envs.PLUGINS_BY_KEY[k.strip()] for k in args.plugins.split(",")]
    if args.in_place:
        interpreters = _envs.in_place(plugins)
    else:
        interpreters = _envs.build_venvs(
            plugins, args.venvs, args.pytest, REPO, recreate=False
        )
    floor = interpreters[0]
    measured = interpreters[1:]
    labels = [i.plugin.label for i in measured]

    root = Path(tempfile.mkdtemp(prefix="aioloop-instructions-"))
    global _STEADY_GC
    if args.steady_gc:
        _STEADY_GC = steady_gc_dir(root)
    try:
        if args.rate is None:
            rate = _floor_rate(floor, large, 3, root, args.in_place)
            print(f"floor rate: {rate:.0f} instructions per µs (sync suite, wall time)")
        else:
            rate = args.rate
            print(f"rate: {rate:.0f} instructions per µs (given)")
        sizes = (small, large)
        with ThreadPoolExecutor(max(1, args.jobs)) as pool:
            floors = {
                name: pool.submit(
                    _count,
                    floor,
                    SUITES_BY_NAME[name],
                    NO_BACKEND,
                    sizes,
                    root / f"floor-{name}",
                    args.in_place,
                )
                for name in {SUITES_BY_NAME[n].floor for n in names}
            }
            own_floor_names: set[str] = set()
            for name in names:
                own_floor = SUITES_BY_NAME[name].loop_floor
                if own_floor is not None:
                    own_floor_names.add(own_floor)
            # Each async suite's own floor (a bare loop per test, or one kept
            # loop), per backend, with no plugin installed.
            loop_floors = {
                (name, backend): pool.submit(
                    _count,
                    floor,
                    SUITES_BY_NAME[name],
                    backend,
                    sizes,
                    root / f"floor-{name}-{backend}",
                    args.in_place,
                )
                for name in own_floor_names
                for backend in ASYNC_BACKENDS
                if backend in wanted_backends
            }
            pending = []
            for name in names:
                suite = SUITES_BY_NAME[name]
                for backend in suite.backends_for():
                    if backend != NO_BACKEND and backend not in wanted_backends:
                        continue
                    jobs = [
                        pool.submit(
                            _count,
                            i,
                            suite,
                            backend,
                            sizes,
                            root / f"{name}-{backend}",
                            args.in_place,
                        )
                        for i in measured
                    ]
                    own = (
                        loop_floors.get((suite.loop_floor, backend))
                        if suite.loop_floor is not None
                        else None
                    )
                    pending.append((name, backend, floors[suite.floor], own, jobs))
            rows = []
            for name, backend, base_job, own_job, cell_jobs in pending:
                rows.append(
                    (
                        name,
                        backend,
                        base_job.result(),
                        own_job.result() if own_job is not None else None,
                        [c.result() for c in cell_jobs],
                    )
                )
                print(f"  {name} / {backend} done", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    header = ["suite", "backend", "floor kI/test", "own floor kI/test over floor"]
    for label in labels:
        header += [
            f"{label} kI/test over floor",
            f"{label} ÷ own floor",
            f"{label} ≈ µs/test",
            f"{label} start-up ≈ ms",
        ]
    if len(labels) > 1:
        header.append(f"{labels[0]} ÷ {labels[1]} (over floor)")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, backend, base, own_count, cells in rows:
        own_over = own_count.per_test - base.per_test if own_count is not None else None
        out = [
            name,
            backend,
            f"{base.per_test / 1e3:.0f}",
            f"{own_over / 1e3:+.1f}" if own_over is not None else "-",
        ]
        for cell in cells:
            over = cell.per_test - base.per_test
            out += [
                f"{over / 1e3:+.1f}",
                f"{over / own_over:.2f}x" if own_over else "-",
                f"{over / rate:+.0f}",
                f"{(cell.fixed - base.fixed) / rate / 1e3:+.1f}",
            ]
        if len(cells) > 1:
            first = cells[0].per_test - base.per_test
            second = cells[1].per_test - base.per_test
            out.append(f"{first / second:.2f}x" if second > 0 else "-")
        lines.append("| " + " | ".join(out) + " |")
    command = "python benchmarks/instructions.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    stamp = datetime.now(UTC)
    report = [
        "# pytest-aioloop instruction counts",
        "",
        f"{stamp.isoformat(timespec='seconds')} on {socket.gethostname()}, "
        f"git {_git_head()}",
        "",
        f"    {command.strip()}",
        "",
        f"Sizes {small} and {large} tests per cell; instructions per µs of the "
        f"sync floor: {rate:.0f}. Versions: "
        + ", ".join(f"{k} {v}" for k, v in sorted(measured[0].versions.items())),
        "",
        *lines,
        "",
    ]
    print()
    print("\n".join(report))
    if args.results_dir is not None:
        args.results_dir.mkdir(parents=True, exist_ok=True)
        name = f"{stamp:%Y-%m-%dT%H%MZ}-instructions-{socket.gethostname()}.md"
        (args.results_dir / name).write_text("\n".join(report))
        print(f"saved {args.results_dir / name}")
    return 0


def _git_head() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return out.stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
