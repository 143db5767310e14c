"""Reading and checking a price CSV file row by row.

A price file is what an investigator can get from an exchange or a data vendor: one line per
day, ``date,asset,currency,price`` (or ``date,price`` when ``--asset``/``--currency`` say what
the whole file is). A court figure rests on these numbers, so a doubtful row is not guessed at:
it is rejected, kept verbatim and explained, and the rest of the file is imported.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Final

from chaintrail.errors import PriceFileError

#: Digits after the point a price may have (the store keeps DECIMAL(38, 12)).
PRICE_PLACES: Final = 12
#: Digits before the point a price may have.
PRICE_DIGITS: Final = 38 - PRICE_PLACES

_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?|\.[0-9]+")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ASSET = re.compile(r"[A-Z0-9]{2,12}")
_CURRENCY = re.compile(r"[A-Z]{3}")

#: Every reason a row can be rejected for (docs/prices.md lists them).
REASONS: Final = (
    "wrong_cell_count", "missing_value", "invalid_date", "invalid_asset", "invalid_currency",
    "invalid_price", "price_not_positive", "too_many_decimals", "asset_mismatch",
    "currency_mismatch", "duplicate_day", "conflicting_price",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class PriceRow:
    """One accepted row: the price of one whole ``asset`` in ``currency`` on ``day``."""

    row: int
    asset: str
    currency: str
    day: date
    price: Decimal
    price_text: str
    raw: str


@dataclass(frozen=True, slots=True)
class PriceReject:
    """A row that was not imported, verbatim, with the reason code and a message."""

    row: int
    raw: str
    reason: str
    message: str


def read_prices(
    path: str, data: bytes, *, asset: str | None, currency: str | None
) -> tuple[list[PriceRow], list[PriceReject], int]:
    """Accepted rows, rejected rows and the number of data rows (blank lines not counted).
    A file that cannot be read as a whole raises :class:`PriceFileError` (nothing imported)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise PriceFileError(path, f"not UTF-8 text (byte {e.start})") from e
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise PriceFileError(path, "no header line")
    header = [c.strip().casefold() for c in next(csv.reader([lines[0]]))]
    need = ["date", "price"] + (["asset"] if asset is None else []) + (
        ["currency"] if currency is None else [])  # fmt: skip
    missing = [c for c in need if c not in header]
    if missing:
        raise PriceFileError(path, f"the header lacks the column(s) {', '.join(missing)}")
    where = {name: header.index(name) for name in ("date", "asset", "currency", "price")
             if name in header}  # fmt: skip
    accepted: list[PriceRow] = []
    rejected: list[PriceReject] = []
    seen: set[tuple[str, str, date]] = set()
    rows = 0
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        rows += 1
        cells = next(csv.reader([line]))
        checked = _check(number, line, cells, len(header), where, asset, currency)
        if isinstance(checked, PriceRow):
            key = (checked.asset, checked.currency, checked.day)
            if key in seen:
                checked = PriceReject(number, line, "duplicate_day",
                                      f"a price of {checked.asset} in {checked.currency} on "
                                      f"{checked.day} was given earlier in the file")  # fmt: skip
            else:
                seen.add(key)
        if isinstance(checked, PriceRow):
            accepted.append(checked)
        else:
            rejected.append(checked)
    return accepted, rejected, rows


def _check(
    number: int,
    raw: str,
    cells: list[str],
    width: int,
    where: dict[str, int],
    asset: str | None,
    currency: str | None,
) -> PriceRow | PriceReject:
    def no(reason: str, message: str) -> PriceReject:
        return PriceReject(number, raw, reason, message)

    if len(cells) != width:
        return no("wrong_cell_count", f"{len(cells)} cells where the header has {width}")
    got = {name: cells[i].strip() for name, i in where.items()}
    for name in ("date", "asset", "currency", "price"):
        if name in got and not got[name] and not (name == "asset" and asset) and not (
                name == "currency" and currency):  # fmt: skip
            return no("missing_value", f"the {name} is empty")
    day = _day(got["date"])
    if day is None:
        return no("invalid_date", f"date {got['date']!r} is not a calendar day YYYY-MM-DD")
    sym = got.get("asset") or asset or ""
    if not _ASSET.fullmatch(sym.upper()):
        return no("invalid_asset", f"asset {sym!r} is not a symbol of 2-12 letters or digits")
    if asset is not None and sym.upper() != asset.upper():
        return no("asset_mismatch", f"asset {sym!r} in a file imported with --asset {asset}")
    cur = got.get("currency") or currency or ""
    if not _CURRENCY.fullmatch(cur.upper()):
        return no("invalid_currency", f"currency {cur!r} is not a three-letter ISO 4217 code")
    if currency is not None and cur.upper() != currency.upper():
        return no("currency_mismatch",
                  f"currency {cur!r} in a file imported with --currency {currency}")  # fmt: skip
    text = got["price"]
    if not _DECIMAL.fullmatch(text):
        return no("invalid_price",
                  f"price {text!r} is not a plain decimal number (digits and one point; no "
                  "signs, exponents or thousands separators)")  # fmt: skip
    try:
        price = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        return no("invalid_price", f"price {text!r} is not a decimal number")
    if price <= 0:
        return no("price_not_positive", f"price {text!r} is not above zero")
    whole, _, frac = text.partition(".")
    if len(frac.rstrip("0")) > PRICE_PLACES or len(whole.lstrip("0")) > PRICE_DIGITS:
        return no("too_many_decimals",
                  f"price {text!r} has more than {PRICE_PLACES} decimal places or "
                  f"{PRICE_DIGITS} digits before the point")  # fmt: skip
    return PriceRow(number, sym.upper(), cur.upper(), day, price, text, raw)


def _day(text: str) -> date | None:
    if not _DAY.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


__all__ = ["PRICE_DIGITS", "PRICE_PLACES", "REASONS", "PriceReject", "PriceRow", "read_prices"]
