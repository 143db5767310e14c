"""Raw block parsing speed: chaintrail's parser against python-bitcoinlib, on the same bytes.

Run ``python bench/bench_parse.py [--reps N] [--json]``. Reads real mainnet blocks from
``$CHAINTRAIL_DATA`` or ``../shared/data`` (see each folder's PROVENANCE.txt):

* the "modern" set: btcd's 2018 and 2019 blocks and rust-bitcoin's block 702861 (2021);
* the bitcoinj single blocks (2012-2017).

chaintrail has two paths to the same columns, both measured in the same run: the optional C
accelerator (``_fastblock``, what ``parse_block`` uses when it is built) and the pure-Python
parser (``parse_block_python``, the reference and the fallback). For every block each parser runs
``--reps`` times and the best time counts (the machine may be a shared VM; the minimum is the
least disturbed run). chaintrail is measured *cold*: the address cache is emptied before every
run, so every address of the block is encoded (the C path keeps no cache: it is always cold); the
Python path's warm figure (cache kept, as when a block's addresses were seen before) is reported
separately. Both derive txids, wtxids, sizes, weights, merkle verification and addresses.
bitcoinlib is ``CBlock.deserialize`` plus ``GetTxid()`` for every transaction (no merkle check, no
addresses), so the comparison favours it.

The breakdown splits the pure-Python cold time into: the transaction walk (including txid/wtxid
hashing), the hashing alone, merkle verification, building the columns, and address derivation.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path

from _common import data_dir, machine
from chaintrail.chains.btc import rawblock, script

MODERN = [
    "btc/btcd/block-00000000000000000021868c2cefc52a480d173c849412fe81c4e5ab806f94ab.blk",
    "btc/btcd/block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2.blk",
    "btc/rust-bitcoin/mainnet_block_000000000000000000000c835b2adcaedc20fdf6ee440009c249452c726dafae.raw",
]
BITCOINJ = [
    f"btc/bitcoinj/block{height}.dat"
    for height in (169482, 227835, 227836, 363703, 370661, 383616, 481815, 481829)
]


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


def accelerated() -> bool:
    """True when parse_block takes the C path (the extension is built)."""
    return rawblock._fastblock is not None


def measure(path: Path, reps: int) -> dict[str, object]:
    from bitcoin.core import CBlock

    data = path.read_bytes()
    block = rawblock.parse_block_python(data, source=str(path))
    if accelerated():
        assert rawblock.parse_block(data) == block, f"C and Python paths differ on {path}"
    start = block_tx_start(data)
    count = block.tx_count
    python = rawblock.parse_block_python
    timings = {
        "bitcoinlib": best_of(reps, lambda: [tx.GetTxid() for tx in CBlock.deserialize(data).vtx]),
        "python_cold": best_of(reps, lambda: python(data), script.clear_cache),
        "python_warm": best_of(reps, lambda: python(data)),
        "python_no_addresses": best_of(reps, lambda: python(data, derive_addresses=False)),
        "python_no_addresses_no_merkle": best_of(
            reps, lambda: python(data, derive_addresses=False, verify_merkle=False)
        ),
        "walk": best_of(reps, lambda: rawblock._walk(data, start, count, "bench", 0)),
        "hashing": best_of(reps, hashing_only(data)),
    }
    if accelerated():
        timings["c_cold"] = best_of(reps, lambda: rawblock.parse_block(data), script.clear_cache)
        timings["c_no_addresses"] = best_of(
            reps, lambda: rawblock.parse_block(data, derive_addresses=False)
        )
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
    cold = totals["python_cold"]
    breakdown = {
        "walk (incl. txid/wtxid hashing)": totals["walk"],
        "  of which sha256d hashing": totals["hashing"],
        "merkle verification": totals["python_no_addresses"]
        - totals["python_no_addresses_no_merkle"],
        "columns (hex, unpack, repeat)": totals["python_no_addresses_no_merkle"] - totals["walk"],
        "address derivation (cold)": cold - totals["python_no_addresses"],
    }
    ratios = {
        "python_cold_vs_bitcoinlib": totals["bitcoinlib"] / cold,
        "python_warm_vs_bitcoinlib": totals["bitcoinlib"] / totals["python_warm"],
    }
    if "c_cold" in totals:
        ratios["c_cold_vs_bitcoinlib"] = totals["bitcoinlib"] / totals["c_cold"]
        ratios["c_cold_vs_python_cold"] = cold / totals["c_cold"]
    return {
        "txs": txs,
        "seconds": totals,
        "tx_per_second": rates,
        "ratios": ratios,
        "python_breakdown_seconds": breakdown,
        "python_breakdown_share_of_cold": {key: value / cold for key, value in breakdown.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--reps", type=int, default=7, help="repetitions per block (best counts)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    root = data_dir()
    sets = {"modern (2018-2021)": MODERN, "bitcoinj (2012-2017)": BITCOINJ}
    fast = rawblock._fastblock
    report: dict[str, object] = {
        "machine": machine(),
        "reps": args.reps,
        "c_accelerator": (
            "not built" if fast is None else f"built, SHA-256 {fast.sha256_backend()}"
        ),
        "sets": {},
    }
    for name, files in sets.items():
        rows = [measure(root / relative, args.reps) for relative in files]
        report["sets"][name] = {"blocks": rows, "summary": summarise(rows)}  # type: ignore[index]
    if args.json:
        print(json.dumps(report, indent=2))
        return
    info = report["machine"]
    print(
        f"machine: {info['cpu']}, {info['cores']} cores, "  # type: ignore[index]
        f"{info['python']}; best of {args.reps}"  # type: ignore[index]
    )
    print(f"C accelerator: {report['c_accelerator']}")
    for name, body in report["sets"].items():  # type: ignore[attr-defined]
        summary = body["summary"]
        rates = summary["tx_per_second"]
        ratios = summary["ratios"]
        print(f"\n== {name}: {len(body['blocks'])} blocks, {summary['txs']:,} txs (tx/s, cold)")
        for row in body["blocks"]:
            seconds = row["seconds"]
            c_rate = (
                f"{row['txs'] / seconds['c_cold']:9,.0f}" if "c_cold" in seconds else "      n/a"
            )
            print(
                f"  {row['file'][:40]:40s} {row['txs']:5d} txs {row['inputs']:5d} in "
                f"{row['outputs']:5d} out  C {c_rate}  Python "
                f"{row['txs'] / seconds['python_cold']:8,.0f}  bitcoinlib "
                f"{row['txs'] / seconds['bitcoinlib']:7,.0f}"
            )
        if "c_cold" in rates:
            print(f"  chaintrail C, addresses (cold)         : {rates['c_cold']:10,.0f} tx/s")
            print(
                f"  chaintrail C, no addresses             : {rates['c_no_addresses']:10,.0f} tx/s"
            )
        print(f"  chaintrail Python, addresses, cold     : {rates['python_cold']:10,.0f} tx/s")
        print(f"  chaintrail Python, addresses, warm     : {rates['python_warm']:10,.0f} tx/s")
        print(
            f"  chaintrail Python, no addresses        : {rates['python_no_addresses']:10,.0f} tx/s"
        )
        print(f"  python-bitcoinlib (txids only)         : {rates['bitcoinlib']:10,.0f} tx/s")
        if "c_cold_vs_bitcoinlib" in ratios:
            print(
                f"  vs bitcoinlib: C cold {ratios['c_cold_vs_bitcoinlib']:.1f}x, "
                f"Python cold {ratios['python_cold_vs_bitcoinlib']:.1f}x, "
                f"Python warm {ratios['python_warm_vs_bitcoinlib']:.1f}x; "
                f"C is {ratios['c_cold_vs_python_cold']:.1f}x Python (cold)"
            )
        else:
            print(
                f"  vs bitcoinlib: Python cold {ratios['python_cold_vs_bitcoinlib']:.1f}x, "
                f"warm {ratios['python_warm_vs_bitcoinlib']:.1f}x"
            )
        print("  where the pure-Python cold time goes:")
        for key, value in summary["python_breakdown_seconds"].items():
            share = summary["python_breakdown_share_of_cold"][key]
            print(f"    {key:34s} {value * 1e3:8.2f} ms  {share:6.1%}")


if __name__ == "__main__":
    main()
