"""Costs outside pytest, for reference: what the loop itself costs per test.

Run by ``run.py`` with the floor's python, in a generated suite folder (for
``_bench.real_work``); prints one JSON object. Each figure is the median of a
few repeats, in CPU µs (``time.process_time``: this process, all threads) per
operation: on a shared machine, wall time counts whatever else runs.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


async def _noop() -> None:
    pass


def _cpu(operation: Callable[[], None], count: int, repeats: int = 5) -> float:
    runs = []
    for _ in range(repeats):
        start = time.process_time()
        for _ in range(count):
            operation()
        runs.append((time.process_time() - start) / count)
    return statistics.median(runs) * 1e6


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
            # what a function loop has to do: asyncio.Runner's steps, without
            # its SIGINT handler set and reset around each run
            fresh = factory()
            try:
                fresh.run_until_complete(real_work())
                fresh.run_until_complete(fresh.shutdown_asyncgens())
                fresh.run_until_complete(fresh.shutdown_default_executor())
            finally:
                fresh.close()

        return {
            "loop made and closed": _cpu(loop_cycle, count),
            "run_until_complete(noop)": _cpu(run_until_complete, count),
            "asyncio.Runner + run(noop)": _cpu(runner_cycle, count),
            "real-work body, shared loop": _cpu(real_work_shared_loop, count // 4),
            "real-work body, a new loop each": _cpu(real_work_fresh_loop, count // 4),
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
