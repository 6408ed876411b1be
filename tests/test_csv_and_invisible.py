"""Invisible characters are shown as escapes in every human-readable export, so two serial
numbers that differ only by one never look alike; CSV cells are quoted and formula-safe."""

from __future__ import annotations

import csv
import io
import re

import networkx as nx
import pytest

from genealogy.graph import build_graph
from genealogy.renderers import csv as csv_format
from genealogy.renderers import render
from genealogy.text import printable
from tests.records import unit
from tests.strategies import bold_text, crawl_of, dot_structure, in_label

INVISIBLE = {
    "soft hyphen": "\u00ad",
    "combining grapheme joiner": "\u034f",
    "hangul choseong filler": "\u115f",
    "hangul jungseong filler": "\u1160",
    "khmer inherent aq": "\u17b4",
    "khmer inherent aa": "\u17b5",
    "mongolian vowel separator": "\u180e",
    "mongolian free variation selector": "\u180b",
    "invisible separator": "\u2063",
    "inhibit symmetric swapping": "\u206a",
    "hangul filler": "\u3164",
    "variation selector-1": "\ufe00",
    "variation selector-16 (emoji)": "\ufe0f",
    "halfwidth hangul filler": "\uffa0",
    "shorthand format letter overlap": "\U0001bca0",
    "musical symbol begin beam": "\U0001d173",
    "language tag": "\U000e0001",
    "tag latin small a": "\U000e0061",
    "cancel tag": "\U000e007f",
    "variation selector-17": "\U000e0100",
    "variation selector-256": "\U000e01ef",
}


@pytest.mark.parametrize("name", sorted(INVISIBLE))
def test_invisible_character_is_shown_as_a_python_escape(name: str) -> None:
    char = INVISIBLE[name]
    visible = printable(f"SN{char}1")
    assert visible != "SN1"
    escape = visible.removeprefix("SN").removesuffix("1")
    assert escape.startswith("\\") and escape.isascii()
    assert escape.encode().decode("unicode_escape") == char  # the escape names the character
    assert printable(visible) == visible


def test_astral_escapes_have_eight_digits() -> None:
    """A four-digit `\\ue0041` would read as U+E004 followed by `1`."""
    assert printable("A\U000e0041B") == "A\\U000e0041B"


@pytest.mark.parametrize(
    "text",
    [
        "SN-\u2800",  # braille blank: visible as a blank cell, and used in braille text
        "Ünïcödé 日本 😀 é",  # composed, wide and astral characters that are drawn
        "e\u0301",  # an ordinary combining mark is drawn on its letter
    ],
)
def test_visible_text_is_left_alone(text: str) -> None:
    assert printable(text) == text


def test_emoji_presentation_selector_is_escaped() -> None:
    """The documented price of safety: the red-heart emoji shows its selector."""
    assert printable("\u2764\ufe0f") == "\u2764\\ufe0f"


def _twins(char: str) -> tuple[nx.DiGraph, str, str]:
    """A root with two children whose serial numbers differ only by the invisible `char`."""
    plain, hidden = "SN-100", f"SN-{char}100"
    root = unit("ROOT", children=[plain, hidden])
    graph = build_graph(crawl_of(root, unit(plain, parent="ROOT"), unit(hidden, parent="ROOT")))
    return graph, plain, hidden


@pytest.mark.parametrize("name", ["soft hyphen", "hangul filler", "language tag", "cancel tag"])
def test_twins_differ_in_the_text_tree(name: str) -> None:
    graph, plain, hidden = _twins(INVISIBLE[name])
    tree = render(graph, "text")
    assert isinstance(tree, str)
    lines = [line for line in tree.splitlines() if "SN-" in line]
    assert len(lines) == 2
    assert lines[0] != lines[1]
    assert sum(plain in line for line in lines) == 1
    assert sum(printable(hidden) in line for line in lines) == 1
    assert INVISIBLE[name] not in tree


@pytest.mark.parametrize("name", ["soft hyphen", "variation selector-1", "tag latin small a"])
def test_twins_differ_in_dot_labels(name: str) -> None:
    graph, plain, hidden = _twins(INVISIBLE[name])
    source = render(graph, "dot")
    assert isinstance(source, str)
    _, labels, _ = dot_structure(source)
    serials = sorted(bold_text(label) for label in labels.values())
    assert serials == sorted(["ROOT", in_label(plain), in_label(hidden)])
    assert in_label(plain) != in_label(hidden)
    assert INVISIBLE[name] not in source


# --- CSV ----------------------------------------------------------------------------------------

ROOT = "R;-1"
CHILDREN = ("=C1", "+C2", "@C3", "OK")


def _formula_family() -> nx.DiGraph:
    """A root whose serial, batch and part name hide formulas after `;` or `,`, and whose
    children's serial numbers start with formula characters."""
    root = unit(ROOT, children=list(CHILDREN), batch={"id": "b-1", "number": "a;=1+1"})
    root["part"]["name"] = "x,-2 and 1-1"
    return build_graph(crawl_of(root, *(unit(child, parent=ROOT) for child in CHILDREN)))


def _csv(graph: nx.DiGraph) -> str:
    document = render(graph, "csv")
    assert isinstance(document, str)
    return document


def test_csv_quotes_every_text_cell_and_leaves_numbers_bare() -> None:
    document = _csv(_formula_family())
    # this reader turns every unquoted cell into a float: it fails on an unquoted text cell
    rows = list(csv.reader(io.StringIO(document, newline=""), quoting=csv.QUOTE_NONNUMERIC))
    assert rows[0] == list(csv_format.COLUMNS)
    assert len(rows) == 1 + 1 + len(CHILDREN)
    numeric = {csv_format.COLUMNS.index("run_duration_s"), csv_format.COLUMNS.index("depth")}
    for row in rows[1:]:
        for index, cell in enumerate(row):
            assert isinstance(cell, float if index in numeric else str), (index, cell)
    assert document.splitlines()[1].startswith('"\'+C2","ok","",')
    assert ",300.0," in document.splitlines()[1]


def test_csv_neutralises_every_item_after_a_separator() -> None:
    rows = list(csv.DictReader(io.StringIO(_csv(_formula_family()), newline="")))
    by_serial = {row["serial"]: row for row in rows}
    assert set(by_serial) == {"R;'-1", "'=C1", "'+C2", "'@C3", "OK"}
    root = by_serial["R;'-1"]
    assert root["batch"] == "a;'=1+1"
    assert root["part_name"] == "x,'-2 and 1-1"  # a `-` inside an item is left alone
    assert root["children"] == "'+C2;'=C1;'@C3;OK"
    assert by_serial["'=C1"]["parent"] == "R;'-1"


def test_csv_split_on_any_separator_holds_no_formula() -> None:
    """What a spreadsheet sees if it splits lines on `;` or `,`, quotes or not."""
    document = _csv(_formula_family())
    pieces = [piece.strip('"') for piece in re.split("[;,\r\n]", document)]
    assert all(not piece.startswith(csv_format.FORMULA_STARTS) for piece in pieces)
    assert "'=1+1" in pieces and "'-1" in pieces  # the payloads are there, defused


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("a;=1+1", "a;'=1+1"),
        ("a,-1", "a,'-1"),
        ("-a;-b,+c", "'-a;'-b,'+c"),
        (";;@x", ";;'@x"),
        ("x;\ty", "x;'\ty"),
        ("1-1;a=b, c", "1-1;a=b, c"),
        ("'=x;'=y", "'=x;'=y"),
    ],
)
def test_neutralise_items(raw: str, safe: str) -> None:
    assert csv_format.neutralise(raw) == safe
