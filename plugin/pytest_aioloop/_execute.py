"""Running async tests and async fixtures on their loops."""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable
from contextvars import Token
from typing import Any, Final

import pytest

from . import _compat
from ._asyncio_compat import policy_installed, running_loop
from ._marker import leak_mode_of
from ._plan import (
    BACKEND_FIXTURE,
    AsyncKind,
    BackendInUse,
    Plan,
    plan_for,
)
from ._problems import RunFailed
from ._run import AioloopRun
from ._runner import LoopRunner
from ._scopes import scope_node
from ._settings import LOOP_SCOPES, LoopScope

__all__ = ["run_test", "setup_async_fixture"]

#: The backend with virtual time (see aioloop's ``_virtual``).
VIRTUAL: Final = "virtual"

_SCOPE_RANK: Final[dict[str, int]] = {
    name: rank for rank, name in enumerate(LOOP_SCOPES)
}


#: No policy to install around a call (a nullcontext is reusable).
_NO_POLICY: Final = contextlib.nullcontext()


def _run(
    runner: LoopRunner,
    coro: Any,
    *,
    context: contextvars.Context,
    timeout: float | None,
    label: str,
    idle_limit: float | None = None,
    root: Any = None,
    policy: Any = None,
    name: str | None = None,
    last: bool = False,
) -> Any:
    __tracebackhide__ = True
    if running_loop() is not None:
        coro.close()
        pytest.fail(
            f"{label} cannot run while an event loop is running in this thread: "
            f"an async fixture was requested with request.getfixturevalue() from "
            f"async code. Request it as an argument of the test or fixture instead.",
            pytrace=False,
        )
    try:
        with _NO_POLICY if policy is None else policy_installed(policy):
            return runner.run(
                coro,
                context=context,
                timeout=timeout,
                idle_limit=idle_limit,
                label=label,
                root=root,
                name=name,
                last=last,
            )
    except RunFailed as exc:  # a timeout, a stopped loop: the message says it
        message = str(exc)
    pytest.fail(message, pytrace=False)


def run_test(item: pytest.Function, kind: AsyncKind, run: AioloopRun) -> None:
    """Run an async test function on its loop (the call phase)."""
    __tracebackhide__ = True
    if kind == "asyncgen":
        pytest.fail(
            f"{item.nodeid} is an async generator (its body has 'yield'); async "
            f"generator tests are not supported. Make it a coroutine (async def "
            f"without yield).",
            pytrace=False,
        )
    plan = plan_for(item, run.settings, run.backends)
    loops = run.loops
    fresh = plan.node is item and loops.get(item, plan.backend) is None
    runner = loops.runner(
        plan.node, plan.backend, debug=plan.debug, closed_by_caller=fresh
    )
    function = item.obj
    funcargs = item.funcargs
    kwargs = {name: funcargs[name] for name in _compat.item_argnames(item)}
    nodeid = item.nodeid
    label = f"test {nodeid}"
    failed = False
    try:
        if plan.idle_limit_marked and not runner.virtual:
            pytest.fail(
                f"{item.nodeid}: mark.asyncio idle_limit={plan.idle_limit:g} "
                f"applies to a loop with virtual time only, and this test runs "
                f"on backend {plan.backend.name!r}, whose loops have none. Run "
                f"it on backend='virtual' or remove idle_limit.",
                pytrace=False,
            )
        if (
            VIRTUAL in run.settings.backends
            and not runner.virtual
            and run.backends.made_here(plan.backend)
        ):
            pytest.fail(
                f"{item.nodeid}: the run asks for virtual time (backend "
                f"{VIRTUAL!r} in --asyncio-backend or asyncio_backend), but this "
                f"test's loop comes from the {plan.backend.target} "
                f"({plan.backend.name!r}), which wins over the run's backends "
                f"and makes loops without a virtual clock: the test would run "
                f"in real time. Have it make virtual loops "
                f"(aioloop.load_backend('virtual').new_event_loop), pin the test "
                f"with mark.asyncio(backend='virtual'), or run it without "
                f"{VIRTUAL!r}.",
                pytrace=False,
            )
        if kind == "hypothesis":
            _run_hypothesis(function, kwargs, runner, plan, label)
        else:
            if plan.node is item:
                # a test's own loop: no call follows but held fixtures' teardowns
                runner.keep_worker = False
            _run(
                runner,
                function(**kwargs),
                context=contextvars.copy_context(),
                timeout=plan.timeout,
                idle_limit=plan.idle_limit,
                policy=plan.policy,
                label=label,
                name=nodeid,
                last=fresh,
            )
    except BaseException:
        failed = True
        raise
    finally:
        problems = runner.problems
        runner.problems = []
        try:
            if fresh:
                # No fixture used this loop: close it now, so that what the
                # test leaked or lost is one report, on its call.
                loops.close(item, plan.backend, also=problems)
            elif problems:
                run.reporter.handle(item.nodeid, problems, leak_mode_of(item))
        except pytest.fail.Exception:
            # The test's own failure comes first; its problems are still in
            # the summary (the reporter records them before failing).
            if not failed:
                raise


def _run_hypothesis(
    function: Any, kwargs: dict[str, Any], runner: LoopRunner, plan: Plan, label: str
) -> None:
    __tracebackhide__ = True
    inner = function.hypothesis.inner_test

    @functools.wraps(inner)
    def run_example(*args: Any, **example_kwargs: Any) -> None:
        _run(
            runner,
            inner(*args, **example_kwargs),
            context=contextvars.copy_context(),
            timeout=plan.timeout,
            idle_limit=plan.idle_limit,
            policy=plan.policy,
            label=label,
            name=label.removeprefix("test "),
        )

    function.hypothesis.inner_test = run_example
    try:
        function(**kwargs)
    finally:
        function.hypothesis.inner_test = inner


def _propagate(context: contextvars.Context) -> list[Token[Any]]:
    """Set in the caller's context the variables a fixture set in ``context``."""
    current = contextvars.copy_context()
    tokens: list[Token[Any]] = []
    for var, value in context.items():
        if var not in current or current[var] is not value:
            tokens.append(var.set(value))
    return tokens


def _reset(tokens: list[Token[Any]]) -> None:
    while tokens:
        token = tokens.pop()
        # set in another context or already reset: nothing to undo there
        with contextlib.suppress(ValueError, RuntimeError):
            token.var.reset(token)


def fixture_runner(
    fixturedef: pytest.FixtureDef[Any],
    request: pytest.FixtureRequest,
    loop_scope: LoopScope,
    run: AioloopRun,
    *,
    cached_per_backend: bool = True,
    in_use: BackendInUse | None = None,
) -> tuple[LoopRunner, Plan]:
    """The runner an async fixture runs on, and the requesting test's plan.

    ``in_use``: for a sync test on a run whose async tests differ in backend,
    the backend of the tests around it and its backend fixture: the sync
    test's async fixtures join that backend's wider fixtures.
    """
    item = _compat.requesting_item(request)
    plan = plan_for(item, run.settings, run.backends)
    backend = plan.backend if in_use is None else in_use.backend
    if fixturedef.scope == "function" and loop_scope == "function":
        node = plan.node
    else:
        node = scope_node(item, loop_scope, for_test=False)
        if node is item:
            node = plan.node
    debug = plan.debug if node is plan.node else run.settings.debug
    runner = run.loops.runner(node, backend, debug=debug)
    if cached_per_backend and fixturedef.scope != "function":
        # Cached per backend: when the backend parameter changes, pytest must
        # tear this fixture down (in its loop) before setting it up again.
        # (A sync test has no parameter: requested from it, the backend
        # fixture would be torn down and made again for no backend.)
        backend_def = (
            _compat.active_fixturedef(request, BACKEND_FIXTURE)
            if in_use is None
            else in_use.fixturedef
        )
        backend_def.addfinalizer(_compat.finish_later(fixturedef, request))
    return runner, plan


def check_loop_scope(fixturedef: pytest.FixtureDef[Any], loop_scope: LoopScope) -> None:
    if _SCOPE_RANK.get(loop_scope, 0) < _SCOPE_RANK.get(fixturedef.scope, 0):
        pytest.fail(
            f"fixture {fixturedef.argname!r} has loop_scope={loop_scope!r}, narrower "
            f"than its scope={fixturedef.scope!r}: its value would outlive the loop it "
            f"was made in. Give it loop_scope={fixturedef.scope!r} or wider.",
            pytrace=False,
        )


async def _first_step(generator: Any) -> Any:
    # __anext__() is called in the loop, not before: the first call registers
    # the generator with the running loop's async-generator hooks, so that
    # loop.shutdown_asyncgens() (at close, or called by the test itself, as
    # sync clients that drive the loop do) finalises it, as pytest-asyncio's
    # fixtures are.
    return await generator.__anext__()


def setup_async_fixture(
    fixturedef: pytest.FixtureDef[Any],
    request: pytest.FixtureRequest,
    kind: str,
    loop_scope: LoopScope,
    run: AioloopRun,
    in_use: BackendInUse | None = None,
) -> Callable[..., Any]:
    """Return a sync stand-in for the async fixture function, bound to its loop."""
    check_loop_scope(fixturedef, loop_scope)
    runner, plan = fixture_runner(fixturedef, request, loop_scope, run, in_use=in_use)
    function = _compat.bound_fixture_function(fixturedef, request)
    name = fixturedef.argname
    runner.on_close(_compat.finish_later(fixturedef, request))

    def step(
        awaitable: Any, context: contextvars.Context, what: str, root: Any = None
    ) -> Any:
        __tracebackhide__ = True
        return _run(
            runner,
            awaitable,
            context=context,
            timeout=plan.timeout,
            idle_limit=plan.idle_limit,
            policy=plan.policy,
            label=f"{what} fixture {name!r}",
            root=root,
        )

    if kind == "coroutine":

        def setup_coroutine(**kwargs: Any) -> Any:
            __tracebackhide__ = True
            context = contextvars.copy_context()
            result = step(function(**kwargs), context, "setup of")
            tokens = _propagate(context)
            if tokens:
                request.addfinalizer(functools.partial(_reset, tokens))
            return result

        return setup_coroutine

    def setup_asyncgen(**kwargs: Any) -> Any:
        __tracebackhide__ = True
        generator = function(**kwargs)
        context = contextvars.copy_context()
        # The generator stays suspended in the loop's worker task until its
        # teardown, which must run in that same task.
        runner.hold()
        try:
            value = step(_first_step(generator), context, "setup of", generator)
        except StopAsyncIteration:
            runner.release()
            raise ValueError(f"async fixture {name!r} did not yield a value") from None
        except BaseException:
            runner.release()
            raise
        tokens = _propagate(context)

        def teardown() -> None:
            __tracebackhide__ = True
            # Released before the teardown is queued, not after it ran: the
            # worker then ends at the end of the teardown's own loop run when
            # nothing else holds it, instead of in one more run at close.
            runner.release()
            try:
                step(generator.__anext__(), context, "teardown of", generator)
            except StopAsyncIteration:
                pass
            else:
                step(generator.aclose(), context, "closing")
                pytest.fail(
                    f"async fixture {name!r} yielded more than once; a fixture "
                    f"yields exactly one value.",
                    pytrace=False,
                )
            finally:
                _reset(tokens)

        request.addfinalizer(teardown)
        return value

    return setup_asyncgen
