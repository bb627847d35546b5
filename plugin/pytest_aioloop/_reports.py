"""Leaked tasks and lost exceptions: attributed, summarised, or turned into failures."""

from __future__ import annotations

import collections
import gc
import re
import sys
import warnings
from typing import TYPE_CHECKING, Final, final

import pytest

from ._settings import LeakMode

if TYPE_CHECKING:
    from ._problems import LoopProblem, ProblemKind

__all__ = ["AioloopLeakWarning", "Reporter"]


class AioloopLeakWarning(pytest.PytestWarning):
    """A task was left pending, or an exception was lost, in a test's event loop.

    Emitted with ``--asyncio-leaks=warn``;
    ``-W error::pytest_aioloop.AioloopLeakWarning`` turns each into an error
    of the test (or scope teardown) that found it.
    """


# Its public name: what ``-W error::pytest_aioloop.AioloopLeakWarning`` and
# warning reports show.
AioloopLeakWarning.__module__ = "pytest_aioloop"


@final
class Entry:
    __slots__ = ("problem", "where")

    def __init__(self, where: str, problem: LoopProblem) -> None:
        self.where = where
        self.problem = problem


_KIND_TITLES: Final = {
    "leak": "leaked task",
    "exception": "lost exception",
    "close": "loop teardown",
    "blocked": "blocked loop",
}


_KINDS: Final[dict[str, ProblemKind]] = {
    "leak": "leak",
    "exception": "exception",
    "blocked": "blocked",
    "close": "close",
}


def _title(problem: LoopProblem) -> str:
    return _KIND_TITLES[problem.kind]


def _indented(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def _failure_text(where: str, problems: list[LoopProblem], reason: str) -> str:
    parts = [f"{where}: {reason}:"]
    for problem in problems:
        parts.append(f"{_title(problem)}: {problem.summary}")
        if problem.detail:
            parts.append(_indented(problem.detail))
    return "\n".join(parts)


def _warning_file(where: str) -> str:
    # "tests/test_x.py::test_y" or "module tests/test_x.py": the file part
    return where.split("::", 1)[0].rsplit(" ", 1)[-1] or "pytest-aioloop"


@final
class Reporter:
    """Collects the problems of every loop of a run, by test or scope.

    By mode: ``report`` keeps them for the terminal summary; ``warn`` also
    emits an :class:`AioloopLeakWarning` each; ``fail`` fails the test or
    scope teardown that found them; ``ignore`` drops them. A loop that could
    not be closed cleanly (kind ``"close"``) fails in every mode.
    """

    __slots__ = ("entries", "mode", "outside_tests")

    def __init__(self, mode: LeakMode) -> None:
        self.mode = mode
        self.entries: list[Entry] = []
        #: Set when the session finishes: what closes after that is only
        #: summarised (no test phase is running to fail or warn on).
        self.outside_tests = False

    def handle(
        self, where: str, problems: list[LoopProblem], mode: LeakMode | None = None
    ) -> None:
        """Record ``problems`` for ``where``; fail or warn as the mode says
        (``mode``: the test's or scope's own, from ``mark.asyncio(leaks=)``).

        Call it while the test or scope phase they belong to is running, so
        that a failure or warning lands on it. Raises ``pytest.fail.Exception``
        (fail mode, or a loop that failed to close) and, under
        ``-W error::pytest_aioloop.AioloopLeakWarning``, that warning.
        """
        if not problems:
            return
        source = "--asyncio-leaks=fail"
        if mode is None:
            mode = self.mode
        elif mode is not self.mode:
            source = f"mark.asyncio(leaks={mode.value!r})"
        broken = [p for p in problems if p.kind == "close"]
        if mode is LeakMode.IGNORE:
            problems = broken
            if not problems:
                return
        self.entries.extend(Entry(where, p) for p in problems)
        if self.outside_tests:
            # Scopes torn down after an interrupted run: no test phase to fail
            # (it would crash pytest); the summary shows them.
            return
        if mode is LeakMode.FAIL:
            pytest.fail(
                _failure_text(where, problems, f"event loop problems ({source})"),
                pytrace=False,
            )
        if mode is LeakMode.WARN:
            filename = _warning_file(where)
            for problem in problems:
                if problem.kind != "close":
                    warnings.warn_explicit(
                        AioloopLeakWarning(
                            f"{where}: {_title(problem)}: {problem.summary}"
                        ),
                        AioloopLeakWarning,
                        filename,
                        0,
                        module="pytest_aioloop",
                    )
        if broken:
            pytest.fail(
                _failure_text(where, broken, "the event loop was not closed cleanly"),
                pytrace=False,
            )

    def collect_late(self) -> None:
        """Take what reached a loop's exception handler after that loop closed
        (a task collected late whose exception was never retrieved)."""
        problems = sys.modules.get(f"{__package__}._problems")
        if problems is None:
            return  # no loop was ever made
        if problems.closed_loops_alive():
            # Something still holds a closed loop: perhaps a task of it in a
            # reference cycle. Finalise such tasks now, while they can be
            # reported. (A full collection costs ~10 ms in a large run.)
            gc.collect()
        late: list[tuple[str, LoopProblem]] = problems.take_late_problems()
        if self.mode is not LeakMode.IGNORE:
            self.entries.extend(Entry(where, problem) for where, problem in late)

    def to_wire(self) -> list[dict[str, str]]:
        """The entries as plain data (an xdist worker sends them to the
        controller, which prints the summary)."""
        self.collect_late()
        return [
            {
                "where": e.where,
                "kind": e.problem.kind,
                "summary": e.problem.summary,
                "detail": e.problem.detail,
            }
            for e in self.entries
        ]

    def add_from_wire(self, data: list[dict[str, str]]) -> None:
        """Add entries made by :meth:`to_wire` in another process."""
        from ._problems import LoopProblem

        for item in data:
            kind = _KINDS.get(item["kind"])
            if kind is None:
                continue  # from a worker of another version: not ours to read
            problem = LoopProblem(kind, item["summary"], item["detail"])
            self.entries.append(Entry(item["where"], problem))

    def summary_lines(self, verbose: bool) -> list[str]:
        """The terminal summary: a line of totals, then one line per distinct
        problem of a test or scope (identical ones merged, with a count), with
        its await stack or traceback below it when ``verbose`` (a traceback
        shown already is not repeated)."""
        self.collect_late()
        if not self.entries:
            return []
        merged: dict[tuple[str, str, str], list[Entry]] = {}
        for entry in self.entries:
            problem = entry.problem
            key = (entry.where, problem.kind, problem.summary)
            merged.setdefault(key, []).append(entry)
        lines = [_totals(self.entries)]
        shown: set[str] = set()
        for (where, _, summary), entries in merged.items():
            problem = entries[0].problem
            count = f" ({len(entries)} times)" if len(entries) > 1 else ""
            lines.append(f"{where}: {_title(problem)}: {summary}{count}")
            if verbose and problem.detail:
                same = _ADDRESSES.sub("", problem.detail)
                if same in shown:
                    lines.append("    (the same as above)")
                else:
                    shown.add(same)
                    lines.extend(_indented(problem.detail).splitlines())
        return lines


#: What differs between two reports of one problem: object addresses and
#: asyncio's numbered task names.
_ADDRESSES: Final = re.compile(r"0x[0-9a-fA-F]+|\bTask-\d+\b")

_COUNTED: Final[tuple[tuple[ProblemKind, str, str], ...]] = (
    ("leak", "leaked task", "leaked tasks"),
    ("exception", "lost exception", "lost exceptions"),
    ("blocked", "blocked loop", "blocked loops"),
    ("close", "loop teardown failure", "loop teardown failures"),
)


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _totals(entries: list[Entry]) -> str:
    kinds = collections.Counter(entry.problem.kind for entry in entries)
    counted = [
        _plural(kinds[kind], one, many) for kind, one, many in _COUNTED if kinds[kind]
    ]
    wheres = {entry.where for entry in entries}
    # a scope is "module tests/test_x.py", "class ...", "session"; a test its id
    scopes = sum(1 for where in wheres if " " in where or where == "session")
    tests = len(wheres) - scopes
    places = [
        _plural(n, one, many)
        for n, one, many in ((tests, "test", "tests"), (scopes, "scope", "scopes"))
        if n
    ]
    return f"{', '.join(counted)} in {' and '.join(places)}"
