"""Case triage: one case per scheme, each case's money traced to endpoints, ranked.

For every case the victims' verified payments (each payment once: duplicates are left out) are
traced forward together under the chosen policy (FIFO by default) with the default stop rules.
The figures follow from the trace alone, so they are exactly what ``chaintrail trace`` gives
for the same outpoints:

* **endpoints**: value per attributed endpoint (label, category, deposit address, cluster);
* **unspent amount**: value sitting unspent at the addresses the trace identified;
* **recoverable amount**: value that reached an attributed exchange (``exchange``,
  ``deposit_wallet``, ``hot_wallet``) plus the unspent amount — what a freeze request or a
  seizure can still reach. Value at a mixer, in a CoinJoin or lost to fees is not recoverable;
* **priority** (0–100, higher first): ``100 × (0.5·R + 0.3·V + 0.2·T)`` where ``R`` is the
  case's recoverable amount as a share of the largest case's (per asset), ``V`` its victims as
  a share of the largest case's, and ``T = 0.5 ^ (age / 30 days)``, ``age`` being the time from
  the case's last traced movement to the newest block of the store (never the wall clock, so a
  re-run on the same store gives the same ranking). Each case's JSON gives the three terms.

Amounts are integers in base units per asset. Bitcoin payments are traced with the UTXO
engine; Ethereum payments (ether and ERC-20 tokens) with the account tracer, one trace per asset
(:func:`chaintrail.trace.account.trace_account`), whose endpoints (tagged or detected deposit
addresses, with their hot wallet) and remaining balances feed the same figures; with a node
(the ``eth_rpc_url`` setting) the issuer's freeze status of token balances gives the
``frozen_amount`` and ``freezable_amount``. Cases of other chains (TRON) get their reported and
verified amounts and ``traced: false``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from chaintrail.cases.grouping import (
    DEFAULT_CONVERGENCE_HOPS,
    Member,
    Merge,
    Scheme,
    account_trace_reach,
    convergence_stop,
    group,
    trace_reach,
)
from chaintrail.cases.model import Report, Verification
from chaintrail.trace.account_result import AccountTrace, Asset
from chaintrail.trace.engine import TraceLookups, default_stop
from chaintrail.trace.policies import Fifo, TracePolicy
from chaintrail.trace.result import Trace
from chaintrail.trace.stops import DEFAULT_STOP_CATEGORIES

if TYPE_CHECKING:
    from chaintrail.cases.store import CaseStore
    from chaintrail.workspace import Workspace

#: Endpoint categories whose value a freeze request can reach.
RECOVERABLE_CATEGORIES: Final = frozenset({"exchange", "deposit_wallet", "hot_wallet"})
#: Weights of the priority terms (recoverable value, victims, recency) and the recency half-life.
WEIGHTS: Final = (0.5, 0.3, 0.2)
HALF_LIFE_DAYS: Final = 30
PRIORITY_FORMULA: Final = "100 * (0.5*R + 0.3*V + 0.2*T), T = 0.5 ** (age_days / 30)"


@dataclass(slots=True)
class CaseFigures:
    """One case's triage figures; amounts per asset in base units."""

    case_id: str
    title: str
    status: str
    origin: str
    assignee: str | None
    report_ids: list[str]
    members: list[str]  # reports whose payment counts (verified, not a duplicate)
    clusters: list[int]
    reported: dict[str, int]
    verified: dict[str, int]
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    unspent: dict[str, int] = field(default_factory=dict)
    recoverable: dict[str, int] = field(default_factory=dict)
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    last_movement: datetime | None = None
    trace: Trace | None = None
    traced: bool = False
    merges: list[Merge] = field(default_factory=list)
    priority: float = 0.0
    priority_terms: dict[str, Any] = field(default_factory=dict)
    links: list[dict[str, Any]] = field(default_factory=list)
    account_traces: dict[str, list[AccountTrace]] = field(default_factory=dict)
    eth_clusters: list[int] = field(default_factory=list)  # deposit-reuse clusters (own ids)
    frozen: dict[str, int] = field(default_factory=dict)
    freezable: dict[str, int] = field(default_factory=dict)

    @property
    def assets(self) -> list[str]:
        return sorted(set(self.reported) | set(self.verified))

    def _amount(self, per_asset: Mapping[str, int]) -> int | dict[str, int]:
        """One integer for a one-asset case, else ``{asset: amount}`` (the issue's contract)."""
        assets = self.assets
        if len(assets) <= 1:
            return per_asset.get(assets[0], 0) if assets else 0
        return {a: per_asset.get(a, 0) for a in assets}

    def endpoint_addresses(self) -> set[str]:
        return {e["address"] for e in self.endpoints if e["address"]}

    def endpoint_outputs(self) -> set[str]:
        return {o for e in self.endpoints for o in e["outputs"]}

    def to_json(self) -> dict[str, Any]:
        assets = self.assets
        return {
            "case_id": self.case_id,
            "title": self.title,
            "status": self.status,
            "origin": self.origin,
            "assignee": self.assignee,
            "asset": assets[0] if len(assets) == 1 else assets,
            "report_ids": self.report_ids,
            "victims": len(self.members),
            "clusters": self.clusters,
            "eth_clusters": self.eth_clusters,
            "reported_amount": self._amount(self.reported),
            "verified_amount": self._amount(self.verified),
            "endpoints": self.endpoints,
            "exchanges": self.exchanges,
            "unspent_amount": self._amount(self.unspent),
            "recoverable_amount": self._amount(self.recoverable),
            "frozen_amount": self._amount(self.frozen),
            "freezable_amount": self._amount(self.freezable),
            "priority": self.priority,
            "priority_terms": self.priority_terms,
            "last_movement": None if self.last_movement is None else self.last_movement.isoformat(),
            "linked_cases": sorted({link["case_id"] for link in self.links}),
            "links": self.links,
            "merges": [m.to_json() for m in self.merges],
            "traced": self.traced,
            "trace": self._traces(),
        }  # fmt: skip

    def _traces(self) -> dict[str, Any] | None:
        """The trace summary (one asset), or ``{asset: summary}`` when several were traced."""
        out: dict[str, Any] = {}
        trace = self.trace
        if trace is not None:
            out["BTC"] = {
                "policy": trace.policy, "policy_version": trace.policy_version,
                "status": str(trace.status), "source_amount": trace.source_amount,
                "amounts": trace.amounts, "conserved": trace.conserved,
                "transactions": len(trace.steps), "sources": [s.label for s in trace.sources],
            }  # fmt: skip
        for asset, traces in self.account_traces.items():
            out[asset] = [{
                "asset": t.asset.to_json(), "policy": t.policy,
                "policy_version": t.policy_version, "status": str(t.status),
                "source_amount": t.source_amount, "amounts": t.amounts,
                "conserved": t.conserved, "followed": len(t.followed),
                "sources": [s.label for s, _ in t.sources],
                "freeze": None if t.freeze is None else t.freeze.to_json(),
            } for t in traces]  # fmt: skip
            if len(traces) == 1:
                out[asset] = out[asset][0]
        if not out:
            return None
        return next(iter(out.values())) if len(out) == 1 else out


def trace_summaries(figures: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The trace summaries of stored figures (:meth:`CaseFigures.to_json`) per asset: one
    summary for a case with one traced asset, ``{asset: summary or [summaries]}`` for several
    (one Ethereum trace per token contract)."""
    summary = figures.get("trace")
    if not summary:
        return {}
    asset = figures.get("asset")
    assets = [asset] if isinstance(asset, str) else list(asset or [])
    if "policy" in summary:  # one traced asset: name it as the case does
        name = "BTC" if "asset" not in summary else _traced_name(summary, assets)
        return {name: [summary]}
    return {name: list(v) if isinstance(v, list) else [v] for name, v in summary.items()}


def _traced_name(summary: dict[str, Any], assets: list[str]) -> str:
    symbol = (summary.get("asset") or {}).get("symbol")
    if symbol in assets:
        return str(symbol)
    others = [a for a in assets if a != "BTC"]
    return others[0] if len(others) == 1 else str(symbol or "?")


def payments_once(
    reports: Sequence[Report], checks: Mapping[str, Verification]
) -> list[tuple[Report, Verification]]:
    """The reports whose payment counts: verified to one output, not linked as a duplicate."""
    out = []
    for r in reports:
        v = checks.get(r.report_id)
        if v is None or v.status != "verified" or v.txid is None or v.vout is None:
            continue
        if r.duplicate_of is None and v.duplicate_of is None:
            out.append((r, v))
    return out


def figures(
    case: Mapping[str, Any],
    reports: Sequence[Report],
    checks: Mapping[str, Verification],
    clusters: Mapping[str, int | None],
    trace: Trace | None,
    account_traces: Mapping[str, Sequence[AccountTrace]] | None = None,
) -> CaseFigures:
    """A case's figures from its reports, their verifications and the traces of its payments
    (``trace`` for Bitcoin; ``account_traces`` per report asset for Ethereum)."""
    counted = payments_once(reports, checks)
    reported: dict[str, int] = {}
    for r in reports:
        v = checks.get(r.report_id)
        if r.duplicate_of is None and (v is None or v.duplicate_of is None):
            reported[r.asset] = reported.get(r.asset, 0) + (r.amount or 0)
    verified: dict[str, int] = {}
    for r, v in counted:
        verified[r.asset] = verified.get(r.asset, 0) + (v.verified_amount or 0)
    ids = {
        c
        for r, v in counted
        if r.chain == "btc" and v.address and (c := clusters.get(v.address)) is not None
    }
    eth_ids = {
        c
        for r, v in counted
        if r.chain == "eth" and v.address and (c := clusters.get(v.address)) is not None
    }
    out = CaseFigures(
        case_id=str(case["case_id"]), title=str(case["title"]), status=str(case["status"]),
        origin=str(case.get("origin") or "hand"), assignee=case.get("assignee"),
        report_ids=[r.report_id for r in reports], members=[r.report_id for r, _ in counted],
        clusters=sorted(ids), reported=reported, verified=verified, eth_clusters=sorted(eth_ids),
    )  # fmt: skip
    times = [v.block_time for _, v in counted if v.block_time is not None]
    if trace is not None:
        _add_trace(out, trace)
        times += [s.time for s in trace.steps if s.time is not None]
    for asset, traces in sorted((account_traces or {}).items()):
        for t in traces:
            _add_account_trace(out, asset, t)
            flows = (*t.endpoints, *t.stopped)
            times += [f.transfer.time for f in flows if f.transfer.time is not None]
    if out.traced:
        _exchanges(out)
    out.last_movement = max(times) if times else None
    return out


def _add_trace(out: CaseFigures, trace: Trace) -> None:
    """Endpoints per (address, label), exchanges per label, unspent and recoverable (BTC)."""
    out.trace, out.traced = trace, True
    ends: dict[tuple[str, str], dict[str, Any]] = {}
    for f in trace.endpoints:
        if not f.amount:
            continue
        a = f.attribution
        label = a.label if a is not None else f.reason
        key = (f.address or "", label)
        e = ends.setdefault(key, {
            "asset": "BTC", "label": label, "category": a.category if a else None,
            "address": f.address,
            "cluster_id": a.cluster_id if a else None,
            "confidence": a.confidence if a else None,
            "attribution": ("direct" if a.direct else "cluster") if a else None,
            "recoverable": bool(a and (a.category or "").lower() in RECOVERABLE_CATEGORIES),
            "amount": 0, "outputs": [],
        })  # fmt: skip
        e["amount"] += f.amount
        e["outputs"].append(f"{f.txid}:{f.vout}")
    out.endpoints = sorted(ends.values(), key=lambda e: (-e["amount"], e["address"] or "",
                                                         e["label"]))  # fmt: skip
    unspent = sum(f.amount for f in trace.unspent if f.reason == "unspent" and f.address)
    at_exchanges = sum(e["amount"] for e in out.endpoints if e["recoverable"])
    out.unspent = {"BTC": unspent}
    out.recoverable = {"BTC": at_exchanges + unspent}


def _add_account_trace(out: CaseFigures, asset: str, trace: AccountTrace) -> None:
    """An Ethereum trace's endpoints per (address, label), its remaining balances (unspent),
    recoverable and frozen amounts, under the report ``asset``'s name."""
    out.traced = True
    out.account_traces.setdefault(asset, []).append(trace)
    ends: dict[tuple[str, str], dict[str, Any]] = {}
    for f in trace.endpoints:
        if not f.amount:
            continue
        a = f.attribution
        label = a.label if a is not None else f.reason
        key = (f.address or "", label)
        t = f.transfer
        e = ends.setdefault(key, {
            "asset": asset, "label": label, "category": a.category if a else None,
            "address": f.address, "cluster_id": f.cluster_id,
            "confidence": a.confidence if a else None,
            "attribution": ("direct" if a.via is None else "indirect") if a else None,
            "hot_wallet": f.hot_wallet,
            "recoverable": bool(a and (a.category or "").lower() in RECOVERABLE_CATEGORIES),
            "amount": 0, "outputs": [], "transaction_hash": t.transaction_hash,
            **t.locator(trace.asset.native), "block_number": t.block_number,
            "time": None if t.time is None else t.time.isoformat(),
        })  # fmt: skip
        e["amount"] += f.amount
        e["outputs"].append(t.label)
    out.endpoints = sorted([*out.endpoints, *ends.values()],
                           key=lambda e: (e["asset"], -e["amount"], e["address"] or "",
                                          e["label"]))  # fmt: skip
    held = sum(b.amount for b in trace.unspent)
    at_exchanges = sum(e["amount"] for e in ends.values() if e["recoverable"])
    out.unspent[asset] = out.unspent.get(asset, 0) + held
    out.recoverable[asset] = out.recoverable.get(asset, 0) + at_exchanges + held
    if trace.freeze is not None and trace.freeze.checked:
        out.frozen[asset] = out.frozen.get(asset, 0) + trace.freeze.frozen_amount
        out.freezable[asset] = out.freezable.get(asset, 0) + trace.freeze.freezable_amount


def _exchanges(out: CaseFigures) -> None:
    """Per exchange label and asset: the amount that reached it and its deposit addresses."""
    exchanges: dict[tuple[str, str], dict[str, Any]] = {}
    for e in out.endpoints:
        if not e["recoverable"]:
            continue
        x = exchanges.setdefault((e["label"], e["asset"]), {
            "label": e["label"], "asset": e["asset"], "amount": 0, "deposit_addresses": [],
        })  # fmt: skip
        x["amount"] += e["amount"]
        if e["address"] and e["address"] not in x["deposit_addresses"]:
            x["deposit_addresses"].append(e["address"])
    out.exchanges = sorted(exchanges.values(),
                           key=lambda x: (x["asset"], -x["amount"], x["label"]))  # fmt: skip


def rank(cases: list[CaseFigures], tip_time: datetime | None) -> list[CaseFigures]:
    """Set each case's priority (see the module docstring) and sort: priority, then case id."""
    top: dict[str, int] = {}
    for c in cases:
        for asset, amount in c.recoverable.items():
            top[asset] = max(top.get(asset, 0), amount)
    most_victims = max((len(c.members) for c in cases), default=0)
    for c in cases:
        shares = [amount / top[a] for a, amount in c.recoverable.items() if top.get(a)]
        r = max(shares, default=0.0)
        v = len(c.members) / most_victims if most_victims else 0.0
        age = None
        t = 0.0
        if c.last_movement is not None and tip_time is not None:
            age = max((tip_time - c.last_movement).total_seconds(), 0.0) / 86_400
            t = 0.5 ** (age / HALF_LIFE_DAYS)
        w_r, w_v, w_t = WEIGHTS
        c.priority = round(100 * (w_r * r + w_v * v + w_t * t), 2)
        c.priority_terms = {
            "formula": PRIORITY_FORMULA, "R": round(r, 6), "V": round(v, 6), "T": round(t, 6),
            "age_days": None if age is None else round(age, 3),
            "tip_time": None if tip_time is None else tip_time.isoformat(),
        }  # fmt: skip
    return sorted(cases, key=lambda c: (-c.priority, c.case_id))


def link(cases: Sequence[CaseFigures], schemes: Mapping[str, str]) -> None:
    """Cross-case deconfliction: each case's ``links`` to the cases sharing a payment cluster
    (``cluster`` on Bitcoin, ``eth_cluster`` for Ethereum's deposit-reuse clusters), an endpoint
    deposit address, an endpoint output, or reports of one scheme (``schemes``:
    report id -> the scheme's key)."""
    facts: list[dict[str, set[Any]]] = []
    for c in cases:
        facts.append({
            "cluster": set(c.clusters), "eth_cluster": set(c.eth_clusters),
            "deposit_address": c.endpoint_addresses(),
            "endpoint": c.endpoint_outputs(),
            "scheme": {schemes[r] for r in c.report_ids if r in schemes},
        })  # fmt: skip
    for i, c in enumerate(cases):
        for j, other in enumerate(cases):
            if i == j:
                continue
            shared = {k: sorted(facts[i][k] & facts[j][k], key=str) for k in facts[i]}
            reasons = {k: v for k, v in shared.items() if v}
            if reasons:
                c.links.append({"case_id": other.case_id, "shared": reasons})
        c.links.sort(key=lambda x: x["case_id"])


#: The id of the case triage opens for a scheme: this prefix and the scheme's first report id.
CASE_PREFIX: Final = "SCHEME-"


@dataclass(frozen=True, slots=True)
class TriageReport:
    """What ``cases triage`` found: the ranked cases, the rejected rows, the reports whose
    payment could not be verified, and the schemes with the merges that made them."""

    run_id: int
    parameters: dict[str, Any]
    cases: list[CaseFigures]
    schemes: list[Scheme]
    rejected: list[dict[str, Any]]
    unverified: list[dict[str, Any]]

    def case(self, case_id: str) -> CaseFigures:
        return next(c for c in self.cases if c.case_id == case_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "parameters": self.parameters,
            "cases": [c.to_json() for c in self.cases],
            "rejected": self.rejected,
            "unverified": self.unverified,
        }


def run(
    ws: Workspace,
    store: CaseStore,
    *,
    policy: TracePolicy | None = None,
    hops: int = DEFAULT_CONVERGENCE_HOPS,
) -> TriageReport:
    """Group the verified reports into schemes, open or update one case per scheme, trace and
    rank every case, and store the run (see docs/cases.md#triage)."""
    pol = policy or Fifo()
    reports = store.reports()
    by_id = {r.report_id: r for r in reports}
    checks = store.latest_verifications()
    verified = [r for r in reports if _verified(checks.get(r.report_id))]
    placements = store.placements()
    by_hand = {r: c for c, r, placed_by in placements if placed_by == "hand"}
    context = store.address_context(
        [a for r in verified if r.chain == "btc" and (a := checks[r.report_id].address)],
        DEFAULT_STOP_CATEGORIES,
    )
    context.update(eth_context(
        ws, [a for r in verified if r.chain == "eth" and (a := checks[r.report_id].address)]
    ))  # fmt: skip
    traced_as = eth_assets(ws, [(r, checks[r.report_id]) for r in verified if r.chain == "eth"])
    eligible = {r.report_id for r in verified}
    payments = []
    for r in verified:
        v = checks[r.report_id]
        dup = r.duplicate_of or v.duplicate_of
        cluster, attributed = context.get(v.address or "", (None, False))
        outpoint, asset = None, None
        if r.chain == "btc":
            outpoint = f"{v.txid}:{v.vout}"
        elif r.report_id in traced_as:
            asset, outpoint = traced_as[r.report_id]
        payments.append(Member(
            r.report_id, outpoint, v.address, cluster, attributed,
            dup if dup in eligible else None, asset, r.chain,
        ))  # fmt: skip
    # The grouping's traces and the cases' traces meet the same transactions, clusters and tags:
    # they share what they look up (the store does not change during the run).
    lookups = TraceLookups(ws.con)
    schemes = group(
        payments, trace_reach(ws, hops=hops, lookups=lookups), account_trace_reach(ws, hops=hops)
    )
    cases = {c["case_id"]: c for c in store.cases()}
    new_cases: list[tuple[str, str]] = []
    placed: dict[str, str] = {}
    scheme_of: dict[str, str] = {}
    merges: list[tuple[str, str, str, str, dict[str, Any]]] = []
    produced: set[str] = set()
    for scheme in schemes:
        for rid in scheme.report_ids:
            scheme_of[rid] = scheme.report_ids[0]
        mine = [rid for rid in scheme.report_ids if rid not in by_hand]
        if not mine:
            continue
        case_id = CASE_PREFIX + mine[0]
        produced.add(case_id)
        if case_id not in cases:
            new_cases.append((case_id, f"Scheme of report {mine[0]}"))
            cases[case_id] = {"case_id": case_id, "title": new_cases[-1][1], "status": "open",
                              "origin": "triage", "assignee": None}  # fmt: skip
        for rid in mine:
            placed[rid] = case_id
        merges += [(case_id, m.report_a, m.report_b, m.reason, m.detail) for m in scheme.merges]
    superseded = [
        (cid, "Superseded by triage: its reports now belong to other schemes' cases.")
        for cid, c in sorted(cases.items())
        if c.get("origin") == "triage" and cid not in produced and c["status"] != "closed"
    ]
    members: dict[str, list[str]] = {}
    for cid, rid, placed_by in placements:
        if placed_by == "hand":
            members.setdefault(cid, []).append(rid)
    for rid, cid in placed.items():
        members.setdefault(cid, []).append(rid)
    height, tip_time = store.tip()
    eth_height, eth_time = eth_tip(ws)
    if eth_time is not None and (tip_time is None or eth_time > tip_time):
        tip_time = eth_time
    eth_url = ws.settings.eth_rpc_url
    clusters = {a: cluster for a, (cluster, _) in context.items()}
    order = {r.report_id: i for i, r in enumerate(reports)}
    by_key = {sch.report_ids[0]: sch for sch in schemes}
    out: list[CaseFigures] = []
    gone = {cid for cid, _ in superseded}
    for case_id in sorted(members):
        if case_id in gone or case_id not in cases:
            continue
        rs = [by_id[r] for r in sorted(members[case_id], key=lambda x: order.get(x, -1))
              if r in by_id]  # fmt: skip
        sources = list(dict.fromkeys(
            f"{v.txid}:{v.vout}" for r, v in payments_once(rs, checks) if r.chain == "btc"
        ))  # fmt: skip
        trace = (
            ws.trace(sources, policy=pol, stop=default_stop(), lookups=lookups) if sources else None
        )
        per_asset: dict[tuple[str, str], list[str]] = {}
        for r, _ in payments_once(rs, checks):
            if r.report_id in traced_as:
                key, label = traced_as[r.report_id]
                labels = per_asset.setdefault((r.asset, key), [])
                if label not in labels:
                    labels.append(label)
        account: dict[str, list[AccountTrace]] = {}
        for (name, key), labels in sorted(per_asset.items()):
            account.setdefault(name, []).append(ws.trace_account(
                asset=key, sources=labels, policy=pol, stop=default_stop(), eth_url=eth_url,
            ))  # fmt: skip
        fig = figures(cases[case_id], rs, checks, clusters, trace, account)
        keys = sorted({scheme_of[r] for r in fig.report_ids if r in scheme_of})
        fig.merges = [m for k in keys for m in by_key[k].merges]
        out.append(fig)
    link(out, scheme_of)
    ranked = rank(out, tip_time)
    parameters = {"policy": pol.name, "policy_version": pol.version,
                  "stop": default_stop().spec, "convergence_hops": hops,
                  "convergence_stop": convergence_stop(hops).spec,
                  "convergence_policy": "fifo", "height_to": height,
                  "eth_height_to": eth_height, "freeze_status": bool(eth_url),
                  "tip_time": None if tip_time is None else tip_time.isoformat()}  # fmt: skip
    run_id = store.write_triage(
        parameters=parameters,
        height_to=height,
        verification_run_id=store.verification_run(),
        new_cases=new_cases,
        placements=placed,
        superseded=superseded,
        figures=[(c.case_id, c.to_json()) for c in ranked],
        merges=merges,
    )
    rejected = [{"report_id": j.report_id, "row": j.row, "reason": j.reason,
                 "import_id": j.import_id, "message": j.message}
                for j in store.rejections()]  # fmt: skip
    unverified = []
    for r in reports:
        check = checks.get(r.report_id)
        if check is None or _verified(check):
            if check is None:
                unverified.append({"report_id": r.report_id, "reason": "not_verified",
                                   "status": "unverified"})  # fmt: skip
            continue
        unverified.append({"report_id": r.report_id,
                           "reason": check.reasons[0] if check.reasons else check.status,
                           "status": check.status})  # fmt: skip
    return TriageReport(run_id, parameters, ranked, schemes, rejected, unverified)


def eth_assets(
    ws: Workspace, payments: Sequence[tuple[Report, Verification]]
) -> dict[str, tuple[str, str]]:
    """Per verified Ethereum report: the asset to trace (``ETH`` or the token's contract, read
    from the transfer verification matched, since a symbol may name several contracts) and
    the source transfer ``TXHASH:INDEX`` (``-``: a transaction's own ether value; a token
    transfer's log index)."""
    out: dict[str, tuple[str, str]] = {}
    tokens = [(r, v) for r, v in payments if r.asset != "ETH" and v.txid is not None]
    rows = ws.con.execute(
        "select transaction_hash, log_index, token_address from token_transfers "
        "where chain = 'eth' and token_standard = 'erc20' "
        "and transaction_hash in (select unnest($h::VARCHAR[]))",
        {"h": sorted({str(v.txid) for _, v in tokens})},
    ).fetchall() if tokens else []  # fmt: skip
    contract = {(str(h), int(i)): str(t) for h, i, t in rows}
    for r, v in payments:
        if v.txid is None or v.vout is None:
            continue
        if r.asset == "ETH":
            out[r.report_id] = ("ETH", f"{v.txid}:-")
        elif (token := contract.get((v.txid, v.vout))) is not None:
            out[r.report_id] = (token, f"{v.txid}:{v.vout}")
    return out


def eth_context(ws: Workspace, addresses: Sequence[str]) -> dict[str, tuple[int | None, bool]]:
    """(cluster id, attributed) of Ethereum addresses, as :meth:`CaseStore.address_context`
    gives them for Bitcoin: the deposit-reuse cluster (``chaintrail cluster``), and whether the
    address is an attributed service (tagged, or a detected deposit address of a hot wallet)."""
    if not addresses:
        return {}
    from chaintrail.trace.account import _AccountContext

    ctx = _AccountContext(ws.con, Asset("eth", None, "ETH", 18), ())
    wanted = sorted(set(addresses))
    attributed = ctx.attributions(wanted, DEFAULT_STOP_CATEGORIES)
    clusters = ctx.cluster_ids(wanted)
    return {a: (clusters.get(a), a in attributed) for a in wanted}


def eth_tip(ws: Workspace) -> tuple[int | None, datetime | None]:
    """Number and time of the newest Ethereum block of the store (None, None when empty)."""
    row = ws.con.execute(
        "select max(number), max(time) from eth_blocks where chain = 'eth'"
    ).fetchone()
    return (None, None) if row is None else (row[0], row[1])


def _verified(v: Verification | None) -> bool:
    return v is not None and v.status == "verified" and v.txid is not None and v.vout is not None


__all__ = [
    "CASE_PREFIX",
    "HALF_LIFE_DAYS",
    "PRIORITY_FORMULA",
    "RECOVERABLE_CATEGORIES",
    "WEIGHTS",
    "CaseFigures",
    "figures",
    "link",
    "payments_once",
    "rank",
    "run",
    "trace_summaries",
    "TriageReport",
]
