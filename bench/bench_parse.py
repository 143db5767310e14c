"""Raw block parsing speed: chaintrail's parser against python-bitcoinlib, on the same bytes.

Run ``python bench/bench_parse.py [--reps N] [--json]``. Reads real mainnet blocks from
``$CHAINTRAIL_DATA`` or ``../shared/data`` (see each folder's PROVENANCE.txt):

* the "modern" set: btcd's 2018 and 2019 blocks and rust-bitcoin's block 702861 (2021);
* the bitcoinj single blocks (2012-2017).

For every block both parsers run ``--reps`` times and the best time counts (the machine may be a
shared VM; the minimum is the least disturbed run). chaintrail is measured *cold*: the address
cache is emptied before every run, so every address of the block is encoded; the warm figure
(cache kept, as when a block's addresses were seen before) is reported separately. bitcoinlib is
``CBlock.deserialize`` plus ``GetTxid()`` for every transaction (no merkle check, no addresses),
so the comparison favours it.

The breakdown splits chaintrail's cold time into: the transaction walk (including txid/wtxid
hashing), the hashing alone, merkle verification, building the columns, and address derivation.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

from chaintrail.chains.btc import rawblock, script

ROOT = Path(__file__).resolve().parent.parent

MODERN = [
    "btc/btcd/block-00000000000000000021868c2cefc52a480d173c849412fe81c4e5ab806f94ab.blk",
    "btc/btcd/block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2.blk",
    "btc/rust-bitcoin/mainnet_block_000000000000000000000c835b2adcaedc20fdf6ee440009c249452c726dafae.raw",
]
BITCOINJ = [
    f"btc/bitcoinj/block{height}.dat"
    for height in (169482, 227835, 227836, 363703, 370661, 383616, 481815, 481829)
]


def data_dir() -> Path:
    env = os.environ.get("CHAINTRAIL_DATA")
    for candidate in ([Path(env)] if env else []) + [ROOT.parent / "shared" / "data"]:
        if (candidate / "btc").is_dir():
            return candidate
    sys.exit("real data not found: set CHAINTRAIL_DATA or provide ../shared/data")


def machine() -> dict[str, object]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
    }


def best_of(
    reps: int, run: Callable[[], object], before: Callable[[], None] | None = None
) -> float:
    best = float("inf")
    for _ in range(reps):
        if before is not None:
            before()
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def hashing_only(data: bytes) -> Callable[[], object]:
    """sha256d of every transaction's txid (and wtxid) bytes: the floor of any txid parser."""
    block = rawblock.parse_block(data, derive_addresses=False)
    walk = rawblock._walk(data, block_tx_start(data), block.tx_count, "bench", 0)
    pieces: list[bytes] = []
    for start, stop, witness in zip(walk.starts, walk.ends, walk.witness_sizes, strict=True):
        pieces.append(data[start:stop])
        if witness:
            pieces.append(data[start:stop])  # a second hash for the wtxid
    sha256 = hashlib.sha256

    def run() -> object:
        return [sha256(sha256(piece).digest()).digest() for piece in pieces]

    return run


def block_tx_start(data: bytes) -> int:
    first = data[80]
    return 81 if first < 0xFD else 80 + (3, 5, 9)[first - 0xFD]


def measure(path: Path, reps: int) -> dict[str, object]:
    from bitcoin.core import CBlock

    data = path.read_bytes()
    block = rawblock.parse_block(data, source=str(path))
    start = block_tx_start(data)
    count = block.tx_count
    timings = {
        "bitcoinlib": best_of(reps, lambda: [tx.GetTxid() for tx in CBlock.deserialize(data).vtx]),
        "full_cold": best_of(reps, lambda: rawblock.parse_block(data), script.clear_cache),
        "full_warm": best_of(reps, lambda: rawblock.parse_block(data)),
        "no_addresses": best_of(reps, lambda: rawblock.parse_block(data, derive_addresses=False)),
        "no_addresses_no_merkle": best_of(
            reps,
            lambda: rawblock.parse_block(data, derive_addresses=False, verify_merkle=False),
        ),
        "walk": best_of(reps, lambda: rawblock._walk(data, start, count, "bench", 0)),
        "hashing": best_of(reps, hashing_only(data)),
    }
    return {
        "file": path.name,
        "txs": count,
        "inputs": len(block.inputs["txid"]),
        "outputs": len(block.outputs["txid"]),
        "bytes": len(data),
        "seconds": timings,
    }


def summarise(rows: list[dict[str, object]]) -> dict[str, object]:
    txs = sum(int(row["txs"]) for row in rows)  # type: ignore[call-overload]
    totals: dict[str, float] = {}
    for row in rows:
        for key, value in row["seconds"].items():  # type: ignore[attr-defined]
            totals[key] = totals.get(key, 0.0) + value
    rates = {key: txs / value for key, value in totals.items()}
    cold = totals["full_cold"]
    breakdown = {
        "walk (incl. txid/wtxid hashing)": totals["walk"],
        "  of which sha256d hashing": totals["hashing"],
        "merkle verification": totals["no_addresses"] - totals["no_addresses_no_merkle"],
        "columns (hex, unpack, repeat)": totals["no_addresses_no_merkle"] - totals["walk"],
        "address derivation (cold)": cold - totals["no_addresses"],
    }
    return {
        "txs": txs,
        "seconds": totals,
        "tx_per_second": rates,
        "ratio_cold_vs_bitcoinlib": totals["bitcoinlib"] / cold,
        "ratio_warm_vs_bitcoinlib": totals["bitcoinlib"] / totals["full_warm"],
        "breakdown_seconds": breakdown,
        "breakdown_share_of_cold": {key: value / cold for key, value in breakdown.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--reps", type=int, default=7, help="repetitions per block (best counts)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    root = data_dir()
    sets = {"modern (2018-2021)": MODERN, "bitcoinj (2012-2017)": BITCOINJ}
    report: dict[str, object] = {"machine": machine(), "reps": args.reps, "sets": {}}
    for name, files in sets.items():
        rows = [measure(root / relative, args.reps) for relative in files]
        report["sets"][name] = {"blocks": rows, "summary": summarise(rows)}  # type: ignore[index]
    if args.json:
        print(json.dumps(report, indent=2))
        return
    info = report["machine"]
    print(
        f"machine: {info['cpu']}, {info['cores']} cores, "  # type: ignore[index]
        f"{info['implementation']} {info['python']}; best of {args.reps}"  # type: ignore[index]
    )
    for name, body in report["sets"].items():  # type: ignore[attr-defined]
        summary = body["summary"]
        rates = summary["tx_per_second"]
        print(f"\n== {name}: {len(body['blocks'])} blocks, {summary['txs']:,} txs")
        for row in body["blocks"]:
            seconds = row["seconds"]
            print(
                f"  {row['file'][:40]:40s} {row['txs']:5d} txs {row['inputs']:5d} in "
                f"{row['outputs']:5d} out  chaintrail {row['txs'] / seconds['full_cold']:9,.0f} "
                f"tx/s  bitcoinlib {row['txs'] / seconds['bitcoinlib']:8,.0f} tx/s"
            )
        print(f"  chaintrail, addresses, cold cache : {rates['full_cold']:10,.0f} tx/s")
        print(f"  chaintrail, addresses, warm cache : {rates['full_warm']:10,.0f} tx/s")
        print(f"  chaintrail, no addresses          : {rates['no_addresses']:10,.0f} tx/s")
        print(f"  python-bitcoinlib (txids only)    : {rates['bitcoinlib']:10,.0f} tx/s")
        print(
            f"  ratio cold {summary['ratio_cold_vs_bitcoinlib']:.1f}x, "
            f"warm {summary['ratio_warm_vs_bitcoinlib']:.1f}x"
        )
        print("  where the cold time goes:")
        for key, value in summary["breakdown_seconds"].items():
            share = summary["breakdown_share_of_cold"][key]
            print(f"    {key:34s} {value * 1e3:8.2f} ms  {share:6.1%}")


if __name__ == "__main__":
    main()
