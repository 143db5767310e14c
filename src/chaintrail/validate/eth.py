"""The Ethereum scenario of ``chaintrail validate``: deposit detection, deposit-reuse clustering
and the per-asset FIFO trace, scored against the simulator's truth.

For each seed the account-model economy (:mod:`chaintrail.sim.eth`) is simulated, ingested
through the real ``ingest eth-etl`` path, checked against the truth's transfer list (counts and
sums per asset must be equal), tagged with the truth's partial TagPack (the hot wallets of two
of the three exchanges), clustered (``chaintrail cluster``'s Ethereum part with the default
settings: the parameters are not tuned to the simulator) and traced. Scores:

- **Deposit detection**, per address: precision and recall of the detected deposit addresses
  against the truth's deposit addresses that received anything; recall split by how long the
  exchange took to sweep (the truth's longest wait of the address); the truth kind of every
  false positive; **hot-wallet accuracy**, the share of correctly detected deposit addresses
  whose hot wallet is the truth's.
- **Deposit-reuse clustering**, pairwise precision and recall
  (:func:`~chaintrail.validate.scoring.score_clustering`) and the adjusted Rand index over the
  addresses that are not the exchanges' own and that either paid a truth deposit address or
  were clustered (an unclustered address is its own cluster); **merchant false merges**: the
  wrongly merged pairs in clusters that hold a merchant's or payment processor's address, and
  how many merchants were taken for deposit addresses.
- **Trace** of the scam, per asset: every victim payment traced together with FIFO and the
  default stop rules; the value placed at each endpoint address against the value the truth's
  FIFO tracker delivered to each deposit address (:func:`~chaintrail.validate.scoring.
  score_endpoints`), by address and by exchange (an endpoint at the exchange's hot wallet is
  the right exchange but not the right account).
"""

from __future__ import annotations

import csv
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import asdict, dataclass
from math import comb
from pathlib import Path
from typing import Any, Final

from chaintrail.settings import Settings
from chaintrail.validate.scoring import (
    interval,
    score_clustering,
    score_endpoints,
)
from chaintrail.validate.scoring import (
    interval_text as _cell,
)
from chaintrail.validate.triage import adjusted_rand_index
from chaintrail.workspace import Workspace

SCENARIO: Final = "eth-exchanges"
SCENARIOS: Final = (SCENARIO,)
#: Buckets of the truth's longest sweep wait (blocks of 12 s): an hour, a day, longer, never.
WAIT_BUCKETS: Final = ("<= 1 h", "1 h - 1 day", "> 1 day", "never swept")
MERCHANT_KINDS: Final = ("merchant", "processor")
#: Days of 12-second blocks per economy (``--blocks`` counts Bitcoin blocks and does not apply).
DAYS: Final = 4.0


def wait_bucket(blocks: int | None) -> str:
    if blocks is None:
        return WAIT_BUCKETS[3]
    return WAIT_BUCKETS[0] if blocks <= 300 else WAIT_BUCKETS[1] if blocks <= 7_200 else \
        WAIT_BUCKETS[2]  # fmt: skip


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


@dataclass(frozen=True, slots=True)
class DepositScore:
    truth: int
    detected: int
    correct: int
    precision: float | None
    recall: float | None
    hot_wallet_correct: int
    hot_wallet_accuracy: float | None  # of the correct detections
    #: wait bucket -> [truth, detected]
    by_wait: dict[str, list[int]]
    #: truth kind of the false positives (e.g. ``processor``, ``customer``, ``scam``) -> count
    false_by_kind: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def score_deposits(
    truth: Mapping[str, tuple[str, int | None]],
    detected: Mapping[str, str],
    kinds: Mapping[str, str],
) -> DepositScore:
    """``truth``: deposit address -> (hot wallet, longest sweep wait in blocks or None);
    ``detected``: address -> hot wallet the detector gave; ``kinds``: address -> truth kind
    (for the false positives; unknown addresses count as ``unknown``)."""
    correct = [a for a in detected if a in truth]
    hot_right = sum(1 for a in correct if detected[a] == truth[a][0])
    by_wait = {b: [0, 0] for b in WAIT_BUCKETS}
    for a, (_, wait) in truth.items():
        cell = by_wait[wait_bucket(wait)]
        cell[0] += 1
        cell[1] += a in detected
    false = Counter(kinds.get(a, "unknown") for a in detected if a not in truth)
    return DepositScore(
        truth=len(truth), detected=len(detected), correct=len(correct),
        precision=_ratio(len(correct), len(detected)), recall=_ratio(len(correct), len(truth)),
        hot_wallet_correct=hot_right, hot_wallet_accuracy=_ratio(hot_right, len(correct)),
        by_wait=by_wait, false_by_kind=dict(sorted(false.items())),
    )  # fmt: skip


def merchant_false_pairs(
    assignments: Mapping[str, Hashable], owner: Mapping[str, str], merchants: set[str]
) -> tuple[int, int]:
    """(wrong pairs in clusters holding a merchant address, all wrong pairs): ``assignments``
    address -> cluster, ``owner`` address -> truth entity."""
    members: defaultdict[Hashable, list[str]] = defaultdict(list)
    for a, c in assignments.items():
        members[c].append(a)
    wrong = by_merchants = 0
    for addresses in members.values():
        per = Counter(owner[a] for a in addresses)
        bad = comb(len(addresses), 2) - sum(comb(n, 2) for n in per.values())
        wrong += bad
        if any(a in merchants for a in addresses):
            by_merchants += bad
    return by_merchants, wrong


def kind_recall(
    assignments: Mapping[str, Hashable], owner: Mapping[str, str], addresses: set[str]
) -> float | None:
    """Pairwise recall within the truth entities of ``addresses`` (e.g. the customers' own
    addresses, or the scam's): what a rule that refuses some merges costs each kind."""
    groups: defaultdict[str, Counter[Hashable]] = defaultdict(Counter)
    for a in addresses:
        groups[owner[a]][assignments[a]] += 1
    true = sum(comb(sum(c.values()), 2) for c in groups.values())
    found = sum(comb(n, 2) for c in groups.values() for n in c.values())
    return _ratio(found, true)


# --- truth files ---------------------------------------------------------------------------------


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def truth_totals(truth: Path) -> dict[str, list[int]]:
    """Per asset: [transfers, sum of values] of the truth's successful transfers."""
    out: dict[str, list[int]] = {}
    for r in _rows(truth / "transfers.csv"):
        cell = out.setdefault(r["asset"], [0, 0])
        cell[0] += 1
        cell[1] += int(r["value"])
    return dict(sorted(out.items()))


def stored_totals(ws: Workspace, *, chain: str = "eth") -> dict[str, list[int]]:
    """Per asset: [transfers, sum of values] the store holds (successful ETH transfers with a
    value, fungible token transfers), summed exactly in Python."""
    out: dict[str, list[int]] = {}
    rows = ws.con.execute(
        """select 'ETH', value::VARCHAR from native_transfers
           where chain = $c and coalesce(status, 1) = 1 and value > 0
           union all
           select token_address, value from token_transfers
           where chain = $c and token_standard = 'erc20'""",
        {"c": chain},
    ).fetchall()
    for asset, value in rows:
        cell = out.setdefault(str(asset), [0, 0])
        cell[0] += 1
        cell[1] += int(value)
    return dict(sorted(out.items()))


# --- one run -------------------------------------------------------------------------------------


def versions() -> dict[str, int]:
    """Names and versions of what the scenario measures."""
    from chaintrail.clustering.eth_deposit import DEPOSIT, DEPOSIT_VERSION, REUSE, REUSE_VERSION

    return {DEPOSIT: DEPOSIT_VERSION, REUSE: REUSE_VERSION}


def detector_settings() -> dict[str, int]:
    """The deposit detector's settings the scenario runs with: the defaults, untuned."""
    s = Settings()
    return {"eth_deposit_window_blocks": s.eth_deposit_window_blocks,
            "eth_deposit_tolerance_bps": s.eth_deposit_tolerance_bps,
            "eth_deposit_min_deposits": s.eth_deposit_min_deposits,
            "eth_deposit_reuse_max_senders": s.eth_deposit_reuse_max_senders}  # fmt: skip


def run_one(
    seed: int, *, scale: float, say: Callable[[str], None], days: float = DAYS
) -> dict[str, Any]:
    """Simulate, ingest, cluster and trace one economy; every score of it."""
    from chaintrail.sim.eth import simulate_eth

    with tempfile.TemporaryDirectory(prefix="chaintrail-validate-eth-") as tmp:
        root = Path(tmp)
        say(f"{SCENARIO} seed {seed}: simulate")
        sim = simulate_eth(root / "economy", seed=seed, days=days, scale=scale)
        truth = sim.truth
        with Workspace.create(root / "ws", settings=Settings()) as ws:
            say(f"{SCENARIO} seed {seed}: ingest, cluster")
            ingest = ws.eth_ingest.etl(list(sim.etl_files)).to_json()
            expected, stored = truth_totals(truth), stored_totals(ws)
            ws.tags.import_paths([truth / "tagpack.yaml"], workers=1)
            run = ws.clusters.build_eth()
            deposits = {d.address: d.hot_wallet for d in run.deposits} if run else {}
            clusters = {
                str(a): int(c)
                for a, c in ws.con.execute(
                    "select address, cluster_id from eth_clusters where chain = 'eth'"
                ).fetchall()
            }
            say(f"{SCENARIO} seed {seed}: trace")
            traced = _score_traces(ws, truth, sim.token)
        addresses = _rows(truth / "addresses.csv")
        kinds = {r["address"]: r["entity_kind"] for r in addresses}
        owner = {r["address"]: r["entity_id"] for r in addresses}
        dep_truth = {
            r["address"]: (r["hot_wallet"],
                           int(r["max_wait_blocks"]) if r["max_wait_blocks"] else None)
            for r in _rows(truth / "deposits.csv") if r["received"] == "true"
        }  # fmt: skip
        detection = score_deposits(dep_truth, deposits, kinds)
        cluster_part = _score_clusters(truth, clusters, owner, kinds)
    return {
        "scenario": SCENARIO, "seed": seed, "sizes": sim.to_json(),
        "ingest": {"rejects": ingest["rejects_added"], "truth": expected, "stored": stored,
                   "exact": expected == stored},
        "deposits": detection.to_json(), "clustering": cluster_part,
        "merchants_as_deposits": sum(1 for a in deposits if kinds.get(a) in MERCHANT_KINDS),
        "merchants": sum(1 for k in kinds.values() if k in MERCHANT_KINDS),
        "tracing": traced,
    }  # fmt: skip


def _score_clusters(
    truth: Path, clusters: Mapping[str, int], owner: Mapping[str, str], kinds: Mapping[str, str]
) -> dict[str, Any]:
    deposits = {r["address"] for r in _rows(truth / "deposits.csv")}
    payers = {
        r["from_address"] for r in _rows(truth / "transfers.csv") if r["to_address"] in deposits
    }
    universe = sorted(a for a in (payers | set(clusters))
                      if kinds.get(a) not in ("exchange", None) and a not in deposits)  # fmt: skip
    assign: dict[str, Hashable] = {a: clusters.get(a, f"single:{a}") for a in universe}
    score = score_clustering(((assign[a], owner[a]) for a in universe), None).to_json()
    score["ari"] = adjusted_rand_index({a: owner[a] for a in universe},
                                       {a: str(assign[a]) for a in universe})  # fmt: skip
    merchants = {a for a in universe if kinds[a] in MERCHANT_KINDS}
    by_merchants, wrong = merchant_false_pairs(assign, owner, merchants)
    score["false_pairs"] = wrong
    score["merchant_false_pairs"] = by_merchants
    for kind in ("customer", "scam"):
        score[f"recall_{kind}"] = kind_recall(assign, owner, {a for a in universe
                                                              if kinds[a] == kind})  # fmt: skip
    score["merchant_false_share"] = _ratio(by_merchants, wrong)
    return score


def _score_traces(ws: Workspace, truth: Path, token: str) -> dict[str, Any]:
    victims = _rows(truth / "victims.csv")
    flows = _rows(truth / "flows.csv")
    exchange_of = {r["address"]: r["exchange"] for r in _rows(truth / "deposits.csv")}
    hot_wallets = set()
    for r in _rows(truth / "addresses.csv"):
        if r["role"] == "hot_wallet":
            exchange_of[r["address"]] = r["entity_name"]
            hot_wallets.add(r["address"])
    out: dict[str, Any] = {}
    for asset, label in (("ETH", "ETH"), (token, "token")):
        sources = sorted({v["transaction_hash"] for v in victims if v["asset"] == asset})
        if not sources:
            out[label] = None
            continue
        want: Counter[Hashable] = Counter()
        for f in flows:
            if f["asset"] == asset and f["kind"] == "deposit":
                want[f["address"]] += int(f["amount"])
        trace = ws.trace_account(asset=asset, sources=sources, policy="fifo")
        got: Counter[Hashable] = Counter()
        for e in trace.endpoints:
            got[str(e.address)] += e.amount
        by_ex: tuple[Counter[Hashable], Counter[Hashable]] = (Counter(), Counter())
        for which, counts in ((0, want), (1, got)):
            for a, v in counts.items():
                by_ex[which][exchange_of.get(str(a), f"other:{a}")] += v
        amount = trace.source_amount
        out[label] = {
            "sources": len(sources), "source_amount": amount, "status": str(trace.status),
            "conserved": trace.conserved,
            "address": score_endpoints(want, got).to_json(),
            "exchange": score_endpoints(by_ex[0], by_ex[1]).to_json(),
            "endpoint_share": _ratio(sum(got.values()), amount),
            "truth_deposit_share": _ratio(sum(want.values()), amount),
            # Left "unspent" on an address that is in truth a deposit address the detector
            # missed (held or never swept): the right place, not recognised as an endpoint.
            "unspent_at_deposit_share": _ratio(
                sum(b.amount for b in trace.unspent if b.address in exchange_of
                    and b.address not in hot_wallets), amount),
        }  # fmt: skip
    return out


# --- across seeds --------------------------------------------------------------------------------


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Every score as a mean and 95% t-interval across the seeds, with pooled counts."""

    def iv(get: Callable[[dict[str, Any]], float | None]) -> dict[str, Any]:
        return interval([get(r) for r in runs]).to_json()

    by_wait = {b: [sum(r["deposits"]["by_wait"][b][k] for r in runs) for k in (0, 1)]
               for b in WAIT_BUCKETS}  # fmt: skip
    false_kinds: Counter[str] = Counter()
    for r in runs:
        false_kinds.update(r["deposits"]["false_by_kind"])
    tracing: dict[str, Any] = {}
    for label in ("ETH", "token"):
        got = [r["tracing"][label] for r in runs if r["tracing"][label] is not None]
        tracing[label] = {
            "runs": len(got), "sources": sum(g["sources"] for g in got),
            "conserved": all(g["conserved"] for g in got),
            **{f"{level}_{m}": interval([g[level][m] for g in got]).to_json()
               for level in ("address", "exchange") for m in ("recall", "precision")},
            "endpoint_share": interval([g["endpoint_share"] for g in got]).to_json(),
            "truth_deposit_share": interval([g["truth_deposit_share"] for g in got]).to_json(),
            "unspent_at_deposit_share": interval([g["unspent_at_deposit_share"]
                                                  for g in got]).to_json(),
        }  # fmt: skip
    return {
        "seeds": [r["seed"] for r in runs],
        "ingest_exact": all(r["ingest"]["exact"] for r in runs),
        "ingest_rejects": sum(r["ingest"]["rejects"] for r in runs),
        "deposits": {
            "precision": iv(lambda r: r["deposits"]["precision"]),
            "recall": iv(lambda r: r["deposits"]["recall"]),
            "hot_wallet_accuracy": iv(lambda r: r["deposits"]["hot_wallet_accuracy"]),
            **{k: sum(r["deposits"][k] for r in runs) for k in ("truth", "detected", "correct")},
            "by_wait": by_wait, "false_by_kind": dict(sorted(false_kinds.items())),
        },
        "clustering": {
            **{m: interval([r["clustering"][m] for r in runs]).to_json()
               for m in ("precision", "recall", "ari", "false_merge_rate",
                         "merchant_false_share", "recall_customer", "recall_scam")},
            **{k: sum(r["clustering"][k] for r in runs)
               for k in ("addresses", "pairs_true", "pairs_predicted", "pairs_correct",
                         "false_pairs", "merchant_false_pairs")},
        },
        "merchants_as_deposits": sum(r["merchants_as_deposits"] for r in runs),
        "merchants": sum(r["merchants"] for r in runs),
        "tracing": tracing,
    }  # fmt: skip


def markdown(s: dict[str, Any], runs: list[dict[str, Any]]) -> list[str]:
    """The Ethereum scenario's tables for docs/validation.md."""
    d, c = s["deposits"], s["clustering"]
    tx = sum(r["sizes"]["transactions"] for r in runs)
    exact = "yes, in every run" if s["ingest_exact"] else "**NO**"
    lines = [
        f"Ingest (`ingest eth-etl`, {tx} transactions over the seeds): stored transfers equal "
        f"the truth's (count and sum per asset): {exact}; rejects: {s['ingest_rejects']}.", "",
        "| deposit detection | truth | detected | correct | precision | recall "
        "| hot-wallet accuracy |", "|---|---|---|---|---|---|---|",
        f"| per address | {d['truth']} | {d['detected']} | {d['correct']} | "
        f"{_cell(d['precision'])} | {_cell(d['recall'])} | {_cell(d['hot_wallet_accuracy'])} |",
        "", "| longest sweep wait (truth) | deposit addresses | detected | recall |",
        "|---|---|---|---|",
    ]  # fmt: skip
    for bucket, (n, got) in d["by_wait"].items():
        share = "n/a" if not n else f"{got / n:.4f}"
        lines.append(f"| {bucket} | {n} | {got} | {share} |")
    false = ", ".join(f"{k} {v}" for k, v in d["false_by_kind"].items()) or "none"
    lines += [
        "", f"False positives by their truth owner: {false}. Merchants and payment processors "
        f"taken for deposit addresses: {s['merchants_as_deposits']} of {s['merchants']}.", "",
        "| deposit-reuse clustering | addresses | precision | recall | recall (customers) "
        "| recall (scam) | ARI | false-merge rate | wrong pairs "
        "| of them in clusters with a merchant |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| `eth_deposit_reuse` | {c['addresses']} | {_cell(c['precision'])} | "
        f"{_cell(c['recall'])} | {_cell(c['recall_customer'])} | {_cell(c['recall_scam'])} | "
        f"{_cell(c['ari'])} | {_cell(c['false_merge_rate'])} | "
        f"{c['false_pairs']} | {c['merchant_false_pairs']} "
        f"({_cell(c['merchant_false_share'])}) |", "",
        "| scam trace (FIFO) | victim payments | endpoint recall (address) | precision (address) "
        "| recall (exchange) | precision (exchange) | traced to endpoints "
        "| unspent at missed deposits | truth at deposits |",
        "|---|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for label, t in s["tracing"].items():
        if not t["runs"]:
            continue
        lines.append(
            f"| {label} | {t['sources']} | {_cell(t['address_recall'])} | "
            f"{_cell(t['address_precision'])} | {_cell(t['exchange_recall'])} | "
            f"{_cell(t['exchange_precision'])} | {_cell(t['endpoint_share'])} | "
            f"{_cell(t['unspent_at_deposit_share'])} | {_cell(t['truth_deposit_share'])} |"
        )
    return [*lines, ""]


__all__ = [
    "DAYS",
    "SCENARIO",
    "SCENARIOS",
    "DepositScore",
    "markdown",
    "merchant_false_pairs",
    "run_one",
    "score_deposits",
    "detector_settings",
    "kind_recall",
    "stored_totals",
    "summary",
    "truth_totals",
    "versions",
    "wait_bucket",
]
