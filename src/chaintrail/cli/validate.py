"""``chaintrail validate``: measured error rates of the heuristics on simulated economies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from chaintrail.cli._common import console, console_err, print_json
from chaintrail.validate.eth import SCENARIOS as ETH_SCENARIOS
from chaintrail.validate.run import DEFAULT_BLOCKS, DEFAULT_CHANGE, DEFAULT_SCENARIOS

#: Stop reasons shown in the tracing table, when they stopped any value.
STOP_REASONS = ("coinjoin", "hub", "hop_limit", "min_amount", "data_end", "budget")


def validate(
    scenarios: str = typer.Option(
        ",".join(DEFAULT_SCENARIOS),
        "--scenarios",
        help="Comma-separated simulator scenarios (Ethereum: eth-exchanges).",
    ),
    seeds: int = typer.Option(1, "--seeds", min=1, help="Number of seeds (1..K) per scenario."),
    blocks: int = typer.Option(DEFAULT_BLOCKS, "--blocks", min=1, help="Blocks per economy."),
    scale: float = typer.Option(1.0, "--scale", min=0.01, help="Size of each economy."),
    change: list[str] = typer.Option(
        list(DEFAULT_CHANGE),
        "--change",
        help="A change heuristic spec to cluster and score with (repeatable) [default: each "
        "change heuristic].",
        show_default=False,
    ),
    out: Path = typer.Option(None, "-o", "--out", help="Also write the JSON results here."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Simulate, cluster, tag and trace; score clustering, CoinJoin detectors, change
    heuristics, trace policies and case triage against the truth (eth-exchanges: the Ethereum
    deposit heuristics and the account trace)."""
    from chaintrail.validate import validate as run

    names = [s.strip() for s in scenarios.split(",") if s.strip()]
    progress = None if json_out else (lambda m: console_err.print(m, highlight=False))
    result = run(names, seeds=seeds, blocks=blocks, scale=scale, change=change, progress=progress)
    data = result.to_json()
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if json_out:
        print_json(data)
        return
    _print(data)
    if out is not None:
        console.print(f"results: {out}", highlight=False)


def _fmt(i: dict[str, Any]) -> str:
    if i["mean"] is None:
        return "n/a"
    if i["low"] is None:
        return f"{i['mean']:.4f}"
    return f"{i['mean']:.4f} ± {i['high'] - i['mean']:.4f}"


def _print_tracing(scenario: str, t: dict[str, Any], note: str) -> None:
    if t["fifo_exact"] is None:
        console.print(f"{scenario}: tracing: nothing to trace, no crime", highlight=False)
        return
    exact = "yes" if t["fifo_exact"] else "NO"
    console.print(
        f"{scenario}: FIFO equals the truth's flows: {exact} "
        f"({t['fifo_differing_rows']} of {t['fifo_rows']} rows differ)",
        highlight=False,
    )
    if not any(p["overall"]["runs"] for p in t["policies"].values()):
        return
    table = Table(title=f"{scenario}: tracing, endpoints vs the truth's cash-outs ({note})")
    cols = ("policy", "crimes", "recall", "precision", "amount error", "entity recall",
            "endpoint", "unspent", "stopped (share)")  # fmt: skip
    for col in cols:
        table.add_column(col, justify="left" if col in ("policy", "crimes") else "right")
    for name, p in t["policies"].items():
        for label, m in (("all", p["overall"]), *p["kinds"].items()):
            sh = m["shares"]
            stopped = "reach only" if sh is None else ", ".join(
                f"{k} {_fmt(sh[k])}" for k in STOP_REASONS if sh[k]["mean"]) or "none"  # fmt: skip
            table.add_row(
                name if label == "all" else "", label, _fmt(m["recall"]), _fmt(m["precision"]),
                _fmt(m["amount_error"]), _fmt(m["entity_recall"]),
                "reach only" if sh is None else _fmt(sh["endpoint"]),
                "reach only" if sh is None else _fmt(sh["unspent"]), stopped,
            )  # fmt: skip
    console.print(table)


def _print_triage(scenario: str, t: dict[str, Any], note: str) -> None:
    table = Table(title=f"{scenario}: case triage of the simulated victim reports ({note})")
    cols = ("accepted", "verified right", "accuracy", "invalid rejected", "crimes", "cases",
            "grouping ARI", "money located")  # fmt: skip
    for col in cols:
        table.add_column(col, justify="right")
    table.add_row(
        str(t["accepted"]), str(t["verified_correctly"]), _fmt(t["verification_accuracy"]),
        f"{t['invalid_rejected']}/{t['invalid_rows']}", str(t["crimes"]), str(t["cases"]),
        _fmt(t["ari"]), _fmt(t["located_share"]),
    )  # fmt: skip
    console.print(table)


def _print_eth(scenario: str, s: dict[str, Any], note: str) -> None:
    d, c = s["deposits"], s["clustering"]
    exact = "yes" if s["ingest_exact"] else "NO"
    console.print(f"{scenario}: stored transfers equal the truth's: {exact}; ingest rejects: "
                  f"{s['ingest_rejects']}", highlight=False)  # fmt: skip
    table = Table(title=f"{scenario}: deposit heuristics ({note})")
    for col in ("measure", "precision", "recall", "other"):
        table.add_column(col, justify="left" if col == "measure" else "right")
    table.add_row("deposit detection (per address)", _fmt(d["precision"]), _fmt(d["recall"]),
                  f"hot wallet right {_fmt(d['hot_wallet_accuracy'])}")  # fmt: skip
    table.add_row("deposit-reuse clustering (pairs)", _fmt(c["precision"]), _fmt(c["recall"]),
                  f"ARI {_fmt(c['ari'])}; wrong pairs with a merchant "
                  f"{c['merchant_false_pairs']}/{c['false_pairs']}")  # fmt: skip
    for label, t in s["tracing"].items():
        if t["runs"]:
            table.add_row(f"{label} trace endpoints (address)", _fmt(t["address_precision"]),
                          _fmt(t["address_recall"]),
                          f"by exchange {_fmt(t['exchange_precision'])} / "
                          f"{_fmt(t['exchange_recall'])}")  # fmt: skip
    console.print(table)


def _print(data: dict[str, Any]) -> None:
    p = data["parameters"]
    console.print(
        f"chaintrail {data['tool']['version']}: scenarios {', '.join(p['scenarios'])}; seeds "
        f"{p['seeds']}; {p['blocks']} blocks, scale {p['scale']}",
        highlight=False,
    )
    n = len(p["seeds"])
    note = "n=1, no interval" if n == 1 else f"mean ± 95% t-interval over {n} seeds"
    for scenario, s in data["summary"].items():
        runs = [r for r in data["runs"] if r["scenario"] == scenario]
        if scenario in ETH_SCENARIOS:
            _print_eth(scenario, s, note)
            continue
        table = Table(title=f"{scenario}: clustering ({note})")
        for col in ("configuration", "precision", "recall", "false-merge rate",
                    "largest false merge"):  # fmt: skip
            table.add_column(col, justify="left" if col == "configuration" else "right")
        for cfg, m in s["clustering"].items():
            largest = max((r["clustering"][cfg]["largest_false_merge"] or {"size": 0}
                           for r in runs), key=lambda x: x["size"])  # fmt: skip
            lfm = "none" if not largest["size"] else (
                f"{largest['size']} addr, {len(largest['entities'])} entities")  # fmt: skip
            table.add_row(cfg, _fmt(m["precision"]), _fmt(m["recall"]),
                          _fmt(m["false_merge_rate"]), lfm)  # fmt: skip
        console.print(table)
        table = Table(title=f"{scenario}: CoinJoin detectors (detected kind vs truth kind)")
        for col in ("kind", "truth", "detected", "precision", "recall"):
            table.add_column(col, justify="left" if col == "kind" else "right")
        for kind, m in s["coinjoins"].items():
            if kind == "fake_not_labelled":
                continue
            tot = [r["coinjoins"]["any"] if kind == "any" else
                   r["coinjoins"]["kinds"].get(kind, {}) for r in runs]  # fmt: skip
            table.add_row(kind, str(sum(t.get("truth", 0) for t in tot)),
                          str(sum(t.get("detected", 0) for t in tot)),
                          _fmt(m["precision"]), _fmt(m["recall"]))  # fmt: skip
        console.print(table)
        fakes = sum(r["coinjoins"]["fake_total"] for r in runs)
        right = sum(r["coinjoins"]["fake_not_labelled"] for r in runs)
        console.print(f"fake CoinJoins not labelled a CoinJoin: {right}/{fakes}", highlight=False)
        table = Table(title=f"{scenario}: change heuristics (one candidate = an answer)")
        for col in ("heuristic", "answered", "precision", "recall"):
            table.add_column(col, justify="left" if col == "heuristic" else "right")
        for name, m in s["change"].items():
            answered = sum(r["change"][name]["answered"] for r in runs)
            table.add_row(name, str(answered), _fmt(m["precision"]), _fmt(m["recall"]))
        console.print(table)
        _print_tracing(scenario, s["tracing"], note)
        _print_triage(scenario, s["triage"], note)
    for area, why in data["not_measured"].items():
        console.print(f"{area}: {why}", highlight=False)
