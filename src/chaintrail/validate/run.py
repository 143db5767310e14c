"""``chaintrail validate``: simulate economies, run the heuristics, score them against the truth.

For each scenario and seed: simulate into a temporary folder, ingest into a temporary
workspace, then cluster a copy of that workspace once per configuration (multi-input alone,
then multi-input with each change heuristic) and score every run; score the CoinJoin labels of
the multi-input run and each change heuristic on every transaction clustering would ask it about
(not a coinbase, at least 2 outputs, not labelled a CoinJoin). The multi-input workspace is then
tagged with the simulator's partial TagPack and traced (:mod:`chaintrail.validate.tracing`):
FIFO against the truth's flows, and each policy's endpoints against the truth's cash-outs.
Last, the simulator's victim reports are imported, verified and triaged in that workspace and
scored (:mod:`chaintrail.validate.triage`). The Ethereum scenario (``eth-exchanges``) has its
own economy and scores (:mod:`chaintrail.validate.eth`).
"""

from __future__ import annotations

import csv
import platform
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaintrail._version import __version__
from chaintrail.errors import UnknownScenarioError
from chaintrail.heuristics import change as change_mod
from chaintrail.heuristics import coinjoin, spec
from chaintrail.heuristics.base import Heuristic, InputView, OutputView, TxView
from chaintrail.heuristics.multi_input import multi_input
from chaintrail.trace import policy as trace_policy
from chaintrail.validate import eth as eth_scenario
from chaintrail.validate import tracing
from chaintrail.validate import triage as triage_scores
from chaintrail.validate.scoring import (
    interval,
    score_change,
    score_clustering,
    score_coinjoins,
)
from chaintrail.validate.scoring import (
    interval_text as _cell,
)
from chaintrail.workspace import Workspace

DEFAULT_SCENARIOS = ("mixed",)
DEFAULT_BLOCKS = 144
DEFAULT_CHANGE = tuple(h.name.split(".", 1)[1] for h in change_mod.ALL)
NOT_MEASURED: dict[str, str] = {}
STALE = "(select hash from blocks where not in_best_chain)"
MULTI_INPUT = "multi_input"


@dataclass(slots=True)
class Validation:
    """What ``validate`` measured; ``to_json`` is the results file."""

    parameters: dict[str, Any]
    heuristics: dict[str, int]
    runs: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Per scenario: every metric as a mean and 95% t-interval across the seeds."""
        out: dict[str, Any] = {}
        for scenario in self.parameters["scenarios"]:
            runs = [r for r in self.runs if r["scenario"] == scenario]
            if scenario in eth_scenario.SCENARIOS:
                out[scenario] = eth_scenario.summary(runs)
                continue
            first = runs[0]
            clustering = {
                cfg: {m: interval([r["clustering"][cfg][m] for r in runs]).to_json()
                      for m in ("precision", "recall", "false_merge_rate")}
                for cfg in first["clustering"]
            }  # fmt: skip
            kinds = sorted({k for r in runs for k in r["coinjoins"]["kinds"]})
            cj = {
                k: {m: interval([r["coinjoins"]["kinds"].get(k, {}).get(m) for r in runs])
                    .to_json() for m in ("precision", "recall")}
                for k in kinds
            }  # fmt: skip
            cj["any"] = {m: interval([r["coinjoins"]["any"][m] for r in runs]).to_json()
                         for m in ("precision", "recall")}  # fmt: skip
            cj["fake_not_labelled"] = interval(
                [_share(r["coinjoins"]["fake_not_labelled"], r["coinjoins"]["fake_total"])
                 for r in runs]
            ).to_json()  # fmt: skip
            change = {
                name: {m: interval([r["change"][name][m] for r in runs]).to_json()
                       for m in ("precision", "recall")}
                for name in first["change"]
            }  # fmt: skip
            out[scenario] = {"seeds": [r["seed"] for r in runs], "clustering": clustering,
                             "coinjoins": cj, "change": change,
                             "tracing": _tracing_summary(runs),
                             "triage": _triage_summary(runs)}  # fmt: skip
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "tool": {"name": "chaintrail", "version": __version__,
                     "python": platform.python_version()},
            "parameters": self.parameters,
            "heuristics": self.heuristics,
            "not_measured": NOT_MEASURED,
            "summary": self.summary(),
            "runs": self.runs,
        }  # fmt: skip


def _tracing_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """FIFO exact in every run (None: no run had a crime), and each policy's metrics (overall
    and per crime kind) and shares of the source amount as intervals across the seeds."""
    exact = [r["tracing"]["fifo"]["fifo_exact"] for r in runs]
    known = [e for e in exact if e is not None]
    names = list(runs[0]["tracing"]["policies"])
    metrics = (*tracing.VALUE_METRICS, *tracing.ENTITY_METRICS)

    def block(parts: list[dict[str, Any] | None], conserves: bool) -> dict[str, Any]:
        got = [p for p in parts if p is not None]
        out: dict[str, Any] = {"runs": len(got)}
        out.update({m: interval([p[m] for p in got]).to_json() for m in metrics})
        out["shares"] = ({k: interval([p["shares"][k] for p in got]).to_json()
                          for k in tracing.SHARES} if conserves else None)  # fmt: skip
        ends = sorted({k for p in got for k in p["endpoint_kind_shares"] or {}})
        out["endpoint_kind_shares"] = (
            {k: interval([p["endpoint_kind_shares"].get(k, 0.0) for p in got]).to_json()
             for k in ends} if conserves else None)  # fmt: skip
        return out

    policies: dict[str, Any] = {}
    for name in names:
        per = [r["tracing"]["policies"][name] for r in runs]
        kinds = sorted({k for p in per for k in p["kinds"]})
        conserves = bool(per[0]["conserves"])
        policies[name] = {
            "overall": block([p["overall"] for p in per], conserves),
            "kinds": {k: block([p["kinds"].get(k) for p in per], conserves) for k in kinds},
        }
    return {
        "fifo_exact": all(known) if known else None,
        "fifo_differing_rows": sum(r["tracing"]["fifo"]["differing_rows"] for r in runs),
        "fifo_rows": sum(r["tracing"]["fifo"]["rows"] for r in runs),
        "policies": policies,
    }


def _triage_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Verification accuracy, grouping ARI and the share of money located, as intervals across
    the seeds, with the pooled counts."""
    t = [r["triage"] for r in runs]
    return {
        "verification_accuracy": interval([x["verification_accuracy"] for x in t]).to_json(),
        "ari": interval([x["ari"] for x in t]).to_json(),
        "located_share": interval([x["located"]["share"] for x in t]).to_json(),
        **{k: sum(x[k] for x in t) for k in ("reports", "accepted", "verified_correctly",
                                              "invalid_rows", "invalid_rejected", "cases",
                                              "crimes")},
        "located": sum(x["located"]["located"] for x in t),
        "truth": sum(x["located"]["truth"] for x in t),
    }  # fmt: skip


def _share(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def validate(
    scenarios: Sequence[str] = DEFAULT_SCENARIOS,
    *,
    seeds: int = 1,
    blocks: int = DEFAULT_BLOCKS,
    scale: float = 1.0,
    change: Sequence[str] = DEFAULT_CHANGE,
    policies: Sequence[str] = tracing.TRACE_POLICIES,
    progress: Callable[[str], None] | None = None,
) -> Validation:
    """Simulate and score every scenario for seeds 1..``seeds``; deterministic. ``policies``
    are the trace policies scored (FIFO exactness is checked whatever they are)."""
    say = progress or (lambda _m: None)
    rules = {name: spec.parse(name) for name in change}
    versions = dict(multi_input(skip=coinjoin.any).versions)
    versions[coinjoin.whirlpool_tx0.name] = coinjoin.whirlpool_tx0.version
    for rule in rules.values():
        versions.update(rule.versions)
    for name in policies:
        versions[f"trace.{name}"] = trace_policy(name).version
    result = Validation(
        parameters={"scenarios": list(scenarios), "seeds": list(range(1, seeds + 1)),
                    "blocks": blocks, "scale": scale,
                    "change": {name: rule.spec for name, rule in rules.items()},
                    "tracing": tracing.parameters(policies)},
        heuristics=dict(sorted(versions.items())),
    )  # fmt: skip
    from chaintrail.sim.scenarios import SCENARIOS as BTC_SCENARIOS

    known = sorted([*BTC_SCENARIOS, *eth_scenario.SCENARIOS])
    for name in scenarios:
        if name not in known:
            raise UnknownScenarioError(name, known)
    if any(s in eth_scenario.SCENARIOS for s in scenarios):
        result.parameters["eth"] = {"days": eth_scenario.DAYS,
                                    "settings": eth_scenario.detector_settings()}  # fmt: skip
        result.heuristics.update(eth_scenario.versions())
        result.heuristics = dict(sorted(result.heuristics.items()))
    for scenario in scenarios:
        for seed in range(1, seeds + 1):
            say(f"{scenario} seed {seed}")
            if scenario in eth_scenario.SCENARIOS:
                result.runs.append(eth_scenario.run_one(seed, scale=scale, say=say))
                continue
            result.runs.append(_one(scenario, seed, blocks, scale, rules, policies, say))
    return result


def _one(
    scenario: str,
    seed: int,
    blocks: int,
    scale: float,
    rules: dict[str, Heuristic],
    policies: Sequence[str],
    say: Callable[[str], None],
) -> dict[str, Any]:
    from chaintrail.sim import simulate

    with tempfile.TemporaryDirectory(prefix="chaintrail-validate-") as tmp:
        root = Path(tmp)
        sim = simulate(scenario, root / "economy", seed=seed, blocks=blocks, scale=scale)
        truth = sim.truth
        owner, names = _owners(truth)
        with Workspace.create(root / "base") as ws:
            ws.ingest.files([root / "economy" / "blocks"])
        clustering: dict[str, Any] = {}
        configs: list[tuple[str, Heuristic | None]] = [(MULTI_INPUT, None)]
        configs += [(f"{MULTI_INPUT} + {name}", rule) for name, rule in rules.items()]
        run_json: dict[str, Any] = {}
        for label, rule in configs:
            say(f"{scenario} seed {seed}: cluster {label}")
            work = root / f"ws-{len(clustering)}"
            shutil.copytree(root / "base", work)
            with Workspace.open(work, write=True) as ws:
                run = ws.clusters.build(change=rule)
                score = score_clustering(_assignments(ws, owner), names).to_json()
                score["links"] = run.links_added
                score["guard_warnings"] = len(run.warnings)
                clustering[label] = score
                if rule is None:
                    cj = score_coinjoins(_truth_coinjoins(truth), _detected(ws)).to_json()
                    say(f"{scenario} seed {seed}: change heuristics")
                    change = _score_change(ws, truth, rules)
                    say(f"{scenario} seed {seed}: tracing")
                    ws.tags.import_paths([truth / "tagpack.yaml"], workers=1)
                    traced = tracing.score_tracing(ws, truth, policies=policies, say=say)
                    say(f"{scenario} seed {seed}: case triage")
                    triaged = triage_scores.score_triage(ws, truth)
                    run_json = {"transactions": sim.transactions, "addresses": run.addresses,
                                "entities": sim.entities, "blocks": sim.blocks}  # fmt: skip
            shutil.rmtree(work)
    return {"scenario": scenario, "seed": seed, "sizes": run_json, "clustering": clustering,
            "coinjoins": cj, "change": change, "tracing": traced,
            "triage": triaged}  # fmt: skip


def _owners(truth: Path) -> tuple[dict[str, str], dict[str, str]]:
    owner: dict[str, str] = {}
    names: dict[str, str] = {}
    with (truth / "addresses.csv").open(newline="") as f:
        for r in csv.DictReader(f):
            owner[r["address"]] = r["entity_id"]
            names[r["entity_id"]] = f"{r['entity_name']} ({r['entity_kind']})"
    return owner, names


def _assignments(ws: Workspace, owner: dict[str, str]) -> Iterable[tuple[int, str]]:
    """(cluster, entity) per clustered address; an address the truth does not know (none in a
    simulated economy) is its own entity so it can never count as a correct pair."""
    for address, cluster_id in ws.con.execute(
        "select a.address, c.cluster_id from clusters c join addresses a on a.id = c.address_id"
    ).fetchall():
        yield int(cluster_id), owner.get(address, f"unknown:{address}")


def _truth_coinjoins(truth: Path) -> dict[str, tuple[str, bool]]:
    with (truth / "coinjoins.csv").open(newline="") as f:
        return {r["txid"]: (r["kind"], r["is_coinjoin"] == "true") for r in csv.DictReader(f)}


def _detected(ws: Workspace) -> dict[str, tuple[str, bool]]:
    return {
        t: (k, bool(cj))
        for t, k, cj in ws.con.execute("select txid, kind, is_coinjoin from coinjoins").fetchall()
    }


def _score_change(ws: Workspace, truth: Path, rules: dict[str, Heuristic]) -> dict[str, Any]:
    with (truth / "change.csv").open(newline="") as f:
        change = {r["txid"]: (int(r["change_vout"]) if r["change_vout"] else None)
                  for r in csv.DictReader(f)}  # fmt: skip
    views = list(tx_views(ws))
    evaluated = {tx.txid: change.get(tx.txid) for tx in views}
    out: dict[str, Any] = {}
    for name, rule in rules.items():
        answers: dict[str, int | None] = {}
        for tx in views:
            cands = rule(tx).candidates
            answers[tx.txid] = next(iter(cands)) if len(cands) == 1 else None
        out[name] = score_change(evaluated, answers).to_json()
    return out


def tx_views(ws: Workspace) -> Iterable[TxView]:
    """Every best-chain transaction clustering asks a change rule about (not a coinbase, at
    least 2 outputs, not labelled a CoinJoin), with the context the builder gives (first
    appearance of each output's address, shape of the spending transaction). Needs a clustering
    run (the ``addresses`` and ``coinjoins`` tables)."""
    q = ws.con.execute
    q(f"""create or replace temp table _validate_txs as
          select txid from transactions where not is_coinbase and output_count >= 2
            and block_hash not in {STALE} and block_hash in (select hash from blocks
                                                              where in_best_chain)
            and txid not in (select txid from coinjoins where is_coinjoin)""")  # fmt: skip
    ins: dict[str, list[InputView]] = {}
    for txid, address, value, script_type in q(
        f"""select txid, address, value, script_type from inputs
            where txid in (select txid from _validate_txs) and not is_coinbase
              and block_hash not in {STALE} order by txid, "index" """
    ).fetchall():
        ins.setdefault(txid, []).append(InputView(address, value, script_type))
    outs: dict[str, list[OutputView]] = {}
    heights: dict[str, int | None] = {}
    for txid, vout, address, value, script_type, h, seen, n_in, n_out in q(
        f"""select o.txid, o.vout, o.address, o.value, o.script_type, o.block_height,
                   a.first_txid <> o.txid, t2.input_count, t2.output_count
            from outputs o
            left join addresses a on a.address = o.address
            left join (select * from inputs where block_hash not in {STALE}) s
                   on s.spent_txid = o.txid and s.spent_vout = o.vout
            left join transactions t2 on t2.txid = s.txid and t2.block_hash = s.block_hash
            where o.txid in (select txid from _validate_txs) and o.block_hash not in {STALE}
            order by o.txid, o.vout"""
    ).fetchall():
        spent = None if n_in is None else (int(n_in), int(n_out))
        outs.setdefault(txid, []).append(OutputView(vout, address, value, script_type, seen, spent))
        heights[txid] = h
    q("drop table _validate_txs")
    for txid in sorted(outs):
        if txid in ins:
            yield TxView(txid, tuple(ins[txid]), tuple(outs[txid]), heights[txid])


def markdown(data: dict[str, Any]) -> str:
    """The summary of a results file as the Markdown tables of docs/validation.md."""
    lines: list[str] = []
    for scenario, s in data["summary"].items():
        runs = [r for r in data["runs"] if r["scenario"] == scenario]
        if scenario in eth_scenario.SCENARIOS:
            lines += [f"#### `{scenario}`", "", *eth_scenario.markdown(s, runs)]
            continue
        lines += [f"#### `{scenario}`", "",
                  "| configuration | precision | recall | false-merge rate | largest false merge |",
                  "|---|---|---|---|---|"]  # fmt: skip
        for cfg, m in s["clustering"].items():
            worst = max((r["clustering"][cfg]["largest_false_merge"] or {"size": 0, "entities": {}}
                         for r in runs), key=lambda x: x["size"])  # fmt: skip
            lfm = "none" if not worst["size"] else (
                f"{worst['size']} addresses, {len(worst['entities'])} entities "
                f"({', '.join(list(worst['entities'])[:2])}, ...)")  # fmt: skip
            lines.append(f"| {cfg} | {_cell(m['precision'])} | {_cell(m['recall'])} | "
                         f"{_cell(m['false_merge_rate'])} | {lfm} |")  # fmt: skip
        lines += [
            "",
            "| CoinJoin kind | truth | detected | precision | recall |",
            "|---|---|---|---|---|",
        ]
        for kind, m in s["coinjoins"].items():
            if kind == "fake_not_labelled":
                continue
            tot = [r["coinjoins"]["any"] if kind == "any"
                   else r["coinjoins"]["kinds"].get(kind, {}) for r in runs]  # fmt: skip
            lines.append(f"| {kind} | {sum(t.get('truth', 0) for t in tot)} | "
                         f"{sum(t.get('detected', 0) for t in tot)} | {_cell(m['precision'])} | "
                         f"{_cell(m['recall'])} |")  # fmt: skip
        fakes = sum(r["coinjoins"]["fake_total"] for r in runs)
        right = sum(r["coinjoins"]["fake_not_labelled"] for r in runs)
        lines += ["", f"Fake CoinJoins not labelled a CoinJoin: {right}/{fakes}.", "",
                  "| change heuristic | evaluated | answered | precision | recall |",
                  "|---|---|---|---|---|"]  # fmt: skip
        for name, m in s["change"].items():
            ev = sum(r["change"][name]["transactions"] for r in runs)
            ans = sum(r["change"][name]["answered"] for r in runs)
            lines.append(f"| {name} | {ev} | {ans} | {_cell(m['precision'])} | "
                         f"{_cell(m['recall'])} |")  # fmt: skip
        lines += ["", *_tracing_markdown(s["tracing"], runs), *_triage_markdown(s["triage"])]
    return "\n".join(lines)


def _triage_markdown(t: dict[str, Any]) -> list[str]:
    """One table: verification, grouping and money located."""
    return [
        "**Case triage** (the simulator's victim reports: import, verify, triage with FIFO).", "",
        "| accepted reports | verified correctly | verification accuracy | invalid rows rejected "
        "| crimes | cases | grouping ARI | money located (share of the truth's) |",
        "|---|---|---|---|---|---|---|---|",
        f"| {t['accepted']} | {t['verified_correctly']} | {_cell(t['verification_accuracy'])} | "
        f"{t['invalid_rejected']}/{t['invalid_rows']} | {t['crimes']} | {t['cases']} | "
        f"{_cell(t['ari'])} | {_cell(t['located_share'])} |",
        "",
    ]  # fmt: skip


_TRACE_COLS = (*tracing.VALUE_METRICS, *tracing.ENTITY_METRICS)
_TRACE_SHARES = ("endpoint", "unspent", "coinjoin", "hub", "hop_limit", "data_end", "budget")


def _tracing_markdown(t: dict[str, Any], runs: list[dict[str, Any]]) -> list[str]:
    """One table per trace policy: rows all crimes, then each crime kind."""
    if t["fifo_exact"] is None:
        return ["**Tracing.** Nothing to trace: no crime in this scenario.", ""]
    exact = "yes, in every run" if t["fifo_exact"] else "**NO**"
    lines = [f"**Tracing.** FIFO equals the truth's flows: {exact} ({t['fifo_differing_rows']} of "
             f"{t['fifo_rows']} rows differ).", ""]  # fmt: skip
    if not any(p["overall"]["runs"] for p in t["policies"].values()):
        return lines
    head = ("crimes | victims | recall | precision | amount error | entity recall | "
            "entity precision | endpoint | unspent | coinjoin | hub | hop limit | data end | "
            "budget | endpoint kinds")  # fmt: skip
    for name, p in t["policies"].items():
        lines += [f"Policy `{name}`:", "", f"| {head} |", "|---" * (head.count("|") + 1) + "|"]
        for label, m in (("all", p["overall"]), *p["kinds"].items()):
            victims = sum(c["sources"] for r in runs
                          for c in r["tracing"]["policies"][name]["crimes"].values()
                          if label in ("all", c["kind"]))  # fmt: skip
            cells = [_cell(m[k]) for k in _TRACE_COLS]
            sh, ek = m["shares"], m["endpoint_kind_shares"]
            cells += (["reach only"] * len(_TRACE_SHARES) if sh is None
                      else [_cell(sh[k]) for k in _TRACE_SHARES])  # fmt: skip
            kinds = "reach only" if ek is None else ", ".join(
                f"{k} {_cell(v)}" for k, v in ek.items()) or "none"  # fmt: skip
            lines.append(f"| {label} | {victims} | {' | '.join(cells)} | {kinds} |")
        lines.append("")
    return lines
