"""``chaintrail validate``: measured error rates of the heuristics on simulated economies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from chaintrail.cli._common import console, console_err, print_json
from chaintrail.validate.run import DEFAULT_BLOCKS, DEFAULT_CHANGE, DEFAULT_SCENARIOS


def validate(
    scenarios: str = typer.Option(
        ",".join(DEFAULT_SCENARIOS), "--scenarios", help="Comma-separated simulator scenarios."
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
    """Simulate, cluster and score clustering, CoinJoin detectors and change heuristics against
    the truth (tracing and triage are not measured yet)."""
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
    for area, why in data["not_measured"].items():
        console.print(f"{area}: {why}", highlight=False)
