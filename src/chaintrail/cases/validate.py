"""Format validation and normalisation of one report row.

A row is rejected when something in it cannot be right whatever the chain says: a date that is
no date, lies in the future or has no time zone (and no ``--timezone`` was given: KST and UTC
are nine hours apart, enough to miss a payment's time window), an amount that is not a positive
exact decimal or has more decimals than its asset, an address whose checksum fails, a txid that
is not 64 hex digits, no on-chain identifier at all. Every problem of the row is recorded, the
first one in field order being its ``reason``. Things that are merely unusual (an asset
chaintrail has no decimals for, no amount, no date) are accepted and flagged. Every change made
to a value (trimmed, lower-cased, defaulted, inferred) is recorded as a normalisation.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation, localcontext
from typing import Final
from zoneinfo import ZoneInfo

from chaintrail.cases import assets
from chaintrail.cases.identifiers import chain_of_address, check_address, check_txid
from chaintrail.cases.model import IDENTIFIERS, Normalisation, Problem, RawRow, Rejection, Report

_AMOUNT: Final = re.compile(r"[+-]?([0-9]{1,40}(\.[0-9]{0,40})?|\.[0-9]{1,40})")
_DATE_ONLY: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def validate_row(row: RawRow, *, zone: ZoneInfo | None, now: datetime) -> Report | Rejection:
    """The row as a normalised :class:`Report`, or a :class:`Rejection` with every problem."""
    problems: list[Problem] = list(row.problems)
    notes: list[Normalisation] = list(row.normalisations)
    flags: list[str] = []
    text: dict[str, str] = {}
    for name, given in row.fields.items():
        value = given.strip()
        if value != given and value:
            notes.append(Normalisation(name, given, value, "trimmed"))
        text[name] = value

    report_id = text.get("report_id", "")
    if not report_id:
        problems.append(Problem("missing_report_id", "report_id", "the report has no report_id"))
    reported_at = _reported_at(text.get("reported_at", ""), zone, now, problems, notes, flags)
    chain = _chain(text, problems, notes)
    asset, amount, decimals = _asset_amount(chain, text, problems, notes, flags)
    ids: dict[str, str | None] = {}
    for name in IDENTIFIERS:
        ids[name] = _identifier(chain, name, text.get(name, ""), problems, notes)
    if not any(text.get(name) for name in IDENTIFIERS):
        message = "the report gives no tx_hash, from_address or to_address"
        problems.append(Problem("no_onchain_identifier", None, message))
    if problems or chain is None or asset is None:
        return Rejection(row.row, row.raw, row.fields, tuple(problems), report_id or None)
    country = text.get("country", "")
    if country and country.upper() != country:
        notes.append(Normalisation("country", country, country.upper(), "upper_cased"))
    return Report(
        report_id=report_id,
        row=row.row,
        raw=row.raw,
        fields=row.fields,
        chain=chain,
        asset=asset,
        reported_at=reported_at,
        victim_name=text.get("victim_name") or None,
        country=country.upper() or None,
        amount_text=text.get("amount") or None,
        amount=amount,
        decimals=decimals,
        tx_hash=ids["tx_hash"],
        from_address=ids["from_address"],
        to_address=ids["to_address"],
        description=text.get("description") or None,
        flags=tuple(flags),
        normalisations=tuple(notes),
    )


def _reported_at(
    value: str,
    zone: ZoneInfo | None,
    now: datetime,
    problems: list[Problem],
    notes: list[Normalisation],
    flags: list[str],
) -> datetime | None:
    if not value:
        flags.append("reported_at_missing")
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        problems.append(
            Problem(
                "invalid_date",
                "reported_at",
                f"{value!r} is not an ISO 8601 date and time (e.g. 2024-03-01T14:30:00+09:00)",
            )
        )
        return None
    if when.tzinfo is None:
        if zone is None:
            what = "a date" if _DATE_ONLY.fullmatch(value) else "a time"
            problems.append(
                Problem(
                    "date_without_timezone",
                    "reported_at",
                    f"{value!r} is {what} without a time zone; write the "
                    "offset (+09:00, Z) or import with --timezone",
                )
            )
            return None
        when = when.replace(tzinfo=zone)
        notes.append(Normalisation("reported_at", value, when.isoformat(), "timezone_assumed"))
    utc = when.astimezone(UTC)
    if utc > now:
        problems.append(
            Problem(
                "future_date",
                "reported_at",
                f"{value!r} is after the time of import ({now.isoformat(timespec='seconds')})",
            )
        )
        return None
    return utc


def _chain(text: dict[str, str], problems: list[Problem], notes: list[Normalisation]) -> str | None:
    given = text.get("chain", "")
    if given:
        chain = assets.chain_code(given)
        if chain is None:
            problems.append(
                Problem(
                    "unknown_chain",
                    "chain",
                    f"{given!r} is not a chain chaintrail knows "
                    f"({', '.join(sorted(assets.NATIVE))})",
                )
            )
        elif chain != given:
            notes.append(Normalisation("chain", given, chain, "chain_code"))
        return chain
    for name in ("to_address", "from_address"):
        if text.get(name):
            chain = chain_of_address(text[name])
            if chain is not None:
                notes.append(Normalisation("chain", "", chain, f"chain_from_{name}"))
                return chain
    problems.append(
        Problem("missing_chain", "chain", "the report names no chain and its addresses do not tell")
    )
    return None


def _asset_amount(
    chain: str | None,
    text: dict[str, str],
    problems: list[Problem],
    notes: list[Normalisation],
    flags: list[str],
) -> tuple[str | None, int | None, int | None]:
    """(asset symbol, amount in base units, decimals)."""
    if chain is None:
        return None, None, None
    given = text.get("asset", "")
    asset = assets.asset_symbol(given) if given else assets.NATIVE[chain]
    if asset != given:
        notes.append(
            Normalisation("asset", given, asset, "asset_symbol" if given else "native_asset")
        )
    decimals = assets.decimals(chain, asset)
    if decimals is None:
        flags.append("unknown_asset")
    value = text.get("amount", "")
    if not value:
        flags.append("amount_missing")
        return asset, None, decimals
    if not _AMOUNT.fullmatch(value):
        problems.append(
            Problem(
                "invalid_amount",
                "amount",
                f"{value!r} is not a decimal number (digits and one '.', "
                "no thousands separators, no unit)",
            )
        )
        return asset, None, decimals
    try:
        number = Decimal(value)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        problems.append(Problem("invalid_amount", "amount", f"{value!r} is not a number"))
        return asset, None, decimals
    if number <= 0:
        problems.append(
            Problem(
                "amount_not_positive", "amount", f"{value!r}: a payment amount is more than zero"
            )
        )
        return asset, None, decimals
    if decimals is None:
        return asset, None, None
    with localcontext(prec=len(value) + decimals + 2):  # exact: no rounding of long amounts
        units = number.scaleb(decimals)
    if units != units.to_integral_value():
        problems.append(
            Problem(
                "amount_precision",
                "amount",
                f"{value!r} has more decimal places than {asset} has ({decimals})",
            )
        )
        return asset, None, decimals
    return asset, int(units), decimals


def _identifier(
    chain: str | None,
    name: str,
    value: str,
    problems: list[Problem],
    notes: list[Normalisation],
) -> str | None:
    if not value or chain is None:
        return None
    checked = check_txid(chain, value) if name == "tx_hash" else check_address(chain, value)
    if checked.problem is not None:
        problems.append(Problem(checked.problem, name, checked.message))
        return None
    if checked.rule and checked.value is not None:
        notes.append(Normalisation(name, value, checked.value, checked.rule))
    return checked.value


__all__ = ["validate_row"]
