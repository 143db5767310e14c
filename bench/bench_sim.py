"""Simulator throughput: how fast ``chaintrail simulate`` writes an economy (issue 3's target:
a 1M-transaction economy in at most 5 minutes on the 2-core benchmark machine).

Run ``python bench/bench_sim.py [--json]`` (about 20 s): simulates the ``mixed`` scenario at a
size of about 100,000 transactions into a temp dir, reports transactions per second (blocks
JSON, truth folder, TagPack and reports included: the whole ``simulate`` call) and
extrapolates linearly to 1M transactions. ``--full`` does the real 1M-transaction run instead
(about 3.5 minutes; writes ~4.5 GB into the temp dir).

Rates are per transaction, coinbases excluded. The extrapolation assumes linear cost; the
``--full`` run checks it (per-transaction work does not grow with the economy: wallets pick
coins and counterparties by random draws, not by scanning everyone).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from _common import machine
from chaintrail.sim import simulate

#: (blocks, scale) of the standard (~100k tx) and full (~1M tx) runs.
STANDARD = (250, 13.0)
FULL = (1_000, 34.0)


def run(blocks: int, scale: float, *, seed: int, scenario: str) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="bench-sim-"))
    try:
        started = time.perf_counter()
        result = simulate(scenario, folder / "economy", seed=seed, blocks=blocks, scale=scale)
        seconds = time.perf_counter() - started
        size = sum(p.stat().st_size for p in (folder / "economy").rglob("*") if p.is_file())
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    rate = result.transactions / seconds
    return {
        "machine": machine(),
        "scenario": scenario,
        "seed": seed,
        "blocks": blocks,
        "scale": scale,
        "transactions": result.transactions,
        "addresses": result.addresses,
        "seconds": round(seconds, 2),
        "tx_per_second": round(rate),
        "bytes_written": size,
        "extrapolated_1m_seconds": round(1_000_000 / rate, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="Do the real ~1M-transaction run.")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scenario", default="mixed")
    parser.add_argument("--json", action="store_true", help="Print JSON.")
    args = parser.parse_args()
    blocks, scale = FULL if args.full else STANDARD
    out = run(blocks, scale, seed=args.seed, scenario=args.scenario)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    m = out["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM; {m['python']}")
    print(
        f"simulate {out['scenario']}: {out['transactions']:,} txs in {out['seconds']} s = "
        f"{out['tx_per_second']:,} tx/s ({out['bytes_written']:,} bytes written); "
        f"1M txs extrapolated: {out['extrapolated_1m_seconds']} s"
    )


if __name__ == "__main__":
    main()
