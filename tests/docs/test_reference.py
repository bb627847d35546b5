"""The reference pages cover every public name, keyword, option and fixture."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import aioloop
import pytest_aioloop
from pytest_aioloop import _fixtures, _marker

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference"


def test_marker_page_lists_exactly_the_markers_keywords() -> None:
    page = (REFERENCE / "marker.md").read_text(encoding="utf-8")
    documented = re.findall(r"^\| `(\w+)` \|", page, re.M)
    assert sorted(documented) == sorted(_marker._KEYWORDS)


def test_every_public_name_has_a_reference_entry() -> None:
    pages = {
        pytest_aioloop: (REFERENCE / "pytest_aioloop.md").read_text(encoding="utf-8"),
        aioloop: (REFERENCE / "aioloop.md").read_text(encoding="utf-8"),
    }
    for module, page in pages.items():
        entries = set(re.findall(r"^\.\. \w+:: (\w+)", page, re.M))
        assert set(module.__all__) <= entries, module.__name__


def test_every_fixture_is_in_the_fixture_table() -> None:
    # Read from the Sphinx extension's source: Sphinx is not a test dependency.
    extension = REFERENCE.parent / "_ext" / "aioloop_reference.py"
    (listed,) = (
        node.value
        for node in ast.parse(extension.read_text(encoding="utf-8")).body
        if isinstance(node, ast.Assign)
        and [getattr(target, "id", None) for target in node.targets]
        == ["PUBLIC_FIXTURES"]
    )
    fixtures_page = ast.literal_eval(listed)
    public = {
        name
        for name, value in vars(_fixtures).items()
        if not name.startswith("_") and hasattr(value, "_fixture_function_marker")
    }
    assert public == set(fixtures_page)
