"""Is this unit built like the reference? Two assembly trees compared from the top down.

`compare(graph, root, reference_graph, reference_root)` reads two *downward* graphs (edge
parent -> child, node attributes as `genealogy.nodes.NodeAttrs`), typically a unit and its
golden sample, and answers with a `Diff`: what the unit has where the reference has something
else, each difference with the path of part numbers from the top down to where it occurs.

Alignment, top down:

- the two roots are aligned (whatever their parts: other parts are a `part` difference);
- the children of two aligned units are matched by part number (in any case), then, within a
  part number, units on the same revision first, then the rest, each side in the order of its
  serial numbers (digits compared as numbers: `CELL-9` before `CELL-10`), which in a factory
  follows the build order. Children left over in the reference are `missing`, in the unit
  `extra`; matched units are aligned in turn.

Kinds (`KINDS`); serial numbers and batches always differ between two units, so they never do:

- `missing`: the reference has a part here that the unit lacks (`count` of them);
- `extra`: the unit has a part here that the reference lacks;
- `revision`: the same part on another revision (revisions compared in any case);
- `part`: the two roots are different parts;
- `outcome` (only when asked): the present outcome (the latest run's, else the creating run's)
  of two aligned units differs;
- `unfetched` (only when asked): a unit whose record could not be read, on either side; what
  it holds is not compared. A unit not fetched whose part is unknown (the list endpoint does
  not describe a child it cannot find) is matched with nothing. `Diff.unfetched` lists them
  whether asked or not.

Identical differences (same kind, path, part, expected and actual value) are one `Difference`
with a count and every unit involved: 3 cells missing from 3 modules are one line.

>>> import genealogy
>>> from genealogy.datasets import demo_data
>>> units = demo_data().units
>>> rack = genealogy.from_records(units, "ESS-R48-0007", direction="down")
>>> golden = genealogy.from_records(units, "ESS-R48-0001", direction="down")
>>> result = genealogy.compare(rack, "ess-r48-0007", golden, "ESS-R48-0001")
>>> for difference in result.differences:
...     print(line(difference))
+ CELL-21700 rev C at ESS-R48 > MOD-16S (CELL-21700-C-0199)
~ CELL-21700 rev C -> rev B at ESS-R48 > MOD-16S (CELL-21700-C-0163)
>>> result.to_dict()["differences"][1]["serials"], result.unfetched
(['CELL-21700-C-0163'], ('CELL-21700-C-0199',))
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import networkx as nx

from genealogy.matching import fold
from genealogy.nodes import NO_RUN, STATUS_WORDS, Status, outcome
from genealogy.text import shown

Kind = Literal["missing", "extra", "revision", "part", "outcome", "unfetched"]
KINDS: tuple[Kind, ...] = ("missing", "extra", "revision", "part", "outcome", "unfetched")
DEFAULT_KINDS: tuple[Kind, ...] = ("missing", "extra", "revision", "part")
"""Compared unless asked otherwise; `outcome` and `unfetched` are opt-in."""

MARKS: dict[str, str] = {
    "missing": "-",
    "extra": "+",
    "revision": "~",
    "part": "~",
    "outcome": "!",
    "unfetched": "?",
}
"""The first character of a difference's line, like `diff`'s `-` and `+`."""

LISTED_SERIALS = 5
"""Serials named on one line of the text output; the JSON has them all."""


@dataclass(frozen=True, slots=True)
class Difference:
    """One kind of difference at one place, with every unit involved."""

    kind: Kind
    path: tuple[str | None, ...]
    """Part numbers from the top down to the unit where it occurs (the parent of the parts
    concerned); empty for the top-level units themselves."""
    part_number: str | None
    expected: str | None  # in the reference: a revision, part, outcome or fetch state
    actual: str | None  # in the unit; None for `missing`
    count: int  # units concerned: missing ones for `missing`, else the unit's own
    serials: tuple[str, ...]
    """Units of the compared tree: the units themselves; for `missing` the units that lack it."""
    reference_serials: tuple[str, ...]
    """Units of the reference: for `missing` the units without a counterpart; for `extra` the
    units that lack it; else the counterparts."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "path": list(self.path),
            "part_number": self.part_number,
            "expected": self.expected,
            "actual": self.actual,
            "count": self.count,
            "serials": list(self.serials),
            "reference_serials": list(self.reference_serials),
        }


@dataclass(frozen=True, slots=True)
class Side:
    """One of the two compared units, as the header of the output names it."""

    serial_number: str
    part_number: str | None
    revision: str | None
    sample: str | None
    units: int  # units in its tree

    def to_dict(self) -> dict[str, Any]:
        return {
            "serial_number": self.serial_number,
            "part_number": self.part_number,
            "revision": self.revision,
            "sample": self.sample,
            "units": self.units,
        }


@dataclass(frozen=True, slots=True)
class Diff:
    unit: Side
    reference: Side
    kinds: tuple[Kind, ...]  # the kinds compared
    differences: tuple[Difference, ...]  # in tree order, top down
    aligned: int  # pairs of units aligned, the roots included
    unfetched: tuple[str, ...]  # units of either tree not fetched: not compared below them

    @property
    def identical(self) -> bool:
        """No difference of the kinds compared, and every unit of both trees compared: a unit
        not fetched (an error, or a limit of the crawl) may hide one below it."""
        return not self.differences and not self.unfetched

    def counts(self) -> dict[str, int]:
        """Differences (grouped lines) per kind, for the kinds compared."""
        return {kind: sum(1 for d in self.differences if d.kind == kind) for kind in self.kinds}

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit.to_dict(),
            "reference": self.reference.to_dict(),
            "kinds": list(self.kinds),
            "identical": self.identical,
            "counts": self.counts(),
            "aligned": self.aligned,
            "unfetched": list(self.unfetched),
            "differences": [difference.to_dict() for difference in self.differences],
        }


def compare(
    graph: nx.DiGraph,
    root: str,
    reference_graph: nx.DiGraph,
    reference_root: str,
    *,
    kinds: Iterable[str] = DEFAULT_KINDS,
) -> Diff:
    """How the tree below `root` in `graph` differs from the tree below `reference_root` in
    `reference_graph`, for the difference `kinds` (default `DEFAULT_KINDS`). `root` and
    `reference_root` may be spelled in any case. Raises `UnknownSerial` for a root not in
    its graph, `ValueError` for an unknown kind."""
    chosen = _kinds(kinds)
    unit_root = _node(graph, root)
    reference = _node(reference_graph, reference_root)
    walk = _Walk(graph, reference_graph, chosen)
    walk.roots(unit_root, reference)
    return Diff(
        unit=_side(graph, unit_root),
        reference=_side(reference_graph, reference),
        kinds=chosen,
        differences=walk.grouped(),
        aligned=walk.aligned,
        unfetched=tuple(walk.unfetched),
    )


def _kinds(kinds: Iterable[str]) -> tuple[Kind, ...]:
    wanted = set(kinds)
    unknown = wanted - set(KINDS)
    if unknown:
        raise ValueError(
            f"unknown difference kind {', '.join(sorted(unknown))}: choose from {', '.join(KINDS)}"
        )
    return tuple(kind for kind in KINDS if kind in wanted)


def _node(graph: nx.DiGraph, serial: str) -> str:
    from genealogy.queries.trace import UnknownSerial

    if serial in graph:
        return serial
    found: str | None = next((node for node in graph if fold(node) == fold(serial)), None)
    if found is None:
        raise UnknownSerial(serial)
    return found


def _side(graph: nx.DiGraph, root: str) -> Side:
    attrs = graph.nodes[root]
    return Side(
        serial_number=root,
        part_number=attrs.get("part_number"),
        revision=attrs.get("revision"),
        sample=attrs.get("sample"),
        units=len(nx.descendants(graph, root)) + 1,
    )


_DIGITS = re.compile(r"(\d+)")


def serial_order(serial: str) -> tuple[tuple[int, str], ...]:
    """Serials in build order: case folded, runs of digits compared as numbers."""
    return tuple(
        (int(piece), piece) if piece.isdigit() else (-1, piece)
        for piece in _DIGITS.split(fold(serial))
        if piece
    )


def _same(left: str | None, right: str | None) -> bool:
    """Part or revision numbers are matched in any case, as the service does."""
    return (left is None and right is None) or (
        left is not None and right is not None and fold(left) == fold(right)
    )


def _fetched(attrs: dict[str, Any]) -> bool:
    return attrs.get("status") == Status.OK


def _fetch_state(attrs: dict[str, Any]) -> str:
    status = str(attrs.get("status", Status.UNEXPLORED))
    return STATUS_WORDS.get(status, status.replace("_", " "))


_Key = tuple[str, tuple[str, ...], str, str | None, str | None]


@dataclass
class _Group:
    difference: Difference
    serials: dict[str, None]
    reference_serials: dict[str, None]
    count: int


class _Walk:
    """Aligns the two trees top down and gathers the differences, grouped as they come."""

    def __init__(self, graph: nx.DiGraph, reference: nx.DiGraph, kinds: tuple[Kind, ...]):
        self.graph = graph
        self.reference = reference
        self.kinds = kinds
        self.groups: dict[_Key, _Group] = {}
        self.aligned = 0
        self.unfetched: dict[str, None] = {}  # in the order met

    def roots(self, unit: str, reference: str) -> None:
        mine, theirs = self.graph.nodes[unit], self.reference.nodes[reference]
        if not _same(mine.get("part_number"), theirs.get("part_number")):
            self.add(
                "part",
                (),
                mine.get("part_number"),
                theirs.get("part_number"),
                mine.get("part_number"),
                [unit],
                [reference],
            )
        self.pair(unit, reference, ())

    def pair(self, unit: str, reference: str, path: tuple[str | None, ...]) -> None:
        """Two aligned units: compare them, then align their children (iteratively, so a deep
        tree cannot exhaust the stack)."""
        stack = [(unit, reference, path)]
        visited: set[tuple[str, str]] = set()
        while stack:
            mine, theirs, where = stack.pop()
            if (mine, theirs) in visited:  # a cycle in the data: compared once
                continue
            visited.add((mine, theirs))
            self.aligned += 1
            below = self.compare_pair(mine, theirs, where)
            if below is None:
                continue
            for child, counterpart in reversed(self.children(mine, theirs, below)):
                stack.append((child, counterpart, below))

    def compare_pair(
        self, unit: str, reference: str, path: tuple[str | None, ...]
    ) -> tuple[str | None, ...] | None:
        """The differences of the two units themselves; the path below them, or None when one
        was not fetched (nothing below it is known)."""
        mine, theirs = self.graph.nodes[unit], self.reference.nodes[reference]
        part = mine.get("part_number") if mine.get("part_number") else theirs.get("part_number")
        if _same(mine.get("part_number"), theirs.get("part_number")) and not _same(
            mine.get("revision"), theirs.get("revision")
        ):
            self.add(
                "revision",
                path,
                part,
                theirs.get("revision"),
                mine.get("revision"),
                [unit],
                [reference],
            )
        if not (_fetched(mine) and _fetched(theirs)):
            if not _fetched(theirs):
                self.not_fetched(reference, path, part, reference_side=True, other=unit)
            if not _fetched(mine):
                self.not_fetched(unit, path, part, reference_side=False, other=reference)
            return None
        if outcome(mine) != outcome(theirs):
            self.add(
                "outcome",
                path,
                part,
                outcome(theirs) or NO_RUN,
                outcome(mine) or NO_RUN,
                [unit],
                [reference],
            )
        return (*path, part)

    def children(
        self, unit: str, reference: str, path: tuple[str | None, ...]
    ) -> list[tuple[str, str]]:
        """Match the children by part number, then revision, then order; report the rest."""
        mine = self._by_part(self.graph, unit, path, reference_side=False)
        theirs = self._by_part(self.reference, reference, path, reference_side=True)
        pairs: list[tuple[str, str]] = []
        for key in sorted(mine.keys() | theirs.keys()):
            left = mine.get(key, [])
            right = theirs.get(key, [])
            matched, extra, missing = self._match(left, right)
            pairs.extend(matched)
            for serial in extra:
                self.left_over(serial, path, unit, reference, in_reference=False)
            for serial in missing:
                self.left_over(serial, path, unit, reference, in_reference=True)
        return pairs

    def left_over(
        self,
        serial: str,
        path: tuple[str | None, ...],
        unit: str,
        reference: str,
        *,
        in_reference: bool,
    ) -> None:
        """A child of `unit` (extra) or of `reference` (missing) that nothing matched."""
        attrs = (self.reference if in_reference else self.graph).nodes[serial]
        part, revision = attrs.get("part_number"), attrs.get("revision")
        if in_reference:
            self.add("missing", path, part, revision, None, [unit], [serial], count=1)
        else:
            self.add("extra", path, part, None, revision, [serial], [reference])
        if not _fetched(attrs):
            self.not_fetched(serial, path, part, reference_side=in_reference, other=None)

    def _by_part(
        self, graph: nx.DiGraph, parent: str, path: tuple[str | None, ...], *, reference_side: bool
    ) -> dict[str, list[str]]:
        """The children of `parent` by folded part number, each list in serial order; a child
        whose part is unknown is reported as not fetched and matched with nothing."""
        groups: dict[str, list[str]] = {}
        for child in sorted(graph.successors(parent), key=serial_order):
            if child == parent:
                continue
            part = graph.nodes[child].get("part_number")
            if part is None:
                self.not_fetched(child, path, None, reference_side=reference_side, other=None)
                continue
            groups.setdefault(fold(part), []).append(child)
        return groups

    def _match(
        self, mine: list[str], theirs: list[str]
    ) -> tuple[list[tuple[str, str]], list[str], list[str]]:
        """Pairs on the same revision first, then the rest in order; what is left over."""
        left, right = list(mine), list(theirs)
        pairs: list[tuple[str, str]] = []
        for serial in list(left):
            revision = self.graph.nodes[serial].get("revision")
            counterpart = next(
                (r for r in right if _same(self.reference.nodes[r].get("revision"), revision)),
                None,
            )
            if counterpart is not None:
                pairs.append((serial, counterpart))
                left.remove(serial)
                right.remove(counterpart)
        in_order = min(len(left), len(right))
        pairs.extend(zip(left[:in_order], right[:in_order], strict=True))
        order = {serial: position for position, serial in enumerate(mine)}
        pairs.sort(key=lambda pair: order[pair[0]])
        return pairs, left[in_order:], right[in_order:]

    def not_fetched(
        self,
        serial: str,
        path: tuple[str | None, ...],
        part: str | None,
        *,
        reference_side: bool,
        other: str | None,
    ) -> None:
        self.unfetched[serial] = None
        graph = self.reference if reference_side else self.graph
        state = _fetch_state(graph.nodes[serial])
        counterpart = [other] if other is not None else []
        if reference_side:
            self.add("unfetched", path, part, state, None, counterpart, [serial])
        else:
            self.add("unfetched", path, part, None, state, [serial], counterpart)

    def add(
        self,
        kind: Kind,
        path: tuple[str | None, ...],
        part: str | None,
        expected: str | None,
        actual: str | None,
        serials: list[str],
        reference_serials: list[str],
        *,
        count: int | None = None,
    ) -> None:
        if kind not in self.kinds:
            return
        key: _Key = (
            kind,
            tuple(fold(step) if step else "" for step in path),
            fold(part) if part else "",
            expected,
            actual,
        )
        group = self.groups.get(key)
        if group is None:
            difference = Difference(kind, path, part, expected, actual, 0, (), ())
            group = self.groups[key] = _Group(difference, {}, {}, 0)
        group.serials.update(dict.fromkeys(serials))
        group.reference_serials.update(dict.fromkeys(reference_serials))
        group.count += count if count is not None else len(serials)

    def grouped(self) -> tuple[Difference, ...]:
        return tuple(
            Difference(
                group.difference.kind,
                group.difference.path,
                group.difference.part_number,
                group.difference.expected,
                group.difference.actual,
                group.count,
                tuple(group.serials),
                tuple(group.reference_serials),
            )
            for group in self.groups.values()
        )


# -- text --------------------------------------------------------------------------------------


def format_text(diff: Diff, *, color: bool = False) -> str:
    """Like `diff -u` for assemblies: the reference (`---`) and the unit (`+++`), then one line
    per difference, `-` missing, `+` extra, `~` revision or part, `!` outcome, `?` not
    fetched, each ending with where it is and the unit's serials; then a count."""
    lines = [
        _colour(f"--- {_heading(diff.reference)}", "1", color),
        _colour(f"+++ {_heading(diff.unit)}", "1", color),
    ]
    lines.extend(_colour(line(d), _COLOURS[d.kind], color) for d in diff.differences)
    lines.append(summary_line(diff))
    if diff.unfetched and "unfetched" not in diff.kinds:
        count = len(diff.unfetched)
        lines.append(
            f"{count} {'unit was' if count == 1 else 'units were'} not fetched, so not compared "
            "below (--unfetched lists them)."
        )
    return "\n".join(lines)


_COLOURS = {
    "missing": "31",
    "extra": "32",
    "revision": "33",
    "part": "33",
    "outcome": "35",
    "unfetched": "36",
}


def _colour(text: str, code: str, on: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if on else text


def _heading(side: Side) -> str:
    rev = f" rev {shown(side.revision)}" if side.revision else ""
    sample = f", {shown(side.sample)} sample" if side.sample else ""
    return f"{shown(side.serial_number)} ({shown(side.part_number) or '?'}{rev}{sample})"


def line(difference: Difference) -> str:
    """One difference in words: `- CELL-21700 rev C` (twice: `\u00d72`), then where, then
    the serials: `at ESS-R48 > MOD-16S (in MOD-16S-0312)`."""
    d = difference
    if d.kind == "missing":
        return f"- {_what(d)}{_where(d)} (in {_serials(d.serials)})"
    in_reference = d.kind == "unfetched" and d.actual is None
    whose = d.reference_serials if in_reference else d.serials
    return f"{MARKS[d.kind]} {_what(d)}{_where(d)} ({_serials(whose)})"


def _what(d: Difference) -> str:
    """The part and what differs about it: `CELL-21700 rev C -> rev B \u00d72`."""
    part = shown(d.part_number) or "(part unknown)"
    times = f" \u00d7{d.count}" if d.count > 1 else ""
    expected, actual = shown(d.expected), shown(d.actual)
    words = {
        "missing": f"{part}{_rev(d.expected)}",
        "extra": f"{part}{_rev(d.actual)}",
        "revision": f"{part} rev {expected or 'none'} -> rev {actual or 'none'}",
        "part": f"part {expected or '?'} -> {actual or '?'}",
        "outcome": f"{part} {expected} -> {actual}",
    }
    if d.kind in words:
        return words[d.kind] + times
    if d.actual is not None:  # unfetched, in the unit
        return f"{part} {actual}, not compared{times}"
    return f"{part} {expected} in the reference, not compared{times}"


def _where(difference: Difference) -> str:
    """` at ESS-R48 > MOD-16S`: the parts from the top down to where it occurs."""
    if not difference.path:
        return ""
    return f" at {' > '.join(shown(step) or '?' for step in difference.path)}"


def _rev(revision: str | None) -> str:
    return f" rev {shown(revision)}" if revision else ""


def _serials(serials: tuple[str, ...]) -> str:
    named = ", ".join(shown(serial) for serial in serials[:LISTED_SERIALS])
    more = len(serials) - LISTED_SERIALS
    return f"{named} and {more} more" if more > 0 else named


def summary_line(diff: Diff) -> str:
    """`3 differences: 1 missing, 1 extra, 1 revision` or `No differences`, and the sizes."""
    sizes = f"{diff.unit.units:,} units against {diff.reference.units:,}"
    if diff.identical:
        compared = ", ".join(diff.kinds)
        text = f"No differences ({compared}): built like the reference; {sizes}."
    elif not diff.differences:
        compared = ", ".join(diff.kinds)
        text = f"No differences ({compared}) among the units compared; {sizes}."
    else:
        counts = ", ".join(f"{n} {kind}" for kind, n in diff.counts().items() if n)
        total = len(diff.differences)
        noun = "difference" if total == 1 else "differences"
        text = f"{total} {noun}: {counts}; {sizes}."
    return text


# -- marking a graph ---------------------------------------------------------------------------


def marks(diff: Diff) -> dict[str, str]:
    """What differs at each unit of the compared tree, in a few words, for the `diff` node
    attribute: the unit itself (extra, revision, outcome, not fetched), or the unit that lacks
    a part (missing)."""
    notes: dict[str, list[str]] = {}
    for d in diff.differences:
        part = shown(d.part_number) or "?"
        if d.kind == "missing":
            note = f"lacks {part}{_rev(d.expected)}"
        elif d.kind == "extra":
            note = "extra: not in the reference"
        elif d.kind == "revision":
            note = f"revision {shown(d.expected) or 'none'} -> {shown(d.actual) or 'none'}"
        elif d.kind == "part":
            note = f"part {shown(d.expected) or '?'} in the reference"
        elif d.kind == "outcome":
            note = f"outcome {shown(d.expected)} in the reference"
        else:
            note = "not fetched: not compared"
        for serial in d.serials:
            notes.setdefault(serial, [])
            if note not in notes[serial]:
                notes[serial].append(note)
    return {serial: "; ".join(words) for serial, words in notes.items()}


def marked(graph: nx.DiGraph, diff: Diff) -> nx.DiGraph:
    """A copy of `graph` whose differing units carry a `diff` attribute (see `marks`) and whose
    graph attribute `diff_reference` names the reference: what the DOT/SVG and HTML outputs
    show."""
    copy = graph.copy()
    for serial, note in marks(diff).items():
        if serial in copy:
            copy.nodes[serial]["diff"] = note
    copy.graph["diff_reference"] = diff.reference.serial_number
    return copy
