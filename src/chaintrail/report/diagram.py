"""The flow diagram: victims' payments → intermediate transactions → where the value ended.

A court reader needs the shape of the flow at a glance, not every hop (the table has those), so
the drawing has three columns and one box per endpoint or outcome, each arrow labelled with the
exact amount. Plain SVG: the HTML report embeds it, Typst draws it into the PDF.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape


@dataclass(frozen=True, slots=True)
class Box:
    title: str
    amount: str
    detail: str = ""  # a third line in small type (an address)


_W, _BOX_W, _BOX_H, _GAP = 960, 300, 52, 10
_MID = (_W - _BOX_W) // 2
_FONT = "Noto Sans CJK KR, Noto Sans CJK JP, Noto Sans CJK SC, sans-serif"


def _box(x: int, y: int, box: Box, fill: str) -> str:
    lines = [(box.title, 13, 17), (box.amount, 12, 32), (box.detail, 9, 46)]
    texts = "".join(
        f'<text x="{x + 8}" y="{y + dy}" font-size="{size}">{escape(text)}</text>'
        for text, size, dy in lines
        if text
    )
    return (
        f'<rect x="{x}" y="{y}" width="{_BOX_W}" height="{_BOX_H}" rx="6" fill="{fill}" '
        f'stroke="#333" stroke-width="1"/>{texts}'
    )


def _arrow(x1: int, y1: int, x2: int, y2: int) -> str:
    return (
        f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#555" stroke-width="1.2" '
        f'marker-end="url(#arrow)"/>'
    )


def flow_svg(source: Box, middle: Box, ends: list[Box]) -> str:
    """An SVG of one source box, one box for the hops and one box per end (top to bottom)."""
    rows = max(len(ends), 1)
    height = rows * (_BOX_H + _GAP) + _GAP
    mid_y = (height - _BOX_H) // 2
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{height}" '
        f'viewBox="0 0 {_W} {height}" font-family="{_FONT}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
        _box(10, mid_y, source, "#fde2e2"),
        _box(_MID, mid_y, middle, "#e8eef8"),
        _arrow(10 + _BOX_W, mid_y + _BOX_H // 2, _MID, mid_y + _BOX_H // 2),
    ]
    for i, end in enumerate(ends):
        y = _GAP + i * (_BOX_H + _GAP)
        parts.append(_box(_W - _BOX_W - 10, y, end, "#e3f4e1"))
        parts.append(_arrow(_MID + _BOX_W, mid_y + _BOX_H // 2, _W - _BOX_W - 10, y + _BOX_H // 2))
    parts.append("</svg>")
    return "".join(parts)


__all__ = ["Box", "flow_svg"]
