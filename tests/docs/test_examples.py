"""Every code example in README.md and docs/ runs, as the page shows it.

The examples are read from the documents, not copied here. On a page:

- a fenced ``python``, ``toml``, ``ini`` or ``cfg`` block whose first line is a
  comment naming a file (``# test_quickstart.py``, ``# conftest.py``,
  ``# pyproject.toml``, ``# pytest.ini``, ``# setup.cfg``) is a file of the
  current example; a file block that comes after a run starts a new example;
- a ``console`` block's ``pytest ...`` lines (after ``$ `` when the block has
  prompts) run in a folder holding the current example's files. A trailing
  comment states the outcome (``# 3 passed``, ``# 1 failed, 1 passed``,
  ``# exit 4``); without one the run must end with exit status 0 (or 5, no
  tests collected);
- an example with files and no ``pytest`` line runs ``pytest`` once;
- every other ``python``, ``toml`` and ``ini`` block must at least parse.

An example that names a backend that is not installed (``virtual`` before it
is built in, a third-party one the page installs with pip) is skipped, with
the reason.
"""

from __future__ import annotations

import ast
import configparser
import re
import shlex
import textwrap
import tomllib
from pathlib import Path
from typing import NamedTuple

import pytest

import aioloop

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])

_FENCE = re.compile(r"^(?P<indent>[ ]*)(?P<fence>```+)(?P<info>[^`\s]*)[^`]*$")
_FILE_COMMENT = re.compile(r"^# (?P<name>[\w./-]+\.(?:py|toml|ini|cfg))\s*$")
_OUTCOME = re.compile(
    r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed|warnings?|deselected)"
)
_FILE_LANGS = {"python", "toml", "ini", "cfg"}


class Block(NamedTuple):
    lang: str
    body: str
    line: int


class Run(NamedTuple):
    args: tuple[str, ...]
    outcome: str  # the trailing comment, "" when none


class Example(NamedTuple):
    document: Path
    line: int
    files: dict[str, str]
    runs: list[Run]
    text: str  # files and commands, to find the backends it names

    @property
    def id(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"


def fenced_blocks(text: str) -> list[Block]:
    """The fenced code blocks of a Markdown page (indented ones too, as in lists)."""
    blocks: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        body: list[str] = []
        end = index + 1
        while end < len(lines):
            line = lines[end]
            if line.strip().startswith(fence) and line.strip().strip("`") == "":
                break
            body.append(line[indent:] if line[:indent].strip() == "" else line)
            end += 1
        blocks.append(Block(opening["info"], "\n".join(body) + "\n", index + 1))
        index = end + 1
    return blocks


def _commands(body: str) -> list[Run]:
    lines = body.splitlines()
    prompted = any(line.startswith("$ ") for line in lines)
    runs = []
    for line in lines:
        if prompted:
            if not line.startswith("$ "):
                continue
            line = line[2:]
        command, _, comment = line.partition(" # ")
        if not command.startswith("pytest"):
            continue
        runs.append(Run(tuple(shlex.split(command)[1:]), comment.strip()))
    return runs


def examples_of(document: Path) -> tuple[list[Example], list[Block]]:
    """The runnable examples of one page, and the blocks that must only parse."""
    examples: list[Example] = []
    to_parse: list[Block] = []
    files: dict[str, str] = {}
    runs: list[Run] = []
    texts: list[str] = []
    start = 0

    def finish() -> None:
        if files or runs:
            examples.append(
                Example(document, start, dict(files), list(runs), "\n".join(texts))
            )
        files.clear()
        runs.clear()
        texts.clear()

    for block in fenced_blocks(document.read_text(encoding="utf-8")):
        first = block.body.split("\n", 1)[0]
        named = _FILE_COMMENT.match(first)
        if block.lang in _FILE_LANGS and named:
            if runs:  # a file after a run: a new example
                finish()
            if not files and not runs:
                start = block.line
            files[named["name"]] = block.body
            texts.append(block.body)
        elif block.lang == "console":
            new_runs = _commands(block.body)
            if new_runs and not files and not runs:
                start = block.line
            runs.extend(new_runs)
            texts.extend(" ".join(run.args) for run in new_runs)
        elif block.lang in _FILE_LANGS:
            to_parse.append(block)
    finish()
    return examples, to_parse


def _collect() -> tuple[list[Example], list[tuple[Path, Block]]]:
    examples: list[Example] = []
    to_parse: list[tuple[Path, Block]] = []
    for document in DOCUMENTS:
        found, blocks = examples_of(document)
        examples.extend(found)
        to_parse.extend((document, block) for block in blocks)
    return examples, to_parse


EXAMPLES, TO_PARSE = _collect()

_BACKEND_NAMES = re.compile(
    r"--asyncio-backend[= ](?P<cli>[\w,-]+)"
    r"|\bbackend=(?P<mark>\[[^\]]*\]|\"[\w-]+\"|'[\w-]+')"
    r"|^\s*asyncio_backend\s*=\s*(?P<ini>.+)$",
    re.M,
)


def backends_named(text: str) -> set[str]:
    """The backend names an example's files and commands use."""
    names: set[str] = set()
    for match in _BACKEND_NAMES.finditer(text):
        value = match["cli"] or match["mark"] or match["ini"]
        names.update(re.findall(r"[A-Za-z_][\w-]*", value))
    return names


def parse_outcome(comment: str) -> dict[str, int] | int | None:
    """``"1 failed, 2 passed"`` -> outcomes; ``"exit 4"`` -> 4; else None."""
    if match := re.fullmatch(r"exit (\d+)", comment):
        return int(match[1])
    found = _OUTCOME.findall(comment)
    if not found:
        return None
    plural = {"error": "errors", "warning": "warnings"}
    return {plural.get(kind, kind): int(count) for count, kind in found}


def _missing_backends(text: str) -> list[str]:
    return sorted(backends_named(text) - set(aioloop.backend_names()))


def _skip_reason(missing: list[str]) -> str:
    return (
        f"uses backend(s) {', '.join(missing)}, not installed "
        f"(installed: {', '.join(aioloop.backend_names())})"
    )


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda example: example.id)
def test_example_runs_as_documented(
    example: Example, pytester: pytest.Pytester
) -> None:
    if missing := _missing_backends("\n".join(example.files.values())):
        pytest.skip(_skip_reason(missing))
    for name, body in example.files.items():
        path = pytester.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    skipped = []
    for run in example.runs or [Run((), "")]:
        expected = parse_outcome(run.outcome)
        missing = _missing_backends(" ".join(run.args))
        if missing and not isinstance(expected, int):
            skipped.append(_skip_reason(missing))
            continue
        # --strict-config: an ini key of an example that pytest does not know
        # (a typo, an option that was renamed) fails the example.
        result = pytester.runpytest("--strict-config", *run.args)
        output = result.stdout.str() + result.stderr.str()
        where = f"{example.id}: pytest {shlex.join(run.args)}\n{output}"
        if isinstance(expected, int):
            assert result.ret == expected, where
        elif expected is not None:
            got = result.parseoutcomes()
            got = {k: v for k, v in got.items() if k in expected or k != "warnings"}
            assert got == expected, where
        else:
            assert result.ret in (0, 5), where
    if skipped:
        pytest.skip("; ".join(dict.fromkeys(skipped)))


@pytest.mark.parametrize(
    ("document", "block"),
    TO_PARSE,
    ids=[f"{d.relative_to(ROOT)}:{b.line}" for d, b in TO_PARSE],
)
def test_snippet_parses(document: Path, block: Block) -> None:
    if block.lang == "python":
        ast.parse(block.body, filename=f"{document}:{block.line}")
    elif block.lang == "toml":
        tomllib.loads(block.body)
    else:
        configparser.ConfigParser().read_string(textwrap.dedent(block.body))


def test_every_document_is_read() -> None:
    # The examples come from the pages: a page moved or renamed still counts.
    assert ROOT / "README.md" in DOCUMENTS
    assert len(DOCUMENTS) > 10, DOCUMENTS
    assert len(EXAMPLES) > 20, [example.id for example in EXAMPLES]


def test_the_collector_reads_files_runs_and_outcomes(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        textwrap.dedent(
            """
            ```python
            # test_a.py
            def test_a(): pass
            ```

            1. A step:

               ```console
               $ pytest -q  # 1 passed
               $ pip install something
               ```

            ```ini
            # pytest.ini
            [pytest]
            asyncio_backend = asyncio, virtual
            ```

            ```python
            x = 1
            ```
            """
        )
    )
    examples, to_parse = examples_of(page)
    assert [(e.files.keys(), e.runs) for e in examples] == [
        ({"test_a.py": ""}.keys(), [Run(("-q",), "1 passed")]),
        ({"pytest.ini": ""}.keys(), []),
    ]
    assert backends_named(examples[1].text) == {"asyncio", "virtual"}
    assert [block.body for block in to_parse] == ["x = 1\n"]
    assert parse_outcome("1 failed, 2 passed") == {"failed": 1, "passed": 2}
    assert parse_outcome("exit 4") == 4
    assert parse_outcome("the whole run") is None
