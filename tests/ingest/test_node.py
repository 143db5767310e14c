"""Ingest from a node: a real HTTP JSON-RPC server on loopback serving real blocks.

The node serves mainnet blocks 0..438 (bitcoinj's blk file) rendered as Bitcoin Core ``getblock``
JSON by an independent implementation (python-bitcoinlib, ``tests/corejson_builder.py``).

A reorg needs a competing branch, which real data cannot provide without mining: the fork used
here re-uses the real transactions of blocks 299..301 under headers with another nonce (hence
other hashes), chained onto block 298. The ingest never checks proof of work, so these headers
exercise exactly the rollback logic.
"""

from __future__ import annotations

import bz2
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaintrail.cli import main
from chaintrail.demo import shipped_blocks
from chaintrail.ingest.sources.bitcoind import BitcoindClient, BitcoindSource
from chaintrail.workspace import Workspace
from tests.corejson_builder import dumps, read_blk, render_chain
from tests.ingest.test_pipeline import dump_rows
from tests.rpcserver import ChainStore, RpcServer

HEIGHTS = 439


@pytest.fixture(scope="module")
def raw_blocks() -> list[bytes]:
    return list(read_blk(bz2.decompress(shipped_blocks().read_bytes())))[:HEIGHTS]


def _hash(raw: bytes) -> str:
    import hashlib

    return hashlib.sha256(hashlib.sha256(raw[:80]).digest()).digest()[::-1].hex()


def _store(raw_blocks: list[bytes], *, verbosities: tuple[int, ...] = (2, 3)) -> ChainStore:
    store = ChainStore()
    for v in verbosities:
        for i, block in enumerate(render_chain(raw_blocks, verbosity=v)):
            store.add_block(block["hash"], i, v, dumps(block))
    store.chain_from_heights()
    return store


def _refork(raw: bytes, prev_hash: str) -> bytes:
    """The same block (same transactions, same merkle root) under another nonce and parent."""
    header = bytearray(raw[:80])
    header[4:36] = bytes.fromhex(prev_hash)[::-1]
    (nonce,) = struct.unpack_from("<I", header, 76)
    struct.pack_into("<I", header, 76, (nonce + 1) & 0xFFFFFFFF)
    return bytes(header) + raw[80:]


_CLIENTS: list[BitcoindClient] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _CLIENTS:
        _CLIENTS.pop().close()


def _source(server: RpcServer) -> BitcoindSource:
    client = BitcoindClient(server.url, user="user", password="pass", backoff=0.01)
    _CLIENTS.append(client)
    return BitcoindSource(client)


def test_node_ingest_equals_file_ingest(tmp_path, raw_blocks, capsys):
    """The same blocks from a node (verbosity 3) and from a blk file export identically."""
    with RpcServer(_store(raw_blocks[:201])) as server:
        ws = str(tmp_path / "node")
        assert main(["-w", ws, "init"]) == 0
        code = main(["-w", ws, "ingest", "btc-rpc", "--url", server.url, "--user", "user",
                     "--password", "pass", "--json"])  # fmt: skip
        assert code == 0, capsys.readouterr().err
    (tmp_path / "blk.dat").write_bytes(
        b"".join(b"\xf9\xbe\xb4\xd9" + struct.pack("<I", len(r)) + r for r in raw_blocks[:201])
    )
    with Workspace.create(tmp_path / "file") as fws:
        fws.ingest.files([tmp_path / "blk.dat"])
    with Workspace.open(ws) as a, Workspace.open(tmp_path / "file") as b:
        sa, sb = a.btc.stats(), b.btc.stats()
        assert sa["blocks"] == 201 and sa["unresolved_inputs"] == 0
        assert sa["sources"][0]["kind"] == "rpc" and sb["sources"][0]["kind"] == "file"
        # A node's answers are summarised per node; a file is listed with its SHA-256.
        assert len(sa["sources"]) == 1 and sa["sources"][0]["source"] == server.url
        assert (sa["sources"][0]["responses"], sa["sources"][0]["blocks"]) == (201, 201)
        assert sa["sources"][0]["sha256"] is None and len(sb["sources"][0]["sha256"]) == 64
        assert dump_rows(a) == dump_rows(b)
        for table in ("blocks", "transactions", "inputs", "outputs"):
            a.export(table, format="csv", path=tmp_path / f"a-{table}.csv")
            b.export(table, format="csv", path=tmp_path / f"b-{table}.csv")
            assert (tmp_path / f"a-{table}.csv").read_bytes() == (
                tmp_path / f"b-{table}.csv"
            ).read_bytes()


def test_verbosity_2_node_resolves_from_store(tmp_path, raw_blocks):
    store = _store(raw_blocks[:300], verbosities=(2,))
    with RpcServer(store, max_verbosity=2) as server, Workspace.create(tmp_path / "ws") as ws:
        source = _source(server)
        report = ws.ingest.node(source, batch_blocks=7)
        assert source.verbosity == 2
        s = ws.btc.stats()
    assert report.blocks_added == 300
    assert (s["blocks"], s["height_max"], s["unresolved_inputs"]) == (300, 299, 0)
    assert s["transactions_fee_unknown"] == 0


def test_resume_from_stored_tip_and_range(tmp_path, raw_blocks):
    with RpcServer(_store(raw_blocks)) as server, Workspace.create(tmp_path / "ws") as ws:
        first = ws.ingest.node(_source(server), start=0, stop=99)
        assert first.blocks_added == 100
        rest = ws.ingest.node(_source(server))
        assert rest.blocks_added == HEIGHTS - 100 and rest.blocks_skipped == 0
        again = ws.ingest.node(_source(server), start=50, stop=60)
        assert again.blocks_added == 0 and again.blocks_skipped == 11
        assert ws.btc.stats()["height_max"] == HEIGHTS - 1


def test_reorg_rolls_back_orphaned_blocks(tmp_path, raw_blocks):
    main_chain = raw_blocks[:301]  # heights 0..300
    fork = [_refork(raw_blocks[299], _hash(raw_blocks[298]))]
    for raw in raw_blocks[300:302]:
        fork.append(_refork(raw, _hash(fork[-1])))
    store = _store(main_chain)
    with RpcServer(store) as server, Workspace.create(tmp_path / "ws") as ws:
        ws.ingest.node(_source(server))
        ws.clusters.build()
        orphaned = [_hash(r) for r in main_chain[299:]]
        # The node switches to the fork: heights 299..301 are now the re-headed blocks.
        for i, block in enumerate(render_chain(raw_blocks[:299] + fork, verbosity=3)):
            store.add_block(block["hash"], i, 3, dumps(block))
        store.set_chain([_hash(r) for r in raw_blocks[:299] + fork])
        report = ws.ingest.node(_source(server))
        assert [r.to_json() for r in report.reorgs] == [
            {"fork_height": 298, "depth": 2, "orphaned": orphaned}
        ]
        assert report.blocks_added == 3
        # Unions from the orphaned blocks cannot be undone: the clusters were cleared.
        from chaintrail import errors

        with pytest.raises(errors.ClustersNotBuiltError):
            ws.clusters.of("12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S")
        s = ws.btc.stats()
        assert (s["reorgs"], s["blocks_rolled_back"]) == (1, 2)
        assert (s["blocks"], s["height_max"], s["unresolved_inputs"]) == (302, 301, 0)
        left = ws.con.execute(
            "select count(*) from transactions where block_hash in (select unnest(?))",
            [orphaned],
        ).fetchone()
        assert left == (0,)
        heights = ws.con.execute("select height, hash from blocks where height >= 299 order by 1")
        assert heights.fetchall() == [(299 + i, _hash(b)) for i, b in enumerate(fork)]


def test_follow_picks_up_new_blocks(tmp_path, raw_blocks):
    store = _store(raw_blocks[:100])
    later = render_chain(raw_blocks[:120], verbosity=3)[100:]
    with RpcServer(store) as server, Workspace.create(tmp_path / "ws") as ws:
        result: dict[str, object] = {}

        def follow() -> None:
            result["report"] = ws.ingest.node(
                _source(server), follow=True, poll_seconds=0.05, max_polls=60
            )

        thread = threading.Thread(target=follow)
        thread.start()
        time.sleep(0.5)
        for i, block in enumerate(later, start=100):
            store.add_block(block["hash"], i, 3, dumps(block))
        store.chain_from_heights()
        thread.join(timeout=60)
        assert not thread.is_alive()
        assert ws.btc.stats()["height_max"] == 119


def test_node_errors_exit_codes(tmp_path, raw_blocks, capsys):
    ws = str(tmp_path / "ws")
    main(["-w", ws, "init"])
    with RpcServer(_store(raw_blocks[:5])) as server:
        code = main(["-w", ws, "ingest", "btc-rpc", "--url", server.url, "--user", "user",
                     "--password", "wrong"])  # fmt: skip
        assert code == 1
        err = capsys.readouterr().err
        assert "401" in err and "wrong" not in err
    code = main(["-w", ws, "ingest", "btc-rpc", "--url", "http://127.0.0.1:9/", "--user", "u",
                 "--password", "p", "--retries", "1"])  # fmt: skip
    assert code == 1
    assert "unavailable" in capsys.readouterr().err
    missing = Path(tmp_path / "no.cookie")
    code = main(["-w", ws, "ingest", "btc-rpc", "--url", "http://127.0.0.1:9/", "--cookie",
                 str(missing)])  # fmt: skip
    assert code == 2


def test_deep_disagreement_is_refused_not_rolled_back(tmp_path, raw_blocks):
    """A node that disagrees with more stored blocks than max_reorg_depth changes nothing."""
    from chaintrail import errors
    from chaintrail.settings import Settings

    store = _store(raw_blocks[:60])
    fork = [_refork(raw_blocks[10], _hash(raw_blocks[9]))]
    for raw in raw_blocks[11:60]:
        fork.append(_refork(raw, _hash(fork[-1])))
    with (
        RpcServer(store) as server,
        Workspace.create(tmp_path / "ws", settings=Settings(max_reorg_depth=20)) as ws,
    ):
        ws.ingest.node(_source(server))
        before = dump_rows(ws)
        for i, block in enumerate(render_chain(raw_blocks[:10] + fork, verbosity=3)):
            store.add_block(block["hash"], i, 3, dumps(block))
        store.set_chain([_hash(r) for r in raw_blocks[:10] + fork])
        with pytest.raises(errors.ReorgTooDeepError) as e:
            ws.ingest.node(_source(server))
        assert (e.value.fork_height, e.value.depth) == (9, 50)
        assert dump_rows(ws) == before


def test_resume_starts_at_the_first_gap(tmp_path, raw_blocks):
    """A lone high block in the store does not make a node ingest skip the heights below it."""
    with RpcServer(_store(raw_blocks[:120])) as server, Workspace.create(tmp_path / "ws") as ws:
        ws.ingest.node(_source(server), start=100, stop=100)
        report = ws.ingest.node(_source(server))
        assert report.blocks_added == 119 and report.blocks_skipped == 1
        assert ws.btc.stats()["blocks"] == 120


def test_node_on_another_network_is_refused_before_any_change(tmp_path, raw_blocks):
    """A store of mainnet blocks 100..200 and a node that says it is regtest: nothing rolls back."""
    from chaintrail import errors

    store = _store(raw_blocks[:201])
    with RpcServer(store) as server, Workspace.create(tmp_path / "ws") as ws:
        ws.ingest.node(_source(server), start=100, stop=200)
        before = dump_rows(ws)
        store.chain_name = "regtest"
        with pytest.raises(errors.ChainMismatchError) as e:
            ws.ingest.node(_source(server))
        assert e.value.exit_code == 2 and "regtest" in e.value.message
        assert dump_rows(ws) == before
        assert ws.btc_network == "mainnet"


def test_node_answers_are_archived_and_match_their_hash(tmp_path, raw_blocks):
    """Evidence: the exact bytes each provenance SHA-256 covers are kept in the workspace."""
    import gzip
    import hashlib

    with RpcServer(_store(raw_blocks[:30])) as server, Workspace.create(tmp_path / "ws") as ws:
        ws.ingest.node(_source(server))
        rows = ws.con.execute("select sha256, archived from provenance order by id").fetchall()
        assert len(rows) == 30
        for sha256, archived in rows:
            raw = gzip.decompress((ws.path / archived).read_bytes())
            assert hashlib.sha256(raw).hexdigest() == sha256
            assert b'"result"' in raw  # the block's element of the batch response, as received
    with RpcServer(_store(raw_blocks[:5])) as server, Workspace.create(tmp_path / "no") as ws:
        ws.ingest.node(_source(server), keep_raw=False)
        assert ws.con.execute("select count(archived) from provenance").fetchone() == (0,)
        assert not (ws.path / "raw").exists()


def test_node_error_names_the_height_and_keeps_what_was_stored(tmp_path, raw_blocks, capsys):
    """A node that cannot give one block (pruned): one-line error with the height, exit 1, and the
    blocks of the batches before it stay stored."""
    store = _store(raw_blocks[:60])
    missing = _hash(raw_blocks[45])
    del store.blocks[missing]
    ws = str(tmp_path / "ws")
    main(["-w", ws, "init"])
    with RpcServer(store) as server:
        code = main(["-w", ws, "ingest", "btc-rpc", "--url", server.url, "--user", "user",
                     "--password", "pass", "--batch", "10"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    assert f"getblock {missing} (height 45)" in err and err.strip().startswith("Error:")
    with Workspace.open(ws) as w:
        assert w.btc.stats()["height_max"] == 39
