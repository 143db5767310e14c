"""Plain address lists: CSV files with a header, or one address per line.

A CSV file (comma, semicolon or tab separated) whose header names an ``address`` column may
also carry any of ``currency``, ``network``, ``label``, ``category``, ``abuse``, ``actor``,
``source``, ``confidence``, ``tlp``, ``context``, ``lastmod``; other columns are ignored. A file
without such a header is read as one address per line (the first field of the line). Blank
lines and lines starting with ``#`` are skipped.

What a row does not say comes from the caller's options (:class:`ListOptions`): the label is
required (from a column or ``--label``); ``confidence`` defaults to ``unknown``; ``source`` to
the file's absolute path; ``currency`` to what the address looks like (a valid Bitcoin mainnet
address: BTC; ``0x`` + 40 hex: ETH; otherwise the row is rejected). A user's list is private
intelligence: ``is_public`` is false and ``tlp`` AMBER unless told otherwise.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from chaintrail.chains.btc.script import MAINNET, is_valid_address
from chaintrail.tags.tagpack import (
    TAG_SCHEMA,
    FileProblem,
    ParsedFile,
    Rejection,
    rows_to_table,
    tag_row,
)

COLUMNS: Final = ("currency", "network", "label", "category", "abuse", "actor", "source",
                  "confidence", "tlp", "context", "lastmod")  # fmt: skip
_EVM: Final = re.compile(r"^0[xX][0-9a-fA-F]{40}$")


@dataclass(frozen=True, slots=True)
class ListOptions:
    """What the user says about every address of a list (columns of the file win)."""

    label: str | None = None
    category: str | None = None
    confidence: str | None = None
    tlp: str | None = None
    is_public: bool | None = None


def _guess_currency(address: str) -> str | None:
    if _EVM.match(address):
        return "ETH"
    if is_valid_address(address, network=MAINNET):
        return "BTC"
    return None


def parse_list_file(path: str, options: ListOptions) -> ParsedFile | FileProblem:
    p = Path(path)
    try:
        data = p.read_bytes()
        text = data.decode("utf-8-sig")
    except OSError as e:
        return FileProblem(path, f"cannot read the file: {e.strerror or e}")
    except UnicodeDecodeError:
        return FileProblem(path, "not a text file (UTF-8)", unsupported=True)
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith("#")]  # fmt: skip
    header: list[str] | None = None
    delimiter = ","
    if lines:
        first = lines[0][1]
        delimiter = max((",", ";", "\t"), key=first.count)
        cells = [c.strip().lower() for c in next(csv.reader([first], delimiter=delimiter))]
        if "address" in cells:
            header = cells
            lines = lines[1:]
    defaults: dict[str, Any] = {
        "label": options.label,
        "category": options.category,
        "confidence": options.confidence or "unknown",
        "source": str(p.resolve()),
        "is_public": False if options.is_public is None else options.is_public,
        "tlp": options.tlp or "AMBER",
    }
    has_label = options.label is not None or (header is not None and "label" in header)
    if not has_label:
        return FileProblem(path, "an address list needs a label: give --label or a 'label' "
                                 "column")  # fmt: skip
    rows, rejections = [], []
    reader = csv.reader(io.StringIO("\n".join(line for _, line in lines)), delimiter=delimiter)
    for i, ((number, _), cells) in enumerate(zip(lines, reader, strict=True)):
        if header is None:
            found = {"address": cells[0].strip() if cells else ""}
        else:
            found = {
                name: value.strip()
                for name, value in zip(header, cells, strict=False)
                if (name == "address" or name in COLUMNS) and value.strip()
            }
        m = {**defaults, **found}
        address = str(m.get("address") or "")
        if "currency" not in m and address:
            guessed = _guess_currency(address)
            if guessed is None:
                reason = "cannot tell the currency of this address; add a 'currency' column"
                rejections.append(Rejection(path, i, number, reason, address))
                continue
            m["currency"] = guessed
        row = tag_row({k: v for k, v in m.items() if v is not None}, i)
        if isinstance(row, str):
            rejections.append(Rejection(path, i, number, row, address or None,
                                        str(m.get("currency") or "").upper() or None))  # fmt: skip
        else:
            rows.append(row)
    return ParsedFile(
        path, "csv", hashlib.sha256(data).hexdigest(), title=f"Address list {p.name}",
        creator="chaintrail tags import", description=None, entries=len(lines),
        tags=rows_to_table(rows, TAG_SCHEMA), rejections=rejections,
    )  # fmt: skip
