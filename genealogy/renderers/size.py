"""Whether a diagram can be read: checked before anything is written, so a drawing whose text
is a pixel high, or a Mermaid file Mermaid will not render, is refused with the reason.

**Drawings (SVG, PNG, PDF).** Graphviz writes sizes in points (1/72 inch) and text at 10 pt.
Shown fitted to the width of a `VIEW_WIDTH_PX` screen, or at its natural size if narrower, its
text must be at least `MIN_TEXT_PX` pixels high: at 10 pt that allows a drawing up to 2,400 pt
wide (the 7,122-unit pack, grouped, is about 1,760). A 5,000-unit assembly drawn unit by unit
was 0.108 of its natural size fitted to a screen, its text about 1 px high. Before Graphviz
runs at all, more than `MAX_BOXES` boxes are refused: no layout that wide can be read, and it
would take minutes. A PNG taller or wider than cairo's 32,767 pixels would be scaled down by
Graphviz, so it is refused too.

**Mermaid** renders nothing over its `maxTextSize`, 50,000 characters by default.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import networkx as nx

from genealogy.errors import DiagramTooLarge

VIEW_WIDTH_PX = 1920
"""The screen a drawing is judged on: a full-HD monitor, the drawing fitted to its width."""
MIN_TEXT_PX = 8.0
"""The smallest text height, in screen pixels, that reads without zooming."""
PX_PER_PT = 96 / 72
"""CSS pixels per point: a browser shows an SVG `width="72pt"` 96 px wide."""
MAX_BOXES = 2000
"""More boxes than this are refused before Graphviz runs."""
PNG_MAX_PX = 32767
"""Cairo's largest image side; Graphviz scales a larger PNG down to fit."""
MERMAID_LIMIT = 50_000
"""Mermaid's default `maxTextSize`: a longer source renders as an error message."""


@dataclass(frozen=True)
class Readability:
    """A drawing's size in points and its text's height on the judging screen."""

    width_pt: float
    height_pt: float
    font_pt: float

    @property
    def scale(self) -> float:
        """Screen pixels per point: fitted to `VIEW_WIDTH_PX`, never enlarged."""
        return min(PX_PER_PT, VIEW_WIDTH_PX / self.width_pt) if self.width_pt else PX_PER_PT

    @property
    def text_px(self) -> float:
        return self.font_pt * self.scale

    @property
    def readable(self) -> bool:
        return self.text_px >= MIN_TEXT_PX

    def describe(self) -> str:
        return (
            f"{self.width_pt:,.0f} × {self.height_pt:,.0f} pt; fitted to a "
            f"{VIEW_WIDTH_PX:,}-pixel-wide screen its text would be {self.text_px:.1f} px high "
            f"(at least {MIN_TEXT_PX:g} reads)"
        )


_SIZE = re.compile(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"')
_FONT = re.compile(r'font-size="([\d.]+)"')


def measure(svg: str) -> Readability:
    """The size Graphviz gave an SVG and its usual text size (the most frequent font size)."""
    size = _SIZE.search(svg)
    if not size:
        raise ValueError("not an SVG drawn by Graphviz: no width and height in points")
    fonts = Counter(float(value) for value in _FONT.findall(svg))
    font = fonts.most_common(1)[0][0] if fonts else 14.0  # Graphviz's default
    return Readability(float(size.group(1)), float(size.group(2)), font)


def check_boxes(graph: nx.DiGraph) -> None:
    """Refuse, before Graphviz runs, a diagram of more boxes than any readable drawing has."""
    boxes = graph.number_of_nodes()
    if boxes > MAX_BOXES:
        raise DiagramTooLarge(
            f"The diagram would have {boxes:,} boxes, more than {MAX_BOXES:,}: no drawing of "
            "that many can be read, and Graphviz would take minutes. Nothing was written."
        )


def check_drawing(svg: str, boxes: int, fmt: str) -> Readability:
    """Refuse a drawing whose text would be too small (or a PNG Graphviz would shrink)."""
    found = measure(svg)
    if not found.readable:
        raise DiagramTooLarge(
            f"The diagram of {boxes:,} boxes is too large to read: {found.describe()}. "
            "Nothing was written."
        )
    largest = max(found.width_pt, found.height_pt) * PX_PER_PT
    if fmt == "png" and largest > PNG_MAX_PX:
        raise DiagramTooLarge(
            f"The PNG would be {largest:,.0f} pixels long, more than the {PNG_MAX_PX:,} "
            "Graphviz can draw without shrinking the text. Nothing was written; SVG or PDF "
            "keep it readable."
        )
    return found


def check_mermaid(source: str) -> None:
    """Refuse a Mermaid source that Mermaid would not render."""
    if len(source) > MERMAID_LIMIT:
        raise DiagramTooLarge(
            f"The Mermaid diagram is {len(source):,} characters, over Mermaid's limit of "
            f"{MERMAID_LIMIT:,} (its maxTextSize): GitHub and GitLab would show an error "
            "instead. Nothing was written."
        )
