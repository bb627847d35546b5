"""Leaked tasks and lost exceptions: attributed, summarised, or turned into failures."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, final

import pytest

from ._settings import LeakMode

if TYPE_CHECKING:
    from ._runner import LoopProblem

__all__ = ["REPORTER_KEY", "AioloopLeakWarning", "Reporter"]


class AioloopLeakWarning(pytest.PytestWarning):
    """A task was left pending, or an exception was lost, in a test's event loop.

    Emitted with ``--asyncio-leaks=warn``; ``-W error::pytest_aioloop.AioloopLeakWarning``
    turns each into an error of the test that caused it.
    """


@final
@dataclass(frozen=True, slots=True)
class Entry:
    where: str
    problem: LoopProblem


_KIND_TITLES: Final = {
    "leak": "leaked task",
    "exception": "lost exception",
    "close": "loop teardown",
}


@final
class Reporter:
    """Collects the problems of every loop of a run, by test or scope."""

    __slots__ = ("entries", "mode")

    def __init__(self, mode: LeakMode) -> None:
        self.mode = mode
        self.entries: list[Entry] = []

    def handle(self, where: str, problems: list[LoopProblem]) -> None:
        """Record ``problems`` for ``where``; fail or warn as the mode says.

        Call it while the test or scope phase they belong to is running, so
        that a failure or warning lands on it.
        """
        if not problems:
            return
        mode = self.mode
        if mode is LeakMode.IGNORE:
            # "close" problems (a loop that could not be closed) are never ignored
            problems = [p for p in problems if p.kind == "close"]
            if not problems:
                return
        self.entries.extend(Entry(where, p) for p in problems)
        text = "\n".join(
            f"{_KIND_TITLES.get(p.kind, p.kind)}: {p.summary}" for p in problems
        )
        if mode is LeakMode.FAIL:
            details = "\n".join(p.detail for p in problems if p.detail)
            pytest.fail(
                f"{where}: event loop problems (--asyncio-leaks=fail):\n{text}"
                + (f"\n{details}" if details else ""),
                pytrace=False,
            )
        if mode is LeakMode.WARN:
            for problem in problems:
                warnings.warn(
                    AioloopLeakWarning(
                        f"{where}: {_KIND_TITLES.get(problem.kind, problem.kind)}: "
                        f"{problem.summary}"
                    ),
                    stacklevel=2,
                )

    def summary_lines(self, verbose: bool) -> list[str]:
        lines: list[str] = []
        for entry in self.entries:
            problem = entry.problem
            title = _KIND_TITLES.get(problem.kind, problem.kind)
            lines.append(f"{entry.where}: {title}: {problem.summary}")
            if verbose and problem.detail:
                lines.extend("    " + line for line in problem.detail.splitlines())
        return lines


REPORTER_KEY: Final = pytest.StashKey[Reporter]()
