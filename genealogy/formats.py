"""Every output format in one table: the command line, the demo, `--help` and the library read it.

A new format is one row here and one `render_<name>(graph, options)` function in its module.
Renderers are imported when their format is first used, so an optional dependency (or the
Graphviz programs) is needed only by the formats that use it, and start-up stays fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from genealogy.errors import UsageError

if TYPE_CHECKING:
    import networkx as nx

    from genealogy.renderers import RenderOptions

Renderer = Callable[["nx.DiGraph", "RenderOptions"], "str | bytes"]


@dataclass(frozen=True)
class Format:
    name: str
    extensions: tuple[str, ...]
    binary: bool
    needs_graphviz: bool
    diagram: bool
    """Drawn as boxes and arrows: identical sibling leaves are grouped (`genealogy.grouping`)
    and the size limit applies; data formats keep every unit."""
    module: str
    """The module holding `render_<name>`."""
    summary: str
    """One line for `--help`."""

    @property
    def render(self) -> Renderer:
        """The renderer, imported on first use."""
        function: Renderer = getattr(importlib.import_module(self.module), f"render_{self.name}")
        return function


def _format(name: str, extensions: str, module: str, summary: str, **flags: Any) -> Format:
    return Format(
        name,
        tuple(extensions.split()),
        flags.get("binary", False),
        flags.get("graphviz", False),
        flags.get("diagram", flags.get("graphviz", False)),
        f"genealogy.renderers.{module}",
        summary,
    )


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        _format("text", ".txt", "text", "an indented tree (the default on stdout)"),
        _format("json", ".json", "json", "networkx node-link data, loads back into an equal graph"),
        _format("dot", ".dot .gv", "dot", "Graphviz source", diagram=True),
        _format("svg", ".svg", "svg", "drawn by Graphviz", graphviz=True),
        _format("png", ".png", "svg", "drawn by Graphviz", graphviz=True, binary=True),
        _format("pdf", ".pdf", "svg", "drawn by Graphviz", graphviz=True, binary=True),
        _format(
            "mermaid",
            ".mmd .mermaid",
            "mermaid",
            "renders in GitHub and GitLab markdown",
            diagram=True,
        ),
        _format("graphml", ".graphml", "graphml", "opens in Gephi, yEd, Cytoscape"),
        _format("csv", ".csv", "csv", "one row per unit"),
        _format(
            "html", ".html .htm", "html_page", "one interactive page: tree, search, findings"
        ),
    )
}
"""Every format by name, in the order `--help` lists them."""

EXTENSIONS: dict[str, str] = {ext: f.name for f in FORMATS.values() for ext in f.extensions}


class UnknownFormat(UsageError):
    """A format name or file extension that is not in the table."""


def get(name: str) -> Format:
    try:
        return FORMATS[name]
    except KeyError:
        raise UnknownFormat(
            f"unknown format {name!r}: choose from {', '.join(FORMATS)}"
        ) from None


def format_for(path: str | None, requested: str | None) -> str | None:
    """The format asked for explicitly, else the one the output file's extension implies."""
    if requested:
        return requested
    if path and path != "-":
        return EXTENSIONS.get(PurePath(path).suffix.lower())
    return None


def help_table() -> str:
    """The formats as `--help` lists them, one per line (for click's `\\b` blocks)."""
    rows = []
    for f in FORMATS.values():
        rows.append(f"  {f.name:<8} {' '.join(f.extensions):<15} {f.summary}")
    return "\n".join(rows)
