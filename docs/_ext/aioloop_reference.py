"""Reference tables made from the plugin's own code.

- ``{aioloop-options}``: every ini value and command-line option, from
  ``pytest_aioloop._settings.add_options`` (their help texts and defaults);
- ``{aioloop-fixtures}``: the public fixtures, from their docstrings;
- ``{aioloop-hooks}``: the hooks a conftest may implement, from their specs.
"""

from __future__ import annotations

import inspect
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

PUBLIC_FIXTURES = (
    "asyncio_backend",
    "unused_tcp_port",
    "unused_tcp_port_factory",
    "unused_udp_port",
    "unused_udp_port_factory",
    "event_loop_policy",
)


class _Recorder:
    """Stands in for pytest's parser and option group: records what is added."""

    def __init__(self) -> None:
        self.options: list[tuple[tuple[str, ...], dict[str, Any]]] = []
        self.inis: list[tuple[str, str, dict[str, Any]]] = []

    def getgroup(self, *args: object, **kwargs: object) -> _Recorder:
        return self

    def addoption(self, *names: str, **kwargs: Any) -> None:
        self.options.append((names, kwargs))

    def addini(self, name: str, help: str, **kwargs: Any) -> None:
        self.inis.append((name, help, kwargs))


def _literal(text: str) -> str:
    return f"``{text}``"


def _parse_rst(directive: SphinxDirective, lines: list[str]) -> list[nodes.Node]:
    # The pages are MyST Markdown: nested content is parsed as Markdown, so
    # the generated reStructuredText goes in an eval-rst block.
    container = nodes.container()
    directive.state.nested_parse(
        StringList(["```{eval-rst}", *lines, "```"]),
        directive.content_offset,
        container,
    )
    return container.children


class _Table(SphinxDirective):
    def table(
        self, header: list[str], rows: list[list[str]], widths: str
    ) -> list[nodes.Node]:
        """A list-table; a cell's lines separated by a blank line are paragraphs."""
        lines = [".. list-table::", "   :header-rows: 1", f"   :widths: {widths}", ""]
        for row in [header, *rows]:
            for index, cell in enumerate(row):
                first, *rest = cell.split("\n") or [""]
                lines.append(f"   {'* -' if index == 0 else '  -'} {first}")
                lines.extend(f"       {line}" if line else "" for line in rest)
        return _parse_rst(self, lines)


class OptionsDirective(_Table):
    def run(self) -> list[nodes.Node]:
        from pytest_aioloop._settings import add_options

        recorder = _Recorder()
        add_options(recorder)  # type: ignore[arg-type]
        by_dest = {
            kwargs["dest"]: (names, kwargs) for names, kwargs in recorder.options
        }
        rows = []
        for name, help_text, kwargs in recorder.inis:
            option = by_dest.pop(name, None)
            cli = ""
            if option is not None:
                names, opt = option
                cli = _literal(
                    names[0] + (f"={opt['metavar']}" if "metavar" in opt else "")
                )
                help_text = opt["help"]
            default = kwargs.get("default")
            shown = "" if default in (None, False) else _literal(str(default))
            names_cell = _literal(name) + (f"\n\n{cli}" if cli else "")
            rows.append([names_cell, help_text, shown])
        for names, opt in by_dest.values():  # options without an ini value
            rows.append([_literal(names[0]), opt["help"], ""])
        return self.table(
            ["ini value / command line", "meaning", "default"], rows, "35 50 15"
        )


class FixturesDirective(_Table):
    def run(self) -> list[nodes.Node]:
        from pytest_aioloop import _fixtures

        rows = []
        for name in PUBLIC_FIXTURES:
            definition = getattr(_fixtures, name)
            function = getattr(definition, "__wrapped__", definition)
            scope = "function"
            marker = getattr(definition, "_fixture_function_marker", None)
            if marker is not None:
                scope = str(marker.scope)
            doc = inspect.cleandoc(function.__doc__ or "").replace("\n", " ")
            rows.append([_literal(name), scope, doc])
        return self.table(["fixture", "scope", "what it gives"], rows, "30 15 55")


class HooksDirective(SphinxDirective):
    def run(self) -> list[nodes.Node]:
        from pytest_aioloop._hookspecs import LoopFactoryHooks, PytestAsyncioHooks

        lines: list[str] = []
        for spec in (LoopFactoryHooks, PytestAsyncioHooks):
            for name, function in vars(spec).items():
                if not name.startswith("pytest_"):
                    continue
                parameters = list(inspect.signature(function).parameters)[1:]
                lines.append(f".. py:function:: {name}({', '.join(parameters)})")
                lines.append("")
                doc = inspect.cleandoc(function.__doc__ or "")
                lines.extend(f"   {line}" for line in doc.splitlines())
                lines.append("")
        return _parse_rst(self, lines)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("aioloop-options", OptionsDirective)
    app.add_directive("aioloop-fixtures", FixturesDirective)
    app.add_directive("aioloop-hooks", HooksDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
