"""Clustering the store: real blocks (assertions derived test-side), determinism,
incrementality, the simulated economy against its truth, explanations, guard warnings."""

from __future__ import annotations

import bz2
import csv
import shutil
from collections import defaultdict
from pathlib import Path

import pytest
from bitcoin.core import CBlock, b2lx
from bitcoin.wallet import P2PKHBitcoinAddress

from chaintrail.demo import shipped_blocks
from chaintrail.errors import AddressNotFoundError, ClustersNotBuiltError, InvalidSpecError
from chaintrail.settings import Settings
from chaintrail.sim import simulate
from chaintrail.workspace import Workspace
from tests.ingest.test_pipeline import blk_records, frame

#: A 3-input transaction of block 496 (each input spends a P2PK coinbase output).
TX_496 = "a3b0e9e7cddbbe78270fa4182a7675ff00b92872d8df7d14265a2b1e379a9d33"


@pytest.fixture(scope="module")
def raw_blocks() -> list[bytes]:
    return blk_records(bz2.decompress(shipped_blocks().read_bytes()))


@pytest.fixture(scope="module")
def shipped_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clusters") / "ws"
    with Workspace.create(path) as ws:
        ws.ingest.files([shipped_blocks()])
        ws.clusters.build()
    return path


def _input_addresses(raw_blocks: list[bytes], txid: str) -> set[str]:
    """The input addresses of a transaction, derived from the raw blocks with python-bitcoinlib:
    each input spends a P2PK output whose key's P2PKH address is the address."""
    txs = {}
    for raw in raw_blocks:
        for t in CBlock.deserialize(raw).vtx:
            txs[b2lx(t.GetTxid())] = t
            if b2lx(t.GetTxid()) == txid:
                out = set()
                for txin in t.vin:
                    spk = txs[b2lx(txin.prevout.hash)].vout[txin.prevout.n].scriptPubKey
                    assert (
                        len(spk) == 67 and spk[0] == 65 and spk[-1] == 0xAC
                    )  # <65-byte key> CHECKSIG
                    out.add(str(P2PKHBitcoinAddress.from_pubkey(spk[1:-1])))
                return out
    raise AssertionError(f"{txid} not in the blocks")


def test_multi_input_tx_of_block_496_clusters(shipped_ws: Path, raw_blocks: list[bytes]):
    addresses = _input_addresses(raw_blocks, TX_496)
    assert len(addresses) == 3
    with Workspace.open(shipped_ws) as ws:
        clusters = {ws.clusters.of(a).cluster_id for a in addresses}
        ids = {ws.clusters.of(a).address_id for a in addresses}
        assert clusters == {min(ids)}  # cluster id = smallest address id
        first, *rest = sorted(addresses)
        for other in rest:
            e = ws.clusters.explain(first, other)
            assert e.linked and e.confidence == 100
            assert e.path[0].address_a == first and e.path[-1].address_b == other
            for step, nxt in zip(e.path, e.path[1:], strict=False):
                assert step.address_b == nxt.address_a  # a chain
            assert all(link.heuristic == "multi_input" for link in e.path)
            assert TX_496 in {link.txid for link in e.path}
        # The genesis address never spent: a cluster of its own; not linked to the others.
        genesis = ws.clusters.of("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")
        assert (genesis.address_id, genesis.cluster_id, genesis.size) == (0, 0, 1)
        assert not ws.clusters.explain(first, genesis.address).linked
        with pytest.raises(AddressNotFoundError):
            ws.clusters.of("1BoatSLRHtKNngkdXEeobR76b53LETtpyT")


def test_every_link_is_inside_one_transaction_input_set(shipped_ws: Path):
    with Workspace.open(shipped_ws) as ws:
        bad = ws.con.execute(
            """select count(*) from cluster_links l
               join addresses a on a.id = l.address_a join addresses b on b.id = l.address_b
               where not exists (select 1 from inputs i where i.txid = l.txid
                                 and i.address = a.address)
                  or not exists (select 1 from inputs i where i.txid = l.txid
                                 and i.address = b.address)"""
        ).fetchone()
        run = ws.clusters.last_run()
    assert bad == (0,)
    assert run is not None and run["height_to"] == 4312 and run["addresses"] == 4357


def test_deterministic_and_incremental(tmp_path: Path, raw_blocks: list[bytes]):
    half = tmp_path / "first.dat"
    rest = tmp_path / "rest.dat"
    half.write_bytes(frame(raw_blocks[:2500]))
    rest.write_bytes(frame(raw_blocks[2500:]))
    exports = []
    for name, steps in (("all1", [[shipped_blocks()]]), ("all2", [[shipped_blocks()]]),
                        ("incr", [[half], [rest]])):  # fmt: skip
        with Workspace.create(tmp_path / name) as ws:
            runs = []
            for files in steps:
                ws.ingest.files(files)
                runs.append(ws.clusters.build())
            out = tmp_path / f"{name}.csv"
            ws.export("clusters", format="csv", path=out)
            exports.append(out.read_text())
            if name == "incr":
                assert (runs[0].height_to, runs[1].height_from) == (2499, 2500)
                assert runs[1].links_added > 0
    assert exports[0].splitlines()[0] == "address,cluster_id"
    assert len(exports[0].splitlines()) == 4358
    assert exports[0] == exports[1] == exports[2]
    # Out of height order (the later blocks first): every address, the same partition.
    with Workspace.create(tmp_path / "reverse") as ws:
        ws.ingest.files([rest])
        ws.clusters.build()
        ws.ingest.files([half])
        run = ws.clusters.build()
        out = tmp_path / "reverse.csv"
        ws.export("clusters", format="csv", path=out)
    assert (run.height_from, run.height_to, run.addresses) == (0, 4312, 4357)
    assert _partition(out.read_text()) == _partition(exports[0])


def _partition(csv_text: str) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = defaultdict(set)
    for line in csv_text.splitlines()[1:]:
        address, cluster = line.split(",")
        groups[cluster].add(address)
    return {frozenset(g) for g in groups.values()}


def test_export_parquet_and_refusals(tmp_path: Path, shipped_ws: Path):
    import pyarrow.parquet as pq

    with Workspace.open(shipped_ws) as ws:
        res = ws.export("clusters", format="parquet", path=tmp_path / "c.parquet")
    table = pq.read_table(tmp_path / "c.parquet")
    assert table.column_names == ["address", "cluster_id"] and table.num_rows == res.rows == 4357
    with Workspace.create(tmp_path / "empty") as ws:
        with pytest.raises(ClustersNotBuiltError):
            ws.export("clusters", format="csv", path=tmp_path / "x.csv")
        with pytest.raises(ClustersNotBuiltError):
            ws.clusters.of("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")
        with pytest.raises(InvalidSpecError):
            ws.clusters.build(change="optimal &")


def test_cluster_info(shipped_ws: Path):
    with Workspace.open(shipped_ws) as ws:
        c = ws.clusters.of(sorted(_addresses_of(ws, TX_496))[0])
        info = ws.clusters.info(c.cluster_id)
    assert info.size == c.size and info.cluster_id == c.cluster_id
    assert info.first_seen_height is not None and info.last_seen_height is not None
    assert info.first_seen_height <= 496 <= info.last_seen_height
    assert info.run["rules"] == ["multi_input(skip=coinjoin.any)"]


def _addresses_of(ws: Workspace, txid: str) -> set[str]:
    return {r[0] for r in ws.con.execute("select address from inputs where txid = ?", [txid])
            .fetchall()}  # fmt: skip


# --- the simulated economy ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim_ws(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("sim")
    result = simulate("mixed", root / "economy", seed=7, blocks=30)
    with Workspace.create(root / "ws") as ws:
        ws.ingest.files(list(result.block_files))
    return root / "ws", result.truth


def _entity_clusters(ws: Workspace, truth: Path) -> dict[int, set[str]]:
    owner = {}
    with (truth / "addresses.csv").open(newline="") as f:
        for r in csv.DictReader(f):
            owner[r["address"]] = r["entity_id"]
    entities: dict[int, set[str]] = defaultdict(set)
    for address, cluster_id in ws.con.execute(
        "select a.address, c.cluster_id from clusters c join addresses a on a.id = c.address_id"
    ).fetchall():
        entities[cluster_id].add(owner[address])
    return entities


def test_simulated_economy_precision(sim_ws: tuple[Path, Path], tmp_path: Path):
    path, truth = sim_ws
    work = tmp_path / "ws"
    shutil.copytree(path, work)
    with Workspace.open(work, write=True) as ws:
        run = ws.clusters.build()
        entities = _entity_clusters(ws, truth)
        labelled = dict(ws.con.execute("select txid, kind from coinjoins").fetchall())
    with (truth / "coinjoins.csv").open(newline="") as f:
        truth_cj = {r["txid"]: r for r in csv.DictReader(f)}
    # Every true CoinJoin is detected with its kind; every Tx0 labelled; fakes not detected.
    for txid, r in truth_cj.items():
        if r["kind"] == "fake_coinjoin":
            assert txid not in labelled
        else:
            assert labelled.get(txid) == r["kind"], (txid, r["kind"])
    assert run.coinjoins["whirlpool"] == 16 and run.coinjoins["whirlpool_tx0"] == 43
    # Precision: no cluster spans two entities (2,540 addresses in 2,053 clusters).
    false_merges = [c for c, owners in entities.items() if len(owners) > 1]
    assert false_merges == []
    assert (run.addresses, run.clusters) == (2540, 2053)
    # The fake CoinJoins (one entity) cluster: all their inputs share a cluster.
    with Workspace.open(work) as ws:
        for txid, r in truth_cj.items():
            if r["kind"] == "fake_coinjoin":
                ids = {ws.clusters.of(a).cluster_id for a in _addresses_of(ws, txid)}
                assert len(ids) == 1


def test_without_coinjoin_skipping_entities_merge(sim_ws: tuple[Path, Path], tmp_path: Path):
    path, truth = sim_ws
    work = tmp_path / "ws"
    shutil.copytree(path, work)
    with Workspace.open(work, write=True) as ws:
        run = ws.clusters.build(skip_coinjoins=False)
        entities = _entity_clusters(ws, truth)
    assert run.rules == ["multi_input"]
    assert sum(len(owners) > 1 for owners in entities.values()) > 0


def test_change_links_and_guard(sim_ws: tuple[Path, Path], tmp_path: Path):
    path, _truth = sim_ws
    work = tmp_path / "ws"
    shutil.copytree(path, work)
    tight = Settings(cluster_guard_factor=2, cluster_guard_min_size=3, cluster_guard_large=2,
                     cluster_guard_blocks=5)  # fmt: skip
    with Workspace.open(work, write=True, settings=tight) as ws:
        run = ws.clusters.build(change="(optimal & address_type).unique()")
        rows = ws.con.execute(
            "select heuristic, min(confidence), max(confidence), count(*) from cluster_links "
            "group by heuristic order by heuristic"
        ).fetchall()
        stored = ws.con.execute("select count(*) from cluster_warnings").fetchone()
    assert run.rules[1] == "(change.optimal & change.address_type).unique()"
    assert run.heuristics["change.optimal"] == 1
    change_rows = [r for r in rows if r[0].startswith("(change")]
    assert change_rows and change_rows[0][2] <= 50 < 100  # recorded with the lower confidence
    assert run.warnings and stored == (len(run.warnings),)
    assert {w.kind for w in run.warnings} <= {"size_jump", "large_merge"}
    for w in run.warnings:
        assert w.height_from is not None and w.height_to is not None
        assert w.height_to - w.height_from < 5


def test_indirect_tags_through_the_cluster(sim_ws: tuple[Path, Path], tmp_path: Path):
    path, truth = sim_ws
    work = tmp_path / "ws"
    shutil.copytree(path, work)
    owner = {}
    with (truth / "addresses.csv").open(newline="") as f:
        for r in csv.DictReader(f):
            owner[r["address"]] = r["entity_id"]
    with Workspace.open(work, write=True) as ws:
        ws.tags.import_paths([truth / "tagpack.yaml"])
        ws.clusters.build()
        untagged = ws.con.execute(
            """select a.address from clusters c join addresses a on a.id = c.address_id
               where c.cluster_id in (select c2.cluster_id from tags t
                     join addresses a2 on a2.address = t.address_norm
                     join clusters c2 on c2.address_id = a2.id)
                 and a.address not in (select address_norm from tags)
               order by a.id limit 5"""
        ).fetchall()
        assert untagged
        for (address,) in untagged:
            record = ws.btc.address(address)
            assert not record.tags and record.indirect_tags
            for it in record.indirect_tags:
                assert it.cluster_id == record.cluster_id
                assert owner[it.via] == owner[address]  # the truth agrees
                assert it.path[0].address_a == address and it.path[-1].address_b == it.via
                assert it.path_confidence == 100
            info = ws.clusters.info(record.cluster_id or 0)
            assert info.tags and not info.conflicting_labels
            assert record.to_json()["indirect_tags"][0]["via"] == record.indirect_tags[0].via
