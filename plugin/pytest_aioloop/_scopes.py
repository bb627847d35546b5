"""The runners of a run: one per (scope node, backend), closed with their scope."""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, final

import pytest

from aioloop import Backend, BackendLoopError

from ._marker import leak_mode_of
from ._reports import Reporter
from ._settings import LoopScope

if TYPE_CHECKING:
    import asyncio

    from ._problems import LoopProblem
    from ._runner import LoopRunner

__all__ = [
    "LoopRegistry",
    "ScopeError",
    "ScopeNode",
    "asyncio_compat",
    "scope_node",
]

#: A node whose lifetime bounds a loop: the test itself, a class, module,
#: package or the session.
ScopeNode = pytest.Item | pytest.Collector


class ScopeError(Exception):
    """A loop scope that the test's place in the tree cannot have."""


def scope_node(item: pytest.Item, scope: LoopScope, *, for_test: bool) -> ScopeNode:
    """The node whose lifetime is the lifetime of ``scope``'s loop for ``item``.

    For a test, a class scope outside a class and a package scope outside a
    regular package are :class:`ScopeError`; a fixture falls back to the
    test's own loop (class) or the session (package), as pytest does with
    fixture scopes.
    """
    if scope == "function":
        return item
    if scope == "module":
        # (a plain walk: Node.getparent() is a generator, and this runs for
        # every test)
        node = item.parent
        while node is not None and not isinstance(node, pytest.Module):
            node = node.parent
        return node if node is not None else item.session
    if scope == "class":
        klass = item.getparent(pytest.Class)
        if klass is None:
            if for_test:
                raise ScopeError(
                    f"{item.nodeid}: loop_scope='class' needs a test inside a class; "
                    f"this test is not in one. Use 'function', 'module', 'package' "
                    f"or 'session'."
                )
            return item
        return klass
    if scope == "package":
        package = item.getparent(pytest.Package)
        if package is None:
            if for_test:
                raise ScopeError(
                    f"{item.nodeid}: loop_scope='package' needs a regular package: "
                    f"add an __init__.py to the test's folder (namespace packages "
                    f"have no package loop), or use 'module' or 'session'."
                )
            return item.session
        return package
    return item.session


@final
class LoopRegistry:
    """Owns every open runner; a runner closes when its scope node is torn down."""

    __slots__ = ("_current", "_runners", "_unended", "_watch", "debug", "reporter")

    def __init__(
        self,
        reporter: Reporter,
        *,
        debug: bool,
        watch: Callable[[], object] | None = None,
    ) -> None:
        self.reporter = reporter
        self.debug = debug
        #: Called once, when the first loop becomes current or a test's own
        #: loop is made early: from then on check_after_test() must run
        #: after every test (see _session.AfterTest).
        self._watch = watch
        #: Test's own loops made early for its sync fixtures, whose close is
        #: not registered yet (see runner(end_later=)).
        self._unended: set[tuple[ScopeNode, Backend]] = set()
        self._runners: dict[tuple[ScopeNode, Backend], LoopRunner] = {}
        self._current: asyncio.AbstractEventLoop | None = None

    def get(self, node: ScopeNode, backend: Backend) -> LoopRunner | None:
        runner = self._runners.get((node, backend))
        if runner is not None and runner.closed:
            return None
        return runner

    def runner(
        self,
        node: ScopeNode,
        backend: Backend,
        *,
        debug: bool | None = None,
        closed_by_caller: bool = False,
        end_later: bool = False,
    ) -> LoopRunner:
        """The open runner of ``node`` on ``backend``, made on first use.

        A new runner closes when its scope node is torn down, unless
        ``closed_by_caller`` (a test's own loop that no fixture used: the
        test closes it right after its call, and it is not made current).
        ``end_later``: a test's own loop made for its sync fixtures; its
        close is registered with the first async fixture or the test's call
        that uses it (so that it closes before the teardown of the sync
        fixtures set up before, as pytest-asyncio's does), else at the end
        of the test's teardown.
        """
        key = (node, backend)
        runner = self._runners.get(key)
        if runner is not None and not runner.closed and not runner.loop.is_closed():
            if self._unended and not end_later and key in self._unended:
                self._unended.discard(key)
                node.addfinalizer(lambda: self._end(node, backend))
            self.make_current(runner)
            return runner
        if runner is not None:
            # A test closed this loop: report it on that scope, serve a new one.
            self.close(node, backend)
        label = _where(node)
        runner_module = sys.modules.get(_RUNNER)
        if runner_module is None:
            # asyncio, only once a loop is needed
            runner_module = importlib.import_module(_RUNNER)
        try:
            new_runner: LoopRunner = runner_module.LoopRunner(
                backend,
                debug=self.debug if debug is None else debug,
                label=label,
                shared=not isinstance(node, pytest.Item),
            )
        except BackendLoopError as exc:
            # The message names the backend and what it returned; a traceback
            # through the plugin would only hide it.
            raise pytest.fail.Exception(str(exc), pytrace=False) from None
        runner = self._runners[key] = new_runner
        if end_later:
            self._unended.add(key)
            self.watch()
        elif not closed_by_caller:
            node.addfinalizer(lambda: self._end(node, backend))
        if not closed_by_caller:
            # A test's own loop that no fixture used runs only the test's
            # coroutine, where asyncio gives the running loop: it is not made
            # current (two policy calls per test saved).
            self.make_current(runner)
        return runner

    def _end(self, node: ScopeNode, backend: Backend) -> None:
        # The scope node's finaliser: a loop found closed here was closed by
        # the test or a fixture of this scope; tell them (after closing): a
        # wider loop's tests fail, a test's own loop gets a warning.
        runner = self._runners.get((node, backend))
        closed_early = runner is not None and runner.loop.is_closed()
        self.close(node, backend)
        if not closed_early:
            return
        assert runner is not None
        if isinstance(node, pytest.Item):
            # A test's own loop, closed by the test or one of its fixtures
            # (tornado's IOLoop.close() in a fixture's finaliser, say): no
            # other test would have used it. A warning, as pytest-asyncio
            # gives.
            warnings.warn(
                pytest.PytestWarning(
                    f"{node.nodeid}: its own event loop was closed by the test or "
                    f"a fixture before pytest-aioloop closed it; what was still "
                    f"pending on it was not cancelled or reported."
                ),
                stacklevel=1,
            )
            return
        pytest.fail(_closed_message(node.nodeid, runner.label), pytrace=False)

    def check_after_test(self, item: pytest.Item) -> None:
        """After a test and its teardown: the current loop must still be open
        and current. A closed one fails the test (the next test gets a new
        one); one replaced by another loop is put back with a warning; one
        unset (``asyncio.run()`` in a sync test does that) is put back."""
        if self._unended:
            # made for sync fixtures, then used by nothing (the test failed
            # or was skipped before its call)
            for unended in [k for k in self._unended if k[0] is item]:
                self._unended.discard(unended)
                self._end(*unended)
        loop = self._current
        if loop is None:
            return
        if loop.is_closed():
            key = next((k for k, r in self._runners.items() if r.loop is loop), None)
            if key is None:
                return
            label = self._runners[key].label
            self.close(*key)
            pytest.fail(_closed_message(item.nodeid, label), pytrace=False)
        actual = _get_event_loop()
        if actual is loop:
            return
        _set_event_loop(loop)
        if actual is not None:
            label = next(
                (r.label for r in self._runners.values() if r.loop is loop), ""
            )
            warnings.warn(
                pytest.PytestWarning(
                    f"{item.nodeid} replaced the current event loop (asyncio."
                    f"set_event_loop) while the loop of {label} was current; it "
                    f"was put back. Close your own loop without making it current, "
                    f"or use asyncio.Runner."
                ),
                stacklevel=1,
            )

    def make_current(self, runner: LoopRunner) -> None:
        loop = runner.loop
        if self._current is not loop:
            _set_event_loop(loop)
            self._current = loop
            self.watch()

    def watch(self) -> None:
        """Have check_after_test() called after every test from now on."""
        watch = self._watch
        if watch is not None:
            self._watch = None
            watch()

    def close(
        self,
        node: ScopeNode,
        backend: Backend,
        *,
        also: Sequence[LoopProblem] = (),
    ) -> None:
        """Close ``node``'s runner on ``backend``; report its problems, after
        ``also`` (what the last call on it found), in one report."""
        runner = self._runners.pop((node, backend), None)
        if runner is None:
            if also:
                self.reporter.handle(_where(node), list(also), leak_mode_of(node))
            return
        loop = runner.loop
        caught: list[warnings.WarningMessage] = []
        if runner.closes_quietly():
            closed = runner.close(quietly=True)
        else:
            # Warnings raised while the loop closes (a transport uvloop frees
            # unclosed, an async generator's clean-up) would point at the
            # plugin's own close() call: they are told again, once the loop
            # is closed, at the test or scope.
            with warnings.catch_warnings(record=True) as recorded:
                warnings.simplefilter("always")
                closed = runner.close()
            caught = recorded
        problems = [*also, *closed]
        if self._current is loop:
            newest = next(reversed(self._runners.values()), None)
            self._current = newest.loop if newest is not None else None
            _set_event_loop(self._current)
        try:
            if problems:
                self.reporter.handle(_where(node), problems, leak_mode_of(node))
        finally:
            if caught:
                _warn_again(caught, node, in_test=not self.reporter.outside_tests)

    def close_all(self) -> None:
        """Close every runner left (the end of the run), newest first; the
        first error is raised once all are closed."""
        first: BaseException | None = None
        for node, backend in list(reversed(self._runners)):
            try:
                self.close(node, backend)
            except BaseException as exc:  # the rest still close
                first = first or exc
        if first is not None:
            raise first


_PLUGIN_DIR: Final = os.path.dirname(__file__)


def _warn_again(
    caught: list[warnings.WarningMessage], node: ScopeNode, *, in_test: bool
) -> None:
    """Warn again what was caught while ``node``'s loop closed: a warning
    that points into the plugin is put on the test (or the scope's file), and
    says that it came while its loop was closing. A warning that a filter
    makes an error fails the test phase running (``in_test``); after the
    session (an interrupted run's scopes) it is only shown."""
    path = str(getattr(node, "path", "") or "")
    location = getattr(node, "location", None)
    lineno = location[1] + 1 if isinstance(node, pytest.Item) and location else 1
    for caught_warning in caught:
        message: Warning | str = caught_warning.message
        filename, line = caught_warning.filename, caught_warning.lineno
        if path and filename.startswith(_PLUGIN_DIR):
            category = caught_warning.category
            message = category(
                f"{message} (raised while the event loop of {_where(node)} was closing)"
            )
            filename, line = path, lineno
        try:
            warnings.warn_explicit(
                message,
                caught_warning.category,
                filename,
                line,
                source=caught_warning.source,
            )
        except Warning as error:  # a filter turned it into an error
            if not in_test:
                continue  # no test phase to fail (it would crash pytest)
            # stated plainly: a traceback would lead through the plugin
            text = f"{type(error).__name__}: {error}"
            raise pytest.fail.Exception(text, pytrace=False) from None


def _where(node: ScopeNode) -> str:
    """A scope in reports: a test's node id, "module tests/test_x.py", "session"."""
    if isinstance(node, pytest.Item):
        return node.nodeid
    kind = type(node).__name__.lower()
    return f"{kind} {node.nodeid}" if node.nodeid else kind


def _closed_message(nodeid: str, label: str) -> str:
    return (
        f"{nodeid} closed the event loop of {label}; tests and fixtures must not "
        f"close the loop they run on (pytest-aioloop closes it when its scope "
        f"ends). The next test gets a new loop."
    )


def _get_event_loop() -> asyncio.AbstractEventLoop | None:
    loop: asyncio.AbstractEventLoop | None = asyncio_compat().current_loop()
    return loop


def _set_event_loop(loop: asyncio.AbstractEventLoop | None) -> None:
    asyncio_compat().set_current_loop(loop)


_COMPAT: Final = f"{__package__}._asyncio_compat"
_RUNNER: Final = f"{__package__}._runner"


def asyncio_compat() -> Any:
    """The ``_asyncio_compat`` module, imported on first use (it imports
    asyncio, so only once a loop is needed). Looked up in sys.modules: a
    relative import inside a function resolves its package in Python code on
    every call, several times per test."""
    module = sys.modules.get(_COMPAT)
    if module is None:
        module = importlib.import_module(_COMPAT)
    return module
