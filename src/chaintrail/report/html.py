"""The report's blocks as one self-contained HTML page (inline style and drawing, no scripts)."""

from __future__ import annotations

from html import escape
from typing import Any

_STYLE = """
body { font-family: "Noto Sans CJK KR", "Noto Sans CJK JP", "Noto Sans CJK SC", sans-serif;
       margin: 2em; color: #111; font-size: 14px; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 12px; }
th, td { border: 1px solid #999; padding: 3px 6px; vertical-align: top; white-space: pre-line; }
th { background: #eee; text-align: left; }
td.mono { font-family: "DejaVu Sans Mono", monospace; font-size: 11px; word-break: break-all; }
td.right { text-align: right; }
p.small { font-size: 12px; color: #444; }
"""


def _cell(text: str, cls: list[str]) -> str:
    attr = f' class="{" ".join(cls)}"' if cls else ""
    return f"<td{attr}>{escape(text)}</td>"


def _table(block: dict[str, Any]) -> str:
    mono, right = set(block["mono"]), set(block["right"])
    head = "".join(f"<th>{escape(x)}</th>" for x in block["header"])
    rows = []
    for row in block["rows"]:
        cells = (
            _cell(x, [c for c, on in (("mono", i in mono), ("right", i in right)) if on])
            for i, x in enumerate(row)
        )
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def render_html(doc: dict[str, Any]) -> bytes:
    """The document as UTF-8 HTML."""
    out = [
        "<!DOCTYPE html>",
        f'<html lang="{doc["lang"]}"><head><meta charset="utf-8">',
        f"<title>{escape(doc['title'])}</title><style>{_STYLE}</style></head><body>",
    ]
    for block in doc["blocks"]:
        kind = block["type"]
        if kind == "heading":
            level = block["level"]
            out.append(f"<h{level}>{escape(block['text'])}</h{level}>")
        elif kind == "para":
            cls = ' class="small"' if block["small"] else ""
            out.append(f"<p{cls}>{escape(block['text'])}</p>")
        elif kind == "table":
            out.append(_table(block))
        elif kind == "svg":
            out.append(f"<figure>{block['svg']}</figure>")
    out.append("</body></html>\n")
    return "\n".join(out).encode("utf-8")


__all__ = ["render_html"]
