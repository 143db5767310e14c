"""The simulator's realism check (issue 3): simulated distributions next to real blocks.

Run ``python bench/realism.py [--json] [--seed S] [--blocks N] [--scale X]`` (about 15 s):
simulates the ``baseline`` and ``mixed`` scenarios (seed 1, 100 blocks, scale 1.0: about 4,000
transactions each), ingests each into a temp workspace, parses the real mainnet blocks in
``$CHAINTRAIL_DATA/btc`` or ``../shared/data/btc`` (btcd's 2018 and 2019 blocks, rust-bitcoin's
block 702,861 of 2021) and prints, per metric, the real blocks, the simulated economies and the
difference, then the Jensen-Shannon divergences and the KS statistic of log10 values
(:mod:`chaintrail.sim.realism`). ``docs/validation.md`` quotes its output.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import tempfile
from pathlib import Path

from _common import data_dir, machine
from chaintrail import __version__
from chaintrail.sim import simulate
from chaintrail.sim.realism import (
    Stats,
    TxRow,
    compare,
    rows_from_raw_block,
    rows_from_store,
    stats,
)
from chaintrail.workspace import Workspace

#: The real blocks: (label, path under btc/).
REAL: tuple[tuple[str, str], ...] = (
    (
        "2018",
        "btcd/block-00000000000000000021868c2cefc52a480d173c849412fe81c4e5ab806f94ab.blk",
    ),
    (
        "2019",
        "btcd/block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2.blk",
    ),
    (
        "2021",
        "rust-bitcoin/mainnet_block_000000000000000000000c835b2adcaedc20fdf6ee440009c249452c726dafae.raw",
    ),
)
SCENARIOS = ("baseline", "mixed")


def real_samples(data: Path) -> dict[str, list[TxRow]]:
    samples = {label: rows_from_raw_block((data / "btc" / rel).read_bytes()) for label, rel in REAL}
    samples["real"] = [row for label, _ in REAL for row in samples[label]]
    return samples


def sim_sample(scenario: str, *, seed: int, blocks: int, scale: float) -> list[TxRow]:
    folder = Path(tempfile.mkdtemp(prefix="realism-"))
    try:
        result = simulate(scenario, folder / "economy", seed=seed, blocks=blocks, scale=scale)
        with Workspace.create(folder / "ws") as ws:
            ws.ingest.files(list(result.block_files))
            return rows_from_store(ws)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _fmt(v: float) -> str:
    return "–" if math.isnan(v) else f"{v:.3f}"


def table(all_stats: dict[str, Stats]) -> str:
    cols = list(all_stats)
    keys = list(dict.fromkeys(k for s in all_stats.values() for k in s.shares))
    diffs = [f"{c} − real" for c in SCENARIOS]
    lines = [
        "| metric | " + " | ".join(cols + diffs) + " |",
        "|---" * (1 + len(cols) + len(diffs)) + "|",
        "| transactions | " + " | ".join(str(all_stats[c].txs) for c in cols) + " |  |  |",
    ]
    for k in keys:
        vals = [all_stats[c].shares.get(k, math.nan) for c in cols]
        real = all_stats["real"].shares.get(k, math.nan)
        d = [all_stats[c].shares.get(k, math.nan) - real for c in SCENARIOS]
        lines.append(f"| {k} | " + " | ".join(_fmt(v) for v in vals + d) + " |")
    lines += ["", "| distance (vs pooled real) | " + " | ".join(SCENARIOS) + " |"]
    lines.append("|---" * (1 + len(SCENARIOS)) + "|")
    comps = {c: compare(all_stats["real"], all_stats[c]) for c in SCENARIOS}
    for k in comps[SCENARIOS[0]].distances:
        lines.append(
            f"| {k} | " + " | ".join(_fmt(comps[c].distances[k]) for c in SCENARIOS) + " |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--blocks", type=int, default=100)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    samples = real_samples(data_dir())
    for name in SCENARIOS:
        samples[name] = sim_sample(name, seed=args.seed, blocks=args.blocks, scale=args.scale)
    all_stats = {name: stats(rows) for name, rows in samples.items()}
    if args.json:
        print(
            json.dumps(
                {
                    "machine": machine(chaintrail=__version__),
                    "seed": args.seed,
                    "blocks": args.blocks,
                    "scale": args.scale,
                    "stats": {k: s.to_json() for k, s in all_stats.items()},
                    "comparison": {
                        c: compare(all_stats["real"], all_stats[c]).to_json() for c in SCENARIOS
                    },
                },
                indent=2,
            )
        )
        return
    print(
        f"chaintrail {__version__}; simulated: seed {args.seed}, {args.blocks} blocks, "
        f"scale {args.scale}; real: {', '.join(label for label, _ in REAL)} (pooled: real)\n"
    )
    print(table(all_stats))


if __name__ == "__main__":
    main()
