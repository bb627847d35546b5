"""Benchmark pytest-aioloop against pytest-asyncio, anyio and the sync floor.

    python benchmarks/run.py                    # full run: N=2000, 5 runs
    python benchmarks/run.py --quick            # N=200, 2 runs
    python benchmarks/run.py --suites function,module --plugins aioloop,asyncio
    python benchmarks/run.py --in-place         # current python, no venvs

Every suite is generated once into a temporary folder and run, byte for byte
the same, under each plugin (see ``_suites.py``). The runs alternate between
plugins (A B C, A B C, ...) and the median whole-process wall time of
``python -m pytest -q -p no:cacheprovider`` is reported. The machine is
shared and noisy: compare ratios within one run, not absolute times.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import _envs
import _report
from _report import JobKey
from _suites import (
    ASYNC_BACKENDS,
    NO_BACKEND,
    SUITES,
    SUITES_BY_NAME,
    VERIFY_COUNT,
    Suite,
    generate_verify,
)
from _suites import generate as generate_suite

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

#: Environment variables that would change what pytest does in the child.
#: PYTHONDONTWRITEBYTECODE would make every run recompile the editable plugin
#: and re-rewrite every test file: a cost no real CI run has twice.
_SCRUBBED_ENV = (
    "PYTEST_ADDOPTS",
    "PYTEST_PLUGINS",
    "PYTEST_CURRENT_TEST",
    "PYTHONDONTWRITEBYTECODE",
    "VIRTUAL_ENV",
)


@dataclass(slots=True)
class Job:
    """One cell of the table: a row's suite under one plugin, or the row's
    floor suite with no plugin (``key.plugin == "none"``)."""

    key: JobKey
    suite: Suite
    interpreter: _envs.Interpreter
    directory: Path
    expected: int
    samples: list[float] = field(default_factory=list)  # wall seconds
    cpu_samples: list[float] = field(default_factory=list)  # user+sys seconds
    failure: str | None = None
    #: The same job on fewer tests (same files, same floor), run right after
    #: it in every round: the difference of the two is what one more test
    #: costs, with start-up (a backend's import, a plugin's set-up) cancelled.
    small: Job | None = None

    @property
    def backend(self) -> str:
        return self.key.backend if self.key.plugin != "none" else NO_BACKEND

    def both_sizes(self) -> list[Job]:
        return [self] if self.small is None else [self, self.small]


@dataclass(frozen=True, slots=True)
class Sample:
    wall: float
    cpu: float
    error: str | None


# --- running pytest ------------------------------------------------------------


def _child_env(plugin: str, backend: str, keep_pythonpath: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    if not keep_pythonpath:
        env.pop("PYTHONPATH", None)
    env["BENCH_PLUGIN"] = plugin
    env["BENCH_BACKEND"] = "asyncio" if backend == NO_BACKEND else backend
    return env


_PASSED = re.compile(r"(\d+) passed")
_COLLECTED = re.compile(r"(\d+) tests? collected")


def _check_output(output: str, returncode: int, expected: int, collect: bool) -> str:
    """Return an error message, or '' when the run did what it should."""
    if returncode != 0:
        return f"exit status {returncode}"
    pattern = _COLLECTED if collect else _PASSED
    match = pattern.findall(output)
    count = int(match[-1]) if match else 0
    if count != expected:
        what = "collected" if collect else "passed"
        return f"{count} tests {what}, expected {expected}"
    return ""


def run_once(job: Job, keep_pythonpath: bool, timeout: float) -> Sample:
    """Run the job's pytest once: its wall time, and the CPU time (user + sys)
    of the process and every process it waited for (xdist's workers)."""
    cmd = job.interpreter.command(job.backend, job.suite.pytest_args)
    env = _child_env(job.key.plugin, job.backend, keep_pythonpath)
    with tempfile.TemporaryFile("w+") as output:
        start = time.perf_counter()
        process = subprocess.Popen(
            cmd, cwd=job.directory, env=env, stdout=output, stderr=subprocess.STDOUT
        )
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            process.kill()

        watchdog = threading.Timer(timeout, kill)
        watchdog.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            watchdog.cancel()
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read()
    cpu = usage.ru_utime + usage.ru_stime
    collect = job.suite.collect_only
    error = _check_output(text, process.returncode, job.expected, collect)
    if killed.is_set():
        error = f"timed out after {timeout:.0f} s"
    if error:
        tail = "\n".join(text.strip().splitlines()[-15:])
        error = f"{error}\n    $ {' '.join(cmd)}\n{tail}"
    return Sample(wall, cpu, error or None)


def verify(
    interpreter: _envs.Interpreter,
    backend: str,
    directory: Path,
    keep_pythonpath: bool,
) -> str | None:
    """Check that the plugin really runs on ``backend`` with the loop sharing
    each loop scope promises; return an error message or None."""
    suite = Suite("_verify", "", "async", floor="sync")
    key = JobKey("_verify", backend, interpreter.plugin.key)
    job = Job(key, suite, interpreter, directory, VERIFY_COUNT)
    return run_once(job, keep_pythonpath, timeout=120).error


# --- planning ------------------------------------------------------------------


def select_suites(patterns: list[str], xdist: bool) -> list[Suite]:
    chosen = [
        suite
        for suite in SUITES
        if any(fnmatch.fnmatchcase(suite.name, p) for p in patterns)
    ]
    unknown = [
        p for p in patterns if not any(fnmatch.fnmatchcase(s.name, p) for s in SUITES)
    ]
    if unknown:
        names = ", ".join(s.name for s in SUITES)
        raise SystemExit(f"unknown suite(s) {', '.join(unknown)}; known: {names}")
    if not xdist:
        skipped = [s.name for s in chosen if "-n" in s.pytest_args]
        if skipped:
            print(f"skipping {', '.join(skipped)}: pytest-xdist is not installed")
        chosen = [s for s in chosen if "-n" not in s.pytest_args]
    return chosen


@dataclass(slots=True)
class Plan:
    rows: list[tuple[Suite, str]]
    jobs: dict[JobKey, Job]
    #: For each row, the keys of its jobs: the floor first, then the plugins.
    row_jobs: dict[tuple[str, str], list[JobKey]]


def plan(
    suites: list[Suite],
    interpreters: list[_envs.Interpreter],
    root: Path,
    n: int,
    files: int,
    backends: set[str],
) -> Plan:
    floor, *plugins = interpreters
    directories: dict[str, Path] = {}

    def directory(suite: Suite) -> Path:
        if suite.name not in directories:
            directories[suite.name] = generate_suite(suite, n, files, root)
        return directories[suite.name]

    jobs: dict[JobKey, Job] = {}
    rows: list[tuple[Suite, str]] = []
    row_jobs: dict[tuple[str, str], list[JobKey]] = {}
    for suite in suites:
        for backend in suite.backends_for():
            if backend != NO_BACKEND and backend not in backends:
                continue
            # Every row measures its own floor, in the same rounds as its
            # plugins, so that a slow spell of the machine hits both.
            keys = []
            for interpreter in (floor, *plugins):
                key = JobKey(suite.name, backend, interpreter.plugin.key)
                ran = SUITES_BY_NAME[suite.floor] if interpreter is floor else suite
                jobs[key] = Job(key, ran, interpreter, directory(ran), ran.count(n))
                keys.append(key)
            if suite.real_work and suite.bare_loop:
                # the suite itself with no plugin at all, next to the plugins
                key = JobKey(suite.name, backend, NO_PLUGIN_CELL)
                jobs[key] = Job(key, suite, floor, directory(suite), suite.count(n))
                keys.append(key)
            rows.append((suite, backend))
            row_jobs[(suite.name, backend)] = keys
    return Plan(rows, jobs, row_jobs)


#: Plugin key of a cell that runs a no-plugin suite itself, with no plugin
#: (the floor interpreter): ``real-work-floor`` with nothing installed.
NO_PLUGIN_CELL = "bare"


def small_count(suite: Suite, n: int, files: int) -> int | None:
    """The base test count of a real-work suite's small twin: a quarter of
    ``n``, and no fewer tests than files (so that both sizes have as many
    files); ``None`` when that leaves no difference to read."""
    if not suite.real_work:
        return None
    small = max(files, n // 4)
    return small if small < n else None


def add_small_twins(the_plan: Plan, root: Path, n: int, files: int) -> None:
    """Give every job of a real-work row (its floor too) a twin on fewer tests."""
    directories: dict[tuple[str, int], Path] = {}
    for suite, backend in the_plan.rows:
        small = small_count(suite, n, files)
        if small is None:
            continue
        for key in the_plan.row_jobs[(suite.name, backend)]:
            job = the_plan.jobs[key]
            if job.small is not None:
                continue
            where = (job.suite.name, small)
            if where not in directories:
                directories[where] = generate_suite(
                    job.suite, small, files, root / "small"
                )
            job.small = Job(
                key,
                job.suite,
                job.interpreter,
                directories[where],
                job.suite.count(small),
            )


# --- measuring -----------------------------------------------------------------


def warm_up_and_verify(
    the_plan: Plan,
    interpreters: list[_envs.Interpreter],
    root: Path,
    keep_pythonpath: bool,
) -> None:
    """One untimed run of every job (it writes the bytecode caches and checks
    the test count), and one verification run per plugin and backend."""
    verify_dir = generate_verify(root)
    backends = sorted({key.backend for key in the_plan.jobs} - {NO_BACKEND})
    broken: dict[tuple[str, str], str] = {}
    for interpreter in interpreters[1:]:
        for backend in backends:
            error = verify(interpreter, backend, verify_dir, keep_pythonpath)
            status = "ok" if error is None else "FAILED"
            print(f"verify {interpreter.plugin.label} on {backend}: {status}")
            if error is not None:
                print(error, flush=True)
                broken[(interpreter.plugin.key, backend)] = error
    warmed: dict[tuple[str, str, str, str], str | None] = {}
    for key, job in the_plan.jobs.items():
        if (key.plugin, key.backend) in broken:
            job.failure = "verification failed: " + broken[(key.plugin, key.backend)]
            continue
        for sized in job.both_sizes():
            command = (job.suite.name, job.backend, key.plugin, str(sized.expected))
            if command not in warmed:  # a floor serves many rows: warm it once
                warmed[command] = run_once(sized, keep_pythonpath, timeout=900).error
                if warmed[command] is not None:
                    print(f"warm-up {'/'.join(command)} FAILED: {warmed[command]}")
            job.failure = job.failure or warmed[command]
    print("warm-up done", flush=True)


def measure_round(the_plan: Plan, round_number: int, keep_pythonpath: bool) -> None:
    """Run every live job once, alternating plugins within each row."""
    for suite, backend in the_plan.rows:
        keys = the_plan.row_jobs[(suite.name, backend)]
        shift = round_number % len(keys)
        for key in keys[shift:] + keys[:shift]:
            job = the_plan.jobs[key]
            sizes = job.both_sizes()
            if round_number % 2:
                sizes.reverse()
            for sized in sizes:
                if job.failure is not None:
                    break
                sample = run_once(sized, keep_pythonpath, timeout=900)
                if sample.error is not None:
                    print(
                        f"{key.suite}/{key.backend}/{key.plugin} FAILED: {sample.error}"
                    )
                    job.failure = sample.error
                else:
                    sized.samples.append(sample.wall)
                    sized.cpu_samples.append(sample.cpu)
        print(f"  round {round_number + 1}: {suite.name} / {backend} done", flush=True)


def run_reference(python: Path, directory: Path, count: int) -> dict[str, Any]:
    """Loop costs outside pytest (see ``_reference.py``); {} if it fails."""
    cmd = [str(python), str(HERE / "_reference.py"), str(directory), str(count)]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        print(f"reference measurement failed:\n{result.stderr}")
        return {}
    reference: dict[str, Any] = json.loads(result.stdout)
    return reference


# --- metadata --------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git(*args: str) -> str:
    try:
        result = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return ""
    return result.stdout.strip()


def machine_info() -> dict[str, object]:
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "host": socket.gethostname(),
    }


# --- command line --------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="N=200 and 2 runs (unless given)"
    )
    parser.add_argument("--runs", type=int, help="timed runs per job (default 5)")
    parser.add_argument("--n", type=int, help="tests per suite (default 2000)")
    parser.add_argument("--files", type=int, default=20, help="files per suite")
    parser.add_argument(
        "--suites",
        default="*",
        help="comma-separated suite names or globs; known: "
        + ", ".join(s.name for s in SUITES),
    )
    parser.add_argument(
        "--backends",
        default=",".join(ASYNC_BACKENDS),
        help="comma-separated backends for the async suites (default: all)",
    )
    parser.add_argument(
        "--plugins",
        default=",".join(p.key for p in _envs.PLUGINS),
        help="comma-separated: aioloop, asyncio (pytest-asyncio), anyio",
    )
    parser.add_argument(
        "--in-place",
        action="store_true",
        help="use the current python (no venvs), with each plugin importable here",
    )
    parser.add_argument(
        "--venvs", type=Path, default=HERE / ".venvs", help="venv cache folder"
    )
    parser.add_argument(
        "--recreate", action="store_true", help="rebuild the cached venvs"
    )
    parser.add_argument(
        "--pytest", default="==9.*", help="pytest version spec (default ==9.*)"
    )
    parser.add_argument(
        "--results-dir", type=Path, default=HERE / "results", help="where to save"
    )
    parser.add_argument("--no-save", action="store_true", help="print only")
    parser.add_argument(
        "--no-reference",
        action="store_true",
        help="skip the loop costs measured outside pytest",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the generated suites and say where"
    )
    args = parser.parse_args(argv)
    args.runs = args.runs or (2 if args.quick else 5)
    args.n = args.n or (200 if args.quick else 2000)
    if args.runs < 1 or args.n < 1 or args.files < 1:
        parser.error("--runs, --n and --files must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    wanted = [p.strip() for p in args.plugins.split(",") if p.strip()]
    unknown = [key for key in wanted if key not in _envs.PLUGINS_BY_KEY]
    if unknown:
        raise SystemExit(f"unknown plugin(s) {unknown}; known: aioloop, asyncio, anyio")
    plugins = [p for p in _envs.PLUGINS if p.key in wanted]
    if args.in_place:
        interpreters = _envs.in_place(plugins)
    else:
        interpreters = _envs.build_venvs(
            plugins, args.venvs, args.pytest, REPO, args.recreate
        )
    if len(interpreters) < 2:
        print("no plugin to measure")
    xdist = all(_envs.xdist_available(i) for i in interpreters)
    patterns = [p.strip() for p in args.suites.split(",") if p.strip()]
    suites = select_suites(patterns, xdist)

    root = Path(tempfile.mkdtemp(prefix="aioloop-bench-"))
    try:
        backends = {b.strip() for b in args.backends.split(",")}
        the_plan = plan(suites, interpreters, root, args.n, args.files, backends)
        add_small_twins(the_plan, root, args.n, args.files)
        print(f"{len(the_plan.jobs)} jobs, {args.runs} runs each, suites in {root}")
        warm_up_and_verify(the_plan, interpreters, root, args.in_place)
        meta = {
            "started": started.isoformat(timespec="seconds"),
            "command": " ".join(["python", "benchmarks/run.py", *sys.argv[1:]])
            if argv is None
            else " ".join(["python", "benchmarks/run.py", *argv]),
            "n": args.n,
            "files": args.files,
            "runs": args.runs,
            "in_place": args.in_place,
            "machine": machine_info(),
            "git": {
                "commit": _git("rev-parse", "--short", "HEAD"),
                "dirty": bool(
                    _git("status", "--porcelain", "--", "plugin", "backends")
                ),
            },
            "versions": {i.plugin.key: i.versions for i in interpreters},
        }
        reference: dict[str, Any] = {}
        for round_number in range(args.runs):
            measure_round(the_plan, round_number, args.in_place)
            report = _report.build(
                meta,
                [i.plugin.key for i in interpreters[1:]],
                [(suite.name, backend) for suite, backend in the_plan.rows],
                the_plan.row_jobs,
                the_plan.jobs,
            )
            if round_number == args.runs - 1 and not args.no_reference:
                reference = run_reference(
                    interpreters[0].python, root / "_verify", min(args.n, 2000)
                )
            report["reference"] = reference
            if not args.no_save:
                paths = _report.save(report, args.results_dir, started)
        print()
        print(_report.markdown(report))
        if not args.no_save:
            print("saved " + " and ".join(str(p) for p in paths))
    finally:
        if args.keep:
            print(f"generated suites kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    failed = [job for job in the_plan.jobs.values() if job.failure is not None]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
