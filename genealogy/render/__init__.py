"""One module per output format, each with a single `render(graph) -> str | bytes`.

Modules are imported only when their format is asked for.
"""

from __future__ import annotations

import importlib
from pathlib import PurePath
from typing import Protocol

import networkx as nx

FORMATS: dict[str, str] = {
    "dot": "genealogy.render.dot",
    "svg": "genealogy.render.svg",
    "png": "genealogy.render.svg",
    "pdf": "genealogy.render.svg",
    "json": "genealogy.render.json",
}
"""Format name -> module; a module serving several formats takes the name as `fmt`."""

EXTENSIONS: dict[str, str] = {
    ".dot": "dot",
    ".gv": "dot",
    ".svg": "svg",
    ".png": "png",
    ".pdf": "pdf",
    ".json": "json",
}

BINARY_FORMATS = frozenset({"png", "pdf"})


class Renderer(Protocol):
    def __call__(self, graph: nx.DiGraph, fmt: str) -> str | bytes: ...


def format_for(path: str | None, requested: str | None) -> str | None:
    """The format asked for explicitly, else the one the output file's extension implies."""
    if requested:
        return requested
    if path and path != "-":
        return EXTENSIONS.get(PurePath(path).suffix.lower())
    return None


def render(graph: nx.DiGraph, fmt: str) -> str | bytes:
    module = importlib.import_module(FORMATS[fmt])
    renderer: Renderer = module.render
    return renderer(graph, fmt)
