"""Options and ini values, read once at ``pytest_configure`` into :class:`Settings`."""

from __future__ import annotations

import enum
from typing import Final, Literal, final

import pytest

__all__ = [
    "FIXTURE_SCOPE",
    "LOOP_SCOPES",
    "LeakMode",
    "LoopScope",
    "Mode",
    "Settings",
    "add_options",
    "loop_scope_of",
    "read_settings",
]

LoopScope = Literal["function", "class", "module", "package", "session"]
#: The loop scopes, narrowest first.
LOOP_SCOPES: Final[tuple[LoopScope, ...]] = (
    "function",
    "class",
    "module",
    "package",
    "session",
)
FIXTURE_SCOPE: Final = "fixture-scope"
_AS_LOOP_SCOPE: Final[dict[str, LoopScope]] = {scope: scope for scope in LOOP_SCOPES}


def loop_scope_of(
    declared: LoopScope | None, settings: Settings, fixture_scope: str
) -> LoopScope:
    """A fixture's loop scope: declared, else the ini default, else its own
    scope (pytest's five scope names are the five loop scopes)."""
    return (
        declared or settings.default_fixture_loop_scope or _AS_LOOP_SCOPE[fixture_scope]
    )


class Mode(enum.StrEnum):
    STRICT = "strict"
    AUTO = "auto"


class LeakMode(enum.StrEnum):
    REPORT = "report"
    WARN = "warn"
    FAIL = "fail"
    IGNORE = "ignore"


@final
class Settings:
    """The run's configuration, read once at configure (not to be changed)."""

    # A plain class: a dataclass costs ~0.5 ms to define, at every start-up.
    __slots__ = (
        "backends",
        "backends_from_cli",
        "debug",
        "default_fixture_loop_scope",
        "default_test_loop_scope",
        "idle_limit",
        "leaks",
        "mode",
        "timeout",
    )

    def __init__(
        self,
        *,
        mode: Mode,
        backends: tuple[str, ...],
        backends_from_cli: bool,
        default_fixture_loop_scope: LoopScope | None,  # None: the fixture's scope
        default_test_loop_scope: LoopScope,
        debug: bool,
        timeout: float | None,
        leaks: LeakMode,
        idle_limit: float | None = None,
    ) -> None:
        self.mode = mode
        self.backends = backends
        self.backends_from_cli = backends_from_cli
        self.default_fixture_loop_scope = default_fixture_loop_scope
        self.default_test_loop_scope = default_test_loop_scope
        self.debug = debug
        self.timeout = timeout
        self.leaks = leaks
        #: Real seconds a virtual-time loop may wait with nothing that can
        #: wake it; None: the loop's own default.
        self.idle_limit = idle_limit


def add_options(parser: pytest.Parser, *, with_shared: bool = True) -> None:
    """Add the options and ini values.

    ``with_shared=False`` leaves out the command-line options pytest-asyncio
    declares too (``--asyncio-mode``, ``--asyncio-debug``): with both plugins
    loaded, declaring them twice would stop pytest before the usage error that
    says which plugin to remove.
    """
    group = parser.getgroup("aioloop", "asyncio tests (pytest-aioloop)")
    if with_shared:
        group.addoption(
            "--asyncio-mode",
            dest="asyncio_mode",
            default=None,
            metavar="MODE",
            help="'strict' (default): run only tests marked asyncio and fixtures "
            "made with pytest_aioloop.fixture; 'auto': every async test and fixture.",
        )
        group.addoption(
            "--asyncio-debug",
            dest="asyncio_debug",
            action="store_true",
            default=None,
            help="run event loops in asyncio debug mode.",
        )
    group.addoption(
        "--asyncio-backend",
        dest="asyncio_backend",
        action="append",
        default=None,
        metavar="NAME[,NAME...]",
        help="event loop backend(s) to run async tests on (default: asyncio); "
        "with several, each async test runs once per backend. Repeatable.",
    )
    group.addoption(
        "--asyncio-backends",
        dest="asyncio_list_backends",
        action="store_true",
        default=False,
        help="list the installed event loop backends and whether each loads; exit.",
    )
    group.addoption(
        "--asyncio-timeout",
        dest="asyncio_timeout",
        default=None,
        metavar="SECONDS",
        help="fail an async test (or async fixture step) that runs longer than this; "
        "0 or none: no limit (turns off the ini asyncio_timeout for this run).",
    )
    group.addoption(
        "--asyncio-idle-limit",
        dest="asyncio_idle_limit",
        default=None,
        metavar="SECONDS",
        help="on the virtual backend: fail an async test whose loop waits this "
        "long in real time with nothing that can wake it (default: 5).",
    )
    group.addoption(
        "--asyncio-leaks",
        dest="asyncio_leaks",
        default=None,
        metavar="report|warn|fail|ignore",
        help="what to do with tasks left pending and exceptions lost in a loop: "
        "'report' in a summary (default), 'warn' with AioloopLeakWarning, "
        "'fail' the test or scope, or 'ignore'.",
    )
    parser.addini("asyncio_mode", "default for --asyncio-mode", default="strict")
    parser.addini(
        "asyncio_backend",
        "event loop backend(s), comma separated (default: asyncio)",
        default="asyncio",
    )
    parser.addini(
        "asyncio_default_fixture_loop_scope",
        "loop scope of async fixtures without one: a scope, or "
        "'fixture-scope' for the fixture's own scope (the default)",
        default=None,
    )
    parser.addini(
        "asyncio_default_test_loop_scope",
        "loop scope of async tests without one (default: function)",
        default="function",
    )
    parser.addini(
        "asyncio_debug", "run loops in asyncio debug mode", type="bool", default=False
    )
    parser.addini(
        "asyncio_timeout",
        "default time limit of an async test, seconds (0 or none: no limit)",
        default=None,
    )
    parser.addini(
        "asyncio_idle_limit",
        "virtual backend: real seconds a loop may wait with nothing that can wake "
        "it before its test fails (default: 5)",
        default=None,
    )
    parser.addini(
        "asyncio_leaks",
        "report|warn|fail|ignore leaked tasks and lost exceptions (default: report)",
        default="report",
    )


def _choice(value: str, enum_type: type[Mode] | type[LeakMode], option: str) -> str:
    valid = [m.value for m in enum_type]
    if value not in valid:
        raise pytest.UsageError(
            f"{value!r} is not a valid value for {option}; valid values: "
            f"{', '.join(valid)}."
        )
    return value


def _scope(value: str, option: str, *, allow_fixture_scope: bool) -> LoopScope | None:
    if allow_fixture_scope and value == FIXTURE_SCOPE:
        return None
    if value not in LOOP_SCOPES:
        valid = list(LOOP_SCOPES) + ([FIXTURE_SCOPE] if allow_fixture_scope else [])
        raise pytest.UsageError(
            f"{value!r} is not a valid {option}; valid values: {', '.join(valid)}."
        )
    return value


#: The values of a timeout that mean "no limit" (case does not matter).
NO_LIMIT_WORDS: Final = ("0", "none", "")


def parse_timeout(value: object, where: str) -> float | None:
    """A positive number of seconds; ``None`` for no limit (``None``, 0,
    ``"0"``, ``"none"``, ``""``); else ValueError naming ``where``."""
    if value is None or (
        isinstance(value, str) and value.strip().lower() in NO_LIMIT_WORDS
    ):
        return None
    problem = ValueError(
        f"{where} must be a positive number of seconds, or 0 or none for no "
        f"limit, got {value!r}"
    )
    if isinstance(value, bool):
        raise problem
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise problem from None
    if seconds == 0:
        return None
    if not seconds > 0 or seconds == float("inf"):
        raise problem
    return seconds


def parse_seconds(value: object, where: str) -> float:
    """A positive number of seconds (no "none" here), else ValueError naming
    ``where``."""
    problem = ValueError(f"{where} must be a positive number of seconds, got {value!r}")
    if isinstance(value, bool):
        raise problem
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise problem from None
    if not seconds > 0 or seconds == float("inf"):
        raise problem
    return seconds


def split_backends(values: list[str] | str) -> tuple[str, ...]:
    items = [values] if isinstance(values, str) else values
    names: list[str] = []
    for item in items:
        for name in item.split(","):
            name = name.strip()
            if name and name not in names:
                names.append(name)
    return tuple(names)


def read_settings(config: pytest.Config) -> Settings:
    """Read and check every option; raise ``pytest.UsageError`` on a bad value."""
    mode = config.getoption("asyncio_mode", None) or config.getini("asyncio_mode")
    mode_option = (
        "--asyncio-mode" if config.getoption("asyncio_mode", None) else "asyncio_mode"
    )
    mode = _choice(str(mode).strip(), Mode, mode_option)

    cli_backends = config.getoption("asyncio_backend")
    if cli_backends:
        backends = split_backends(cli_backends)
        if not backends:
            raise pytest.UsageError(
                "--asyncio-backend needs at least one backend name."
            )
    else:
        backends = split_backends(str(config.getini("asyncio_backend") or "asyncio"))
        if not backends:
            backends = ("asyncio",)

    fixture_scope_ini = config.getini("asyncio_default_fixture_loop_scope")
    default_fixture_loop_scope = (
        _scope(
            str(fixture_scope_ini).strip(),
            "asyncio_default_fixture_loop_scope",
            allow_fixture_scope=True,
        )
        if fixture_scope_ini
        else None
    )
    test_scope = _scope(
        str(config.getini("asyncio_default_test_loop_scope") or "function").strip(),
        "asyncio_default_test_loop_scope",
        allow_fixture_scope=False,
    )
    assert test_scope is not None

    debug_option = config.getoption("asyncio_debug", None)
    debug = (
        bool(debug_option)
        if debug_option is not None
        else bool(config.getini("asyncio_debug"))
    )

    timeout: float | None = None
    raw_timeout = config.getoption("asyncio_timeout")
    option = "--asyncio-timeout"
    if raw_timeout is None:
        raw_timeout = config.getini("asyncio_timeout")
        option = "asyncio_timeout"
    try:
        timeout = parse_timeout(raw_timeout, option)
    except ValueError as exc:
        raise pytest.UsageError(f"{exc}.") from None
    idle_limit = _idle_limit(config)

    leaks_option = config.getoption("asyncio_leaks")
    leaks = leaks_option or config.getini("asyncio_leaks") or "report"
    leaks = _choice(
        str(leaks).strip(),
        LeakMode,
        "--asyncio-leaks" if leaks_option else "asyncio_leaks",
    )
    return Settings(
        mode=Mode(mode),
        backends=backends,
        backends_from_cli=bool(cli_backends),
        default_fixture_loop_scope=default_fixture_loop_scope,
        default_test_loop_scope=test_scope,
        debug=debug,
        timeout=timeout,
        leaks=LeakMode(leaks),
        idle_limit=idle_limit,
    )


def _idle_limit(config: pytest.Config) -> float | None:
    """``--asyncio-idle-limit``, else the ini value: a positive number of
    seconds, or None when neither is given."""
    raw = config.getoption("asyncio_idle_limit")
    option = "--asyncio-idle-limit"
    if raw is None:
        raw = config.getini("asyncio_idle_limit")
        option = "asyncio_idle_limit"
    if raw in (None, ""):
        return None
    try:
        return parse_seconds(raw, option)
    except ValueError as exc:
        raise pytest.UsageError(f"{exc}.") from None
