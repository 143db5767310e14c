"""Path search fetches the missing middle of a path from an Esplora server.

The store holds the real blocks 0..190 of 2009 and, fetched on its own, the transaction of block
496 that paid 61 BTC to 1BBz9Z15…: the path from Satoshi's block-9 address to that payee runs
through block 248, which the store lacks. With the loopback server (tests/esploraserver.py)
the search must find exactly the paths the whole store gives.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from chaintrail.errors import NoPaymentsError
from chaintrail.ingest.sources.esplora import (
    EsploraClient,
    EsploraFetcher,
    TraceFetcher,
    fetch_txs,
)
from chaintrail.trace.paths import PathSearch, find_paths
from chaintrail.workspace import Workspace
from tests._cli import run
from tests.esploraserver import EsploraChain, EsploraServer, blk_blocks, blk_file

SATOSHI = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"  # paid by the block-9 coinbase
A3B0 = "a3b0e9e7cddbbe78270fa4182a7675ff00b92872d8df7d14265a2b1e379a9d33"  # block 496
A3B0_PAYEE = "1BBz9Z15YpELQ4QP5sEKb1SwxkcmPb5TMs"
CUT = 190


@pytest.fixture(scope="module")
def blocks(tests_data: Path) -> list[bytes]:
    return blk_blocks((tests_data / "btc" / "blk00000_first1MB.dat").read_bytes())


@pytest.fixture(scope="module")
def server(blocks: list[bytes]) -> Iterator[EsploraServer]:
    chain = EsploraChain()
    chain.add_blocks(blocks)
    with EsploraServer(chain) as s:
        yield s


@pytest.fixture(scope="module")
def full_ws(tmp_path_factory: pytest.TempPathFactory, tests_data: Path) -> Path:
    path = tmp_path_factory.mktemp("full") / "ws"
    with Workspace.create(path) as ws:
        ws.ingest.files([tests_data / "btc" / "blk00000_first1MB.dat"])
    return path


@pytest.fixture
def partial_path(tmp_path: Path, blocks: list[bytes], server: EsploraServer) -> Path:
    """Blocks 0..190 and the payment of block 496; the middle (block 248) is missing."""
    (tmp_path / "blk00000.dat").write_bytes(blk_file(blocks[: CUT + 1]))
    with Workspace.create(tmp_path / "ws") as ws:
        ws.ingest.files([tmp_path / "blk00000.dat"])
        fetch_txs(ws, server.url, [A3B0])
    return tmp_path / "ws"


@contextmanager
def _fetcher(ws: Workspace, url: str, **kw: Any) -> Iterator[TraceFetcher]:
    with EsploraClient(url, backoff=0, **kw) as client:
        yield TraceFetcher(EsploraFetcher(ws, client))


def _paths(found: PathSearch) -> list[dict[str, Any]]:
    return found.to_json()["paths"]


def test_fetching_fills_the_middle_of_a_path(
    full_ws: Path, partial_path: Path, server: EsploraServer
) -> None:
    with Workspace.open(full_ws) as ws:
        expected = find_paths(ws, SATOSHI, A3B0_PAYEE)
    assert expected.hops == 2 and [h.block_height for h in expected.paths[0].hops] == [248, 496]
    with Workspace.open(partial_path, write=True) as ws:
        # offline, only the longer route through blocks 183 and 187 is in the store
        offline = find_paths(ws, SATOSHI, A3B0_PAYEE, offline=True)
        assert offline.hops == 3 and offline.limits["fetch"] == {
            "enabled": False, "offline": True,
        }  # fmt: skip
        assert [h.block_height for h in offline.paths[0].hops] == [183, 187, 496]
        # fetching stays within the hop limit: one hop expands one side once
        with _fetcher(ws, server.url) as fetcher:
            short = find_paths(ws, SATOSHI, A3B0_PAYEE, max_hops=1, fetcher=fetcher)
        assert short.paths == () and short.limits["fetch"]["txs_fetched"] <= 3
        with _fetcher(ws, server.url) as fetcher:
            got = find_paths(ws, SATOSHI, A3B0_PAYEE, fetcher=fetcher)
        fetch = got.limits["fetch"]
        assert fetch["enabled"] is True and fetch["errors"] == [] and fetch["txs_fetched"] > 0
        assert got.hops == expected.hops and _paths(got) == _paths(expected)
        with _fetcher(ws, server.url) as fetcher:
            again = find_paths(ws, SATOSHI, A3B0_PAYEE, fetcher=fetcher)
        assert _paths(again) == _paths(expected) and again.limits["fetch"]["txs_fetched"] == 0


def test_server_down_finds_only_the_stored_paths_and_says_so(
    partial_path: Path, server: EsploraServer
) -> None:
    server.fail_next = 1_000
    try:
        with (
            Workspace.open(partial_path, write=True) as ws,
            _fetcher(ws, server.url, retries=1) as fetcher,
        ):
            got = find_paths(ws, SATOSHI, A3B0_PAYEE, fetcher=fetcher)
    finally:
        server.fail_next = 0
    assert got.hops == 3  # what the store holds, nothing more
    fetch = got.limits["fetch"]
    assert fetch["txs_fetched"] == 0 and len(fetch["errors"]) == 1
    assert "after 1 retries" in fetch["errors"][0]


def test_cli_paths_fetch(
    partial_path: Path, full_ws: Path, server: EsploraServer, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("paths", SATOSHI, A3B0_PAYEE, "--json")
    w = ("-w", str(partial_path))
    offline = json.loads(run(capsys, *w, *args, "--esplora-url", server.url, "--offline"))
    assert offline["hops"] == 3 and offline["limits"]["fetch"]["offline"] is True
    got = json.loads(run(capsys, *w, *args, "--esplora-url", server.url))
    expected = json.loads(run(capsys, "-w", str(full_ws), *args))
    assert got["paths"] == expected["paths"] and got["hops"] == 2
    assert got["limits"]["fetch"]["url"] == server.url


def test_the_ends_histories_are_fetched_first(
    tmp_path: Path, blocks: list[bytes], full_ws: Path, server: EsploraServer
) -> None:
    """A store of blocks 0..190 only: the payee's payment (block 496) is not stored at all, so
    offline the payee is unknown (``no_payments``); ``ws.paths`` with a server fetches the two
    addresses' histories first and finds the whole store's paths."""
    (tmp_path / "blk00000.dat").write_bytes(blk_file(blocks[: CUT + 1]))
    with Workspace.create(tmp_path / "ws") as ws:
        ws.ingest.files([tmp_path / "blk00000.dat"])
    with Workspace.open(full_ws) as ws:
        expected = ws.paths(SATOSHI, A3B0_PAYEE)
    with Workspace.open(tmp_path / "ws", write=True) as ws:
        with pytest.raises(NoPaymentsError):
            ws.paths(SATOSHI, A3B0_PAYEE, offline=True)
        got = ws.paths(SATOSHI, A3B0_PAYEE, esplora_url=server.url)
    assert got.hops == 2 and _paths(got) == _paths(expected)
    assert got.limits["fetch"]["errors"] == []
