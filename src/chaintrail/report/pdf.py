"""The report's blocks as PDF, typeset by Typst with the Noto CJK fonts.

Typst (PyPI ``typst``) is a self-contained typesetter: no TeX, no browser. The document's blocks
go to a fixed template as JSON, so the PDF says exactly what the HTML says. The PDF carries no
creation date of its own (``date: none``): the same blocks give the same bytes.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Final

import typst

from chaintrail.errors import UsageError

#: Where Debian's fonts-noto-cjk puts the fonts (system fonts are searched too).
FONT_DIRS: Final = ("/usr/share/fonts/opentype/noto",)


@cache
def _fonts() -> typst.Fonts:
    """The fonts Typst sees (scanned once per process)."""
    return typst.Fonts(
        include_system_fonts=True,
        include_embedded_fonts=True,
        font_paths=[d for d in FONT_DIRS if Path(d).is_dir()],
    )


def cjk_fonts_present() -> bool:
    """Whether Typst can find a Noto Sans CJK font (else CJK text would print as boxes)."""
    return any(family.startswith("Noto Sans CJK") for family in _fonts().families())


def render_pdf(doc: dict[str, Any]) -> bytes:
    """The document as PDF bytes; a UsageError when the CJK fonts are not installed."""
    if not cjk_fonts_present():
        raise UsageError(
            "The Noto CJK fonts are not installed: a PDF would print Korean, Japanese and "
            "Chinese text as empty boxes.",
            hint="Install Debian's fonts-noto-cjk ('make sysdeps'), or use --format html.",
        )
    template = resources.files("chaintrail.report").joinpath("templates", "document.typ")
    body = json.dumps(doc, ensure_ascii=False, default=str)
    return typst.compile(
        template.read_bytes(), format="pdf", sys_inputs={"doc": body}, font_paths=_fonts()
    )


__all__ = ["cjk_fonts_present", "render_pdf"]
