"""Ingest throughput into the store: raw blocks, getblock JSON, store size, and a naive peer.

Run ``python bench/bench_ingest.py [--reps N] [--json]`` (under a minute). Real mainnet blocks
only (see each data folder's PROVENANCE.txt):

* **blk prefix**: the shipped ``blk00000`` prefix (blocks 0..4,312, bzip2; 4,371 txs, almost all
  coinbases: per-block overhead dominates);
* **modern**: btcd's 2018 and 2019 blocks and rust-bitcoin's block 702,861 (2021; 6,045 txs,
  segwit), from ``$CHAINTRAIL_DATA`` or ``../shared/data``.

Measured, best of ``--reps`` (default 3; the repetitions of all configurations are interleaved, so
a change in machine load hits them alike), each into a fresh workspace in a temp dir, with
chaintrail's address cache emptied before each run (every run is a first ingest):

(a) raw input, ``Workspace.create`` → ``ws.ingest.files`` → ``CHECKPOINT``: end-to-end tx/s
    for the blk prefix + modern blocks together, and for the modern blocks alone;
(b) JSON input: the modern blocks as Bitcoin Core ``getblock <hash> 2`` files (rendered once,
    before timing, by ``tests/corejson_builder.py`` with python-bitcoinlib), same pipeline;
(c) store size: ``chaintrail.duckdb`` after the CHECKPOINT, per transaction and per input+output
    row;
(d) the peer a user would otherwise reach for to "load Bitcoin blocks into a local table":
    python-bitcoinlib ``CBlock.deserialize`` + stdlib ``sqlite3`` ``executemany`` (txid; outputs
    with value and script hex; inputs with their prevout), one transaction per run. It derives no
    addresses or script types, verifies no merkle root and resolves no prevouts, so it does less
    than chaintrail; the "+ resolve" line adds the naive SQL resolution (index on outputs,
    ``UPDATE inputs ... FROM outputs``) that fills input values as chaintrail does.
"""

from __future__ import annotations

import argparse
import bz2
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from _common import ROOT, data_dir, machine
from chaintrail.chains.btc import script
from chaintrail.demo import shipped_blocks
from chaintrail.workspace import DB_NAME, Workspace

MAGIC = bytes.fromhex("f9beb4d9")

MODERN = [
    "btc/btcd/block-00000000000000000021868c2cefc52a480d173c849412fe81c4e5ab806f94ab.blk",
    "btc/btcd/block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2.blk",
    "btc/rust-bitcoin/mainnet_block_000000000000000000000c835b2adcaedc20fdf6ee440009c249452c726dafae.raw",
]


# --- chaintrail ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Run:
    seconds: float
    txs: int
    inputs: int
    outputs: int
    resolved: int  # non-coinbase inputs whose spent output's value is known in the store
    db_bytes: int  # file size after CHECKPOINT and close


def chaintrail_ingest(files: list[Path], workdir: Path) -> Run:
    """Fresh workspace, ingest the files, CHECKPOINT: the timed end-to-end path.

    The process-wide script/address cache is emptied first, so every repetition pays for every
    address (as a first ingest does), not only the first one.
    """
    script.clear_cache()
    path = workdir / "ws"
    start = time.perf_counter()
    with Workspace.create(path) as ws:
        report = ws.ingest.files(files)
        ws.con.execute("CHECKPOINT")
        seconds = time.perf_counter() - start
        row = ws.con.execute(
            "select count(*) filter (where resolved and not is_coinbase) from inputs"
        ).fetchone()
    assert row is not None
    return Run(
        seconds,
        report.transactions_added,
        report.inputs_added,
        report.outputs_added,
        int(row[0]),
        (path / DB_NAME).stat().st_size,
    )


def empty_store_bytes() -> int:
    """Size of a fresh workspace's database after CHECKPOINT: schema and metadata, no data."""
    workdir = Path(tempfile.mkdtemp(prefix="ct-bench-"))
    try:
        with Workspace.create(workdir / "ws") as ws:
            ws.con.execute("CHECKPOINT")
        return (workdir / "ws" / DB_NAME).stat().st_size
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# --- the peer: python-bitcoinlib + sqlite3 ------------------------------------------------------

PEER_DDL = """
create table blocks (hash text, prev_hash text, time integer, height integer);
create table transactions (txid text, block_hash text, position integer);
create table outputs (txid text, vout integer, value integer, script_hex text);
create table inputs (txid text, "index" integer, prev_txid text, prev_vout integer,
                     sequence integer, value integer);
"""


def peer_blocks(path: Path) -> Iterator[bytes]:
    """Raw blocks of a file as a user would read them: bz2 by suffix, blk framing by magic."""
    data = path.read_bytes()
    if path.suffix == ".bz2":
        data = bz2.decompress(data)
    if data[:4] != MAGIC:
        yield data
        return
    pos = 0
    while pos + 8 <= len(data) and data[pos : pos + 4] == MAGIC:
        length = int.from_bytes(data[pos + 4 : pos + 8], "little")
        yield data[pos + 8 : pos + 8 + length]
        pos += 8 + length


def peer_ingest(files: list[Path], workdir: Path, *, resolve: bool) -> Run:
    from bitcoin.core import CBlock, b2lx

    db = workdir / "peer.sqlite"
    start = time.perf_counter()
    con = sqlite3.connect(db)
    con.executescript(PEER_DDL)
    txs = inputs = outputs = 0
    for path in files:
        for raw in peer_blocks(path):
            block = CBlock.deserialize(raw)
            block_hash = b2lx(block.GetHash())
            tx_rows, in_rows, out_rows = [], [], []
            for position, tx in enumerate(block.vtx):
                txid = b2lx(tx.GetTxid())
                tx_rows.append((txid, block_hash, position))
                for index, txin in enumerate(tx.vin):
                    if position == 0:
                        in_rows.append((txid, index, None, None, txin.nSequence, None))
                    else:
                        prev = txin.prevout
                        in_rows.append((txid, index, b2lx(prev.hash), prev.n, txin.nSequence, None))
                for vout, out in enumerate(tx.vout):
                    out_rows.append((txid, vout, out.nValue, bytes(out.scriptPubKey).hex()))
            con.execute(
                "insert into blocks values (?, ?, ?, null)",
                (block_hash, b2lx(block.hashPrevBlock), block.nTime),
            )
            con.executemany("insert into transactions values (?, ?, ?)", tx_rows)
            con.executemany("insert into inputs values (?, ?, ?, ?, ?, ?)", in_rows)
            con.executemany("insert into outputs values (?, ?, ?, ?)", out_rows)
            txs += len(tx_rows)
            inputs += len(in_rows)
            outputs += len(out_rows)
    if resolve:
        con.execute("create index outputs_outpoint on outputs (txid, vout)")
        con.execute(
            "update inputs set value = o.value from outputs o "
            "where o.txid = inputs.prev_txid and o.vout = inputs.prev_vout"
        )
    con.commit()
    seconds = time.perf_counter() - start
    (resolved,) = con.execute("select count(*) from inputs where value is not null").fetchone()
    con.close()
    return Run(seconds, txs, inputs, outputs, resolved, db.stat().st_size)


# --- JSON rendering (before timing) -------------------------------------------------------------


def bip34_height(raw: bytes) -> int:
    """The height a version-2+ block's coinbase scriptSig starts with (BIP34)."""
    from bitcoin.core import CBlock

    script = bytes(CBlock.deserialize(raw).vtx[0].vin[0].scriptSig)
    return int.from_bytes(script[1 : 1 + script[0]], "little")


def render_json(files: list[Path], out_dir: Path) -> list[Path]:
    """Each raw block as Bitcoin Core's ``getblock <hash> 2`` JSON, one file per block."""
    sys.path.insert(0, str(ROOT))
    from tests.corejson_builder import dumps, render_block

    out = []
    for path in files:
        for raw in peer_blocks(path):
            body = render_block(raw, height=bip34_height(raw), verbosity=2)
            target = out_dir / f"{body['hash']}.json"
            target.write_text(dumps(body))
            out.append(target)
    return out


# --- driver ------------------------------------------------------------------------------------


def best_of_interleaved(reps: int, configs: dict[str, Callable[[Path], Run]]) -> dict[str, Run]:
    """Best run per configuration; repetitions are interleaved (every configuration once per
    round) so that a change in machine load hits all configurations alike."""
    best: dict[str, Run] = {}
    for _ in range(reps):
        for name, run in configs.items():
            workdir = Path(tempfile.mkdtemp(prefix="ct-bench-"))
            try:
                result = run(workdir)
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
            if name not in best or result.seconds < best[name].seconds:
                best[name] = result
    return best


def measure(reps: int) -> dict[str, object]:
    import bitcoin

    info = machine(
        duckdb=duckdb.__version__,
        sqlite=sqlite3.sqlite_version,
        python_bitcoinlib=bitcoin.__version__,
    )
    root = data_dir()
    modern = [root / relative for relative in MODERN]
    prefix = [shipped_blocks()]
    everything = [*prefix, *modern]
    json_dir = Path(tempfile.mkdtemp(prefix="ct-bench-json-"))
    try:
        started = time.perf_counter()
        json_files = render_json(modern, json_dir)
        render_seconds = time.perf_counter() - started
        json_bytes = sum(p.stat().st_size for p in json_files)
        configs: dict[str, Callable[[Path], Run]] = {
            "chaintrail raw, blk prefix + modern": lambda d: chaintrail_ingest(everything, d),
            "peer, blk prefix + modern": lambda d: peer_ingest(everything, d, resolve=False),
            "peer + resolve, blk prefix + modern": lambda d: peer_ingest(
                everything, d, resolve=True
            ),
            "chaintrail raw, blk prefix": lambda d: chaintrail_ingest(prefix, d),
            "peer, blk prefix": lambda d: peer_ingest(prefix, d, resolve=False),
            "chaintrail raw, modern": lambda d: chaintrail_ingest(modern, d),
            "chaintrail JSON v2, modern": lambda d: chaintrail_ingest(json_files, d),
            "peer, modern": lambda d: peer_ingest(modern, d, resolve=False),
            "peer + resolve, modern": lambda d: peer_ingest(modern, d, resolve=True),
        }
        runs = best_of_interleaved(reps, configs)
    finally:
        shutil.rmtree(json_dir, ignore_errors=True)
    rates = {name: run.txs / run.seconds for name, run in runs.items()}

    def ratio(a: str, b: str) -> float:
        return rates[a] / rates[b]

    ratios = {
        "raw all: chaintrail / peer": ratio(
            "chaintrail raw, blk prefix + modern", "peer, blk prefix + modern"
        ),
        "raw all: chaintrail / peer+resolve": ratio(
            "chaintrail raw, blk prefix + modern", "peer + resolve, blk prefix + modern"
        ),
        "blk prefix: chaintrail raw / peer": ratio(
            "chaintrail raw, blk prefix", "peer, blk prefix"
        ),
        "modern: chaintrail raw / peer": ratio("chaintrail raw, modern", "peer, modern"),
        "modern: chaintrail raw / peer+resolve": ratio(
            "chaintrail raw, modern", "peer + resolve, modern"
        ),
        "modern: chaintrail JSON / chaintrail raw": ratio(
            "chaintrail JSON v2, modern", "chaintrail raw, modern"
        ),
        "modern: chaintrail JSON / peer": ratio("chaintrail JSON v2, modern", "peer, modern"),
    }
    empty = empty_store_bytes()
    sizes = {}
    for name, run in runs.items():
        if "JSON" in name or "resolve" in name:
            continue
        base = empty if name.startswith("chaintrail") else 0
        rows = run.inputs + run.outputs
        sizes[name] = {
            "db_bytes": run.db_bytes,
            "empty_store_bytes": base,
            "bytes_per_tx": run.db_bytes / run.txs,
            "bytes_per_input_output_row": run.db_bytes / rows,
            "net_bytes_per_tx": (run.db_bytes - base) / run.txs,
            "net_bytes_per_input_output_row": (run.db_bytes - base) / rows,
        }
    return {
        "machine": info,
        "reps": reps,
        "json_render_seconds": render_seconds,
        "json_bytes": json_bytes,
        "runs": {name: asdict(run) | {"tx_per_second": rates[name]} for name, run in runs.items()},
        "ratios": ratios,
        "store_size": sizes,
    }


def print_report(report: dict[str, object]) -> None:
    m = report["machine"]
    assert isinstance(m, dict)
    print(
        f"machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM; {m['python']}; "
        f"duckdb {m['duckdb']}, sqlite {m['sqlite']}, python-bitcoinlib "
        f"{m['python_bitcoinlib']}; best of {report['reps']} (interleaved); load average at "
        f"start {m['load_average_at_start']}"
    )
    print(
        f"JSON input: 3 modern blocks rendered once as getblock verbosity 2 "
        f"({report['json_bytes']:,} bytes, {report['json_render_seconds']:.1f} s, untimed)\n"
    )
    runs = report["runs"]
    assert isinstance(runs, dict)
    print(f"{'end to end (fresh store, durable)':38s} {'txs':>6s} {'inputs':>7s} {'outputs':>7s} "
          f"{'resolved':>8s} {'seconds':>8s} {'tx/s':>9s}")  # fmt: skip
    for name, run in runs.items():
        print(
            f"{name:38s} {run['txs']:6,d} {run['inputs']:7,d} {run['outputs']:7,d} "
            f"{run['resolved']:8,d} {run['seconds']:8.3f} {run['tx_per_second']:9,.0f}"
        )
    print(
        "(resolved = non-coinbase inputs whose spent output's value is filled in; the peer's\n"
        " plain load resolves none, chaintrail and peer + resolve the ones spending loaded txs)"
    )
    print("\nratios (tx/s over tx/s)")
    ratios = report["ratios"]
    assert isinstance(ratios, dict)
    for name, value in ratios.items():
        print(f"  {name:42s} {value:6.2f}x")
    print(
        "\nstore size on disk (after CHECKPOINT / commit); net = minus the empty store "
        "(chaintrail: schema + metadata)"
    )
    sizes = report["store_size"]
    assert isinstance(sizes, dict)
    print(f"  {'':36s} {'file':>9s} {'B/tx':>6s} {'B/row':>6s} {'net B/tx':>9s} "
          f"{'net B/row':>9s}   (row = one input or output)")  # fmt: skip
    for name, size in sizes.items():
        print(
            f"  {name:36s} {size['db_bytes'] / 2**20:5.2f} MiB {size['bytes_per_tx']:6.0f} "
            f"{size['bytes_per_input_output_row']:6.0f} {size['net_bytes_per_tx']:9.0f} "
            f"{size['net_bytes_per_input_output_row']:9.0f}"
        )
    print(
        "  (chaintrail also stores wtxid, sizes, script types, addresses, block heights and\n"
        "   provenance per row; the peer only txid, outpoints, values and script hex)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--reps", type=int, default=3, help="repetitions (best counts)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    report = measure(args.reps)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)


if __name__ == "__main__":
    main()
