"""Trace sources from an address or cluster and a time window, on real 2009 blocks."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from chaintrail.errors import (
    ClustersNotBuiltError,
    InvalidTraceOptionError,
    NoPaymentsError,
)
from chaintrail.trace import Window
from chaintrail.workspace import Workspace

SATOSHI = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"  # paid by the block-9 coinbase
HAL = "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"
BLOCK9_COINBASE = "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9"
BLOCK170 = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"


@pytest.fixture(scope="module")
def blk(tests_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    path = tmp_path_factory.mktemp("sources") / "ws"
    with Workspace.create(path) as ws:
        ws.ingest.files([tests_data / "btc" / "blk00000_first1MB.dat"])
        ws.clusters.build()
    with Workspace.open(path) as w:
        yield w  # type: ignore[misc]


def test_window_bounds_parse_heights_dates_and_zoned_times() -> None:
    w = Window.parse("170", "2009-01-12")
    assert w.min_height == 170 and w.max_height is None
    assert w.max_time == datetime(2009, 1, 12, 23, 59, 59, 999_999, tzinfo=UTC)
    w = Window.parse("2009-01-12T12:30:25+09:00", 200)
    assert w.min_time == datetime(2009, 1, 12, 3, 30, 25, tzinfo=UTC) and w.max_height == 200
    assert Window.parse().is_open and not w.is_open
    for since, until in (("300", "200"), ("2009-02-01", "2009-01-31")):
        with pytest.raises(InvalidTraceOptionError, match="after"):
            Window.parse(since, until)
    for bad in ("2009-01-12T12:30:25", "yesterday", "12.5", "2009-13-01"):
        with pytest.raises(InvalidTraceOptionError):
            Window.parse(bad)


def test_payments_to_an_address_in_chain_order(blk: Workspace) -> None:
    # Satoshi's address got the block-9 coinbase and, as change, the outputs of blocks
    # 170-248; change is not a payment received, so only coinbase outputs count
    got = blk.received(address=SATOSHI)
    assert got == [f"{BLOCK9_COINBASE}:0"]
    assert blk.received(address=HAL) == [f"{BLOCK170}:0"]


def test_time_window_selects_by_block(blk: Workspace) -> None:
    # block 170 is 2009-01-12T03:30:25Z
    assert blk.received(address=HAL, since=170, until=170) == [f"{BLOCK170}:0"]
    assert blk.received(address=HAL, since="2009-01-12", until="2009-01-12") == [f"{BLOCK170}:0"]
    assert blk.received(address=HAL, since="2009-01-12T12:30:25+09:00") == [f"{BLOCK170}:0"]
    with pytest.raises(NoPaymentsError, match="received no payment since 2009-01-12T12:30:26"):
        blk.received(address=HAL, since="2009-01-12T12:30:26+09:00")
    with pytest.raises(NoPaymentsError, match="received no payment until 169"):
        blk.received(address=HAL, until=169)


def test_address_without_history_and_contradictions(blk: Workspace) -> None:
    with pytest.raises(NoPaymentsError, match="does not appear"):
        blk.received(address="1BitcoinEaterAddressDontSendf59kuE")
    with pytest.raises(InvalidTraceOptionError):
        blk.received(address=HAL, cluster=1)
    with pytest.raises(InvalidTraceOptionError):
        blk.received()
    assert NoPaymentsError.exit_code == 2 and InvalidTraceOptionError.exit_code == 2


def test_payments_to_a_cluster(blk: Workspace) -> None:
    row = blk.con.execute(
        "select c.cluster_id from clusters c join addresses a on a.id = c.address_id "
        "where a.address = ?",
        [HAL],
    ).fetchone()
    assert row is not None
    got = blk.received(cluster=int(row[0]))
    assert f"{BLOCK170}:0" in got
    # every outpoint pays an address of the cluster
    members = {
        r[0]
        for r in blk.con.execute(
            "select a.address from clusters c join addresses a on a.id = c.address_id "
            "where c.cluster_id = ?",
            [int(row[0])],
        ).fetchall()
    }
    for op in got:
        txid, vout = op.split(":")
        paid = blk.con.execute(
            "select address from outputs where txid = ? and vout = ?", [txid, int(vout)]
        ).fetchone()
        assert paid is not None and paid[0] in members
    with pytest.raises(NoPaymentsError):
        blk.received(cluster=10**9)


def test_cluster_sources_need_clusters(tmp_path: Path) -> None:
    with Workspace.create(tmp_path / "ws") as ws, pytest.raises(ClustersNotBuiltError):
        ws.received(cluster=0)
