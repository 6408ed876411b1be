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
    depth: int | None = None
    """Levels below the top-level assemblies, in every format (`genealogy.grouping`)."""
    color: bool = False  # ANSI colours, for a terminal
    group: bool = True
    """Diagrams: identical sibling leaves as one node, in graphs above `GROUP_ABOVE` units."""
    force: bool = False
    """Diagrams: draw even when the text would be unreadable (`DiagramTooLarge` otherwise)."""
    audit: Any = None
    """The `genealogy.queries.Audit` whose findings a format shows (the HTML page): its
    caller runs the query, so the page shows what the `audit` command reports."""


def render(graph: nx.DiGraph, fmt: str, options: RenderOptions | None = None) -> str | bytes:
    """`graph` in format `fmt`: cut at `options.depth` (the text tree cuts as it walks), and
    for a diagram grouped (`genealogy.grouping`)."""
    chosen = get(fmt)
    options = options or RenderOptions()
    with paused_gc():
        return chosen.render(shown_in(graph, fmt, options), options)


def shown_in(graph: nx.DiGraph, fmt: str, options: RenderOptions) -> nx.DiGraph:
    """The graph a format draws: the diagrams' grouping, and every format's depth."""
    from genealogy.grouping import diagram, limit_depth

    if fmt == "text":  # it walks down from the top-level assemblies and stops at the depth
        return graph
    if get(fmt).diagram:
        return diagram(graph, options.depth, options.group)
    return limit_depth(graph, options.depth)
