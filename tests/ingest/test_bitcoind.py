"""The Bitcoin Core RPC client and source against a loopback node speaking real HTTP JSON-RPC.

The node (tests/rpcserver.py) serves real recorded responses (bitcoin-etl fixtures) and JSON
rendered from real mainnet blocks 0..438 by python-bitcoinlib (tests/corejson_builder.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import socket
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from chaintrail.chains.btc.model import SourcedBlock
from chaintrail.errors import (
    InvalidSourceDataError,
    NodeConfigError,
    RpcError,
    SourceAuthError,
    SourceUnavailableError,
)
from chaintrail.ingest.sources.base import BlockNodeSource
from chaintrail.ingest.sources.bitcoind import BitcoindClient, BitcoindSource
from tests.corejson_builder import dumps, read_blk, render_chain
from tests.rpcserver import ChainStore, RpcServer

ETL = Path(__file__).resolve().parent.parent / "data" / "etl"
PASSWORD = "s3cret-Pa55"


def _client(server: RpcServer, **kw: Any) -> BitcoindClient:
    kw.setdefault("user", "user")
    kw.setdefault("password", PASSWORD)
    kw.setdefault("backoff", 0.001)
    kw.setdefault("timeout", 5.0)
    return BitcoindClient(server.url, **kw)


def _server(store: ChainStore, **kw: Any) -> RpcServer:
    kw.setdefault("password", PASSWORD)
    return RpcServer(store, **kw)


@pytest.fixture(scope="module")
def etl_store() -> ChainStore:
    store = ChainStore.from_etl_fixtures(sorted((ETL / "bitcoin").iterdir()))
    store.chain_from_heights()
    return store


@pytest.fixture(scope="module")
def chain_store(shared_data: Path) -> ChainStore:
    """Mainnet blocks 0..438, verbosity 2 and 3 bodies as Bitcoin Core prints them."""
    raws = list(read_blk((shared_data / "btc/bitcoinj/first-100k-blocks.dat").read_bytes()))
    store = ChainStore()
    for verbosity in (2, 3):
        for block in render_chain(raws, verbosity=verbosity):
            store.add_block(block["hash"], block["height"], verbosity, dumps(block))
    store.chain_from_heights()
    return store


def _rows(sb: SourcedBlock) -> tuple[object, ...]:
    b = sb.block
    return (b.hash, b.height, b.merkle_verified, b.txs, b.inputs, b.outputs)


# --- client ------------------------------------------------------------------------------------


def test_single_calls_and_batches(etl_store: ChainStore) -> None:
    with _server(etl_store) as server, _client(server) as client:
        assert client.call("getblockcount") == 50002
        hashes = client.batch([("getblockhash", [h]) for h in (0, 1, 50000, 50001, 50002)])
        assert hashes[0] == "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
        assert hashes[3] == "000000001c920d495e1eeef2452b6d1c6c229a919b28196c103ecffebabee141"
        tx = client.call(
            "getrawtransaction",
            "0d37522b89f991f8433b80f709ad31862a54435cd003f25732fe405e9db93216",
            True,
        )
        assert tx["vout"][0]["value"] == Decimal("50.00000000")  # exact, never a float
        assert isinstance(tx["vout"][0]["value"], Decimal)
        with pytest.raises(RpcError) as e:
            client.call("getblockhash", 7)
        assert (e.value.rpc_code, e.value.rpc_message) == (-8, "Block height out of range")
        with pytest.raises(RpcError) as e:
            client.call("nosuchmethod")
        assert e.value.rpc_code == -32601
        replies = client.batch_replies([("getblockhash", [0]), ("getblockhash", [2])])
        assert replies[0].error is None and replies[1].error_code == -8
        assert client.retry_count == 0


def test_source_fetches_recorded_blocks_and_matches_bitcoin_etl(etl_store: ChainStore) -> None:
    # The responses were recorded from a node before Core 23: it answers verbosity 3 as 2.
    with (
        _server(etl_store, max_verbosity=2, old_node="ignore") as server,
        _client(server) as client,
    ):
        source = BitcoindSource(client)
        _: BlockNodeSource = source  # the protocol the pipeline drives
        assert source.tip_height() == 50002
        blocks = source.fetch_blocks([50001, 50002, 0])
    assert [b.block.height for b in blocks] == [50001, 50002, 0]
    assert all(sb.kind == "rpc" for sb in blocks)
    assert blocks[0].source == (
        f"{client.url} getblock 000000001c920d495e1eeef2452b6d1c6c229a919b28196c103ecffebabee141 3"
    )
    assert "answered without prevouts" in blocks[0].detail
    assert "answered without prevouts" not in blocks[1].detail  # coinbase only: no difference
    expected = {}
    path = ETL / "bitcoin/stream_50001_50002/expected_transactions.json"
    for line in path.read_text().splitlines():
        if line.strip():
            t = json.loads(line)
            expected[t["hash"]] = t
    for sb in blocks[:2]:
        b = sb.block
        assert b.merkle_verified and b.hash == expected[b.txs["txid"][0]]["block_hash"]
        assert b.txs["output_value"] == [expected[t]["output_value"] for t in b.txs["txid"]]
        assert b.outputs["value"] == [
            o["value"] for t in b.txs["txid"] for o in expected[t]["outputs"]
        ]
        assert b.outputs["address"] == [
            o["addresses"][0] for t in b.txs["txid"] for o in expected[t]["outputs"]
        ]
        assert [v for v in b.inputs["value"]] == [None] * len(b.inputs["value"])


@pytest.mark.realdata
def test_sha256_covers_the_exact_bytes_of_the_batch_element(chain_store: ChainStore) -> None:
    with _server(chain_store) as server, _client(server) as client:
        blocks = BitcoindSource(client, batch_size=4).fetch_blocks(list(range(170, 180)))
    for sb in blocks:
        body = chain_store.blocks[sb.block.hash].bodies[3]
        # The server sent exactly '{"result":<body>,"error":null,"id":N}' for this block.
        candidates = {
            hashlib.sha256(
                b'{"result":' + body + b',"error":null,"id":' + str(i).encode() + b"}"
            ).hexdigest(): i
            for i in range(64)
        }
        assert sb.sha256 in candidates
        assert sb.source == f"{client.url} getblock {sb.block.hash} 3"
        assert "sha256 of batch element" in sb.detail and "bytes " in sb.detail
        assert sb.retrieved_at == pytest.approx(time.time(), abs=60)


@pytest.mark.realdata
def test_verbosity_3_resolves_inputs(chain_store: ChainStore) -> None:
    with _server(chain_store) as server, _client(server) as client:
        source = BitcoindSource(client, batch_size=50)
        blocks = source.fetch_blocks(list(range(0, 439)))
    assert source.verbosity == 3
    assert [b.block.height for b in blocks] == list(range(439))
    assert all(b.block.merkle_verified for b in blocks)
    block170 = blocks[170].block  # the first bitcoin transaction: Satoshi → Hal Finney
    assert block170.inputs["value"] == [None, 5_000_000_000]
    assert block170.inputs["address"][1] == "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"
    assert block170.outputs["value"] == [5_000_000_000, 1_000_000_000, 4_000_000_000]


@pytest.mark.realdata
@pytest.mark.parametrize("old_node", ["error", "ignore"])
def test_old_node_falls_back_to_verbosity_2_once(chain_store: ChainStore, old_node: str) -> None:
    with (
        _server(chain_store, max_verbosity=2, old_node=old_node) as server,
        _client(server) as client,
    ):
        source = BitcoindSource(client, batch_size=10)
        first = source.fetch_blocks(list(range(165, 175)))
        second = source.fetch_blocks(list(range(175, 185)))
        asked = [p[1] for m, p in server.calls if m == "getblock"]
    b170 = first[5]
    assert b170.block.height == 170
    assert b170.block.inputs["value"] == [None, None]  # unresolved: no prevouts at verbosity 2
    if old_node == "error":  # Core >= 23 style refusal (-8): fall back once, remember
        assert source.verbosity == 2
        assert asked == [3] * 10 + [2] * 20
        assert all(sb.source.endswith(" 2") for sb in first + second)
    else:  # Core < 23 answers 3 as 2: asking 3 is harmless; detail says what came back
        assert source.verbosity == 3
        assert asked == [3] * 20
        assert "answered without prevouts" in b170.detail


@pytest.mark.realdata
def test_flaky_node_still_yields_every_block_exactly(chain_store: ChainStore) -> None:
    heights = list(range(0, 439))
    with _server(chain_store) as server, _client(server) as client:
        clean = BitcoindSource(client, batch_size=5).fetch_blocks(heights)
    with (
        _server(chain_store, failure_rate=0.05, seed=7) as server,
        _client(server, retries=8) as client,
    ):
        flaky = BitcoindSource(client, batch_size=5).fetch_blocks(heights)
        failures, requests = server.failures, server.requests
    assert failures >= 3  # ~5% of ~90 requests, half HTTP 503 and half dropped connections
    assert client.retry_count == failures  # every injected failure cost one retry, no more
    # 1 getblockchaininfo + 1 getblockhash batch + 88 getblock batches
    assert requests == failures + 1 + 1 + 88
    assert [_rows(b) for b in flaky] == [_rows(b) for b in clean]
    assert [b.sha256 for b in flaky] == [b.sha256 for b in clean]  # same request ids, same bytes


def test_auth_failure_is_immediate(etl_store: ChainStore) -> None:
    with _server(etl_store) as server, _client(server, password="wrong-pw", retries=5) as client:
        started = time.monotonic()
        with pytest.raises(SourceAuthError) as e:
            client.call("getblockcount")
        assert time.monotonic() - started < 2
        assert server.requests == 1 and client.retry_count == 0
    assert "wrong-pw" not in e.value.message and "wrong-pw" not in (e.value.hint or "")
    assert not e.value.retryable


def test_dead_port_is_unavailable_after_bounded_retries(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = BitcoindClient(
        f"http://user:{PASSWORD}@127.0.0.1:{port}/", retries=3, backoff=0.001, timeout=2.0
    )
    caplog.set_level(logging.WARNING)
    started = time.monotonic()
    with client, pytest.raises(SourceUnavailableError) as e:
        client.call("getblockcount")
    assert time.monotonic() - started < 5
    assert client.retry_count == 3
    assert "after 3 retries" in e.value.message and e.value.retryable
    assert client.url == f"http://127.0.0.1:{port}/"  # credentials stripped from the URL
    assert PASSWORD not in caplog.text and PASSWORD not in e.value.message
    assert PASSWORD not in repr(client)
    assert len([r for r in caplog.records if "retry" in r.getMessage()]) == 3


def test_timeouts_are_retried_then_unavailable(etl_store: ChainStore) -> None:
    with _server(etl_store, delay=1.0) as server, _client(server, retries=2, timeout=0.2) as c:
        with pytest.raises(SourceUnavailableError, match="timed out"):
            c.call("getblockcount")
        assert c.retry_count == 2


@pytest.mark.parametrize(
    "status, body, error, retried",
    [
        (200, b"<html>hello</html>", InvalidSourceDataError, False),
        (200, b'{"jsonrpc": "2.0"}', InvalidSourceDataError, False),
        (200, b"[1, 2, 3]", InvalidSourceDataError, False),
        (200, b'{"result": 1, "error": null, "id": 0}\x00junk', InvalidSourceDataError, False),
        (500, b"Internal Server Error", SourceUnavailableError, True),
        (502, b"<html>Bad Gateway</html>", SourceUnavailableError, True),
        (500, b'{"result":null,"error":{"code":-1,"message":"boom"},"id":0}', RpcError, False),
        (403, b"", SourceUnavailableError, False),
    ],
)
def test_garbage_and_http_errors(
    etl_store: ChainStore, status: int, body: bytes, error: type[Exception], retried: bool
) -> None:
    with _server(etl_store) as server, _client(server, retries=2) as client:
        server.forced_response = (status, body)
        with pytest.raises(error):
            BitcoindSource(client).tip_height()
        assert client.retry_count == (2 if retried else 0)


@pytest.mark.parametrize(
    "body",
    [
        b'[{"result": "00", "error": null, "id": 99}]',  # an id that was not asked
        b'[{"result": "nothex", "error": null, "id": 0}]',  # not a block hash
        b"[]",  # nothing answered
        b'[{"result": "' + b"00" * 32 + b'", "error": null, "id": 0}] trailing',
        b'{"result": [], "error": null, "id": 0}',  # not an array
        b"[{]",
    ],
)
def test_garbage_in_a_batch(etl_store: ChainStore, body: bytes) -> None:
    with _server(etl_store) as server, _client(server) as client:
        server.forced_response = (200, body)
        with pytest.raises(InvalidSourceDataError):
            BitcoindSource(client).block_hashes([0])


def test_whole_batch_refused_is_an_rpc_error(etl_store: ChainStore) -> None:
    with _server(etl_store) as server, _client(server) as client:
        server.forced_response = (
            500,
            b'{"result":null,"error":{"code":-32700,"message":"Parse error"},"id":null}',
        )
        with pytest.raises(RpcError, match="Parse error"):
            client.batch([("getblockcount", [])])


def test_block_hash_and_height_must_be_what_was_asked(etl_store: ChainStore) -> None:
    original = list(etl_store.chain)
    with _server(etl_store) as server, _client(server) as client:
        try:
            etl_store.set_chain([original[1], *original[1:]])  # the node claims block 1 at 0
            with pytest.raises(InvalidSourceDataError, match="is at height 1, not 0"):
                BitcoindSource(client).fetch_blocks([0])
        finally:
            etl_store.set_chain(original)


def test_best_chain_can_change_while_running(etl_store: ChainStore) -> None:
    original = list(etl_store.chain)
    with _server(etl_store) as server, _client(server) as client:
        source = BitcoindSource(client)
        assert source.tip_height() == 50002
        try:
            etl_store.set_chain(original[:50001])
            assert source.tip_height() == 50000
            with pytest.raises(RpcError, match="out of range"):
                source.block_hashes([50001])
        finally:
            etl_store.set_chain(original)
        assert source.block_hashes([50001]) == [original[50001]]


def test_cookie_file_auth(etl_store: ChainStore, tmp_path: Path) -> None:
    cookie = tmp_path / ".cookie"
    cookie.write_text("__cookie__:" + "ab" * 32)
    with (
        RpcServer(etl_store, user="__cookie__", password="ab" * 32) as server,
        BitcoindClient(server.url, cookie_file=cookie) as client,
    ):
        assert client.call("getblockcount") == 50002
        assert "ab" * 32 not in repr(client)
    with pytest.raises(NodeConfigError, match="cannot read the cookie file"):
        BitcoindClient(server.url, cookie_file=tmp_path / "missing" / ".cookie")
    (tmp_path / "bad").write_text("no colon here")
    with pytest.raises(NodeConfigError, match="not a cookie file"):
        BitcoindClient(server.url, cookie_file=tmp_path / "bad")
    with pytest.raises(NodeConfigError, match="either a cookie file or user/password"):
        BitcoindClient(server.url, user="u", password="p", cookie_file=cookie)
    with pytest.raises(NodeConfigError, match="both a user and a password"):
        BitcoindClient(server.url, user="u")
    with pytest.raises(NodeConfigError, match="http"):
        BitcoindClient("ftp://127.0.0.1:8332/")
