"""Where one more test's instructions go, per Python function of the plugin.

    python3.14 benchmarks/attribute.py --suite module              # ~3 min
    python3.14 benchmarks/attribute.py --suite function --backend uvloop --sizes 20,220
    python3.14 benchmarks/attribute.py --suite module --against-floor   # ~5 min

Runs one generated suite (``_suites.py``) with the current python and the
plugin installed in it, under ``valgrind --tool=callgrind``, at two sizes,
with ``python -X perf`` (CPython 3.12+ on Linux): every Python function then
runs through a trampoline of its own, listed in ``/tmp/perf-PID.map``, so
callgrind counts each function's inclusive instructions. The difference
between the two sizes, divided by the difference in tests, is what one more
test costs in each function, start-up cancelled out. Instruction counts are
machine-independent, so the shares hold on a busy machine.

The trampolines themselves cost instructions: compare rows with each other,
and whole runs with ``instructions.py``, not with its figures.

``--against-floor`` also runs the suite's own floor (the same test files with
no plugin: a bare loop per test, or one loop kept for the run, made by a
10-line conftest hook) at the same sizes, and lists every function, pytest's
and asyncio's too, by what one more test costs in it over the floor: where
the suite's cost over its floor goes, step by step.
"""

from __future__ import annotations

import argparse
import bisect
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import _envs
from _suites import SUITES_BY_NAME, Suite
from _suites import generate as generate_suite
from instructions import steady_gc_dir
from run import _child_env

#: An inclusive row of ``callgrind_annotate``: count, then a function that
#: callgrind could not name (a perf trampoline) at an address.
_ROW = re.compile(r"\s*([\d,]+) \([^)]*\)\s+\?\?\?:0x([0-9a-f]+)\S* \[\?\?\?\]")


#: Where the plugin's and the backends' functions live (``py::name:path``).
_OURS = (f"{os.sep}pytest_aioloop{os.sep}", f"{os.sep}aioloop{os.sep}")


def _functions(out: Path, perf_map: Path) -> dict[str, int]:
    """Inclusive instructions per Python function (``py::name:file``)."""
    spans = []
    for line in perf_map.read_text().splitlines():
        start_hex, size_hex, name = line.split(" ", 2)
        spans.append((int(start_hex, 16), int(size_hex, 16), name))
    spans.sort()
    starts = [span[0] for span in spans]
    annotated = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(out)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    counts: dict[str, int] = {}
    for line in annotated.splitlines():
        match = _ROW.match(line)
        if match is None:
            continue
        address = int(match.group(2), 16)
        index = bisect.bisect_right(starts, address) - 1
        if index < 0:
            continue
        start, size, name = spans[index]
        if start <= address < start + size:
            count = int(match.group(1).replace(",", ""))
            # (a function on a recursion cycle is listed once per level)
            counts[name] = max(counts.get(name, 0), count)
    return counts


def _run(
    cmd: list[str], directory: Path, env: dict[str, str], out: Path
) -> tuple[Path, int]:
    """Run ``cmd`` under callgrind: its perf map and its instruction count."""
    counted = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *cmd],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    # "==PID== Collected : COUNT": the pid names the perf map
    match = re.search(r"==(\d+)== Collected\s*:\s*(\d+)", counted.stderr)
    if counted.returncode != 0 or match is None:
        raise SystemExit(
            f"{' '.join(cmd)} failed under valgrind:\n{counted.stdout[-2000:]}"
            f"{counted.stderr[-2000:]}"
        )
    return Path(f"/tmp/perf-{match.group(1)}.map"), int(match.group(2))


def _env(plugin: str, backend: str, gc_dir: Path | None) -> dict[str, str]:
    """A measured child's environment: fixed hash seed, no bytecode written,
    full collections held off with ``--steady-gc``."""
    env = _child_env(plugin, backend, True)
    env["PYTHONHASHSEED"] = "0"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if gc_dir is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(gc_dir), env.get("PYTHONPATH", "")) if p
        )
    return env


def _per_test(
    suite: Suite,
    cmd: list[str],
    env: dict[str, str],
    root: Path,
    small: int,
    large: int,
) -> tuple[dict[str, float], float]:
    """Instructions one more test costs in each function, and in the whole run."""
    cmd = [cmd[0], "-X", "perf", *cmd[1:]]
    per_size = []
    totals = []
    for size in (small, large):
        directory = generate_suite(
            suite, size, max(1, min(10, size)), root / suite.name / str(size)
        )
        out = root / f"callgrind-{suite.name}-{size}.out"
        perf_map, total = _run(cmd, directory, env, out)
        # the generated files' functions under one name at both sizes, and
        # in the suite and its floor
        per_size.append(
            {
                name.replace(str(directory), "<suite>"): count
                for name, count in _functions(out, perf_map).items()
            }
        )
        totals.append(total)
        perf_map.unlink(missing_ok=True)
    tests = suite.count(large) - suite.count(small)
    names = per_size[0].keys() | per_size[1].keys()
    return {
        name: (per_size[1].get(name, 0) - per_size[0].get(name, 0)) / tests
        for name in names
    }, (totals[1] - totals[0]) / tests


def _shown(name: str) -> str:
    """``function  (where)``, the path cut to the package or the library."""
    function, _, path = name.removeprefix("py::").partition(":")
    for marker in ("/plugin/", "/backends/", "/site-packages/", "/lib/python"):
        if marker in path:
            path = path.split(marker, 1)[-1]
            break
    return f"{function}  ({path})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", default="module", choices=sorted(SUITES_BY_NAME))
    parser.add_argument("--backend", default="asyncio")
    parser.add_argument("--sizes", default="20,120", help="two test counts")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument(
        "--all", action="store_true", help="every function, not only the plugin's"
    )
    parser.add_argument(
        "--steady-gc", action="store_true", help="as in instructions.py"
    )
    parser.add_argument(
        "--against-floor",
        action="store_true",
        help="every function by its cost per test over the suite's own floor",
    )
    args = parser.parse_args(argv)
    if not hasattr(sys, "activate_stack_trampoline"):
        parser.error("-X perf needs CPython 3.12 or newer, on Linux")
    if shutil.which("valgrind") is None or shutil.which("callgrind_annotate") is None:
        print("valgrind is not installed (Debian: apt install valgrind)")
        return 2
    suite = SUITES_BY_NAME[args.suite]
    floor_name = suite.loop_floor
    if args.against_floor and floor_name is None:
        parser.error(f"suite {args.suite!r} has no floor of its own")
    small, large = (int(s) for s in args.sizes.split(","))
    floor_interpreter, ours = _envs.in_place([_envs.PLUGINS_BY_KEY["aioloop"]])
    root = Path(tempfile.mkdtemp(prefix="aioloop-attribute-"))
    try:
        gc_dir = steady_gc_dir(root) if args.steady_gc else None
        ours_per_test, ours_total = _per_test(
            suite,
            ours.command(args.backend, suite.pytest_args),
            _env(ours.plugin.key, args.backend, gc_dir),
            root,
            small,
            large,
        )
        title = (
            f"{args.suite} on {args.backend}, {sys.implementation.name} "
            f"{sys.version.split()[0]}: inclusive instructions per test "
            f"({small} -> {large} tests)"
        )
        if not args.against_floor:
            own = [
                (delta, name)
                for name, delta in ours_per_test.items()
                if (args.all or any(part in name for part in _OURS))
                and abs(delta) >= 50
            ]
            own.sort(reverse=True)
            print(f"{title}, functions over 0.05 kI")
            for delta, name in own[: args.top]:
                print(f"{delta / 1000:9.1f} kI  {_shown(name)}")
            return 0
        assert floor_name is not None
        floor_suite = SUITES_BY_NAME[floor_name]
        floor_per_test, floor_total = _per_test(
            floor_suite,
            floor_interpreter.command(args.backend, floor_suite.pytest_args),
            _env(floor_interpreter.plugin.key, args.backend, gc_dir),
            root,
            small,
            large,
        )
        print(f"{title}, against its floor {floor_name} (no plugin)")
        print(
            f"whole run: {(ours_total - floor_total) / 1000:+.1f} kI per test over "
            f"the floor (this suite {ours_total / 1000:.1f}, the floor "
            f"{floor_total / 1000:.1f})"
        )
        print(f"{'over floor':>10} {'suite':>9} {'floor':>9}  function")
        rows = [
            (
                ours_per_test.get(name, 0) - floor_per_test.get(name, 0),
                ours_per_test.get(name, 0),
                floor_per_test.get(name, 0),
                name,
            )
            for name in ours_per_test.keys() | floor_per_test.keys()
        ]
        rows = [row for row in rows if abs(row[0]) >= 1000]
        rows.sort(key=lambda row: -abs(row[0]))
        for delta, mine, theirs, name in rows[: args.top]:
            print(
                f"{delta / 1000:+10.1f} {mine / 1000:9.1f} {theirs / 1000:9.1f}  "
                f"{_shown(name)}"
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
