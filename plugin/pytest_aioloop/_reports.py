"""Leaked tasks and lost exceptions: attributed, summarised, or turned into failures."""

from __future__ import annotations

import gc
import sys
import warnings
from typing import TYPE_CHECKING, Final, final

import pytest

from ._settings import LeakMode

if TYPE_CHECKING:
    from ._runner import LoopProblem, ProblemKind

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
}


_KINDS: Final[dict[str, ProblemKind]] = {
    "leak": "leak",
    "exception": "exception",
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

    def handle(self, where: str, problems: list[LoopProblem]) -> None:
        """Record ``problems`` for ``where``; fail or warn as the mode says.

        Call it while the test or scope phase they belong to is running, so
        that a failure or warning lands on it. Raises ``pytest.fail.Exception``
        (fail mode, or a loop that failed to close) and, under
        ``-W error::pytest_aioloop.AioloopLeakWarning``, that warning.
        """
        if not problems:
            return
        mode = self.mode
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
                _failure_text(
                    where, problems, "event loop problems (--asyncio-leaks=fail)"
                ),
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
        runner = sys.modules.get(f"{__package__}._runner")
        if runner is None:
            return  # no loop was ever made
        if runner.closed_loops_alive():
            # Something still holds a closed loop: perhaps a task of it in a
            # reference cycle. Finalise such tasks now, while they can be
            # reported. (A full collection costs ~10 ms in a large run.)
            gc.collect()
        late: list[tuple[str, LoopProblem]] = runner.take_late_problems()
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
        from ._runner import LoopProblem

        for item in data:
            kind = _KINDS.get(item["kind"])
            if kind is None:
                continue  # from a worker of another version: not ours to read
            problem = LoopProblem(kind, item["summary"], item["detail"])
            self.entries.append(Entry(item["where"], problem))

    def summary_lines(self, verbose: bool) -> list[str]:
        """The terminal summary: one line per problem, with its await stack or
        traceback below it when ``verbose``."""
        self.collect_late()
        lines: list[str] = []
        for entry in self.entries:
            problem = entry.problem
            lines.append(f"{entry.where}: {_title(problem)}: {problem.summary}")
            if verbose and problem.detail:
                lines.extend(_indented(problem.detail).splitlines())
        return lines
