"""Reading ``pytest.mark.asyncio(...)``: its keywords, checked, merged closest first."""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from typing import Final, final

import pytest

from ._settings import LOOP_SCOPES, LeakMode, LoopScope, parse_seconds, parse_timeout

__all__ = [
    "MARKER",
    "NO_LIMIT",
    "MarkerError",
    "MarkerOptions",
    "cached_marker_options",
    "forget_parsed_marks",
    "has_mark",
    "is_marked",
    "leak_mode_of",
    "marker_options",
    "marks_of",
]

MARKER: Final = "asyncio"
_MARKERS: Final = (MARKER,)
_KEYWORDS: Final = (
    "backend",
    "debug",
    "idle_limit",
    "leaks",
    "loop_factories",
    "loop_scope",
    "scope",
    "timeout",
)


class MarkerError(Exception):
    """A misused ``asyncio`` marker; the message names the test and valid values."""


@final
class MarkerOptions:
    """A test's merged marker keywords (not to be changed: shared by tests)."""

    # A plain class: a dataclass costs ~0.5 ms to define, at every start-up.
    __slots__ = (
        "backends",
        "debug",
        "idle_limit",
        "leaks",
        "loop_factories",
        "loop_scope",
        "timeout",
    )

    def __init__(
        self,
        loop_scope: LoopScope | None = None,
        backends: tuple[str, ...] | None = None,
        loop_factories: tuple[str, ...] | None = None,
        timeout: float | None = None,
        debug: bool | None = None,
        leaks: LeakMode | None = None,
        idle_limit: float | None = None,
    ) -> None:
        self.loop_scope = loop_scope
        self.backends = backends
        self.loop_factories = loop_factories
        self.timeout = timeout
        self.debug = debug
        #: Real seconds a virtual-time loop may wait with nothing that can
        #: wake it (the ``virtual`` backend only).
        self.idle_limit = idle_limit
        #: What to do with this test's leaked tasks and lost exceptions
        #: (``None``: the run's asyncio_leaks).
        self.leaks = leaks


NO_OPTIONS: Final = MarkerOptions()

#: ``MarkerOptions.timeout`` of a marker that turns the limit off
#: (``timeout=None`` or ``timeout=0``); ``None`` there: no timeout= given.
NO_LIMIT: Final = 0.0


def _names(value: object, keyword: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        names = tuple(n.strip() for n in value.split(",") if n.strip())
    elif isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        names = tuple(v for v in value if v)
    else:
        raise MarkerError(
            f"{where}: mark.asyncio {keyword}= must be a name or a sequence of "
            f"names, got {value!r}."
        )
    if not names:
        raise MarkerError(f"{where}: mark.asyncio {keyword}= needs at least one name.")
    return tuple(dict.fromkeys(names))


def _check(mark: pytest.Mark, where: str) -> None:
    if mark.args:
        hint = ""
        if len(mark.args) == 1 and mark.args[0] in LOOP_SCOPES:
            hint = f" (did you mean loop_scope={mark.args[0]!r}?)"
        raise MarkerError(
            f"{where}: mark.asyncio takes keyword arguments only, got positional "
            f"{mark.args!r}{hint}; valid keywords: {', '.join(_KEYWORDS)}."
        )
    unknown = sorted(set(mark.kwargs) - set(_KEYWORDS))
    if unknown:
        import difflib

        guesses = {
            name: close[0]
            for name in unknown
            if (close := difflib.get_close_matches(name, _KEYWORDS, n=1))
        }
        hint = ""
        if len(unknown) == 1 and guesses:
            hint = f" (did you mean {guesses[unknown[0]]!r}?)"
        elif guesses:
            pairs = ", ".join(
                f"{close!r} for {name!r}" for name, close in guesses.items()
            )
            hint = f" (did you mean {pairs}?)"
        raise MarkerError(
            f"{where}: mark.asyncio got unknown keyword(s) "
            f"{', '.join(map(repr, unknown))}{hint}; "
            f"valid keywords: {', '.join(_KEYWORDS)}."
        )
    loop_scope = mark.kwargs.get("loop_scope")
    scope = mark.kwargs.get("scope")
    if loop_scope is not None and scope is not None and loop_scope != scope:
        raise MarkerError(
            f"{where}: mark.asyncio got scope={scope!r} and loop_scope={loop_scope!r}; "
            f"they mean the same thing, give one."
        )
    for value in (loop_scope, scope):
        if value is not None and value not in LOOP_SCOPES:
            raise MarkerError(
                f"{where}: mark.asyncio got an invalid loop scope {value!r}; "
                f"valid scopes: {', '.join(LOOP_SCOPES)}."
            )


def marks_of(node: pytest.Item | pytest.Collector) -> list[pytest.Mark]:
    """The ``asyncio`` marks of ``node``, closest first: ``node.iter_markers(
    MARKER)`` as a plain loop (it runs for every async test, at collection and
    at call, and pytest's generators cost several times as much)."""
    marks: list[pytest.Mark] = []
    current: pytest.Item | pytest.Collector | None = node
    while current is not None:
        for mark in current.own_markers:
            if mark.name == MARKER:
                marks.append(mark)
        current = current.parent
    return marks


def has_mark(node: pytest.Item | pytest.Collector, names: Container[str]) -> bool:
    """Whether ``node`` or a parent has a mark of one of ``names`` (a plain
    walk, as in marks_of)."""
    current: pytest.Item | pytest.Collector | None = node
    while current is not None:
        for mark in current.own_markers:
            if mark.name in names:
                return True
        current = current.parent
    return False


def is_marked(node: pytest.Item | pytest.Collector) -> bool:
    """Whether ``node`` or a parent has an ``asyncio`` mark."""
    return has_mark(node, _MARKERS)


#: Parsed marks, by the identity of the marks a test has, closest first (the
#: marks themselves are kept, so their ids stay theirs). Tests of one module
#: or class share their marks: each set is read once. Errors are not kept.
_parsed: dict[tuple[int, ...], tuple[tuple[pytest.Mark, ...], MarkerOptions]] = {}


def cached_marker_options(
    marks: Sequence[pytest.Mark], node: pytest.Item | pytest.Collector
) -> MarkerOptions:
    """:func:`marker_options` of ``node``'s marks, read once per set of marks."""
    if not marks:
        return NO_OPTIONS
    for mark in marks:
        if mark.kwargs or mark.args:
            break
    else:
        # Bare marks only (``@pytest.mark.asyncio`` on each test makes a new
        # Mark object per test, so the cache below would miss every time).
        return NO_OPTIONS
    key = tuple(map(id, marks))
    known = _parsed.get(key)
    if known is not None:
        return known[1]
    options = marker_options(marks, node.nodeid)
    _parsed[key] = (tuple(marks), options)
    return options


def forget_parsed_marks() -> None:
    """Drop :func:`cached_marker_options`' memory (at the end of a run)."""
    _parsed.clear()


def marker_options(marks: Iterable[pytest.Mark], where: str) -> MarkerOptions:
    """Merge the ``asyncio`` marks of a test, closest first: per keyword, the
    closest mark that gives it wins. Raises :class:`MarkerError`."""
    loop_scope: LoopScope | None = None
    backends: tuple[str, ...] | None = None
    factories: tuple[str, ...] | None = None
    timeout: float | None = None
    debug: bool | None = None
    idle_limit: float | None = None
    leaks: LeakMode | None = None
    seen_scope = seen_backend = seen_timeout = seen_debug = False
    seen_idle = seen_leaks = False
    for mark in marks:
        _check(mark, where)
        kwargs = mark.kwargs
        if not seen_scope and ("loop_scope" in kwargs or "scope" in kwargs):
            value = kwargs.get("loop_scope") or kwargs.get("scope")
            if value is not None:
                seen_scope = True
                loop_scope = value
        if not seen_backend and ("backend" in kwargs or "loop_factories" in kwargs):
            seen_backend = True
            if kwargs.get("backend") is not None:
                backends = _names(kwargs["backend"], "backend", where)
            if kwargs.get("loop_factories") is not None:
                factories = _names(kwargs["loop_factories"], "loop_factories", where)
        if not seen_timeout and "timeout" in kwargs:
            seen_timeout = True
            try:
                limit = parse_timeout(kwargs["timeout"], "mark.asyncio timeout=")
            except ValueError as exc:
                raise MarkerError(f"{where}: {exc}.") from None
            timeout = NO_LIMIT if limit is None else limit
        if not seen_idle and "idle_limit" in kwargs:
            seen_idle = True
            if kwargs["idle_limit"] is not None:
                try:
                    idle_limit = parse_seconds(
                        kwargs["idle_limit"], "mark.asyncio idle_limit="
                    )
                except ValueError as exc:
                    raise MarkerError(f"{where}: {exc}.") from None
        if not seen_debug and "debug" in kwargs:
            seen_debug = True
            if not isinstance(kwargs["debug"], bool):
                raise MarkerError(
                    f"{where}: mark.asyncio debug= must be True or False, "
                    f"got {kwargs['debug']!r}."
                )
            debug = kwargs["debug"]
        if not seen_leaks and "leaks" in kwargs:
            seen_leaks = True
            leaks = _leak_mode(kwargs["leaks"], where)
    if backends is not None and factories is not None:
        raise MarkerError(
            f"{where}: mark.asyncio got both backend= and loop_factories=; give one."
        )
    if not (
        seen_scope
        or seen_backend
        or seen_timeout
        or seen_debug
        or seen_idle
        or seen_leaks
    ):
        return NO_OPTIONS
    return MarkerOptions(
        loop_scope, backends, factories, timeout, debug, leaks, idle_limit
    )


def _leak_mode(value: object, where: str) -> LeakMode | None:
    if value is None:
        return None
    valid = [mode.value for mode in LeakMode]
    if not isinstance(value, str) or value not in valid:
        raise MarkerError(
            f"{where}: mark.asyncio leaks= must be one of {', '.join(valid)}, "
            f"got {value!r}."
        )
    return LeakMode(value)


def leak_mode_of(node: pytest.Item | pytest.Collector) -> LeakMode | None:
    """The ``leaks=`` of ``node``'s marks (or a parent's); ``None`` when none
    gives one, or the marks are misused (that error is the test's own)."""
    try:
        return cached_marker_options(marks_of(node), node).leaks
    except MarkerError:
        return None
