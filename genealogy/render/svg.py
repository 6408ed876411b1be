"""SVG (and PNG, PDF) drawn by the Graphviz `dot` program from the DOT export."""

from __future__ import annotations

import graphviz
import networkx as nx

from genealogy.errors import OutputError
from genealogy.render import RenderOptions, dot


def render(
    graph: nx.DiGraph, fmt: str = "svg", options: RenderOptions | None = None
) -> str | bytes:
    source: str = dot.build(graph).source
    try:
        # The whole source at once: if `dot` stops early, its error message is still read
        # (writing line by line, as `Digraph.pipe` does, ends in a bare BrokenPipeError).
        data: bytes = graphviz.pipe("dot", fmt, source.encode("utf-8"))
    except graphviz.ExecutableNotFound as exc:
        raise OutputError(
            "Graphviz is not installed, so no SVG/PNG/PDF can be drawn: install it "
            "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz), "
            "or export --format dot or json."
        ) from exc
    except graphviz.CalledProcessError as exc:
        stderr = exc.stderr.decode(errors="replace") if exc.stderr else ""
        raise OutputError(f"Graphviz failed to draw the graph: {stderr.strip()}") from exc
    except OSError as exc:
        raise OutputError(f"Could not run Graphviz: {exc.strerror or exc}") from exc
    return data.decode("utf-8", "replace") if fmt == "svg" else data
