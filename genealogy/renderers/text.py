"""An indented assembly tree for a terminal, like `cargo tree`: one line per unit.

Each line shows the serial number, part number, revision and outcome (the run's outcome, or
why the unit was not fetched). Trees start at the top-level assemblies (`graph.graph["roots"]`,
or the start unit when a cycle leaves no root); a unit already shown with its subtree (a unit
reachable twice, a cross link, a cycle) is shown again only as one line marked `(*)`, so the
output is finite and every unit's subtree appears once. Units reachable from no root get
their own tree at the end. Children are sorted by serial number, so the output is stable.

Deeper than `MAX_INDENT` levels below its top, a line is not indented further (a chain of
100,000 units would otherwise print 20 GB of indentation): it starts with `[level N]` after
the indentation of level `MAX_INDENT`, and a last line says so. The output stays linear in
the number of units and links.

Every data string goes through `genealogy.text.shown`, so no serial number or reason can
print control characters or ANSI escapes; colours (`RenderOptions.color`) come only from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import networkx as nx

from genealogy.nodes import NOT_FETCHED, outcome_class, state_text
from genealogy.renderers import RenderOptions
from genealogy.text import shown


@dataclass(frozen=True)
class Charset:
    tee: str  # a child with siblings after it
    last: str  # the last child
    pipe: str  # continues a parent's line past a child's subtree
    blank: str
    start_mark: str


UNICODE = Charset("├── ", "└── ", "│   ", "    ", "◀ start")
ASCII = Charset("|-- ", "`-- ", "|   ", "    ", "<- start")

REPEATED = "(*)"
MAX_INDENT = 100
"""Levels indented further; deeper lines keep this indent and start with `[level N]`."""

COLOURS: dict[str, str] = {
    "pass": "32",  # green
    "fail": "31",  # red
    "error": "33",  # yellow
    "timeout": "35",  # magenta
    "aborted": "2",  # dim
    "unknown": "2",
    NOT_FETCHED: "2;31",  # dim red
}
"""SGR parameters per outcome class."""

BOLD = "1"


def render_text(graph: nx.DiGraph, options: RenderOptions | None = None) -> str:
    options = options or RenderOptions()
    return "".join(line + "\n" for line in lines(graph, options))


def lines(graph: nx.DiGraph, options: RenderOptions) -> list[str]:
    """The tree's lines, without line ends."""
    tree = _Tree(graph, options)
    for top in tops(graph):
        tree.visit(top)
    if tree.deepest > MAX_INDENT:
        tree.out.append(
            f"(levels down to {tree.deepest:,}: lines deeper than {MAX_INDENT} are not "
            "indented further, each starts with its [level N])"
        )
    return tree.out


def tops(graph: nx.DiGraph) -> list[str]:
    """Where trees start: the roots, then one unit of each part no root reaches.

    A part with no root is a cycle (or hangs from one); it starts at the start unit if that
    is in it, else at its smallest serial number.
    """
    starts = [node for node in graph.graph.get("roots") or [] if node in graph]
    reached: set[str] = set()
    for node in starts:
        _reach(graph, node, reached)
    start = graph.graph.get("start")
    candidates = ([start] if start in graph else []) + sorted(graph)
    for node in candidates:
        if node not in reached:
            starts.append(node)
            _reach(graph, node, reached)
    return starts


def _reach(graph: nx.DiGraph, node: str, reached: set[str]) -> None:
    """Add `node` and its descendants to `reached`, not walking again below a unit already
    in it: every unit is walked once over all the calls, so `tops` is linear."""
    if node in reached:
        return
    reached.add(node)
    stack = [node]
    while stack:
        for child in graph.successors(stack.pop()):
            if child not in reached:
                reached.add(child)
                stack.append(child)


class _Tree:
    def __init__(self, graph: nx.DiGraph, options: RenderOptions) -> None:
        self.graph = graph
        self.depth = options.depth
        self.color = options.color
        self.chars = ASCII if options.charset == "ascii" else UNICODE
        self.expanded: set[str] = set()  # units whose children have been listed
        self.out: list[str] = []
        self.deepest = 0  # the deepest level drawn

    def visit(self, top: str) -> None:
        """Append the tree under `top`, depth first; a stack, not recursion: any depth works."""
        stack = [(top, "", "", 0)]
        while stack:
            node, prefix, branch, level = stack.pop()
            attrs: dict[str, Any] = self.graph.nodes[node]
            repeated = node in self.expanded  # also true for an ancestor: a cycle stops here
            marker = f"[level {level}] " if level > MAX_INDENT else ""
            self.out.append(prefix + marker + branch + self._describe(node, attrs, repeated))
            self.deepest = max(self.deepest, level)
            if repeated or (self.depth is not None and level >= self.depth):
                continue
            self.expanded.add(node)
            children = sorted(self.graph.successors(node))
            # below MAX_INDENT the prefix stops growing: each line's length stays bounded
            inner = prefix + self._continuation(branch) if level < MAX_INDENT else prefix
            for index in reversed(range(len(children))):
                last = index == len(children) - 1
                branch = self.chars.last if last else self.chars.tee
                stack.append((children[index], inner, branch, level + 1))

    def _continuation(self, branch: str) -> str:
        if not branch:
            return ""
        return self.chars.blank if branch == self.chars.last else self.chars.pipe

    def _describe(self, serial: str, attrs: dict[str, Any], repeated: bool) -> str:
        words = [self._paint(shown(serial), BOLD)]
        if attrs.get("part_number"):
            words.append(shown(attrs["part_number"]))
        if attrs.get("revision"):
            words.append(f"rev {shown(attrs['revision'])}")
        state = shown(state_text(attrs, reason=True))
        words.append(self._paint(state, COLOURS[outcome_class(attrs)]))
        if repeated:
            words.append(REPEATED)
        if attrs.get("start"):
            words.append(self._paint(self.chars.start_mark, BOLD))
        return " ".join(words)

    def _paint(self, text: str, sgr: str) -> str:
        return f"\x1b[{sgr}m{text}\x1b[0m" if self.color else text
