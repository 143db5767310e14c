"""The ingest pipeline on real blocks: heights, input resolution, fees, idempotence, bad input."""

from __future__ import annotations

import bz2
import csv
import hashlib
import random
import struct
from pathlib import Path

import pytest

from chaintrail import errors
from chaintrail.demo import FAMOUS_TXID, shipped_blocks
from chaintrail.settings import Settings
from chaintrail.workspace import Workspace

MAGIC = bytes.fromhex("f9beb4d9")


def blk_records(data: bytes) -> list[bytes]:
    """Split real blk-file bytes into raw blocks (test-side, independent of the parser)."""
    out, pos = [], 0
    while pos + 8 <= len(data):
        if data[pos : pos + 4] != MAGIC:
            break
        (length,) = struct.unpack_from("<I", data, pos + 4)
        out.append(data[pos + 8 : pos + 8 + length])
        pos += 8 + length
    return out


def frame(blocks: list[bytes]) -> bytes:
    return b"".join(MAGIC + struct.pack("<I", len(b)) + b for b in blocks)


def block_hash(raw: bytes) -> str:
    return hashlib.sha256(hashlib.sha256(raw[:80]).digest()).digest()[::-1].hex()


@pytest.fixture(scope="module")
def genesis_blocks() -> list[bytes]:
    return blk_records(bz2.decompress(shipped_blocks().read_bytes()))


def test_first_4313_blocks(tmp_path):
    with Workspace.create(tmp_path / "ws") as ws:
        report = ws.ingest.files([shipped_blocks()])
        s = ws.btc.stats()
        assert report.blocks_added == 4313
        assert s["blocks"] == 4313
        assert s["transactions"] == 4371
        assert s["coinbase_inputs"] == 4313
        assert s["unresolved_inputs"] == 0
        assert s["transactions_fee_unknown"] == 0
        assert (s["height_min"], s["height_max"]) == (0, 4312)
        assert s["blocks_height_unknown"] == 0
        assert s["blocks_merkle_verified"] == 4313
        # Fees are known for every transaction and the coinbases claim exactly subsidy + fees
        # (block 2,817's three transactions paid 2.01 BTC of fees).
        coinbase_out = ws.con.execute(
            "select sum(o.value) from outputs o join transactions t using (txid, block_hash) "
            "where t.is_coinbase"
        ).fetchone()
        assert s["total_fees"] == 201_000_000
        assert coinbase_out == (4313 * 50 * 10**8 + s["total_fees"],)
        assert (s["inputs"], s["outputs"]) == (4560, 4397)
        assert (
            s["sources"][0]["sha256"] == hashlib.sha256(shipped_blocks().read_bytes()).hexdigest()
        )

        tx = ws.btc.tx(FAMOUS_TXID)
        assert tx.block_height == 170
        assert [(o.address, o.value) for o in tx.outputs] == [
            ("1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3", 10 * 10**8),
            ("12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", 40 * 10**8),
        ]
        assert tx.inputs[0].resolved and tx.inputs[0].value == 50 * 10**8
        assert tx.fee == 0
        # Block 9's coinbase paid Satoshi; its output 0 is spent by the block-170 transaction.
        prev = ws.btc.tx(tx.inputs[0].spent_txid)
        assert prev.block_height == 9
        assert prev.outputs[0].spent_by_txid == FAMOUS_TXID

        addr = ws.btc.address("1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3")
        assert addr.received == 10 * 10**8


def test_ingest_twice_changes_nothing(tmp_path):
    with Workspace.create(tmp_path / "ws") as ws:
        ws.ingest.files([shipped_blocks()])
        before = ws.btc.stats()
        again = ws.ingest.files([shipped_blocks()])
        assert again.blocks_added == 0
        assert again.blocks_skipped == 4313
        assert ws.btc.stats() == before


def test_out_of_order_blocks_get_heights_and_resolve(tmp_path, genesis_blocks):
    """blk files hold blocks out of height order: order comes from prev hashes."""
    shuffled = list(genesis_blocks[:600])
    random.Random(7).shuffle(shuffled)
    (tmp_path / "blk00000.dat").write_bytes(frame(shuffled) + b"\0" * 4096)
    small = Settings(ingest_batch_txs=50, ingest_batch_blocks=50)
    with Workspace.create(tmp_path / "a", settings=small) as ws:
        ws.ingest.files([tmp_path / "blk00000.dat"])
        shuffled_rows = dump_rows(ws)
        s = ws.btc.stats()
    assert s["blocks_height_unknown"] == 0
    assert s["unresolved_inputs"] == 0
    assert (s["height_min"], s["height_max"]) == (0, 599)
    (tmp_path / "ordered.dat").write_bytes(frame(genesis_blocks[:600]))
    with Workspace.create(tmp_path / "b") as ws:
        ws.ingest.files([tmp_path / "ordered.dat"])
        assert dump_rows(ws) == shuffled_rows


def test_orphan_blocks_wait_for_their_parents(tmp_path, genesis_blocks):
    """A block whose ancestors arrive in a later file gets its height then."""
    (tmp_path / "late.dat").write_bytes(frame(genesis_blocks[200:300]))
    (tmp_path / "early.dat").write_bytes(frame(genesis_blocks[:200]))
    with Workspace.create(tmp_path / "ws") as ws:
        ws.ingest.files([tmp_path / "late.dat"])
        s = ws.btc.stats()
        assert s["blocks_height_unknown"] == 100
        assert s["height_min"] is None
        ws.ingest.files([tmp_path / "early.dat"])
        s = ws.btc.stats()
        assert s["blocks_height_unknown"] == 0
        assert (s["height_min"], s["height_max"]) == (0, 299)
        assert s["unresolved_inputs"] == 0
        unknown_rows = ws.con.execute(
            "select count(*) from outputs where block_height is null"
        ).fetchone()
        assert unknown_rows == (0,)


def test_lone_blocks_unresolved_inputs_are_kept(tmp_path, shared_data):
    """Raw blocks without their prevouts: inputs stay, flagged unresolved, fees unknown."""
    path = (
        shared_data / "btc" / "btcd"
        / "block-00000000000000000021868c2cefc52a480d173c849412fe81c4e5ab806f94ab.blk"
    )  # fmt: skip
    with Workspace.create(tmp_path / "ws") as ws:
        ws.ingest.files([path])
        s = ws.btc.stats()
        assert s["transactions"] == 230
        assert (s["inputs"], s["coinbase_inputs"]) == (7033, 1)
        # 35 inputs spend outputs created earlier in the same block; the rest stay unresolved.
        assert _same_block_spends(ws) == 35
        assert s["unresolved_inputs"] == 7033 - 1 - 35
        assert s["transactions_fee_unknown"] > 0
        assert s["blocks_height_unknown"] == 0
        assert s["height_min"] == s["height_max"] == 540_107  # from the BIP34 coinbase height


def _same_block_spends(ws: Workspace) -> int:
    row = ws.con.execute(
        "select count(*) from inputs i join outputs o on o.txid = i.spent_txid "
        "and o.vout = i.spent_vout"
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_bip34_is_not_trusted_before_227836(tmp_path, shared_data):
    """Block 169,482 is a lone 2012 block: its height cannot be known; it is stored and flagged."""
    with Workspace.create(tmp_path / "ws") as ws:
        ws.ingest.files([shared_data / "btc" / "bitcoinj" / "block169482.dat"])
        s = ws.btc.stats()
        assert s["blocks"] == 1
        assert s["blocks_height_unknown"] == 1


def test_consecutive_lone_blocks(tmp_path, shared_data):
    """227,835 has no BIP34 height; its child 227,836 does, which places the parent too."""
    folder = shared_data / "btc" / "bitcoinj"
    with Workspace.create(tmp_path / "ws") as ws:
        ws.ingest.files([folder / "block227836.dat", folder / "block227835.dat"])
        heights = ws.con.execute("select height from blocks order by height").fetchall()
    assert heights == [(227_835,), (227_836,)]


def test_bad_block_keeps_the_good_prefix_and_rerun_completes(tmp_path, genesis_blocks):
    good = genesis_blocks[:300]
    corrupt = bytearray(genesis_blocks[300])
    corrupt[120] ^= 0xFF  # inside the coinbase: the merkle root no longer matches
    bad_file = tmp_path / "blk.dat"
    bad_file.write_bytes(frame(good) + frame([bytes(corrupt)]) + frame(genesis_blocks[301:400]))
    with Workspace.create(tmp_path / "ws") as ws:
        with pytest.raises((errors.MerkleMismatchError, errors.BlockParseError)) as e:
            ws.ingest.files([bad_file])
        assert e.value.exit_code == 2
        assert str(bad_file) in e.value.message
        assert ws.btc.stats()["blocks"] == 300
        bad_file.write_bytes(frame(genesis_blocks[:400]))
        ws.ingest.files([bad_file])
        s = ws.btc.stats()
        assert (s["blocks"], s["height_max"], s["unresolved_inputs"]) == (400, 399, 0)


def test_truncated_file(tmp_path, genesis_blocks):
    data = frame(genesis_blocks[:10])
    (tmp_path / "blk.dat").write_bytes(data[:-20])
    with Workspace.create(tmp_path / "ws") as ws:
        with pytest.raises(errors.BlockParseError) as e:
            ws.ingest.files([tmp_path / "blk.dat"])
        assert ws.btc.stats()["blocks"] == 9
    assert e.value.offset is not None


def test_2009_graph_matches_independent_tables(tmp_path, shared_data):
    """Every output and input value of blocks 0..4,312, and every address the export names,
    equals the BlockSci export of the 2009 transaction graph (TaintedTX tables). Its tx hashes may
    lack their last hex character (match on 63 characters), and a few of its address indices
    have no row in its address table (those addresses are not compared)."""
    tables = shared_data / "btc" / "year2009-tables" / "2009"
    with Workspace.create(tmp_path / "ws") as ws:
        ws.ingest.files([shipped_blocks()])
        ours = {
            (txid[:63], vout): (address, value)
            for txid, vout, address, value in ws.con.execute(
                "select txid, vout, address, value from outputs"
            ).fetchall()
        }
        our_inputs = sorted(
            (txid[:63], value)
            for txid, value in ws.con.execute(
                "select txid, value from inputs where not is_coinbase"
            ).fetchall()
        )
    tx_hash = {r["tx_index"]: r["tx_hash"][:63] for r in _csv(tables / "tx_hash.csv")}
    addr = {r["adr_index"]: r["adr_hash"] for r in _csv(tables / "adr_hash.csv")}
    theirs: dict[tuple[str, int], tuple[str | None, int]] = {}
    by_tx: dict[str, int] = {}
    for r in _csv(tables / "tx_output.csv"):
        h = tx_hash[r["tx_index"]]
        vout = by_tx.get(h, 0)
        by_tx[h] = vout + 1
        if (h, vout) in ours:
            theirs[(h, vout)] = (addr.get(r["adr_index"]), int(r["output_value"]))
    assert theirs.keys() == ours.keys() and len(ours) == 4397
    assert {k: v[1] for k, v in theirs.items()} == {k: v[1] for k, v in ours.items()}
    named = {k for k, v in theirs.items() if v[0] is not None}
    assert len(named) > 4300
    assert {k: theirs[k][0] for k in named} == {k: ours[k][0] for k in named}
    our_txs = {k[0] for k in ours}
    their_inputs = sorted(
        (tx_hash[r["tx_index"]], int(r["input_value"]))
        for r in _csv(tables / "tx_input.csv")
        if tx_hash[r["tx_index"]] in our_txs
    )
    assert their_inputs == our_inputs and len(our_inputs) == 4560 - 4313


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def dump_rows(ws: Workspace) -> dict[str, list[tuple[object, ...]]]:
    out = {}
    for table, order in (
        ("blocks", "hash"),
        ("transactions", "txid, block_hash"),
        ("inputs", 'txid, block_hash, "index"'),
        ("outputs", "txid, block_hash, vout"),
    ):
        cols = [
            r[0]
            for r in ws.con.execute(
                "select column_name from information_schema.columns where table_name = ?",
                [table],
            ).fetchall()
            if r[0] not in ("provenance_id", "height_source", "source_locator")
        ]
        select = ", ".join(f'"{c}"' for c in cols)
        out[table] = ws.con.execute(f"select {select} from {table} order by {order}").fetchall()
    return out


def test_one_network_per_workspace(tmp_path, tests_data):
    """Testnet blocks never mix into a mainnet store; raw blocks take --network."""
    testnet_raw = tests_data / "btc" / "block_testnet700000.dat"
    with Workspace.create(tmp_path / "main") as ws:
        ws.ingest.files([shipped_blocks()])
        assert ws.btc_network == "mainnet"
        with pytest.raises(errors.ChainMismatchError):
            ws.ingest.files([testnet_raw], network="testnet3")
        assert ws.btc.stats()["blocks"] == 4313
    with Workspace.create(tmp_path / "test") as ws:
        ws.ingest.files([testnet_raw], network="testnet3")
        assert ws.btc_network == "testnet3"
        addresses = [r[0] for r in ws.con.execute(
            "select address from outputs where address is not null").fetchall()]  # fmt: skip
        assert addresses and all(a.startswith(("m", "n", "2", "tb1")) for a in addresses)
        with pytest.raises(errors.UsageError):
            ws.ingest.files([testnet_raw], network="moonnet")


def _refork(raw: bytes, prev_hash: str) -> bytes:
    """The same block (same transactions and merkle root) under another nonce and parent: a
    competitor built from real data (the ingest does not check proof of work)."""
    header = bytearray(raw[:80])
    header[4:36] = bytes.fromhex(prev_hash)[::-1]
    (nonce,) = struct.unpack_from("<I", header, 76)
    struct.pack_into("<I", header, 76, (nonce + 1) & 0xFFFFFFFF)
    return bytes(header) + raw[80:]


def test_stale_block_in_a_blk_file_is_kept_but_not_counted(tmp_path, genesis_blocks):
    """A blk file holding a block that lost the race at height 170 (same transactions as the
    real block 170): totals, lookups and exports are those of the best chain."""
    stale = _refork(genesis_blocks[170], block_hash(genesis_blocks[169]))
    blocks = genesis_blocks[:171] + [stale] + genesis_blocks[171:400]
    (tmp_path / "blk.dat").write_bytes(frame(blocks))
    (tmp_path / "clean.dat").write_bytes(frame(genesis_blocks[:400]))
    with Workspace.create(tmp_path / "a") as ws, Workspace.create(tmp_path / "b") as clean:
        ws.ingest.files([tmp_path / "blk.dat"])
        clean.ingest.files([tmp_path / "clean.dat"])
        s, c = ws.btc.stats(), clean.btc.stats()
        assert s["stale_blocks"] == 1 and c["stale_blocks"] == 0
        for key in ("blocks", "transactions", "inputs", "outputs", "total_output_value"):
            assert s[key] == c[key], key
        addr = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"
        assert ws.btc.address(addr) == clean.btc.address(addr)
        assert ws.btc.tx(FAMOUS_TXID).block_hash == block_hash(genesis_blocks[170])
        for table in ("blocks", "transactions", "inputs", "outputs"):
            ws.export(table, format="csv", path=tmp_path / f"a-{table}.csv")
            clean.export(table, format="csv", path=tmp_path / f"b-{table}.csv")
            a, b = (tmp_path / f"{side}-{table}.csv" for side in "ab")
            assert a.read_bytes() == b.read_bytes(), table
        every = ws.export("blocks", format="csv", path=tmp_path / "all.csv", include_stale=True)
        assert every.rows == 401


def test_a_longer_branch_in_a_later_file_makes_the_first_branch_stale(tmp_path, genesis_blocks):
    fork = [_refork(genesis_blocks[298], block_hash(genesis_blocks[297]))]
    for raw in genesis_blocks[299:302]:
        fork.append(_refork(raw, block_hash(fork[-1])))
    (tmp_path / "first.dat").write_bytes(frame(genesis_blocks[:300]))  # heights 0..299
    (tmp_path / "second.dat").write_bytes(frame(fork))  # 298'..301' on top of 297
    with Workspace.create(tmp_path / "ws") as ws:
        ws.ingest.files([tmp_path / "first.dat"])
        assert ws.btc.stats()["stale_blocks"] == 0
        ws.ingest.files([tmp_path / "second.dat"])
        s = ws.btc.stats()
        assert (s["stale_blocks"], s["blocks"], s["height_max"]) == (2, 302, 301)
        stale = ws.con.execute(
            "select hash from blocks where not in_best_chain order by height"
        ).fetchall()
        assert stale == [(block_hash(genesis_blocks[298]),), (block_hash(genesis_blocks[299]),)]
