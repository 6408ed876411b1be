"""One module per output format, each with `render_<format>(graph, options) -> str | bytes`.

Which module serves which format is `genealogy.formats.FORMATS`; `render` picks the function
there, so a module is imported only when its format is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from genealogy.formats import EXTENSIONS, FORMATS, format_for, get
from genealogy.perf import paused_gc

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["EXTENSIONS", "FORMATS", "RenderOptions", "format_for", "render"]


@dataclass(frozen=True)
class RenderOptions:
    """Presentation choices; each format uses those that make sense for it."""

    charset: Literal["unicode", "ascii"] = "unicode"
    depth: int | None = None  # levels shown below the top, where a format draws a tree
    color: bool = False  # ANSI colours, for a terminal
    audit: Any = None
    """The `genealogy.queries.Audit` whose findings a format shows (the HTML page): its
    caller runs the query, so the page shows what the `audit` command reports."""


def render(graph: nx.DiGraph, fmt: str, options: RenderOptions | None = None) -> str | bytes:
    renderer = get(fmt).render
    with paused_gc():
        return renderer(graph, options or RenderOptions())
