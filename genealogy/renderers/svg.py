"""SVG (and PNG, PDF) drawn by the Graphviz `dot` program from the DOT export."""

from __future__ import annotations

import logging
import shutil

import graphviz
import networkx as nx

from genealogy.errors import OutputError
from genealogy.renderers import RenderOptions, dot

log = logging.getLogger(__name__)

LARGE = 3000
"""Above this many units, Graphviz's layout takes minutes: say so before it starts."""

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
    return _draw(graph, "svg").decode("utf-8", "replace")


def render_png(graph: nx.DiGraph, options: RenderOptions | None = None) -> bytes:
    return _draw(graph, "png")


def render_pdf(graph: nx.DiGraph, options: RenderOptions | None = None) -> bytes:
    return _draw(graph, "pdf")


def _draw(graph: nx.DiGraph, fmt: str) -> bytes:
    if graph.number_of_nodes() > LARGE:
        log.warning(
            "drawing %d units with Graphviz may take minutes; json, csv or text are instant",
            graph.number_of_nodes(),
        )
    source = dot.source(graph)
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
