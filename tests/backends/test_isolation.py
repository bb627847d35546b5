"""Only the backend asked for is imported, and no event loop policy is touched.

Each check runs in a fresh interpreter: this process has imported plenty already.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

MakeSite = Callable[..., Path]
RunPython = Callable[..., subprocess.CompletedProcess[str]]

WATCHED = (
    "pytest",
    "stevedore",
    "uvloop",
    "aioloop._asyncio",
    "aioloop._uvloop",
    "spy_backend",
    "broken_backend",
)

SPY = """
    import asyncio

    class SpyLoop(asyncio.SelectorEventLoop):
        pass
"""

BROKEN = """
    raise RuntimeError("broken_backend must never be imported here")
"""


@pytest.fixture
def report(run_python: RunPython, make_site: MakeSite) -> Callable[[str], Any]:
    """Run ``code`` in a fresh interpreter with a spy and a broken backend installed.

    Returns what the snippet left in ``result``, plus which watched modules
    were imported and whether the global event loop policy is still unset.
    """
    site = make_site(
        {"spy": "spy_backend:SpyLoop", "broken": "broken_backend:new_event_loop"},
        {"spy_backend": SPY, "broken_backend": BROKEN},
    )

    def run(code: str) -> Any:
        snippet = (
            "import json, sys\n"
            "result = None\n"
            f"{code}\n"
            "import asyncio.events\n"
            "print(json.dumps({\n"
            f"    'imported': sorted(m for m in {WATCHED!r} if m in sys.modules),\n"
            "    'policy': repr(asyncio.events._event_loop_policy),\n"
            "    'result': result,\n"
            "}))\n"
        )
        process = run_python(snippet, path=[site])
        assert process.stderr == ""
        return json.loads(process.stdout.splitlines()[-1])

    return run


def test_importing_aioloop_imports_no_driver_no_stevedore_no_pytest(
    report: Callable[[str], Any],
) -> None:
    outcome = report("import aioloop")

    assert outcome["imported"] == []
    assert outcome["policy"] == "None"


def test_backend_names_imports_no_driver(report: Callable[[str], Any]) -> None:
    outcome = report("import aioloop\nresult = aioloop.backend_names()")

    assert {"asyncio", "uvloop", "spy", "broken"} <= set(outcome["result"])
    assert outcome["imported"] == ["stevedore"]
    assert outcome["policy"] == "None"


@pytest.mark.parametrize(
    ("name", "imported", "loop_type"),
    [
        ("asyncio", ["aioloop._asyncio"], "_UnixSelectorEventLoop"),
        ("uvloop", ["aioloop._uvloop", "uvloop"], "Loop"),
        ("spy", ["spy_backend"], "SpyLoop"),
    ],
)
def test_loading_one_backend_imports_no_other_and_touches_no_policy(
    report: Callable[[str], Any], name: str, imported: list[str], loop_type: str
) -> None:
    outcome = report(
        "import asyncio, aioloop\n"
        f"backend = aioloop.load_backend({name!r})\n"
        "async def main():\n"
        "    await asyncio.sleep(0)\n"
        "    return type(asyncio.get_running_loop()).__name__\n"
        "with asyncio.Runner(loop_factory=backend.new_event_loop) as runner:\n"
        "    result = [runner.run(main()), backend.describe()]\n"
    )

    assert outcome["imported"] == sorted(["stevedore", *imported])
    assert outcome["result"][0] == loop_type
    assert outcome["result"][1].startswith(name)
    assert outcome["policy"] == "None"


def test_importing_aioloop_and_listing_backends_does_not_import_asyncio(
    report: Callable[[str], Any],
) -> None:
    # pytest imports aioloop at start-up; asyncio's import time is paid only
    # when a loop is made.
    outcome = report(
        "import aioloop\naioloop.backend_names()\nresult = 'asyncio' in sys.modules\n"
    )

    assert outcome["result"] is False
