"""Tracing through the real 2009 transaction graph, loaded from the BlockSci tables.

The first hops below were read by hand from the CSVs in ``../shared/data/btc/year2009-tables``:

* block 9's coinbase (tx_index 9) has one output, ``output_index`` 90: 50 BTC to
  12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S, ``spent_index`` 171.
* tx_index 171 is f4184fc5...9e16 at height 170 (Satoshi to Hal Finney). ``tx_input`` line 2:
  it spends output 90 (50 BTC). ``tx_output``: 1710 = 10 BTC to 1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3
  (Hal), ``spent_index`` 156741 (a 2010 transaction, outside the tables); 1711 = 40 BTC back to
  12cbQ..., ``spent_index`` 183. No fee.
* tx_index 183 is a16f3ce4...14be at height 181: spends 1711 (40 BTC); 1830 = 10 BTC to
  1DUDsfc23Dv9sPMEk5RsrtfzCw5ofi5sVW, never spent; 1831 = 30 BTC to 12cbQ..., spent by 185.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import pytest

from chaintrail.trace import Stop, Trace, policy
from chaintrail.workspace import Workspace

BLOCK9 = "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9"
HAL = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
TX183 = "a16f3ce4dd5deb92d98ef5cf8afeaf0775ebca408f708b2146c4fb42b41e14be"
SATOSHI = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"
HAL_ADDRESS = "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"
POLICIES = ("poison", "haircut", "fifo", "lifo", "tiho")
BTC = 100_000_000
RAW_TIP = 4_312  # the blk00000 prefix holds blocks 0..4312


@pytest.fixture(scope="module")
def tables(shared_data: Path) -> Path:
    return shared_data / "btc" / "year2009-tables" / "2009"


@pytest.fixture(scope="module")
def stores(
    tmp_path_factory: pytest.TempPathFactory, tables: Path, tests_data: Path
) -> dict[str, Path]:
    """The same 2009 graph three ways: tables only, raw blocks only, raw blocks + tables."""
    root = tmp_path_factory.mktemp("t2009")
    raw = tests_data / "btc" / "blk00000_first1MB.dat"
    with Workspace.create(root / "tables") as ws:
        ws.ingest.blocksci_tables(tables)
    with Workspace.create(root / "raw") as ws:
        ws.ingest.files([raw])
    with Workspace.create(root / "both") as ws:
        ws.ingest.files([raw])
        ws.ingest.blocksci_tables(tables)
    return {"tables": root / "tables", "raw": root / "raw", "both": root / "both"}


def _trace(path: Path, start: list[str], name: str, stop: Stop | None = None) -> Trace:
    with Workspace.open(path) as ws:
        return ws.trace(start, policy=policy(name), stop=stop)


def _spent_in_tables(tables: Path) -> set[tuple[str, int]]:
    """Outputs the tables say are spent (within 2009 or later), by (txid, vout)."""
    with (tables / "tx_hash.csv").open(newline="") as f:
        txid = {r["tx_index"]: r["tx_hash"] for r in csv.DictReader(f)}
    with (tables / "tx_output.csv").open(newline="") as f:
        return {
            (txid[r["tx_index"]], int(r["output_index"]) % 10)
            for r in csv.DictReader(f)
            if r["spent_index"]
        }


@pytest.mark.parametrize("name", POLICIES)
def test_block9_coinbase(stores: dict[str, Path], tables: Path, name: str) -> None:
    t = _trace(stores["tables"], [f"{BLOCK9}:0"], name)
    assert t.source_amount == 50 * BTC
    if name == "poison":
        assert t.conserved is None
    else:
        assert t.conserved is True and t.accounted() == t.source_amount
    first = t.steps[0]
    assert (first.txid, first.hop, first.block_height, first.fee) == (HAL, 1, 170, 0)
    assert [(i.txid, i.vout, i.taint) for i in first.inputs] == [(BLOCK9, 0, 50 * BTC)]
    # One fully tainted input, no fee: every policy taints both outputs in full.
    assert [(o.vout, o.address, o.value, o.taint) for o in first.outputs] == [
        (0, HAL_ADDRESS, 10 * BTC, 10 * BTC),
        (1, SATOSHI, 40 * BTC, 40 * BTC),
    ]
    hal = [f for f in t.stopped if (f.txid, f.vout) == (HAL, 0)]
    assert [(f.reason, f.amount, f.hops, f.spent_by) for f in hal] == [
        ("data_end", 10 * BTC, 1, "blocksci:tx_index:156741")
    ]
    spent = _spent_in_tables(tables)
    assert not [f for f in t.unspent if (f.txid, f.vout) in spent]


@pytest.mark.parametrize("name", POLICIES)
def test_payment_to_hal_finney(stores: dict[str, Path], tables: Path, name: str) -> None:
    to_hal = _trace(stores["tables"], [f"{HAL}:0"], name)
    assert to_hal.steps == ()
    assert [(f.kind, f.reason, f.amount, f.hops) for f in to_hal.stopped] == [
        ("stopped", "data_end", 10 * BTC, 0)
    ]
    assert to_hal.unspent == () and to_hal.accounted() == 10 * BTC

    change = _trace(stores["tables"], [f"{HAL}:1"], name)
    assert change.source_amount == 40 * BTC
    if name != "poison":
        assert change.conserved is True and change.accounted() == 40 * BTC
    first = change.steps[0]
    assert (first.txid, first.hop, first.block_height, first.fee) == (TX183, 1, 181, 0)
    assert [(i.txid, i.vout, i.taint) for i in first.inputs] == [(HAL, 1, 40 * BTC)]
    assert [(o.vout, o.value, o.taint) for o in first.outputs] == [
        (0, 10 * BTC, 10 * BTC),
        (1, 30 * BTC, 30 * BTC),
    ]
    assert [(f.reason, f.amount, f.hops) for f in change.unspent if f.txid == TX183] == [
        ("unspent", 10 * BTC, 1)
    ]
    spent = _spent_in_tables(tables)
    assert not [f for f in change.unspent if (f.txid, f.vout) in spent]


def _norm(value: Any) -> Any:
    """Txids cut to 63 characters (the tables truncate some), block times dropped (the tables
    have none)."""
    if isinstance(value, dict):
        return {_norm(k): _norm(v) for k, v in value.items() if k != "time"}
    if isinstance(value, list):
        return [_norm(v) for v in value]
    if isinstance(value, str):
        return re.sub(r"\b([0-9a-f]{63})[0-9a-f]\b", r"\1", value)
    return value


@pytest.mark.parametrize("name", POLICIES)
def test_raw_blocks_and_tables_agree(stores: dict[str, Path], name: str) -> None:
    start = [f"{BLOCK9}:0"]
    raw = _trace(stores["raw"], start, name).to_json()
    tables = _trace(stores["tables"], start, name).to_json()
    both = _trace(stores["both"], start, name).to_json()
    # The whole graph from the tables alone equals raw blocks + tables, but for txids the
    # raw blocks repaired and the block times they carry.
    assert _norm(tables) == _norm(both)
    # Where the raw file ends (block 4312) the raw-only trace must be a prefix of the tables'.
    raw_steps = [s for s in _norm(raw["hops"])]
    tables_steps = [s for s in _norm(tables["hops"]) if s["block_height"] <= RAW_TIP]
    assert raw_steps == tables_steps and raw_steps
    consumed = {
        (i["txid"], i["vout"]) for s in _norm(tables["hops"]) if s["block_height"] > RAW_TIP
        for i in s["inputs"]
    }  # fmt: skip
    ended = {
        (f["txid"], f["vout"], f["amount"]) for f in _norm(tables["unspent"] + tables["stopped"])
    }
    for f in _norm(raw["unspent"]):
        assert (f["txid"], f["vout"], f["amount"]) in ended or (f["txid"], f["vout"]) in consumed


def test_hop_limit_inside_the_raw_range(stores: dict[str, Path]) -> None:
    """Two hops from block 9 stay inside blocks 0..4312: raw and tables give the same trace."""
    stop = Stop.hops(2)
    raw = _trace(stores["raw"], [f"{BLOCK9}:0"], "fifo", stop).to_json()
    tables = _trace(stores["tables"], [f"{BLOCK9}:0"], "fifo", stop).to_json()
    assert max(s["block_height"] for s in raw["hops"]) <= RAW_TIP
    assert {f["reason"] for f in tables["stopped"]} <= {"hop_limit", "data_end"}
    # Hal's 10 BTC: unspent as far as blocks 0..4312 tell, spent in 2010 per the tables.
    assert [f["reason"] for f in tables["stopped"] if f["txid"] == HAL] == ["data_end"]
    assert [f["reason"] for f in raw["unspent"] if f["txid"] == HAL] == ["unspent"]
    assert _norm(raw["hops"]) == _norm(tables["hops"])
