"""Where one more test's instructions go, per Python function of the plugin.

    python3.14 benchmarks/attribute.py --suite module              # ~3 min
    python3.14 benchmarks/attribute.py --suite function --backend uvloop --sizes 20,220

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
from _suites import SUITES_BY_NAME
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


def _run(cmd: list[str], directory: Path, env: dict[str, str], out: Path) -> Path:
    counted = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *cmd],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(r"==(\d+)== Collected", counted.stderr)
    if counted.returncode != 0 or match is None:
        raise SystemExit(
            f"{' '.join(cmd)} failed under valgrind:\n{counted.stdout[-2000:]}"
            f"{counted.stderr[-2000:]}"
        )
    return Path(f"/tmp/perf-{match.group(1)}.map")


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
    args = parser.parse_args(argv)
    if not hasattr(sys, "activate_stack_trampoline"):
        parser.error("-X perf needs CPython 3.12 or newer, on Linux")
    if shutil.which("valgrind") is None or shutil.which("callgrind_annotate") is None:
        print("valgrind is not installed (Debian: apt install valgrind)")
        return 2
    suite = SUITES_BY_NAME[args.suite]
    small, large = (int(s) for s in args.sizes.split(","))
    ours = _envs.in_place([_envs.PLUGINS_BY_KEY["aioloop"]])[1]
    root = Path(tempfile.mkdtemp(prefix="aioloop-attribute-"))
    try:
        env = _child_env("aioloop", args.backend, True)
        env["PYTHONHASHSEED"] = "0"
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        if args.steady_gc:
            gc_dir = steady_gc_dir(root)
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(gc_dir), env.get("PYTHONPATH", "")) if p
            )
        cmd = ours.command(args.backend, suite.pytest_args)
        cmd = [cmd[0], "-X", "perf", *cmd[1:]]
        per_size = []
        for size in (small, large):
            directory = generate_suite(
                suite, size, max(1, min(10, size)), root / str(size)
            )
            out = root / f"callgrind-{size}.out"
            perf_map = _run(cmd, directory, env, out)
            per_size.append(_functions(out, perf_map))
            perf_map.unlink(missing_ok=True)
        tests = suite.count(large) - suite.count(small)
        rows = []
        for name in set(per_size[0]) | set(per_size[1]):
            if not args.all and not any(part in name for part in _OURS):
                continue
            delta = (per_size[1].get(name, 0) - per_size[0].get(name, 0)) / tests
            if abs(delta) >= 50:
                rows.append((delta, name.removeprefix("py::")))
        rows.sort(reverse=True)
        print(
            f"{args.suite} on {args.backend}, {sys.implementation.name} "
            f"{sys.version.split()[0]}: inclusive instructions per test "
            f"({small} -> {large} tests), functions over 0.05 kI"
        )
        for delta, name in rows[: args.top]:
            function, _, path = name.partition(":")
            where = path.split("/plugin/", 1)[-1].split("/backends/", 1)[-1]
            print(f"{delta / 1000:9.1f} kI  {function}  ({where})")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
