"""Costs outside pytest, for reference: what the loop itself costs per test.

Run by ``run.py`` with the floor's python, in a generated suite folder (for
``_bench.real_work``); prints one JSON object. Each figure is the best of a few
repeats, in µs per operation.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from typing import Any

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


async def _noop() -> None:
    pass


def _best(operation: Callable[[], None], count: int, repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(count):
            operation()
        best = min(best, (time.perf_counter() - start) / count)
    return best * 1e6


def measure(
    factory: LoopFactory, real_work: Callable[[], Any], count: int
) -> dict[str, float]:
    def runner_cycle() -> None:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(_noop())

    def loop_cycle() -> None:
        factory().close()

    loop = factory()
    try:

        def run_until_complete() -> None:
            loop.run_until_complete(_noop())

        def real_work_shared_loop() -> None:
            loop.run_until_complete(real_work())

        def real_work_fresh_loop() -> None:
            with asyncio.Runner(loop_factory=factory) as runner:
                runner.run(real_work())

        return {
            "loop made and closed": _best(loop_cycle, count),
            "run_until_complete(noop)": _best(run_until_complete, count),
            "asyncio.Runner + run(noop)": _best(runner_cycle, count),
            "real-work body, shared loop": _best(real_work_shared_loop, count // 4),
            "real-work body, a new loop each": _best(real_work_fresh_loop, count // 4),
        }
    finally:
        loop.close()


def main() -> None:
    sys.path.insert(0, sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    import _bench  # type: ignore[import-not-found]  # generated: real_work

    factories: dict[str, LoopFactory] = {"asyncio": asyncio.new_event_loop}
    try:
        import uvloop

        factories["uvloop"] = uvloop.new_event_loop
    except ImportError:
        pass
    out = {
        name: measure(factory, _bench.real_work, count)
        for name, factory in factories.items()
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
