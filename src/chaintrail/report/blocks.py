"""The pieces a report or a letter is made of: headings, paragraphs, tables (and drawings).

HTML and PDF render the same blocks, so the two formats cannot say different things.
"""

from __future__ import annotations

from typing import Any

from chaintrail.report.i18n import Catalog

Block = dict[str, Any]


def h(level: int, text: str) -> Block:
    return {"type": "heading", "level": level, "text": text}


def p(text: str, *, small: bool = False) -> Block:
    return {"type": "para", "text": text, "small": small}


def table(header: list[str], rows: list[list[str]], *, mono: tuple[int, ...] = (),
          right: tuple[int, ...] = ()) -> Block:  # fmt: skip
    return {"type": "table", "header": header, "rows": rows, "mono": list(mono),
            "right": list(right)}  # fmt: skip


def reason_text(cat: Catalog, reason: str) -> str:
    """An outcome's name: where traced value ended or why it was not followed further."""
    if reason in ("attributed", "unspent", "coinjoin", "fee", "listed"):
        return cat.t(f"report.reason_{reason}")
    return cat.t("report.reason_other", reason=reason)


__all__ = ["Block", "h", "p", "reason_text", "table"]
