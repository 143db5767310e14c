"""Tracing scores of ``chaintrail validate``: is FIFO exact, and what does each policy find?

Two questions, kept apart because they fail for different reasons:

- **FIFO exactness** checks the engine against the simulator's independent FIFO tracker
  (:mod:`chaintrail.sim.truth`). Every crime source is traced with FIFO and the truth's own stop
  rule (an output paying any exchange address ends the flow; nothing else stops it: CoinJoins,
  the mixer and Tx0s are traced through), and the result must equal ``flows.csv`` per (source,
  kind, txid, vout) to the satoshi. Any differing row is drift between engine and truth, a
  bug, so it is counted and shown, never smoothed over.
- **Realistic scores** measure what an investigator gets: the workspace is clustered
  (multi-input) and tagged with the simulator's partial TagPack, each crime's victim payments
  are traced together (one case per crime) under each policy with the default stop rules
  (attributed endpoints including tags inherited through clusters, CoinJoins stop, Tx0s are
  traced through, hubs), and the endpoints are judged by the truth's owner of each endpoint
  address against the truth's FIFO cash-outs (:func:`~chaintrail.validate.scoring.score_endpoints`).
  Poison reports reach, not amounts: only its entity counts are scored.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaintrail.sim.truth import CASH_OUT_KINDS
from chaintrail.trace import Fifo, Stop, Trace, TraceStatus, default_stop, policy
from chaintrail.trace.engine import DEFAULT_BUDGET
from chaintrail.validate.scoring import score_endpoints
from chaintrail.workspace import Workspace

#: Policies scored, in the order they are shown.
TRACE_POLICIES = ("fifo", "lifo", "tiho", "haircut", "poison")
#: Where the traced value went, as shares of the source amount (always present, zeros included).
SHARES = ("endpoint", "unspent", "fee", "unspendable", "coinjoin", "hub", "hop_limit",
          "min_amount", "data_end", "budget")  # fmt: skip
#: The value metrics (None for Poison, which reports reach only) and the entity metrics.
VALUE_METRICS = ("recall", "precision", "amount_error")
ENTITY_METRICS = ("entity_recall", "entity_precision")
#: Flow reasons that are an endpoint.
_ENDPOINT = frozenset({"attributed", "listed"})
#: Engine flow reasons in the truth's vocabulary (``flows.csv`` kinds).
_TRUTH_KIND = {"listed": "cash_out", "unspent": "unspent", "unspendable": "unspendable"}

FlowKey = tuple[str, str, str, str]  # (source label TXID:VOUT, kind, txid, vout or "")


@dataclass(frozen=True, slots=True)
class Truth:
    """What the tracing scores need from a truth folder."""

    #: crime id -> (kind, name), in the order of ``crimes.csv``
    crimes: dict[str, tuple[str, str]]
    #: crime id -> its sources' labels (``TXID:VOUT``), in source order
    sources: dict[str, list[str]]
    #: (source label, kind, txid, vout) -> sats, from ``flows.csv``
    flows: dict[FlowKey, int]
    #: crime id -> owning entity id -> sats cashed out there
    cash_out: dict[str, dict[str, int]]
    #: address -> entity id
    owner: dict[str, str]
    #: entity id -> entity kind (exchange, mixer, user, ...)
    kind: dict[str, str]
    #: every address of an entity whose addresses end a truth flow (exchanges)
    cash_out_addresses: frozenset[str]

    @classmethod
    def load(cls, folder: Path) -> Truth:
        owner: dict[str, str] = {}
        kind: dict[str, str] = {}
        ends: set[str] = set()
        for r in _rows(folder / "addresses.csv"):
            owner[r["address"]] = r["entity_id"]
            kind[r["entity_id"]] = r["entity_kind"]
            if r["entity_kind"] in CASH_OUT_KINDS:
                ends.add(r["address"])
        crimes = {r["crime_id"]: (r["kind"], r["name"]) for r in _rows(folder / "crimes.csv")}
        sources: dict[str, list[str]] = {c: [] for c in crimes}
        label: dict[str, str] = {}
        for r in _rows(folder / "victim_payments.csv"):
            label[r["source_id"]] = f"{r['txid']}:{r['vout']}"
            sources.setdefault(r["crime_id"], []).append(label[r["source_id"]])
        flows: dict[FlowKey, int] = {}
        cash_out: dict[str, dict[str, int]] = {c: {} for c in crimes}
        for r in _rows(folder / "flows.csv"):
            key = (label[r["source_id"]], r["kind"], r["txid"], r["vout"])
            amount = int(r["amount_sats"])
            flows[key] = flows.get(key, 0) + amount
            if r["kind"] == "cash_out":
                per = cash_out.setdefault(r["crime_id"], {})
                entity = owner[r["address"]]
                per[entity] = per.get(entity, 0) + amount
        return cls(crimes, sources, flows, cash_out, owner, kind, frozenset(ends))

    @property
    def labels(self) -> list[str]:
        return [s for per in self.sources.values() for s in per]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def truth_stop(truth: Truth) -> Stop:
    """The truth tracker's rule: a flow ends at any address of an exchange, nowhere else."""
    return Stop.at_addresses(truth.cash_out_addresses, label="cash-out")


def as_truth_flows(trace: Trace) -> dict[FlowKey, int]:
    """A trace in the vocabulary of ``flows.csv``: (source, kind, txid, vout) -> sats. Reasons
    the truth does not have (a stop rule it does not apply) keep their own name, so they can
    only differ from the truth."""
    got: dict[FlowKey, int] = {}
    for f in (*trace.endpoints, *trace.unspent, *trace.stopped):
        kind = _TRUTH_KIND.get(f.reason, f.reason)
        for label, amount in f.by_source.items():
            key = (label, kind, f.txid, str(f.vout))
            got[key] = got.get(key, 0) + amount
    for step in trace.steps:
        for label, amount in step.fee_by_source.items():
            key = (label, "fee", step.txid, "")
            got[key] = got.get(key, 0) + amount
    return {k: v for k, v in got.items() if v}


def compare_flows(truth: Mapping[FlowKey, int], got: Mapping[FlowKey, int]) -> list[FlowKey]:
    """The (source, kind, txid, vout) rows whose amounts differ, sorted."""
    return sorted(k for k in truth.keys() | got.keys() if truth.get(k, 0) != got.get(k, 0))


def fifo_exactness(ws: Workspace, truth: Truth, *, examples: int = 5) -> dict[str, Any]:
    """Trace every crime source with FIFO and the truth's stop rule; compare with ``flows.csv``.

    ``fifo_exact`` is None when the economy has no crime (nothing to compare)."""
    labels = truth.labels
    if not labels:
        return {"fifo_exact": None, "sources": 0, "rows": 0, "differing_rows": 0,
                "status": None, "stop": None, "conserved": None, "examples": [],
                "note": "no crime in this economy"}  # fmt: skip
    row = ws.con.execute("select count(*) from transactions").fetchone()
    budget = 1 + (int(row[0]) if row else 0)  # every transaction split at most once
    stop = truth_stop(truth)
    trace = ws.trace(labels, policy=Fifo(), stop=stop, budget=budget)
    got = as_truth_flows(trace)
    diff = compare_flows(truth.flows, got)
    return {
        "fifo_exact": not diff and trace.status is TraceStatus.COMPLETE,
        "sources": len(labels), "rows": len(truth.flows), "differing_rows": len(diff),
        "status": str(trace.status), "stop": stop.spec, "conserved": trace.conserved,
        "examples": [{"source": k[0], "kind": k[1], "txid": k[2], "vout": k[3],
                      "truth": truth.flows.get(k, 0), "trace": got.get(k, 0)}
                     for k in diff[:examples]],
    }  # fmt: skip


def _amounts(trace: Trace) -> dict[str, int]:
    """Sats per :data:`SHARES` key (attributed and listed endpoints are ``endpoint``)."""
    amounts = dict.fromkeys(SHARES, 0)
    for reason, amount in trace.amounts.items():
        key = "endpoint" if reason in _ENDPOINT else reason
        amounts[key] = amounts.get(key, 0) + amount
    return amounts


def _shares(amounts: Mapping[str, int], total: int) -> dict[str, float | None]:
    return {k: (v / total if total else None) for k, v in amounts.items()}


def _branches(trace: Trace) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in (*trace.endpoints, *trace.unspent, *trace.stopped):
        out[f.reason] = out.get(f.reason, 0) + 1
    return dict(sorted(out.items()))


def _endpoints(trace: Trace, owner: Mapping[str, str]) -> dict[str, int]:
    """Sats per owning entity of the endpoints (Poison: the endpoint outputs' values)."""
    out: dict[str, int] = {}
    for f in trace.endpoints:
        entity = owner.get(f.address or "", f"unknown:{f.address}")
        out[entity] = out.get(entity, 0) + f.amount
    return out


def _scored(
    truth: Mapping[Any, int],
    traced: Mapping[Any, int],
    conserves: bool,
    kinds: Mapping[str, str],
    total: int,
) -> dict[str, Any]:
    """The endpoint score; ``endpoint_kinds``: the traced endpoint value per entity kind of the
    truth (where the value the precision misses went), also as shares of ``total``."""
    s = score_endpoints(truth, traced).to_json()
    by_kind: dict[str, int] = {}
    for key, v in traced.items():
        entity = key[-1] if isinstance(key, tuple) else key  # pooled keys: (crime, entity)
        k = kinds.get(entity, "unknown")
        by_kind[k] = by_kind.get(k, 0) + v
    s["endpoint_kinds"] = dict(sorted(by_kind.items()))
    s["endpoint_kind_shares"] = (
        {k: v / total for k, v in s["endpoint_kinds"].items()} if total else {}
    )
    if not conserves:  # reach only: value metrics mean nothing
        for k in ("traced_value", "matched", *VALUE_METRICS, "endpoint_kinds",
                  "endpoint_kind_shares"):  # fmt: skip
            s[k] = None
    return s


def score_policy(ws: Workspace, truth: Truth, name: str) -> dict[str, Any]:
    """Trace each crime's sources under policy ``name`` with the default stop rules and score
    the endpoints per crime, per crime kind and overall."""
    pol = policy(name)
    crimes: dict[str, Any] = {}
    #: crime -> (source amount, sats per SHARES key, sats per endpoint entity)
    raw: dict[str, tuple[int, dict[str, int], dict[str, int]]] = {}
    for crime_id, labels in truth.sources.items():
        if not labels:
            continue
        trace = ws.trace(labels, policy=pol)
        traced = _endpoints(trace, truth.owner)
        amounts = _amounts(trace)
        raw[crime_id] = (trace.source_amount, amounts, traced)
        crimes[crime_id] = {
            "kind": truth.crimes[crime_id][0], "sources": len(labels),
            "source_amount": trace.source_amount, "status": str(trace.status),
            "transactions": len(trace.steps),
            **_scored(truth.cash_out.get(crime_id, {}), traced, pol.conserves, truth.kind,
                      trace.source_amount),
            "shares": _shares(amounts, trace.source_amount) if pol.conserves else None,
            "branches": _branches(trace),
        }  # fmt: skip

    def pooled(ids: Iterable[str]) -> dict[str, Any]:
        ids = list(ids)
        want = {(c, e): v for c in ids for e, v in truth.cash_out.get(c, {}).items()}
        got = {(c, e): v for c in ids for e, v in raw[c][2].items()}
        total = sum(raw[c][0] for c in ids)
        amounts = {k: sum(raw[c][1].get(k, 0) for c in ids) for k in raw[ids[0]][1]}
        return {"crimes": len(ids), "source_amount": total,
                **_scored(want, got, pol.conserves, truth.kind, total),
                "shares": _shares(amounts, total) if pol.conserves else None}  # fmt: skip

    kinds = sorted({v["kind"] for v in crimes.values()})
    return {
        "policy": pol.name, "policy_version": pol.version, "conserves": pol.conserves,
        "overall": pooled(crimes) if crimes else None,
        "kinds": {k: pooled(c for c, v in crimes.items() if v["kind"] == k) for k in kinds},
        "crimes": crimes,
    }  # fmt: skip


def score_tracing(
    ws: Workspace,
    truth_folder: Path,
    *,
    policies: Sequence[str] = TRACE_POLICIES,
    say: Callable[[str], None] = lambda _m: None,
) -> dict[str, Any]:
    """FIFO exactness and the realistic scores of each policy on one clustered, tagged
    workspace holding the whole simulated economy."""
    truth = Truth.load(truth_folder)
    say("tracing: FIFO against the truth's flows")
    exact = fifo_exactness(ws, truth)
    scores: dict[str, Any] = {}
    for name in policies:
        say(f"tracing: {name}")
        scores[name] = score_policy(ws, truth, name)
    return {
        "crimes": {c: {"kind": k, "name": n, "sources": len(truth.sources.get(c, [])),
                       "cash_out": sum(truth.cash_out.get(c, {}).values())}
                   for c, (k, n) in truth.crimes.items()},
        "fifo": exact, "policies": scores,
    }  # fmt: skip


def parameters(policies: Sequence[str] = TRACE_POLICIES) -> dict[str, Any]:
    """The tracing settings of a run (echoed in the results file)."""
    return {"policies": list(policies), "stop": default_stop().spec,
            "budget": DEFAULT_BUDGET, "clustering": "multi_input",
            "tags": "the truth folder's tagpack.yaml (part of the services)",
            "case": "one trace per crime, all its victim payments together"}  # fmt: skip


__all__ = [
    "ENTITY_METRICS",
    "SHARES",
    "TRACE_POLICIES",
    "VALUE_METRICS",
    "Truth",
    "as_truth_flows",
    "compare_flows",
    "fifo_exactness",
    "parameters",
    "score_policy",
    "score_tracing",
    "truth_stop",
]
