"""``chaintrail ingest esplora``: named transactions fetched from an Esplora server.

The loopback server (tests/esploraserver.py) serves the real 2009 blocks of tests/data; the
response formats are checked against real mempool.space answers from ../shared/data.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaintrail.errors import ChainMismatchError, InvalidSourceDataError
from chaintrail.ingest.sources.esplora import EsploraClient, EsploraFetcher
from chaintrail.workspace import Workspace
from tests._cli import run
from tests.esploraserver import EsploraChain, EsploraServer, blk_blocks

TX_170 = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
COINBASE_170 = "b1fea52486ce0c62bb442b530a3f0132b826c74e473d1f2c220bfa78111c5082"
COINBASE_9 = "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9"
HAL = "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"


@pytest.fixture(scope="module")
def server(tests_data: Path) -> Iterator[EsploraServer]:
    chain = EsploraChain()
    chain.add_blocks(blk_blocks((tests_data / "btc" / "blk00000_first1MB.dat").read_bytes()))
    with EsploraServer(chain) as s:
        yield s


@pytest.fixture
def ws_path(tmp_path: Path) -> Path:
    Workspace.create(tmp_path / "ws").close()
    return tmp_path / "ws"


def _counts(path: Path) -> tuple[int, ...]:
    with Workspace.open(path) as ws:
        row = ws.con.execute(
            "select (select count(*) from blocks), (select count(*) from transactions), "
            "(select count(*) from inputs), (select count(*) from outputs), "
            "(select count(*) from provenance)"
        ).fetchone()
    assert row is not None
    return tuple(int(x) for x in row)


def test_fetch_named_transaction_with_provenance(
    ws_path: Path, server: EsploraServer, capsys: pytest.CaptureFixture[str]
) -> None:
    w = ("-w", str(ws_path))
    out = json.loads(run(capsys, *w, "ingest", "esplora", "--url", server.url, "--tx", TX_170,
                         "--json"))  # fmt: skip
    assert out["fetched"] == [TX_170] and out["blocks_added"] == 1
    with Workspace.open(ws_path) as ws:
        assert ws.btc_network == "mainnet"
        tx = ws.con.execute(
            "select block_height, position, input_value, fee, output_value from transactions "
            "where txid = ?",
            [TX_170],
        ).fetchone()
        assert tx == (170, 1, 50 * 10**8, 0, 50 * 10**8)
        inputs = ws.con.execute(
            "select spent_txid, spent_vout, value, resolved from inputs where txid = ?", [TX_170]
        ).fetchall()
        assert inputs == [(COINBASE_9, 0, 50 * 10**8, True)]
        outputs = ws.con.execute(
            "select vout, value, address from outputs where txid = ? order by vout", [TX_170]
        ).fetchall()
        assert outputs[0] == (0, 10 * 10**8, HAL) and outputs[1][1] == 40 * 10**8
        block = ws.con.execute(
            "select height, tx_count, partial, merkle_verified, height_source from blocks"
        ).fetchone()
        assert block == (170, 2, True, False, "source")
        # the transaction rows point at the hex response, which names its companions
        source, sha, archived, detail = ws.con.execute(
            "select p.source, p.sha256, p.archived, p.detail from transactions t "
            "join provenance p on p.id = t.provenance_id"
        ).fetchone()  # type: ignore[misc]
        assert source == f"{server.url} GET /tx/{TX_170}/hex"
        body = gzip.decompress((ws_path / archived).read_bytes())
        assert (
            hashlib.sha256(body).hexdigest() == sha and body == server.bodies[f"/tx/{TX_170}/hex"]
        )
        assert "merkle proof verified" in detail
        for key in ("tx", "header", "merkle-proof"):
            assert f"{key} " in detail
    before = _counts(ws_path)

    # again: nothing is asked, nothing changes
    asked = sum(server.paths.values())
    out = json.loads(run(capsys, *w, "ingest", "esplora", "--url", server.url, "--tx", TX_170,
                         "--json"))  # fmt: skip
    assert out["fetched"] == [] and out["already_stored"] == [TX_170]
    assert _counts(ws_path) == before and sum(server.paths.values()) == asked

    # the block's other transaction: the same block row, now whole
    human = run(capsys, *w, "ingest", "esplora", "--url", server.url, "--tx", COINBASE_170)
    assert "Fetched 1 transactions" in human
    with Workspace.open(ws_path) as ws:
        assert ws.con.execute("select count(*), bool_or(partial) from blocks").fetchone() == (
            1, False,
        )  # fmt: skip
        positions = ws.con.execute("select position from transactions order by 1").fetchall()
        assert positions == [(0,), (1,)]


def test_bad_input_and_unknown_transactions(
    ws_path: Path, server: EsploraServer, capsys: pytest.CaptureFixture[str]
) -> None:
    w = ("-w", str(ws_path))
    err = run(capsys, *w, "ingest", "esplora", "--url", server.url, "--tx", "xyz", code=2)
    assert "invalid_txid" in err or "txid" in err
    unknown = "ab" * 32
    err = run(capsys, *w, "ingest", "esplora", "--url", server.url, "--tx", unknown, code=1)
    assert unknown in err
    err = run(capsys, *w, "ingest", "esplora", "--url", "ftp://x", "--tx", TX_170, code=2)
    assert "http" in err
    assert _counts(ws_path)[:4] == (0, 0, 0, 0)


def test_server_down_is_a_typed_error(ws_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = run(capsys, "-w", str(ws_path), "ingest", "esplora", "--url", "http://127.0.0.1:9",
              "--tx", TX_170, "--retries", "0", code=1)  # fmt: skip
    assert "unavailable" in err and "after 0 retries" in err


@pytest.mark.parametrize("lie", ["hex", "merkle-proof", "header"])
def test_a_lying_server_is_refused_and_nothing_is_stored(
    ws_path: Path, server: EsploraServer, lie: str
) -> None:
    block_170 = server.chain.by_height[170]
    path = {
        "hex": f"/tx/{TX_170}/hex",
        "merkle-proof": f"/tx/{TX_170}/merkle-proof",
        "header": f"/block/{block_170}/header",
    }[lie]
    body = {
        "hex": server.chain.txs[COINBASE_170].raw.hex().encode(),  # another transaction
        "merkle-proof": json.dumps({"block_height": 170, "merkle": ["00" * 32], "pos": 1}).encode(),
        "header": server.chain.blocks[server.chain.by_height[169]].raw[:80].hex().encode(),
    }[lie]
    server.override[path] = (200, body)
    try:
        with Workspace.open(ws_path, write=True) as ws, EsploraClient(server.url) as client:
            with pytest.raises(InvalidSourceDataError):
                EsploraFetcher(ws, client).fetch([TX_170])
            assert ws.con.execute("select count(*) from transactions").fetchone() == (0,)
    finally:
        del server.override[path]


def test_server_on_another_network(tmp_path: Path, tests_data: Path, server: EsploraServer) -> None:
    with Workspace.create(tmp_path / "ws") as ws:
        ws.ingest.files([tests_data / "btc" / "block_testnet700000.dat"], network="testnet3")
        with EsploraClient(server.url) as client, pytest.raises(ChainMismatchError):
            EsploraFetcher(ws, client).fetch([TX_170])


def test_real_esplora_outspends_format(
    ws_path: Path, server: EsploraServer, shared_data: Path
) -> None:
    """A real mempool.space ``/tx/:txid/outspends`` answer, served as received."""
    folder = shared_data / "btc" / "esplora" / "breez-chain"
    txid = "5e0668bf1cd24f2f8656ee82d4886f5303a06b26838e24b7db73afc59e228985"
    body = (folder / f"tx_{txid}_outspends.json").read_bytes()
    server.override[f"/tx/{txid}/outspends"] = (200, body)
    try:
        with Workspace.open(ws_path, write=True) as ws, EsploraClient(server.url) as client:
            spends = EsploraFetcher(ws, client).outspends([txid])
            row = ws.con.execute(
                "select sha256, archived from provenance where source like '%/outspends'"
            ).fetchone()
    finally:
        del server.override[f"/tx/{txid}/outspends"]
    assert spends == {txid: [
        "4da22eff957b855c8bde2d8b61bdb9e10add799a04c709dd7142cc796cee0b65",
        "61585c400d8cfe490d3d3c6e1e3177edb9b6f43e337772530ab32ea4e54db3b4",
    ]}  # fmt: skip
    assert row is not None and row[0] == hashlib.sha256(body).hexdigest()
    assert gzip.decompress((ws_path / row[1]).read_bytes()) == body


def test_a_later_ingest_completes_a_partial_block(
    ws_path: Path, server: EsploraServer, tests_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A block held in part (one fetched transaction) is replaced by its whole copy."""
    w = ("-w", str(ws_path))
    run(capsys, *w, "ingest", "esplora", "--url", server.url, "--tx", TX_170, "--json")
    run(capsys, *w, "ingest", "btc-blocks", str(tests_data / "btc" / "blk00000_first1MB.dat"))
    with Workspace.open(ws_path) as ws:
        block = ws.con.execute(
            "select count(*), bool_or(partial), sum(tx_count) from blocks where height = 170"
        ).fetchone()
        assert block == (1, False, 2)
        txs = ws.con.execute(
            "select txid, count(*) from transactions where block_height = 170 "
            "group by txid order by txid"
        ).fetchall()
        assert txs == [(COINBASE_170, 1), (TX_170, 1)]
        assert ws.con.execute(
            "select count(*) from inputs where txid = ? and resolved", [TX_170]
        ).fetchone() == (1,)
