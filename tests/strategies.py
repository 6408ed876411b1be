"""Hypothesis strategies: unit records as `GET /v2/units/{serial}` may return them, and broken ones.

`unit_records()` follows `shared/reference/tofupilot-units-api.md`: every nullable field is
sometimes null, every optional one sometimes missing (and then sometimes null), every object
sometimes carries unknown fields, and every text may hold any unicode (controls, quotes,
backslashes, markup, bidi controls, lone surrogates). `broken_records()` breaks one field of a
valid record and says which.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import networkx as nx
from hypothesis import strategies as st

from genealogy.crawler import CrawlResult, Direction, Limits, UnitState
from genealogy.models import UnitRef
from genealogy.nodes import OUTCOMES, Status
from genealogy.records import escaped_keys, read_unit
from genealogy.renderers import layout
from genealogy.renderers.dot import GRID_STYLE
from genealogy.sources import Counters
from genealogy.text import printable

Record = dict[str, Any]

NASTY = (
    "",
    " ",
    "  two  spaces  ",
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "javascript:alert(1)",
    'x"]; evil [label="pwned',
    'x" -> evil; "y',
    "}; digraph evil { a -> b",
    "a\\",
    "\\",
    "\\N\\G\\l\\n\\\\",
    "a\nb\r\nc\td",
    "\x00\x1b[31mred\x1b[0m\x07",
    "\u202eevil\u202c \u2066x\u2069 \u061c \u200b\ufeff",
    "&amp; &lt; &#x41; &#0; &nbsp; &; &",
    "'\"<>&",
    "]]> <!-- --> <![CDATA[x]]>",
    "<B>bold</B><BR/><FONT COLOR='red'>x</FONT>",
    "\ud800",
    "a\udfffb",
    "\ufffe\uffff",
    "😀\U0010ffff\U000e0001",
    "\u0378\ufdd0\U0001fffe",
    "e\u0301\u0300\u0300\u0300",
    "\x85\u2028\u2029",
    "%2e%2e/runs",
    "../runs",
    "{}[]()|;`$'",
    "]",  # alone, a syntax error in a Graphviz HTML-like label
    "]]",
)
"""Texts known to upset escaping, quoting or parsing somewhere."""

_CHARACTERS = st.one_of(
    st.characters(codec=None),  # any code point but surrogates
    st.characters(categories=["Cs"]),  # surrogates, which Python's JSON reader accepts alone
    st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Zs"]),
    st.sampled_from("<>&\"'\\;[]{}=-#%/"),
)


def _as_from_json(text: str) -> str:
    """`text` as it would arrive through JSON: adjacent surrogates become one character."""
    decoded: str = json.loads(json.dumps(text))
    return decoded


@functools.cache
def texts(max_size: int = 24) -> st.SearchStrategy[str]:
    """Any text a JSON string can carry, biased towards the nasty ones."""
    return st.one_of(
        st.sampled_from(NASTY),
        st.text(_CHARACTERS, max_size=max_size).map(_as_from_json),
        st.text(max_size=max_size),
    )


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    texts(8),
)
_JSON_VALUES = st.one_of(
    _SCALARS,
    st.lists(_SCALARS, max_size=2),
    st.dictionaries(texts(6), _SCALARS, max_size=2),
)
"""JSON values, nested one level, as an unknown field may hold."""

_NASTY_KEYS = (
    "__class__",
    "__dict__",
    "__init__",
    "__pydantic_extra__",
    "__pydantic_fields_set__",
    "_private",
    "model_config",
    "model_fields",
    "model_dump",
    "copy",
    "dict",
    "json",
    "",
    "id ",
    "ID",
    "Serial_Number",
)
_KEYS = st.one_of(st.sampled_from(_NASTY_KEYS), texts(10))


def _extras(known: frozenset[str]) -> st.SearchStrategy[Record]:
    """Unknown fields (often none) for an object whose documented fields are `known`."""
    keys = _KEYS.filter(lambda key: key not in known)
    return st.one_of(st.just({}), st.dictionaries(keys, _JSON_VALUES, min_size=1, max_size=2))


def _merged(parts: tuple[Record, Record]) -> Record:
    fields, extras = parts
    return {**fields, **extras}


def _object(
    required: dict[str, st.SearchStrategy[Any]],
    optional: dict[str, st.SearchStrategy[Any]] | None = None,
) -> st.SearchStrategy[Record]:
    """An object with every `required` field, each `optional` one present or missing, extras."""
    optional = optional or {}
    fields = st.fixed_dictionaries(required, optional=optional)
    return st.tuples(fields, _extras(frozenset({*required, *optional}))).map(_merged)


def _nullable(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


def _datetimes() -> st.SearchStrategy[str]:
    """ISO 8601 date-times as the API writes them, in UTC (`Z`) or with any offset."""
    offsets = st.builds(
        lambda minutes: timezone(timedelta(minutes=minutes)),
        st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59),
    )
    moments = st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets
    )
    return st.one_of(
        st.just("2024-01-15T10:30:00Z"),
        moments.map(lambda d: d.astimezone(UTC).isoformat().replace("+00:00", "Z")),
        moments.map(lambda d: d.isoformat()),
    )


def _iso_duration(days_h_m_s: tuple[int, int, int, Any]) -> str:
    days, hours, minutes, seconds = days_h_m_s
    return f"P{days}DT{hours}H{minutes}M{seconds}S"


DATETIMES = _datetimes()
DURATIONS = st.one_of(
    st.sampled_from(["PT5M30S", "PT0S", "P1D", "PT1.5S", "P2W"]),
    st.tuples(
        st.integers(0, 3650),
        st.integers(0, 23),
        st.integers(0, 59),
        st.decimals(0, 59, places=3, allow_nan=False, allow_infinity=False),
    ).map(_iso_duration),
)
"""ISO 8601 durations (`PT5M30S`, `P1DT2H3M4.5S`, ...)."""
IDS = st.one_of(st.uuids().map(str), texts(12))

REVISIONS = _object({"id": IDS, "number": texts()}, {"image": _nullable(texts())})
PARTS = _object({"id": IDS, "number": texts(), "name": texts(), "revision": REVISIONS})
REF_PARTS = _object(
    {
        "id": IDS,
        "number": texts(),
        "name": texts(),
        "revision": _nullable(_object({"id": IDS, "number": texts()})),
    }
)


def unit_refs(serials: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[Record]:
    """A parent or child as embedded in a unit's record."""
    return _object(
        {
            "id": IDS,
            "serial_number": serials if serials is not None else texts(),
            "part": _nullable(REF_PARTS),
        }
    )


UNIT_REFS = unit_refs()

RUNS = _object(
    {
        "id": IDS,
        "created_at": DATETIMES,
        "started_at": DATETIMES,
        "duration": DURATIONS,
        "outcome": st.one_of(st.sampled_from(OUTCOMES), texts(10)),
        "procedure": _object({"id": IDS, "name": texts()}),
    },
    {"ended_at": DATETIMES},  # the API page's own example leaves it out
)
ATTACHMENTS = _object(
    {
        "id": IDS,
        "name": texts(),
        "size": _nullable(st.one_of(st.integers(0, 2**53), st.floats(0, 1e12))),
        "content_type": _nullable(texts()),
        "download_url": _nullable(texts()),
    }
)
METADATA = st.dictionaries(
    texts(10),
    st.one_of(
        texts(),
        st.integers(),
        st.floats(),
        st.sampled_from([math.nan, math.inf, -math.inf]),
        st.booleans(),
    ),
    max_size=3,
)
"""Metadata, with NaN and infinities among the numbers."""
USERS = _object({"id": IDS, "name": _nullable(texts())}, {"image": _nullable(texts())})
STATIONS = _object({"id": IDS, "name": texts()}, {"image": _nullable(texts())})
BATCHES = _object({"id": IDS, "number": texts()})
SAMPLES = st.sampled_from(["golden", "failing", "ignored", None])


def unit_records(
    serial: st.SearchStrategy[str] | None = None,
    parent: st.SearchStrategy[Record | None] | None = None,
    children: st.SearchStrategy[list[Record]] | None = None,
) -> st.SearchStrategy[Record]:
    """A schema-valid unit record; `serial`, `parent` and `children` may be fixed by the caller."""
    optional: dict[str, st.SearchStrategy[Any]] = {
        "sample": SAMPLES,  # documented nullable; missing in the API page's example
        "created_by_user": _nullable(USERS),
        "created_by_station": _nullable(STATIONS),
        "batch": _nullable(BATCHES),
        "created_during": _nullable(RUNS),
        "attachments": _nullable(st.lists(ATTACHMENTS, max_size=2)),
        "metadata": _nullable(METADATA),
    }
    required: dict[str, st.SearchStrategy[Any]] = {
        "id": IDS,
        "serial_number": serial if serial is not None else texts(),
        "created_at": DATETIMES,
        "part": PARTS,
        "parent": parent if parent is not None else _nullable(UNIT_REFS),
    }
    if children is not None:
        required["children"] = children
    else:
        optional["children"] = _nullable(st.lists(UNIT_REFS, max_size=3))
    return _object(required, optional)


UNIT_RECORDS = unit_records()


# Invalid records ------------------------------------------------------------------------------

CORE_PATHS = frozenset(
    {
        ("serial_number",),
        ("part",),
        ("part", "id"),
        ("part", "number"),
        ("part", "name"),
        ("part", "revision"),
        ("part", "revision", "id"),
        ("part", "revision", "number"),
        ("parent",),
        ("children",),
    }
)
"""What a genealogy needs: a record broken here is unreadable; elsewhere it is repaired."""

REQUIRED_PATHS: tuple[tuple[str | int, ...], ...] = (
    ("id",),
    ("serial_number",),
    ("created_at",),
    ("part",),
    ("part", "id"),
    ("part", "number"),
    ("part", "name"),
    ("part", "revision"),
    ("part", "revision", "id"),
    ("part", "revision", "number"),
    ("parent",),
)
"""Fields every record has, whatever else is null or missing."""

_WRONG_FOR_STR = st.one_of(
    st.integers(), st.floats(), st.booleans(), st.none(), st.lists(st.integers(), max_size=2)
)
_WRONG_FOR_OBJECT = st.one_of(st.integers(), st.text(max_size=5), st.lists(st.none(), max_size=2))
WRONG_VALUES: dict[tuple[str | int, ...], st.SearchStrategy[Any]] = {
    ("id",): _WRONG_FOR_STR.filter(lambda value: value is not None),
    ("serial_number",): _WRONG_FOR_STR,
    # an int or float is a Unix time for pydantic, so only other types are wrong for a datetime
    ("created_at",): st.one_of(
        st.booleans(), st.lists(st.integers(), max_size=2), st.just("not a date")
    ),
    ("part",): st.one_of(_WRONG_FOR_OBJECT, st.none()),
    ("part", "id"): _WRONG_FOR_STR,
    ("part", "number"): _WRONG_FOR_STR,
    ("part", "name"): _WRONG_FOR_STR,
    ("part", "revision"): st.one_of(_WRONG_FOR_OBJECT, st.none()),
    ("part", "revision", "id"): _WRONG_FOR_STR,
    ("part", "revision", "number"): _WRONG_FOR_STR,
    ("parent",): _WRONG_FOR_OBJECT,  # null is allowed
    ("sample",): st.one_of(st.integers(), st.lists(st.none(), max_size=1), st.booleans()),
    ("children",): st.one_of(
        st.integers(), st.text(max_size=3), st.dictionaries(st.text(), st.none(), min_size=1)
    ),
    ("metadata",): st.one_of(
        st.integers(),
        st.lists(st.integers(), max_size=2),
        st.dictionaries(st.text(max_size=3), st.none(), min_size=1, max_size=2),
        st.dictionaries(st.text(max_size=3), st.lists(st.none()), min_size=1, max_size=2),
    ),
}
"""For each field, values of a type the schema does not allow there."""


def _without(record: Record, path: tuple[str | int, ...]) -> Record:
    broken = copy.deepcopy(record)
    target: Any = broken
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return broken


def _replaced(record: Record, path: tuple[str | int, ...], value: Any) -> Record:
    broken = copy.deepcopy(record)
    target: Any = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return broken


@st.composite
def broken_records(draw: st.DrawFn) -> tuple[tuple[str | int, ...], Record]:
    """A valid record with one required field missing or one field of the wrong type, and the
    path of that field."""
    record = draw(UNIT_RECORDS)
    if draw(st.booleans()):
        path = draw(st.sampled_from(REQUIRED_PATHS))
        return path, _without(record, path)
    path = draw(st.sampled_from(sorted(WRONG_VALUES)))
    return path, _replaced(record, path, draw(WRONG_VALUES[path]))


def invalid_records() -> st.SearchStrategy[Record]:
    """A valid record with one required field missing or one field of the wrong type."""
    return broken_records().map(lambda broken: broken[1])


def not_objects() -> st.SearchStrategy[Any]:
    """JSON documents that are not objects at all."""
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.text(max_size=5),
        st.lists(st.none(), max_size=3),
    )


# Crawl results, for rendering without HTTP -----------------------------------------------------


@st.composite
def crawl_results(draw: st.DrawFn, max_units: int = 5) -> CrawlResult:
    """A tree of units with hostile texts everywhere; some fetched, some not.

    Unit `i > 0` hangs under an earlier unit; both sides declare the link when both are fetched.
    """
    serials = draw(
        st.lists(texts(16), min_size=1, max_size=max_units, unique=True), label="serials"
    )
    parent_of = {i: draw(st.integers(0, i - 1)) for i in range(1, len(serials))}
    fetched = [True] + [draw(st.booleans()) for _ in serials[1:]]
    refs = [
        UnitRef.model_validate(escaped_keys({**draw(UNIT_REFS), "serial_number": s}))
        for s in serials
    ]
    states: dict[str, UnitState] = {}
    for i, serial in enumerate(serials):
        depth = draw(st.integers(0, 10))
        if not fetched[i]:
            status = draw(st.sampled_from([Status.NOT_FOUND, Status.ERROR, Status.UNEXPLORED]))
            reason = draw(st.one_of(st.none(), texts(80)))
            states[serial] = UnitState(serial, depth, status, reason, None, refs[i])
            continue
        parent = refs[parent_of[i]].model_dump() if i in parent_of else None
        children = [refs[j].model_dump() for j, p in parent_of.items() if p == i]
        record = draw(UNIT_RECORDS) | {
            "serial_number": serial,
            "parent": parent,
            "children": children,
        }
        unit = read_unit(record).unit
        cached = draw(st.booleans())
        states[serial] = UnitState(serial, depth, Status.OK, None, unit, refs[i], cached)
    limits = Limits(
        draw(st.one_of(st.none(), st.integers(0, 50))),
        draw(st.one_of(st.none(), st.integers(1, 500))),
    )
    counters = Counters(*(draw(st.integers(0, 10**6)) for _ in range(5)))
    return CrawlResult(
        start=serials[0],
        direction=draw(st.sampled_from(Direction)),
        units=states,
        counters=counters,
        seconds=draw(st.floats(0, 1e6)),
        interrupted=draw(st.booleans()),
        limits=limits,
    )


def expected_edges(result: CrawlResult) -> set[tuple[str, str]]:
    """The parent -> child links `crawl_results` built, declared by at least one fetched side."""
    edges = set()
    for state in result.units.values():
        if state.unit is None:
            continue
        for child in state.unit.children:
            edges.add((state.serial, child.serial_number))
        if state.unit.parent is not None:
            edges.add((state.unit.parent.serial_number, state.serial))
    return edges


# Building graphs and checking exports, shared by the rendering tests ----------------------------


def crawl_of(*records: Record) -> CrawlResult:
    """A crawl that fetched exactly `records`, the first being the start unit."""
    units = [read_unit(record).unit for record in records]
    states = {
        unit.serial_number: UnitState(unit.serial_number, 0, Status.OK, unit=unit) for unit in units
    }
    return CrawlResult(units[0].serial_number, Direction.BOTH, states, Counters())


LEGEND_NODES = 7
"""The legend's boxes, one per outcome class, drawn in every SVG."""
SVG = "{http://www.w3.org/2000/svg}"
_GENERATED_ID = re.compile(r"u\d+|legend_[a-z_]+|cluster_legend|cluster_u\d+|genealogy|u\d+->u\d+")


@dataclass
class SvgFacts:
    root: ET.Element
    nodes: int
    edges: int
    texts: list[str]
    bold: list[str]
    """Bold texts: every serial number, the graph title's among them."""


def svg_facts(svg: str) -> SvgFacts:
    """Parse `svg` (it must be well-formed XML) and check it holds nothing active.

    No `<script>` or `<a>` element, no `on*` event attribute, no `javascript:` URL, no data in an
    element's id or title (Graphviz writes node IDs there; ours are generated).
    """
    assert "<script" not in svg.lower()
    root = ET.fromstring(svg)
    for element in root.iter():
        tag = element.tag.removeprefix(SVG)
        assert tag in {"svg", "g", "title", "polygon", "path", "text", "ellipse", "polyline"}, tag
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), name
            assert "javascript:" not in value.lower(), (name, value)
            assert "href" not in name.lower(), name
        if tag == "title":
            assert _GENERATED_ID.fullmatch(element.text or ""), element.text
    groups = [g.get("class") for g in root.iter(f"{SVG}g")]
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    bold = [
        "".join(t.itertext()) for t in root.iter(f"{SVG}text") if t.get("font-weight") == "bold"
    ]
    return SvgFacts(root, groups.count("node"), groups.count("edge"), texts, bold)


def as_drawn(text: str) -> str:
    """`text` as Graphviz draws it in SVG: a space after a space becomes a no-break space,
    so that viewers do not collapse runs of spaces. Compare texts with this applied to both."""
    return text.replace("\xa0", " ")


def assert_same_graph(loaded: nx.DiGraph, graph: nx.DiGraph) -> None:
    assert loaded.is_directed() and not loaded.is_multigraph()
    assert list(loaded.nodes(data=True)) == list(graph.nodes(data=True))
    assert sorted(loaded.edges(data=True)) == sorted(graph.edges(data=True))
    assert loaded.graph == graph.graph


def strict_json(text: str) -> Any:
    """`json.loads`, refusing the `NaN` / `Infinity` that Python writes but JSON has not."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


_GRAPH_LINE = re.compile(
    r"\tgraph \[fontname=Helvetica label=(?:Assembly|<(?P<title>.*)>) labelloc=t "
    + re.escape(layout.GRAPH)
    + r"\]"
)
_NODE_LINE = re.compile(
    r'\t\t?(?P<id>u\d+) \[label=<(?P<label>.*)>(?: [a-z]+=(?:"[^"<>\\]*"|[\w.,#]+))*\]'
)
_EDGE_LINE = re.compile(r"\tu\d+ -> u\d+(?P<kind> \[style=invis\]| \[lhead=cluster_u\d+\])?")
_GRID_LINES = {"\t}", f"\t\t{GRID_STYLE}"}
_GRID_START = re.compile(r"\tsubgraph cluster_u\d+ \{")
_LABEL_TAGS = {"label", "B", "I", "BR", "FONT"}


def _label_xml(label: str) -> ET.Element:
    element = ET.fromstring(f"<label>{label}</label>")
    for child in element.iter():
        assert child.tag in _LABEL_TAGS, child.tag
        assert set(child.attrib) <= {"POINT-SIZE"}, child.attrib
    return element


def dot_structure(source: str) -> tuple[ET.Element | None, dict[str, ET.Element], int]:
    """Check `source` is our skeleton, and return the title, each node's label, the number of
    arrows drawn (links, and one into each grid of leaves; not the invisible layout edges).

    Every line must be one we write: data can only sit inside an HTML-like label, and every
    label must be well-formed markup using only our tags (`B`, `I`, `BR`, `FONT`).
    """
    lines = source.splitlines()
    legend = lines.index("\tsubgraph cluster_legend {")
    assert lines[0] == "digraph genealogy {"
    graph_line = _GRAPH_LINE.fullmatch(lines[1])
    assert graph_line, lines[1]
    assert lines[2:4] == [
        '\tnode [fontname=Helvetica fontsize=10 shape=box style="rounded,filled"]',
        '\tedge [arrowsize=0.7 color="#607d8b"]',
    ]
    labels: dict[str, ET.Element] = {}
    edges = 0
    for line in lines[4:legend]:
        if node := _NODE_LINE.fullmatch(line):
            labels[node["id"]] = _label_xml(node["label"])
        elif line in _GRID_LINES or _GRID_START.fullmatch(line):
            continue
        else:
            edge = _EDGE_LINE.fullmatch(line)
            assert edge, line
            edges += edge["kind"] != " [style=invis]"
    assert len(lines) - legend == 2 * LEGEND_NODES + 1 + 2  # the fixed legend, closing braces
    assert lines[-2:] == ["\t}", "}"]
    title = graph_line["title"]
    return (None if title is None else _label_xml(title)), labels, edges


def arrows(graph: nx.DiGraph) -> int:
    """How many arrows the drawing of `graph` has: one per link, but a grid of leaves in its
    box has one arrow from their parent for all of them (`renderers.layout`)."""
    grids = layout.plan(graph).grids
    return graph.number_of_edges() - sum(map(len, grids.values())) + len(grids)


def bold_text(label: ET.Element) -> str:
    bold = label.find("B")
    assert bold is not None
    return "".join(bold.itertext())


def in_label(text: str) -> str:
    """`text` as written in a DOT label: printable, backslashes doubled (Graphviz halves them)."""
    return printable(text).replace("\\", "\\\\")
