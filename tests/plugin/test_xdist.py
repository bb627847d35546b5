"""pytest-xdist: each worker has its own session loop."""

from __future__ import annotations

from collections.abc import Callable

import pytest

Ini = Callable[..., None]
Loops = Callable[[], dict[str, str]]


def test_xdist_workers_each_have_one_session_loop(
    pytester: pytest.Pytester, strict_ini: Ini, loops: Loops
) -> None:
    module = """
        import pytest

        pytestmark = pytest.mark.asyncio(loop_scope="session")

        @pytest.mark.parametrize("n", range(5))
        async def test_session(record_loop, n):
            record_loop(f"{__name__}-{n}")
        """
    for name in ("test_a", "test_b", "test_c", "test_d"):
        pytester.makepyfile(**{name: module})
    result = pytester.runpytest_subprocess("-p", "xdist", "-n", "2")
    result.assert_outcomes(passed=20)
    seen = loops()
    assert len(seen) == 20
    by_worker: dict[str, set[str]] = {}
    for number in seen.values():
        pid, _ = number.split(":")
        by_worker.setdefault(pid, set()).add(number)
    assert len(by_worker) == 2
    assert all(len(numbers) == 1 for numbers in by_worker.values())
