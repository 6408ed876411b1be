"""SVG (and PNG, PDF) drawn by the Graphviz `dot` program from the DOT export.

Unless `RenderOptions.force`, a drawing is checked first (`renderers.size`): too many boxes are
refused before Graphviz runs, and the SVG layout is measured, so a drawing whose text would be
unreadable raises `DiagramTooLarge` instead of being returned. A PNG or PDF is measured on the
SVG of the same DOT source, then drawn: two layouts, of a drawing small enough to read.
"""

from __future__ import annotations

import logging
import shutil

import graphviz
import networkx as nx

from genealogy.errors import OutputError
from genealogy.renderers import RenderOptions, dot, size

log = logging.getLogger(__name__)

MISSING_GRAPHVIZ = (
    "Graphviz is not installed, so no SVG/PNG/PDF can be drawn: install it "
    "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz), "
    "or export DOT or JSON instead."
)


def check_available() -> None:
    """Fail before a crawl, not after it, when the `dot` program is missing."""
    if shutil.which("dot") is None:
        raise OutputError(MISSING_GRAPHVIZ)


def render_svg(graph: nx.DiGraph, options: RenderOptions | None = None) -> str:
    return _checked(graph, "svg", options or RenderOptions()).decode("utf-8", "replace")


def render_png(graph: nx.DiGraph, options: RenderOptions | None = None) -> bytes:
    return _checked(graph, "png", options or RenderOptions())


def render_pdf(graph: nx.DiGraph, options: RenderOptions | None = None) -> bytes:
    return _checked(graph, "pdf", options or RenderOptions())


def _checked(graph: nx.DiGraph, fmt: str, options: RenderOptions) -> bytes:
    """The drawing, once it is known to be readable (or `options.force` says draw anyway)."""
    source = dot.source(graph)
    if options.force:
        drawn = _draw(source, fmt)
        if fmt == "svg":
            found = size.measure(drawn.decode("utf-8", "replace"))
            if not found.readable:
                log.warning("the diagram is drawn as asked, but %s.", found.describe())
        return drawn
    size.check_boxes(graph)
    svg = _draw(source, "svg")
    size.check_drawing(svg.decode("utf-8", "replace"), graph.number_of_nodes(), fmt)
    return svg if fmt == "svg" else _draw(source, fmt)


def _draw(source: str, fmt: str) -> bytes:
    try:
        # The whole source at once: if `dot` stops early, its error message is still read
        # (writing line by line, as `Digraph.pipe` does, ends in a bare BrokenPipeError).
        data: bytes = graphviz.pipe("dot", fmt, source.encode("utf-8"))
    except graphviz.ExecutableNotFound as exc:
        raise OutputError(MISSING_GRAPHVIZ) from exc
    except graphviz.CalledProcessError as exc:
        stderr = exc.stderr.decode(errors="replace") if exc.stderr else ""
        raise OutputError(f"Graphviz failed to draw the graph: {stderr.strip()}") from exc
    except OSError as exc:
        raise OutputError(f"Could not run Graphviz: {exc.strerror or exc}") from exc
    return data
