"""Where the boxes go: a top-down drawing that starts at the top-level assembly, folded so a
wide assembly does not become one long row (or, left to right, one tall column).

Graphviz's `dot` puts every child of a unit on the rank below it, side by side: 16 modules of
a pack make a row 16 boxes wide, 64 cells of a rack a row of 64 (left to right, as this was
drawn before, a 200-unit assembly was a PNG of 1,656 × 12,381 px). Two rules fold such rows,
with invisible edges that only move boxes:

- **Leaves in a grid.** `GRID` or more children of a unit that are all leaves (cells, group
  nodes) are drawn in a dashed box under it, in `columns(n)` columns, each column chained top
  to bottom; one arrow from the unit into the box stands for the link to each of them (an
  arrow per leaf would need a lane between the boxes for each).
- **Subtrees in rows.** A unit with more than `ROW` children, some of them subassemblies,
  puts them in rows of `row_width(n)`; each child of a later row hangs, invisibly, below the
  lowest box of the child above it, so the columns stack instead of stretching sideways.

The 7,122-unit pack, grouped, is 58 boxes: in one row 7,954 pt wide, folded about 1,740 ×
1,010 pt. Which unit is whose child in the drawing follows a spanning tree of the graph
(depth first from the top-level assemblies, children by serial number, like the text tree);
a link that closes a cycle or comes from a second parent is drawn as an arrow of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import networkx as nx

GRAPH = "rankdir=TB ranksep=0.3 nodesep=0.2 newrank=true compound=true"
"""Top down, with ranks and boxes closer than Graphviz's defaults (0.5, 0.25 inch)."""
ROW = 3
"""Children side by side before a unit with subassemblies wraps them into rows."""
GRID = 4
"""Leaf children from which on they are drawn as a grid in a box."""
LINK, INVISIBLE, INTO_GRID = "link", "invisible", "into grid"
"""Edge kinds: a link of the data; an edge that only places boxes; the arrow from a unit into
the box of its grid of leaves (standing for one link to each)."""


def _spanning(graph: nx.DiGraph, starts: list[str]) -> dict[str, str | None]:
    """Each unit -> the parent it hangs from in the drawing (None for a top), in walk order."""
    parent_of: dict[str, str | None] = {}
    for top in starts:
        if top in parent_of:
            continue
        parent_of[top] = None
        stack = [top]
        while stack:
            node = stack.pop()
            for child in sorted(graph.successors(node), reverse=True):
                if child not in parent_of:
                    parent_of[child] = node
                    stack.append(child)
    return _preorder(parent_of)


def _preorder(parent_of: dict[str, str | None]) -> dict[str, str | None]:
    """The same mapping in depth-first order (children by serial number)."""
    children = _children(parent_of)
    out: dict[str, str | None] = {}
    stack = [node for node, parent in reversed(parent_of.items()) if parent is None]
    while stack:
        node = stack.pop()
        out[node] = parent_of[node]
        stack.extend(reversed(children.get(node, [])))
    return out


def _children(parent_of: dict[str, str | None]) -> dict[str, list[str]]:
    children: dict[str, list[str]] = {}
    for node, parent in parent_of.items():
        if parent is not None:
            children.setdefault(parent, []).append(node)
    for kids in children.values():
        kids.sort()
    return children


def columns(leaves: int) -> int:
    """Columns of a grid of leaves: about twice as many rows as columns (boxes are wide)."""
    return max(1, round(math.sqrt(leaves / 2)))


def row_width(children: int) -> int:
    """Children per row under a unit with subassemblies: half the square root, at least
    `ROW`, so the drawing grows down (a page scrolls) more than sideways (text shrinks)."""
    return max(ROW, math.ceil(math.sqrt(children) / 2))


@dataclass
class Plan:
    """What `dot.source` writes: units in order, links, and the grids of leaves."""

    order: list[str]
    edges: list[tuple[str, str, str]] = field(default_factory=list)
    """(parent, child, kind): every link of the graph not inside a grid, one arrow into each
    grid, then the invisible edges that fold rows."""
    grids: dict[str, list[str]] = field(default_factory=dict)
    """A unit -> its leaf children, drawn as a grid in a box one arrow points into."""


def plan(graph: nx.DiGraph) -> Plan:
    from genealogy.renderers.text import tops

    parent_of = _spanning(graph, tops(graph))
    children = _children(parent_of)
    drawn = Plan(list(parent_of))
    for node in drawn.order:
        kids = children.get(node, [])
        if len(kids) >= GRID and all(not children.get(kid) for kid in kids):
            drawn.grids[node] = kids
    in_grid = {kid: parent for parent, kids in drawn.grids.items() for kid in kids}
    for node in drawn.order:
        for child in sorted(graph.successors(node)):
            if in_grid.get(child) != node:
                drawn.edges.append((node, child, LINK))
    bottom = _bottoms(drawn.order, children, drawn.grids)
    for node, kids in drawn.grids.items():
        width = columns(len(kids))
        first = kids[:width]
        entry = first[len(first) // 2]
        drawn.edges.append((node, entry, INTO_GRID))
        drawn.edges.extend((node, kid, INVISIBLE) for kid in first if kid != entry)
        drawn.edges.extend(
            (kids[index - width], kids[index], INVISIBLE) for index in range(width, len(kids))
        )
    for node in drawn.order:
        kids = children.get(node, [])
        if node in drawn.grids or len(kids) <= ROW:
            continue
        width = row_width(len(kids))
        drawn.edges.extend(
            (bottom[kids[index - width]], kids[index], INVISIBLE)
            for index in range(width, len(kids))
        )
    return drawn


def _bottoms(
    order: list[str], children: dict[str, list[str]], grids: dict[str, list[str]]
) -> dict[str, str]:
    """Each unit -> the lowest box of its folded subtree, where the next row hangs from.

    Heights in ranks, from the leaves up (reversed depth-first order: children first)."""
    height: dict[str, int] = {}
    bottom: dict[str, str] = {}
    for node in reversed(order):
        kids = children.get(node, [])
        if not kids:
            height[node], bottom[node] = 1, node
            continue
        if node in grids:
            rows = math.ceil(len(kids) / columns(len(kids)))
            height[node], bottom[node] = 1 + rows, kids[(rows - 1) * columns(len(kids))]
            continue
        width = row_width(len(kids)) if len(kids) > ROW else len(kids)
        tallest, lowest = 0, node
        for column in range(width):
            stack = kids[column::width]
            total = sum(height[kid] for kid in stack)
            if total > tallest:
                tallest, lowest = total, bottom[stack[-1]]
        height[node], bottom[node] = 1 + tallest, lowest
    return bottom
