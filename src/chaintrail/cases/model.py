"""Victim reports, rejected rows and verification results as plain values.

A report keeps three layers apart, because a court may ask for each: the row exactly as it was
read (``raw``), the text of each field as given (``fields``), and the normalised values the
analysis uses, with every change made on the way (``normalisations``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

#: The intake fields, in the order of the default column layout.
FIELDS: Final = (
    "report_id",
    "reported_at",
    "victim_name",
    "country",
    "chain",
    "asset",
    "amount",
    "tx_hash",
    "from_address",
    "to_address",
    "description",
)
#: Fields that identify something on chain; a report needs at least one.
IDENTIFIERS: Final = ("tx_hash", "from_address", "to_address")


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a row was rejected: a stable reason ``code``, the field, a one-line message."""

    code: str
    field: str | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "field": self.field, "message": self.message}


@dataclass(frozen=True, slots=True)
class Normalisation:
    """One change made to a field on the way in (trimmed, lower-cased, defaulted...)."""

    field: str
    given: str
    value: str
    rule: str

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "from": self.given, "to": self.value, "rule": self.rule}


@dataclass(frozen=True, slots=True)
class RawRow:
    """One data row of an intake file: its row number, the exact text, and field texts."""

    row: int
    raw: str
    fields: dict[str, str]
    #: Problems found while reading (a row with the wrong number of cells, not an object).
    problems: tuple[Problem, ...] = ()
    #: Changes made while reading (an XLSX number cell turned into decimal text).
    normalisations: tuple[Normalisation, ...] = ()


@dataclass(frozen=True, slots=True)
class Report:
    """An accepted report, normalised; amounts in integer base units of ``asset``."""

    report_id: str
    row: int
    raw: str
    fields: dict[str, str]
    chain: str
    asset: str
    reported_at: datetime | None = None
    victim_name: str | None = None
    country: str | None = None
    amount_text: str | None = None
    amount: int | None = None
    decimals: int | None = None
    tx_hash: str | None = None
    from_address: str | None = None
    to_address: str | None = None
    description: str | None = None
    flags: tuple[str, ...] = ()
    normalisations: tuple[Normalisation, ...] = ()
    duplicate_of: str | None = None
    import_id: int | None = None

    def payment_key(self) -> tuple[str, ...] | None:
        """What identifies the payment a report is about, before looking on chain: the
        transaction and recipient when a txid is given, else sender, recipient and amount
        together. None when the report says too little: two victims who name only the scam's
        address and the same amount are two payments until the chain says otherwise."""
        if self.tx_hash:
            return (self.chain, "tx", self.tx_hash, self.to_address or "")
        if self.from_address and self.to_address and self.amount_text:
            return (
                self.chain,
                "addr",
                self.from_address,
                self.to_address,
                self.asset,
                str(self.amount) if self.amount is not None else self.amount_text,
            )
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "report_id": self.report_id,
            "import_id": self.import_id,
            "row": self.row,
            "reported_at": None if self.reported_at is None else self.reported_at.isoformat(),
            "victim_name": self.victim_name,
            "country": self.country,
            "chain": self.chain,
            "asset": self.asset,
            "amount_text": self.amount_text,
            "amount": self.amount,
            "decimals": self.decimals,
            "tx_hash": self.tx_hash,
            "from_address": self.from_address,
            "to_address": self.to_address,
            "description": self.description,
            "flags": list(self.flags),
            "normalisations": [n.to_json() for n in self.normalisations],
            "duplicate_of": self.duplicate_of,
            "fields": self.fields,
            "raw": self.raw,
        }


@dataclass(frozen=True, slots=True)
class Rejection:
    """A row that failed format validation, kept verbatim with every problem found."""

    row: int
    raw: str
    fields: dict[str, str]
    problems: tuple[Problem, ...]
    report_id: str | None = None
    import_id: int | None = None

    @property
    def reason(self) -> str:
        return self.problems[0].code

    @property
    def message(self) -> str:
        return self.problems[0].message

    def to_json(self) -> dict[str, Any]:
        return {
            "report_id": self.report_id,
            "import_id": self.import_id,
            "row": self.row,
            "reason": self.reason,
            "message": self.message,
            "problems": [p.to_json() for p in self.problems],
            "fields": self.fields,
            "raw": self.raw,
        }


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What ``cases import`` did with one file."""

    path: str
    sha256: str
    format: str
    import_id: int
    already_imported: bool
    rows: int
    accepted: int
    duplicates: int
    rejected: int
    blank_rows: int
    rejections: list[Rejection] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "format": self.format,
            "import_id": self.import_id,
            "already_imported": self.already_imported,
            "rows": self.rows,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "blank_rows": self.blank_rows,
            "reasons": dict(sorted(self.reasons.items())),
            "rejections": [r.to_json() for r in self.rejections],
        }


@dataclass(frozen=True, slots=True)
class Verification:
    """What on-chain verification found for one report.

    ``status`` is ``verified`` (the payment was found; ``reasons`` may still flag a differing
    amount or a mistyped txid), ``not_found`` or ``unsupported`` (no store for the chain).
    """

    report_id: str
    status: str
    reasons: tuple[str, ...] = ()
    method: str | None = None
    txid: str | None = None
    vout: int | None = None
    address: str | None = None
    verified_amount: int | None = None
    block_height: int | None = None
    block_time: datetime | None = None
    duplicate_of: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "report_id": self.report_id,
            "status": self.status,
            "reasons": list(self.reasons),
            "method": self.method,
            "txid": self.txid,
            "vout": self.vout,
            "address": self.address,
            "verified_amount": self.verified_amount,
            "block_height": self.block_height,
            "block_time": None if self.block_time is None else self.block_time.isoformat(),
            "duplicate_of": self.duplicate_of,
            "detail": self.detail,
        }


def dumps(value: Any) -> str:
    """Canonical JSON for stored columns (CJK kept as text, keys in given order)."""
    return json.dumps(value, ensure_ascii=False, default=str)


__all__ = [
    "FIELDS",
    "IDENTIFIERS",
    "ImportReport",
    "Normalisation",
    "Problem",
    "RawRow",
    "Rejection",
    "Report",
    "Verification",
    "dumps",
]
