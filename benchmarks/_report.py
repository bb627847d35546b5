"""Turn the measured samples into a table (markdown) and a record (JSON)."""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Protocol

from _suites import NO_BACKEND, SUITES_BY_NAME

OURS = "aioloop"
LABELS = {
    "none": "floor",
    "bare": "no plugin",
    "aioloop": "pytest-aioloop",
    "asyncio": "pytest-asyncio",
    "anyio": "anyio",
}


@dataclass(frozen=True, slots=True, order=True)
class JobKey:
    """One suite on one backend under one plugin (``none`` for the floor)."""

    suite: str
    backend: str
    plugin: str


class Measured(Protocol):
    samples: list[float]
    cpu_samples: list[float]
    failure: str | None
    expected: int

    @property
    def small(self) -> Measured | None:
        """The same job on fewer tests (real-work rows), or None."""


def _median(job: Measured | None, *, cpu: bool = False) -> float | None:
    if job is None or job.failure is not None or not job.samples:
        return None
    return statistics.median(job.cpu_samples if cpu else job.samples)


def _slope(job: Measured, *, cpu: bool) -> float | None:
    """What one more test costs, in µs: the job's median less its small
    twin's, over the difference in tests (start-up cancelled out)."""
    small = job.small
    large_median = _median(job, cpu=cpu)
    if small is None or large_median is None or small.expected >= job.expected:
        return None
    small_median = _median(small, cpu=cpu)
    if small_median is None:
        return None
    return (large_median - small_median) / (job.expected - small.expected) * 1e6


def build(
    meta: Mapping[str, Any],
    plugins: Sequence[str],
    rows: Sequence[tuple[str, str]],
    row_jobs: Mapping[tuple[str, str], Sequence[JobKey]],
    jobs: Mapping[JobKey, Measured],
) -> dict[str, Any]:
    """The whole result as plain data (what the JSON file holds)."""
    startup: dict[str, float] = {}
    startup_cpu: dict[str, float] = {}
    for use_cpu, into in ((False, startup), (True, startup_cpu)):
        floor_job = jobs.get(JobKey("startup", NO_BACKEND, "none"))
        floor_startup = _median(floor_job, cpu=use_cpu)
        for plugin in plugins:
            job = jobs.get(JobKey("startup", NO_BACKEND, plugin))
            median = _median(job, cpu=use_cpu)
            if median is not None and floor_startup is not None:
                into[plugin] = median - floor_startup

    out_rows = []
    for suite_name, backend in rows:
        floor_key, *plugin_keys = row_jobs[(suite_name, backend)]
        floor = _median(jobs[floor_key])
        floor_cpu = _median(jobs[floor_key], cpu=True)
        cells: dict[str, dict[str, Any]] = {}
        for key in plugin_keys:
            job = jobs[key]
            median = _median(job)
            cpu = _median(job, cpu=True)
            cell: dict[str, Any] = {
                "median_s": median,
                "samples_s": job.samples,
                "cpu_median_s": cpu,
                "cpu_samples_s": job.cpu_samples,
                "failure": job.failure,
            }
            if cpu is not None and floor_cpu is not None:
                cell["cpu_us_per_test"] = (cpu - floor_cpu) / job.expected * 1e6
                if key.plugin in startup_cpu:
                    cell["cpu_us_per_test_excl_startup"] = (
                        (cpu - floor_cpu - startup_cpu[key.plugin]) / job.expected * 1e6
                    )
            for use_cpu, name in (
                (False, "us_per_test_2"),
                (True, "cpu_us_per_test_2"),
            ):
                slope = _slope(job, cpu=use_cpu)
                floor_slope = _slope(jobs[floor_key], cpu=use_cpu)
                if slope is not None and floor_slope is not None:
                    cell[name] = slope - floor_slope
            if median is not None and floor is not None:
                per_test = (median - floor) / job.expected * 1e6
                cell["us_per_test"] = per_test
                if key.plugin in startup:
                    cell["us_per_test_excl_startup"] = (
                        (median - floor - startup[key.plugin]) / job.expected * 1e6
                    )
            cells[key.plugin] = cell
        out_rows.append(
            {
                "suite": suite_name,
                "backend": backend,
                "tests": jobs[plugin_keys[0]].expected if plugin_keys else None,
                "floor_suite": floor_key.suite,
                "floor_median_s": floor,
                "floor_samples_s": jobs[floor_key].samples,
                "floor_cpu_median_s": floor_cpu,
                "floor_cpu_samples_s": jobs[floor_key].cpu_samples,
                "cells": cells,
                "ratios": _ratios(cells, floor),
            }
        )
    report: dict[str, Any] = {
        "meta": dict(meta),
        "plugins": list(plugins),
        "startup_over_floor_s": startup,
        "startup_cpu_over_floor_s": startup_cpu,
        "rows": out_rows,
    }
    report["targets"] = targets(report)
    return report


def _ratios(
    cells: Mapping[str, Mapping[str, Any]], floor: float | None
) -> dict[str, dict[str, float | None]]:
    ours = cells.get(OURS, {})
    out: dict[str, dict[str, float | None]] = {}
    for peer, cell in cells.items():
        if peer == OURS:
            continue
        wall = overhead = None
        if ours.get("median_s") and cell.get("median_s"):
            wall = ours["median_s"] / cell["median_s"]
            if floor is not None:
                a, b = ours["median_s"] - floor, cell["median_s"] - floor
                overhead = a / b if a > 0 and b > 0 else None
        out[peer] = {"wall": wall, "overhead": overhead}
    return out


# --- targets (issue 7) ---------------------------------------------------------


def _cell(
    report: Mapping[str, Any], suite: str, backend: str, plugin: str
) -> dict[str, Any]:
    for row in report["rows"]:
        if row["suite"] == suite and row["backend"] == backend:
            cell: dict[str, Any] = row["cells"].get(plugin, {})
            return cell
    return {}


def _value(
    report: Mapping[str, Any], check: str, plugin: str, *, cpu: bool
) -> float | None:
    """The measured value of one target check for one plugin, from wall time
    or from CPU time."""
    kind, _, arg = check.partition(":")
    prefix = "cpu_" if cpu else ""
    if kind == "startup_ms":
        value = report[f"startup_{prefix}over_floor_s"].get(plugin)
        return None if value is None else value * 1e3
    if kind in ("collect_ratio", "uvloop_ratio"):
        if kind == "collect_ratio":
            base = _cell(report, "collect-sync", NO_BACKEND, plugin)
            other = _cell(report, "collect-async", "asyncio", plugin)
        else:
            base = _cell(report, arg, "asyncio", plugin)
            other = _cell(report, arg, "uvloop", plugin)
            # What one more test costs over the sync floor (two sizes), when
            # measured: whole-process times would count pytest's start-up and
            # uvloop's import, the same size as the tests' difference.
            a, b = (cell.get(f"{prefix}us_per_test_2") for cell in (other, base))
            if a is not None and b is not None:
                # (a cost at or below the floor's is noise: no ratio)
                return a / b if a > 0 and b > 0 else None
        a, b = other.get(f"{prefix}median_s"), base.get(f"{prefix}median_s")
        return a / b if a and b else None
    suite, _, backend = arg.partition("/")
    name = "us_per_test_excl_startup" if kind == "excl" else "us_per_test"
    value = _cell(report, suite, backend, plugin).get(prefix + name)
    return None if value is None else float(value)


REFERENCE_UNIT: Final = "x (reference)"

#: (what, check, limit, unit): a check is met when the value is <= limit
#: (for ``uvloop_ratio``: < limit).
TARGETS: tuple[tuple[str, str, float, str], ...] = (
    ("function loop", "us:function/asyncio", 80, "µs/test"),
    ("module loop", "us:module/asyncio", 30, "µs/test"),
    ("session loop", "us:session/asyncio", 30, "µs/test"),
    ("function async-gen fixture", "us:asyncgen-fixture/asyncio", 150, "µs/test"),
    ("function loop on uvloop", "us:function/uvloop", 120, "µs/test"),
    ("installed, sync tests (excl. start-up)", "excl:sync/-", 5, "µs/test"),
    ("installed, start-up", "startup_ms", 20, "ms"),
    ("--collect-only 10N async / sync", "collect_ratio", 1.1, "x"),
    ("real work: uvloop / asyncio time", "uvloop_ratio:real-work", 1.0, "x (< 1)"),
    (
        "real work, session loop: uvloop / asyncio time",
        "uvloop_ratio:real-work-session",
        1.0,
        "x (< 1)",
    ),
    # Not a target: the same body in sync tests on a kept loop, the plugins
    # installed but unused; what the backends do inside a pytest process.
    (
        "for comparison, no async plugin at work: the real-work body in sync "
        "tests on a kept loop, uvloop / asyncio time",
        "uvloop_ratio:real-work-floor",
        1.0,
        REFERENCE_UNIT,
    ),
)


def targets(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    def met(value: float | None, check: str, limit: float, unit: str) -> bool | None:
        if value is None or unit == REFERENCE_UNIT:
            return None
        return value < limit if check.startswith("uvloop_ratio") else value <= limit

    out = []
    for what, check, limit, unit in TARGETS:
        plugins = report["plugins"]
        values = {p: _value(report, check, p, cpu=False) for p in plugins}
        cpu_values = {p: _value(report, check, p, cpu=True) for p in plugins}
        out.append(
            {
                "target": what,
                "limit": limit,
                "unit": unit,
                "values": values,
                "cpu_values": cpu_values,
                "met": met(values.get(OURS), check, limit, unit),
                "met_cpu": met(cpu_values.get(OURS), check, limit, unit),
            }
        )
    return out


# --- markdown --------------------------------------------------------------------


def _s(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _us(cell: Mapping[str, Any], suite: str) -> str:
    if cell.get("failure"):
        return "failed"
    value = cell.get("us_per_test")
    if value is None:
        return "—"
    if SUITES_BY_NAME[suite].fixed_count == 1:
        return f"{value / 1e3:+.0f} ms"
    return f"{value:+.0f}"


def _ratio(ratio: Mapping[str, float | None] | None) -> str:
    if not ratio or ratio.get("wall") is None:
        return "—"
    text = f"{ratio['wall']:.2f}x"
    if ratio.get("overhead") is not None:
        text += f" ({ratio['overhead']:.2f}x)"
    return text


def _table(header: list[str], lines: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]

    def fmt(cells: list[str]) -> str:
        padded = (c.ljust(w) for c, w in zip(cells, widths, strict=True))
        return "| " + " | ".join(padded) + " |"

    rule = "| " + " | ".join("-" * w for w in widths) + " |"
    return "\n".join([fmt(header), rule, *(fmt(line) for line in lines)])


def main_table(report: Mapping[str, Any]) -> str:
    plugins: list[str] = report["plugins"]
    peers = [p for p in plugins if p != OURS] if OURS in plugins else []
    header = ["suite", "backend", "tests", "floor s"]
    header += [f"{LABELS[p]} s" for p in plugins]
    header += [f"{LABELS[p]} µs/test" for p in plugins]
    header += [f"ours ÷ {LABELS[p]}" for p in peers]
    lines = []
    for row in report["rows"]:
        cells = row["cells"]
        line = [row["suite"], row["backend"], str(row["tests"])]
        line.append(_s(row["floor_median_s"]))
        line += [_s(cells[p].get("median_s")) for p in plugins]
        line += [_us(cells[p], row["suite"]) for p in plugins]
        line += [_ratio(row["ratios"].get(p)) for p in peers]
        lines.append(line)
    return _table(header, lines)


def cpu_table(report: Mapping[str, Any]) -> str:
    plugins: list[str] = report["plugins"]
    header = ["suite", "backend", "floor CPU s"]
    header += [f"{LABELS[p]} CPU µs/test" for p in plugins]
    lines = []
    for row in report["rows"]:
        cells = row["cells"]
        line = [row["suite"], row["backend"], _s(row["floor_cpu_median_s"])]
        for p in plugins:
            value = cells[p].get("cpu_us_per_test")
            if cells[p].get("failure") or value is None:
                line.append(_us(cells[p], row["suite"]))
            elif SUITES_BY_NAME[row["suite"]].fixed_count == 1:
                line.append(f"{value / 1e3:+.0f} ms")
            else:
                line.append(f"{value:+.0f}")
        lines.append(line)
    return _table(header, lines)


def _target_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit.startswith("x"):
        return f"{value:.2f}x"
    return f"{value:+.0f}" if unit != "ms" else f"{value:+.0f} ms"


def targets_table(report: Mapping[str, Any]) -> str:
    plugins: list[str] = report["plugins"]
    header = ["target", "limit", *(f"{LABELS[p]} wall (CPU)" for p in plugins)]
    header.append("met by ours: wall / CPU")
    words = {True: "yes", False: "**no**", None: "—"}
    lines = []
    for target in report["targets"]:
        if not any(v is not None for v in target["values"].values()):
            continue
        unit = target["unit"]
        limit = f"≤ {target['limit']:g} {unit}"
        if unit.startswith("x (<"):
            limit = f"< {target['limit']:g}x"
        elif unit == REFERENCE_UNIT:
            limit = "—"
        values = [
            f"{_target_value(target['values'].get(p), unit)} "
            f"({_target_value(target['cpu_values'].get(p), unit)})"
            for p in plugins
        ]
        met = f"{words[target['met']]} / {words[target['met_cpu']]}"
        lines.append([target["target"], limit, *values, met])
    return _table(header, lines)


#: (what, suite, its reference figure outside pytest)
_UVLOOP_ROWS: Final = (
    ("a new loop per test", "real-work", "real-work body, a new loop each"),
    ("one loop kept", "real-work-session", "real-work body, shared loop"),
)


def _uvloop_cell(uvloop: float | None, asyncio: float | None) -> str:
    if uvloop is None or asyncio is None or asyncio <= 0:
        return "—"
    return f"{uvloop / asyncio:.2f}x ({uvloop:+.0f} / {asyncio:+.0f})"


def uvloop_table(report: Mapping[str, Any]) -> str | None:
    """uvloop ÷ asyncio for the real-work body, in CPU time per test over
    the sync floor (two sizes): under each plugin, with no plugin (the body
    in sync tests on a kept loop) and outside pytest; None if not measured."""
    plugins: list[str] = report["plugins"]
    reference: Mapping[str, Mapping[str, float]] = report.get("reference") or {}
    header = ["real-work body", *(LABELS[p] for p in plugins), "no plugin"]
    header.append("outside pytest")
    lines = []
    for what, suite, operation in _UVLOOP_ROWS:
        line = [f"{what} (`{suite}`)"]
        for plugin in plugins:
            values = (
                _cell(report, suite, backend, plugin).get("cpu_us_per_test_2")
                for backend in ("uvloop", "asyncio")
            )
            line.append(_uvloop_cell(*values))
        bare = "—"
        if suite == "real-work-session":
            bare = _uvloop_cell(
                *(
                    _cell(report, "real-work-floor", b, "bare").get("cpu_us_per_test_2")
                    for b in ("uvloop", "asyncio")
                )
            )
        line.append(bare)
        line.append(
            _uvloop_cell(
                *(reference.get(b, {}).get(operation) for b in ("uvloop", "asyncio"))
            )
        )
        lines.append(line)
    if all(cell == "—" for line in lines for cell in line[1:]):
        return None
    return _table(header, lines)


def reference_table(report: Mapping[str, Any]) -> str:
    reference: Mapping[str, Mapping[str, float]] = report["reference"]
    backends = list(reference)
    operations = list(reference[backends[0]])
    header = ["CPU µs per operation (median of 5)", *backends]
    lines = [[op, *(f"{reference[b][op]:.1f}" for b in backends)] for op in operations]
    text = _table(header, lines)
    return text + (
        "\n\nThe floor of a function-loop test is one loop made and closed plus "
        "one `run_until_complete`. `real-work body` is the `real-work` suites' "
        "test body run without pytest, on one long-lived loop (as "
        "`real-work-session` runs it) and on a new loop each time (made, "
        "the body run, async generators and the default executor shut down, "
        "closed: what a `real-work` test's own loop has to do), so the two "
        "backends compare without pytest."
    )


def versions_table(report: Mapping[str, Any]) -> str:
    versions: Mapping[str, Mapping[str, str]] = report["meta"]["versions"]
    names = sorted({name for v in versions.values() for name in v})
    header = ["package", *(LABELS[k] for k in versions)]
    lines = [[name, *(v.get(name, "") for v in versions.values())] for name in names]
    return _table(header, lines)


def markdown(report: Mapping[str, Any]) -> str:
    meta = report["meta"]
    machine = meta["machine"]
    dirty = " (plugin/backends modified)" if meta["git"]["dirty"] else ""
    suites = sorted(
        {row["suite"] for row in report["rows"]}, key=list(SUITES_BY_NAME).index
    )
    failures = [
        f"- {row['suite']} / {row['backend']} / {LABELS[p]}: "
        + str(cell["failure"]).splitlines()[0]
        for row in report["rows"]
        for p, cell in row["cells"].items()
        if cell.get("failure")
    ]
    parts = [
        "# pytest-aioloop benchmark",
        "",
        f"{meta['started']} on {machine['host']}, git {meta['git']['commit']}{dirty}",
        "",
        f"    {meta['command']}",
        "",
        f"N = {meta['n']} tests in {meta['files']} files per suite, {meta['runs']} "
        "timed runs per cell, plugins alternating within each suite. Cells are "
        "the median whole-process wall time of `python -m pytest -q -p "
        "no:cacheprovider`; **µs/test** = (median - floor median) / tests, where "
        "the floor is the same number of sync tests run with no async plugin "
        "(for `collect-async` the `collect-sync` floor, for `xdist-*` the "
        "`xdist-sync` floor). **ours ÷ peer** is the wall-time ratio, with the "
        "ratio of the costs over the floor in brackets.",
        "",
        "**The machine is shared and noisy: read ratios within one run, not "
        "absolute times.**",
        "",
        main_table(report),
        "",
        "## Targets (issue 7)",
        "",
        targets_table(report),
        "",
        "µs/test figures include each plugin's start-up cost spread over the "
        "tests; `startup` shows that cost on its own.",
        "",
        "## CPU time (cross-check)",
        "",
        "The same runs, counting the user + system CPU time of pytest and the "
        "processes it waited for (xdist's workers) instead of wall time: less "
        "sensitive to other load on a shared machine, blind to time spent "
        "waiting (sockets, sleeps).",
        "",
        cpu_table(report),
    ]
    if failures:
        parts += ["", "## Failures", "", *failures]
    if report.get("reference"):
        parts += ["", "## Outside pytest (reference)", "", reference_table(report)]
    uvloop = uvloop_table(report)
    if uvloop is not None:
        parts += [
            "",
            "## uvloop ÷ asyncio, real work (CPU time)",
            "",
            uvloop,
            "",
            "Each cell: uvloop ÷ asyncio, then (uvloop / asyncio) CPU µs one more "
            "test costs over one more sync test with no plugin, from each job "
            "and its floor run at two sizes (N and its small twin, same files, "
            "the same rounds): start-up and uvloop's import cancel out. *No "
            "plugin*: `real-work-floor` run with no async plugin at all (sync "
            "tests running the body on a loop kept for the run). *Outside "
            "pytest*: the body alone, CPU µs per run (see below).",
        ]
    parts += [
        "",
        "## Suites",
        "",
        *(f"- `{name}`: {SUITES_BY_NAME[name].description}" for name in suites),
        "",
        "anyio has no loop scopes: under anyio the class, module and session "
        "suites run with its usual runner, which lives as long as a test or an "
        "async fixture holds it (so in `session-fixture` the whole session "
        "shares one loop).",
        "",
        "## Machine",
        "",
        f"{machine['cpu']}, {machine['cores']} cores, {machine['platform']}",
        "",
        versions_table(report),
        "",
    ]
    return "\n".join(parts)


def save(report: Mapping[str, Any], directory: Path, started: datetime) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{started:%Y-%m-%dT%H%MZ}-{report['meta']['machine']['host']}"
    md, js = directory / f"{stem}.md", directory / f"{stem}.json"
    md.write_text(markdown(report))
    js.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    return [md, js]
