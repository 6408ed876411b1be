"""One module per output format, each with a single `render(graph, fmt, options) -> str | bytes`.

Modules are imported only when their format is asked for, so an optional dependency (or the
Graphviz programs) is needed only by the formats that use it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import PurePath
from typing import Literal, Protocol

import networkx as nx

from genealogy.perf import paused_gc

FORMATS: dict[str, str] = {
    "dot": "genealogy.render.dot",
    "svg": "genealogy.render.svg",
    "png": "genealogy.render.svg",
    "pdf": "genealogy.render.svg",
    "json": "genealogy.render.json",
    "text": "genealogy.render.text",
    "mermaid": "genealogy.render.mermaid",
    "graphml": "genealogy.render.graphml",
    "csv": "genealogy.render.csv",
    "html": "genealogy.render.html_page",
}
"""Format name -> module; a module serving several formats takes the name as `fmt`."""

EXTENSIONS: dict[str, str] = {
    ".dot": "dot",
    ".gv": "dot",
    ".svg": "svg",
    ".png": "png",
    ".pdf": "pdf",
    ".json": "json",
    ".txt": "text",
    ".mmd": "mermaid",
    ".mermaid": "mermaid",
    ".graphml": "graphml",
    ".csv": "csv",
    ".html": "html",
    ".htm": "html",
}

BINARY_FORMATS = frozenset({"png", "pdf"})


@dataclass(frozen=True)
class RenderOptions:
    """Presentation choices; each format uses those that make sense for it."""

    charset: Literal["unicode", "ascii"] = "unicode"
    depth: int | None = None  # levels shown below the top, where a format draws a tree
    color: bool = False  # ANSI colours, for a terminal


class Renderer(Protocol):
    def __call__(self, graph: nx.DiGraph, fmt: str, options: RenderOptions) -> str | bytes: ...


def format_for(path: str | None, requested: str | None) -> str | None:
    """The format asked for explicitly, else the one the output file's extension implies."""
    if requested:
        return requested
    if path and path != "-":
        return EXTENSIONS.get(PurePath(path).suffix.lower())
    return None


def render(graph: nx.DiGraph, fmt: str, options: RenderOptions | None = None) -> str | bytes:
    module = importlib.import_module(FORMATS[fmt])
    renderer: Renderer = module.render
    with paused_gc():
        return renderer(graph, fmt, options or RenderOptions())
