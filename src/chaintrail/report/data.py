"""Everything a case's report states, gathered from the workspace once.

The figures come from the case's latest triage run (what ``cases triage`` printed), and the trace
behind them is run again offline, under the same policy and stop rules, so the flow table lists
the very transactions the figures were computed from. A report never reaches the network and
never reads the clock: the same store gives the same report.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chaintrail.cases.assets import decimals as asset_decimals
from chaintrail.cases.model import Report, Verification
from chaintrail.cases.triage import trace_summaries
from chaintrail.errors import CaseNotFoundError, UsageError
from chaintrail.prices import EcbFile, FiatValue, Price, Valuer, ecb_rates
from chaintrail.trace.account_result import AccountTrace
from chaintrail.trace.engine import default_stop
from chaintrail.trace.policies import policy as policy_named
from chaintrail.trace.result import Trace

if TYPE_CHECKING:
    from chaintrail.workspace import Workspace

#: The time zone of a case whose victims are mostly from these countries (else the language's).
COUNTRY_ZONES: Final = {
    "KR": "Asia/Seoul", "JP": "Asia/Tokyo", "CN": "Asia/Shanghai", "TW": "Asia/Taipei",
    "HK": "Asia/Hong_Kong", "SG": "Asia/Singapore", "GB": "Europe/London", "DE": "Europe/Berlin",
}  # fmt: skip

#: Where the measured error rates live in a source checkout (``make validate`` writes it).
VALIDATION_FILE: Final = Path(__file__).resolve().parents[3] / "docs" / "validation-results.json"


def amount_text(units: int, decimals: int) -> str:
    """Integer base units as an exact decimal with thousands separators (no floats)."""
    return f"{Decimal(units).scaleb(-decimals):,.{decimals}f}"


@dataclass(frozen=True, slots=True)
class TxInfo:
    """One transaction of the report: its block and the raw input it was read from."""

    txid: str
    block_height: int | None
    block_hash: str | None
    position: int | None
    time: datetime | None
    source: str | None
    sha256: str | None
    retrieved_at: datetime | None


@dataclass(slots=True)
class CaseData:
    """A case's report data; amounts in integer base units of their asset.

    ``assets`` are the case's report assets (``BTC``, ``ETH``, ``USDT``, ...), ``decimals`` their
    places; ``trace`` is the Bitcoin trace and ``account`` the Ethereum traces per asset, each
    run again from the store; ``freeze`` the issuer freeze status per asset as triage read it
    from a node (the report itself never reads the network)."""

    case: dict[str, Any]
    figures: dict[str, Any]
    run: dict[str, Any]
    reports: list[tuple[Report, Verification | None]]
    assets: list[str]
    decimals: dict[str, int]
    zone: ZoneInfo
    trace: Trace | None
    account: dict[str, list[AccountTrace]] = field(default_factory=dict)
    freeze: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    txs: dict[str, TxInfo] = field(default_factory=dict)
    validation: dict[str, Any] | None = None
    fiat: Fiat | None = None  # None: no prices of the case's assets were imported

    @property
    def single(self) -> str | None:
        """The case's one asset, or None when it has several."""
        return self.assets[0] if len(self.assets) == 1 else None

    @property
    def asset(self) -> str:
        """The assets as one display name (``ETH, USDT`` for several)."""
        return ", ".join(self.assets)

    def amount(self, units: int, asset: str | None = None) -> str:
        """``units`` of ``asset`` (default: the case's one asset) as an exact decimal."""
        name = asset if asset is not None else self.assets[0]
        return amount_text(units, self.decimals.get(name, 0))

    def money(self, units: int, asset: str) -> str:
        return f"{self.amount(units, asset)} {asset}"

    def per_asset(self, key: str) -> dict[str, int]:
        """A figure as ``{asset: amount}``: triage writes one integer for a one-asset case."""
        value = self.figures.get(key)
        if isinstance(value, dict):
            return {a: int(value.get(a, 0)) for a in self.assets}
        return {a: int(value or 0) for a in self.assets[:1]}

    def local(self, when: datetime | None) -> str:
        return "" if when is None else when.astimezone(self.zone).strftime("%Y-%m-%d %H:%M:%S %Z")


@dataclass(slots=True)
class Fiat:
    """Fiat values of the case's verified payments in ``currency`` (report_id -> value; None:
    no price close enough), and the price files and ECB file they were computed from."""

    currency: str
    values: dict[str, FiatValue | None]
    files: list[Price]  # one price of each file used, by file path
    ecb: EcbFile | None  # None: every price used was quoted in ``currency``
    #: The flow tables' amounts valued on their transaction's UTC day, by (asset, row key):
    #: a Bitcoin txid (the value it moved; ``TXID:VOUT`` for a victim payment) or an Ethereum
    #: transfer label ``TXHASH:INDEX``.
    moves: dict[tuple[str, str], FiatValue | None] = field(default_factory=dict)

    def move(self, asset: str, key: str) -> str:
        """A flow row's value as printed ("" when the row was not valued)."""
        if (asset, key) not in self.moves:
            return ""
        value = self.moves[(asset, key)]
        return "-" if value is None else value.text

    @property
    def total(self) -> Decimal:
        """Sum of the rounded values of the payments counted once (duplicates left out)."""
        return sum((v.value for v in self.values.values() if v is not None), Decimal(0))


def utc(when: datetime | None) -> str:
    return "" if when is None else when.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M:%S")


def case_zone(reports: list[Report], fallback: str, override: str | None) -> ZoneInfo:
    """``override``, else the zone of most victims' country, else ``fallback``."""
    name = override
    if name is None:
        countries = Counter(r.country for r in reports if r.country in COUNTRY_ZONES)
        top = sorted(countries.items(), key=lambda kv: (-kv[1], kv[0] or ""))
        name = COUNTRY_ZONES[top[0][0] or ""] if top else fallback
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"Unknown time zone {name!r}.", hint="Give an IANA zone, e.g. Asia/Seoul."
        ) from None


def load_validation(path: Path | None) -> dict[str, Any] | None:
    """The validation results at ``path`` (a UsageError if missing); without ``path``, the
    source tree's (``make validate``), or None when there is none."""
    if path is None:
        if not VALIDATION_FILE.is_file():
            return None
        path = VALIDATION_FILE
    elif not path.is_file():
        raise UsageError(f"No validation results at {path}.", hint="'make validate' writes them.")
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


def gather(
    ws: Workspace,
    case_id: str,
    *,
    fallback_zone: str,
    timezone: str | None = None,
    validation: Path | None = None,
    currency: str | None = None,
) -> CaseData:
    """The report data of ``case_id``: CaseNotFoundError (exit 1) for an unknown case, a
    UsageError (exit 2) for a case no triage run has figures for yet. Fiat values are in
    ``currency`` (None: no fiat values, as for letters)."""
    store = ws.cases.store
    case = store.case(case_id)
    if case is None:
        raise CaseNotFoundError(case_id)
    figures = store.latest_triage(case_id)
    if figures is None:
        raise UsageError(
            f"Case {case_id!r} has no triage figures yet.",
            hint="Run 'chaintrail cases triage' first: the report states its figures.",
        )
    run = _run(ws, int(figures["run_id"]))
    checks = ws.cases.verifications()
    reports = [(r, checks.get(r.report_id)) for r in store.reports() if r.report_id in
               set(figures["report_ids"])]  # fmt: skip
    assets = sorted({r.asset for r, _ in reports}) or ["BTC"]
    zone = case_zone([r for r, _ in reports], fallback_zone, timezone)
    measured = load_validation(validation)  # all checked before the (slower) traces
    currency = None if currency is None else check_currency(currency)
    summaries = trace_summaries(figures)
    account = {name: [_account_trace(ws, figures, s) for s in ss]
               for name, ss in summaries.items() if _is_account(ss)}  # fmt: skip
    chains = {r.asset: r.chain for r, _ in reports}
    places = {a: _decimals(chains.get(a, "btc"), a, account.get(a, [])) for a in assets}
    data = CaseData(
        case=case, figures=figures, run=run, reports=reports, assets=assets, decimals=places,
        zone=zone, trace=_trace(ws, figures, summaries.get("BTC", [])), account=account,
        freeze={name: [s["freeze"] for s in ss if s.get("freeze")]
                for name, ss in summaries.items() if name in account},
        validation=measured,
    )  # fmt: skip
    data.txs = {**_transactions(ws, data), **_eth_transactions(ws, data)}
    if currency is not None:
        data.fiat = _fiat(ws, data, currency)
    return data


def _is_account(summaries: list[dict[str, Any]]) -> bool:
    return any("asset" in s for s in summaries)


def _decimals(chain: str, asset: str, traces: list[AccountTrace]) -> int:
    """The asset's places: the traced token's own (read from the store) first."""
    for t in traces:
        if t.asset.decimals is not None:
            return t.asset.decimals
    places = asset_decimals(chain, asset)
    return 8 if places is None else places


def check_currency(currency: str, *, quotes: tuple[str, ...] = ()) -> str:
    """``currency`` upper-cased if it is a three-letter code, and (when ``quotes``, the price
    table's currencies, are given) one the table or the ECB file knows; else a UsageError."""
    code = currency.strip().upper()
    ok = len(code) == 3 and code.isascii() and code.isalpha()
    if ok and quotes and code not in quotes:
        ok = code in ecb_rates().currencies
    if not ok:
        raise UsageError(
            f"Unknown report currency {currency!r}.",
            hint="Give an ISO 4217 code the ECB publishes, e.g. KRW, JPY, CNY, USD or EUR.",
        )
    return code


def _fiat(ws: Workspace, data: CaseData, currency: str) -> Fiat | None:
    """Each verified payment valued on its block's UTC day (duplicates once); None when the
    workspace has no price of any of the case's assets."""
    quotes = tuple(sorted({q for a in data.assets for q in ws.prices.currencies(a)}))
    if not quotes:
        return None
    valuer = Valuer(ws, currency=check_currency(currency, quotes=quotes))
    values: dict[str, FiatValue | None] = {}
    for r, v in data.reports:
        if v is None or v.verified_amount is None or v.block_time is None:
            continue
        if r.duplicate_of or v.duplicate_of:
            continue
        day = v.block_time.astimezone(ZoneInfo("UTC")).date()
        places = data.decimals.get(r.asset, 0)
        values[r.report_id] = valuer.value(v.verified_amount, places, r.asset, day)
    moves: dict[tuple[str, str], FiatValue | None] = {}
    for asset, key, units, when in _moves(data):
        if when is not None:
            day = when.astimezone(ZoneInfo("UTC")).date()
            moves[(asset, key)] = valuer.value(units, data.decimals.get(asset, 0), asset, day)
    files = sorted(valuer.used.values(), key=lambda p: (p.path, p.sha256))
    return Fiat(valuer.currency, values, files, valuer.fx.file if valuer.fx_used else None,
                moves)  # fmt: skip


def _moves(data: CaseData) -> list[tuple[str, str, int, datetime | None]]:
    """The flow tables' rows: (asset, row key, traced amount, time)."""
    out: list[tuple[str, str, int, datetime | None]] = []
    if data.trace is not None:
        for s in data.trace.sources:
            tx = data.txs.get(s.txid)
            out.append(("BTC", s.label, s.amount, None if tx is None else tx.time))
        for step in data.trace.steps:
            out.append(("BTC", step.txid, sum(i.taint for i in step.inputs), step.time))
    for name, traces in data.account.items():
        for t in traces:
            out += [(name, src.label, own, src.time) for src, own in t.sources]
            out += [(name, f.transfer.label, f.amount, f.transfer.time)
                    for f in (*t.endpoints, *t.stopped) if f.amount]  # fmt: skip
    return out


def _run(ws: Workspace, run_id: int) -> dict[str, Any]:
    row = ws.con.execute(
        "select id, started_at, tool_version, parameters, height_to from triage_runs where id = ?",
        [run_id],
    ).fetchone()
    if row is None:
        return {"run_id": run_id, "started_at": None, "parameters": {}, "height_to": None}
    return {"run_id": int(row[0]), "started_at": row[1], "tool_version": row[2],
            "parameters": json.loads(row[3]), "height_to": row[4]}  # fmt: skip


def _trace(ws: Workspace, figures: dict[str, Any], summaries: list[dict[str, Any]]) -> Trace | None:
    """The case's Bitcoin trace again with the triage run's policy and the default stops, from
    the store alone (no fetching); checked against the figures so a report never states a trace
    other than the one its figures came from."""
    from chaintrail.ingest.blocksci import SpentOutside
    from chaintrail.trace.engine import trace

    summary = next((s for s in summaries if "asset" not in s), None)
    if summary is None or not summary.get("sources"):
        return None
    pol = policy_named(str(summary["policy"]))
    found = trace(ws, list(summary["sources"]), policy=pol, stop=default_stop(),
                  fetcher=SpentOutside.for_store(ws.con))  # fmt: skip
    if found.source_amount != summary["source_amount"] or found.amounts != summary["amounts"]:
        raise _changed(figures)
    return found


def _changed(figures: dict[str, Any]) -> UsageError:
    return UsageError(
        f"The store changed since case {figures['case_id']!r} was triaged: its trace no "
        "longer gives the triage figures.",
        hint="Run 'chaintrail cases triage' again, then the report.",
    )


def _account_trace(ws: Workspace, figures: dict[str, Any], summary: dict[str, Any]) -> AccountTrace:
    """One Ethereum trace of the case again, offline (the freeze status is the one triage read,
    kept in ``summary``), checked against the figures as :func:`_trace` is."""
    asset = summary["asset"]
    found = ws.trace_account(asset=asset.get("address") or "ETH", sources=summary["sources"],
                             policy=str(summary["policy"]), stop=default_stop(),
                             chain=str(asset.get("chain") or "eth"))  # fmt: skip
    if found.source_amount != summary["source_amount"] or found.amounts != summary["amounts"]:
        raise _changed(figures)
    return found


def _transactions(ws: Workspace, data: CaseData) -> dict[str, TxInfo]:
    """Block and provenance of every transaction the report names (best chain first)."""
    wanted: set[str] = set()
    if data.trace is not None:
        wanted |= {s.txid for s in data.trace.sources} | {s.txid for s in data.trace.steps}
    wanted |= {v.txid for r, v in data.reports if v is not None and v.txid and r.chain == "btc"}
    if not wanted:
        return {}
    rows = ws.con.execute(
        "select t.txid, t.block_height, t.block_hash, t.position, b.time, p.source, p.sha256, "
        "p.retrieved_at from transactions t left join blocks b on b.hash = t.block_hash "
        "left join provenance p on p.id = t.provenance_id where t.txid in "
        "(select unnest(?::varchar[])) order by coalesce(b.in_best_chain, false), t.txid",
        [sorted(wanted)],
    ).fetchall()
    out: dict[str, TxInfo] = {}
    for r in rows:  # best-chain rows come last and win
        out[r[0]] = TxInfo(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7])
    return out


def _eth_transactions(ws: Workspace, data: CaseData) -> dict[str, TxInfo]:
    """Block and provenance of every Ethereum transaction the report names."""
    wanted = {v.txid for r, v in data.reports if v is not None and v.txid and r.chain == "eth"}
    for traces in data.account.values():
        for t in traces:
            wanted |= {s.transaction_hash for s, _ in t.sources if s.transaction_hash}
            wanted |= {f.transfer.transaction_hash for f in (*t.endpoints, *t.stopped)
                       if f.transfer.transaction_hash}  # fmt: skip
    if not wanted:
        return {}
    rows = ws.con.execute(
        "select t.hash, t.block_number, t.block_hash, t.transaction_index, b.time, p.source, "
        "p.sha256, p.retrieved_at from eth_transactions t left join eth_blocks b "
        "on b.chain = t.chain and b.hash = t.block_hash left join provenance p "
        "on p.id = t.provenance_id where t.hash in (select unnest(?::varchar[])) order by t.hash",
        [sorted(wanted)],
    ).fetchall()
    return {r[0]: TxInfo(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows}


__all__ = [
    "CaseData",
    "Fiat",
    "TxInfo",
    "amount_text",
    "case_zone",
    "check_currency",
    "gather",
    "load_validation",
    "utc",
]
