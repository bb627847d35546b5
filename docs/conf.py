"""Sphinx configuration of the pytest-aioloop documentation.

Built by ``nox -s docs`` with warnings as errors; the pages are MyST Markdown.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

import aioloop  # noqa: E402  (after the path change above)

project = "pytest-aioloop"
author = "pytest-aioloop developers"
copyright = "pytest-aioloop developers"
release = version = aioloop.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "aioloop_reference",
]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "_ext"]
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

# Every cross-reference must resolve, except to names of other projects:
# there is no network in the check, so no intersphinx inventories.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(asyncio|collections\.abc|typing|importlib|pytest|_pytest)\..*"),
    (r"py:class", r"(Exception|ImportError|LookupError|TypeError|BaseException)"),
    (r"py:class", r"(str|int|bool|object|type|float|None)"),
    # the type variable of the fixture decorator: "the decorated function"
    (r"py:class", r"pytest_aioloop\._api\.F"),
]

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False

html_theme = "furo"
html_title = f"pytest-aioloop {release}"
html_static_path: list[str] = []
html_theme_options = {
    "source_repository": "https://github.com/pytest-aioloop/pytest-aioloop",
    "source_branch": "main",
    "source_directory": "docs/",
}
