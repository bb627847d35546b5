"""Profile pytest-aioloop on one generated suite and say where its time goes.

    python benchmarks/profile_plugin.py                       # function loop
    python benchmarks/profile_plugin.py --suite asyncgen-fixture --backend uvloop
    python benchmarks/profile_plugin.py --pyinstrument        # also a call tree

Runs ``python -m cProfile -m pytest`` in the pytest-aioloop venv made by
``run.py`` (or the current python with ``--in-place``) on a suite from
``_suites.py`` and prints, per test:

- the time spent inside pytest-aioloop and aioloop code, counted from the
  calls that enter it (hook implementations, fixtures, runner callbacks);
- our functions by inclusive and by self time;
- the functions outside our code that our code spends the most time in.

cProfile slows everything down, so compare the shares, not the µs, with
``run.py``'s table.
"""

from __future__ import annotations

import argparse
import os
import pstats
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from _envs import source_copy
from _suites import SUITES_BY_NAME
from _suites import generate as generate_suite

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
VENVS = HERE / ".venvs"
#: The working tree (--in-place) and the copy the venv runs (see _envs.py).
OUR_CODE = tuple(
    str(root / part)
    for root in (REPO, source_copy(VENVS))
    for part in ("plugin/pytest_aioloop", "backends/aioloop")
)

Func = tuple[str, int, str]  # pstats' (file, line, name)


def ours(func: Func) -> bool:
    return func[0].startswith(OUR_CODE)


def label(func: Func) -> str:
    path, line, name = func
    for root in (str(source_copy(VENVS)) + os.sep, str(REPO) + os.sep):
        path = path.removeprefix(root)
    if "site-packages" in path:
        path = path.split("site-packages" + os.sep, 1)[1]
    return f"{name} ({path}:{line})" if line else name


def analyse(profile: Path, tests: int, top: int) -> str:
    """A plain-text digest of ``profile`` for a run of ``tests`` tests."""
    stats = pstats.Stats(str(profile)).stats  # type: ignore[attr-defined]
    total = max(ct for (_, _, _, ct, _) in stats.values())
    entered: dict[Func, float] = {}  # our functions: time when called from outside
    used: dict[Func, float] = {}  # outside functions: time when called by us
    self_time: dict[Func, float] = {}
    for func, (_, _, tt, _, callers) in stats.items():
        if ours(func):
            self_time[func] = tt
        for caller, (_, _, _, ct) in callers.items():
            if ours(func) and not ours(caller):
                entered[func] = entered.get(func, 0.0) + ct
            elif not ours(func) and ours(caller):
                used[func] = used.get(func, 0.0) + ct

    def per_test(seconds: float) -> str:
        return f"{seconds / tests * 1e6:8.1f} µs/test"

    def ranking(title: str, values: dict[Func, float]) -> Iterable[str]:
        yield f"\n{title}"
        for func, seconds in sorted(values.items(), key=lambda kv: -kv[1])[:top]:
            share = seconds / total * 100
            yield f"  {per_test(seconds)} {share:5.1f}%  {label(func)}"

    # Entries straight from pytest or pluggy (hooks, fixtures) do not nest in
    # one another; entries from asyncio or importlib may (a callback inside
    # our own run_until_complete), so only the former are summed.
    from_pytest = sum(
        ct
        for func, (_, _, _, _, callers) in stats.items()
        if ours(func)
        for caller, (_, _, _, ct) in callers.items()
        if not ours(caller) and ("pluggy" in caller[0] or "_pytest" in caller[0])
    )
    lines = [
        f"profile: {profile}",
        f"whole run under cProfile: {total:.2f} s = {per_test(total).strip()}",
        f"in our hooks and fixtures (called by pytest/pluggy), inclusive: "
        f"{per_test(from_pytest).strip()} ({from_pytest / total * 100:.1f}%)",
        f"self time in our code: {per_test(sum(self_time.values())).strip()}",
        *ranking("our code entered from outside, inclusive:", entered),
        *ranking("our code, self time:", self_time),
        *ranking("outside code called by ours, inclusive:", used),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--suite", default="function", choices=sorted(SUITES_BY_NAME))
    parser.add_argument("--backend", default="asyncio", choices=("asyncio", "uvloop"))
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument(
        "--in-place", action="store_true", help="profile with the current python"
    )
    parser.add_argument(
        "--out", type=Path, default=HERE / "profiles", help="where .prof files go"
    )
    parser.add_argument(
        "--pyinstrument",
        action="store_true",
        help="also write a pyinstrument call tree (installs it in the venv)",
    )
    args = parser.parse_args(argv)
    venv_python = VENVS / "aioloop" / "bin" / "python"
    python = Path(sys.executable) if args.in_place else venv_python
    if not python.exists():
        raise SystemExit(f"{python} is missing: run benchmarks/run.py first")
    suite = SUITES_BY_NAME[args.suite]
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"{suite.name}-{args.backend}"
    pytest_args = ["-q", "-p", "no:cacheprovider", *suite.pytest_args]
    if args.backend == "uvloop":
        pytest_args.append("--asyncio-backend=uvloop")
    if args.in_place:
        pytest_args += ["-p", "no:anyio", "-p", "no:asyncio"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(BENCH_PLUGIN="aioloop", BENCH_BACKEND=args.backend)
    if not args.in_place:
        # The venv runs run.py's copy of the source; profile the working tree
        # as it is now, without touching that copy (a run may be using it).
        tree = [str(REPO / "plugin"), str(REPO / "backends")]
        env["PYTHONPATH"] = os.pathsep.join(tree)
    with tempfile.TemporaryDirectory(prefix="aioloop-profile-") as tmp:
        directory = generate_suite(suite, args.n, args.files, Path(tmp))

        def run(*prefix: str) -> None:
            cmd = [str(python), *prefix, "-m", "pytest", *pytest_args]
            subprocess.run(
                cmd, cwd=directory, env=env, check=True, stdout=subprocess.DEVNULL
            )

        run()  # untimed: writes the bytecode caches
        run("-m", "cProfile", "-o", f"{stem}.prof")
        if args.pyinstrument:
            if not args.in_place:
                pip = [str(python), "-m", "pip", "install", "-q", "pyinstrument"]
                subprocess.run(pip, check=True)
            run("-m", "pyinstrument", "-r", "text", "-o", f"{stem}.pyinstrument.txt")
    print(analyse(Path(f"{stem}.prof"), suite.count(args.n), args.top))
    if args.pyinstrument:
        print(f"\ncall tree: {stem}.pyinstrument.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
