"""Account-model tracing per asset: FIFO and haircut computed by hand on small histories, then one
real USDT transfer of mainnet block 17,173,049 followed one hop.

The hand-built history (amounts in wei, see ``history``):

    block 100  O -> S 300                                  (clean, before the theft)
    block 101  V -> S 1000                                 (the source)
    block 102  S -> M 400, fee 10                          (fee first, then the value)
    block 103  S -> X 500 REVERTED, fee 20                 (moves nothing, pays the fee)
    block 104  S -> C 600, fee 5; inside it C -> X 600     (internal transfer, trace 0)
    block 105  M -> N 450, fee 10                          (M pays more than it received)

X is tagged as an exchange. Token transfers ride in the same transactions (V -> S 50 TOK in
block 101, S -> M 30 TOK in block 102) and never mix with the ETH queues.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaintrail.errors import (
    AmbiguousAssetError,
    InvalidTraceOptionError,
    NoPaymentsError,
    PolicyNotSupportedError,
    TransferNotFoundError,
    UnknownAssetError,
)
from chaintrail.trace import Stop
from chaintrail.trace.account_pools import FifoPool, HaircutPool
from chaintrail.trace.policies import Slice
from chaintrail.workspace import Workspace
from tests._cli import run
from tests.ethbuilder import EthChain, addr, tagpack

OTHER, V, S, M, X, C, N = (addr(n) for n in (1, 2, 3, 4, 5, 6, 7))
TOK = addr(0x70)


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    path = tmp_path / "ws"
    with Workspace.create(path) as ws:
        ch = EthChain(ws.con)
        txs = {
            "a": ch.tx(100, 0, OTHER, S, 300, fee=7),
            "b": ch.tx(101, 0, V, S, 1000, fee=3, tokens=((0, TOK, V, S, 50),)),
            "c": ch.tx(102, 0, S, M, 400, fee=10, tokens=((0, TOK, S, M, 30),)),
            "d": ch.tx(103, 0, S, X, 500, fee=20, status=0),
            "e": ch.tx(104, 0, S, C, 600, fee=5, internal=(("0", C, X, 600),)),
            "f": ch.tx(105, 0, M, N, 450, fee=10),
        }
        tags = tagpack(tmp_path / "tags.yaml", [(X, "Some Exchange", "exchange")])
        ws.tags.import_paths([tags], workers=1)
    return path, txs


def _flows(items: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return [(f["address"], f["reason"], f["amount"]) for f in items]


def test_fifo_by_hand_gas_first_reverted_internal_and_opening_balance(
    history: tuple[Path, dict[str, str]],
) -> None:
    path, txs = history
    with Workspace.open(path) as ws:
        r = ws.trace_account(asset="ETH", sources=[txs["b"]], policy="fifo").to_json()
    # S's queue: clean 300, then the source's 1000. Block 102: the fee 10 comes from the clean
    # front, then 400 = clean 290 + tainted 110 to M. Block 103 (reverted): only the fee 20,
    # tainted. Block 104: fee 5, then 600 to C, all tainted; C passes 600 on to X (an endpoint).
    # M's queue: clean 290, tainted 110. Fee 10 (clean), then 450 = clean 280 + tainted 110 +
    # 60 it never received in the store (opening balance unknown, clean) to N.
    # Left: S 1000-110-20-5-600 = 265, N 110.
    assert r["source_amount"] == 1000
    assert _flows(r["endpoints"]) == [(X, "attributed", 600)]
    end = r["endpoints"][0]
    assert (end["label"], end["category"], end["trace_address"], end["block_number"],
            end["hops"]) == ("Some Exchange", "exchange", "0", 104, 2)  # fmt: skip
    assert end["transaction_hash"] == txs["e"]
    assert sorted((u["address"], u["amount"]) for u in r["unspent"]) == [(S, 265), (N, 110)]
    assert r["fees"] == 20 + 5
    assert r["stopped"] == []
    assert [(o["address"], o["amount"], o["transaction_hash"]) for o in r["opening_unknown"]] == [
        (M, 60, txs["f"])
    ]
    assert r["conserved"] is True
    assert sum(r["amounts"].values()) == 1000
    assert r["policy"] == "fifo" and r["asset"]["symbol"] == "ETH"


def test_haircut_by_hand_largest_remainder(history: tuple[Path, dict[str, str]]) -> None:
    path, txs = history
    with Workspace.open(path) as ws:
        r = ws.trace_account(asset="eth", sources=[txs["b"] + ":-"], policy="haircut").to_json()
    # S holds clean 300 + tainted 1000. Fee 10: 3000/1300 -> 2 r400, 10000/1300 -> 7 r900; the
    # missing unit goes to the larger remainder: tainted 8. 400 of 298|992: 92 r520 and
    # 307 r770 -> tainted 308 to M. Fee 20 of 206|684: 4 r560, 15 r330 -> tainted 15. Fee 5 of
    # 201|669: 1 r135, 3 r735 -> tainted 4. 600 of 200|665: 138 r630, 461 r235 -> tainted 461
    # to C, on to X. M holds clean 92, tainted 308: fee 10 -> 2 r120, 7 r280 -> tainted 8;
    # then 450 of its 390: everything (tainted 300 to N) and 60 of unknown opening balance.
    assert _flows(r["endpoints"]) == [(X, "attributed", 461)]
    assert sorted((u["address"], u["amount"]) for u in r["unspent"]) == [
        (S, 665 - 461), (N, 300)
    ]  # fmt: skip
    assert r["fees"] == 8 + 15 + 4 + 8
    assert [(o["address"], o["amount"]) for o in r["opening_unknown"]] == [(M, 60)]
    assert sum(r["amounts"].values()) == r["source_amount"] == 1000


def test_token_and_eth_are_kept_apart(history: tuple[Path, dict[str, str]]) -> None:
    path, txs = history
    with Workspace.open(path) as ws:
        r = ws.trace_account(asset=TOK, sources=[txs["b"]]).to_json()
    assert r["source_amount"] == 50
    assert r["fees"] == 0  # gas is ETH, never paid from a token queue
    assert sorted((u["address"], u["amount"]) for u in r["unspent"]) == [(S, 20), (M, 30)]
    assert r["sources"][0]["log_index"] == 0


def test_hop_limit_stops_and_sources_by_address(history: tuple[Path, dict[str, str]]) -> None:
    path, txs = history
    with Workspace.open(path) as ws:
        r = ws.trace_account(asset="ETH", from_address=S, since=101, stop=Stop.hops(1)).to_json()
        everything = ws.trace_account(asset="ETH", from_address=S).to_json()
    assert [s["transaction_hash"] for s in r["sources"]] == [txs["b"]]
    # M and C are hop 1: not followed; what reached them is stopped there.
    assert sorted(_flows(r["stopped"])) == [(M, "hop_limit", 110), (C, "hop_limit", 600)]
    assert r["fees"] == 25 and r["unspent"] == [{"address": S, "amount": 265, "hops": 0,
                                                "by_source": {txs["b"] + ":-": 265}}]  # fmt: skip
    # Both payments S received are sources: O's 300 is traced too (it paid M's 290 + fee 10).
    assert everything["source_amount"] == 1300
    assert sum(everything["amounts"].values()) == 1300


def test_overlapping_sources_count_once(history: tuple[Path, dict[str, str]]) -> None:
    path, txs = history
    with Workspace.open(path) as ws:
        r = ws.trace_account(asset="ETH", sources=[txs["b"], txs["f"]]).to_json()
    # M -> N 450 carries 110 of b's value (FIFO, as above): only the other 340 are f's own.
    own = {s["transaction_hash"]: (s["amount"], s["own_amount"]) for s in r["sources"]}
    assert own == {txs["b"]: (1000, 1000), txs["f"]: (450, 340)}
    assert r["source_amount"] == 1340 == sum(r["amounts"].values())
    n = next(u for u in r["unspent"] if u["address"] == N)
    assert n["by_source"] == {txs["b"] + ":-": 110, txs["f"] + ":-": 340}


def test_budget_exhausted_stops_what_is_still_moving(
    history: tuple[Path, dict[str, str]],
) -> None:
    path, txs = history
    with Workspace.open(path) as ws:
        r = ws.trace_account(asset="ETH", sources=[txs["b"]], budget=1).to_json()
    assert r["status"] == "BUDGET_EXHAUSTED"
    assert sorted(_flows(r["stopped"])) == [(M, "budget", 110), (C, "budget", 600)]
    assert sum(r["amounts"].values()) == 1000


def test_bad_sources_and_assets(history: tuple[Path, dict[str, str]]) -> None:
    path, txs = history
    with Workspace.open(path, write=True) as ws:
        with pytest.raises(TransferNotFoundError) as e:
            ws.trace_account(asset="ETH", sources=[txs["d"]])  # reverted: moved nothing
        assert e.value.tx_known
        with pytest.raises(TransferNotFoundError) as e:
            ws.trace_account(asset="ETH", sources=["0x" + "ab" * 32])
        assert not e.value.tx_known
        with pytest.raises(InvalidTraceOptionError):
            ws.trace_account(asset="ETH", sources=["0x1234:0"])
        with pytest.raises(InvalidTraceOptionError):
            ws.trace_account(asset=TOK, sources=[txs["b"] + ":x"])
        with pytest.raises(NoPaymentsError):
            ws.trace_account(asset="ETH", from_address=addr(99))
        with pytest.raises(PolicyNotSupportedError):
            ws.trace_account(asset="ETH", sources=[txs["b"]], policy="lifo")
        with pytest.raises(UnknownAssetError):
            ws.trace_account(asset="USDT", sources=[txs["b"]])
        other = addr(0x71)
        ws.con.execute(
            "insert into tokens values ('eth', ?, 'TOK', 'Token', 6, 'manual', null), "
            "('eth', ?, 'tok', 'Fake token', 6, 'manual', null)",
            [TOK, other],
        )
        with pytest.raises(AmbiguousAssetError) as amb:
            ws.trace_account(asset="TOK", sources=[txs["b"]])
        assert amb.value.candidates == sorted([TOK, other])
        ws.con.execute("delete from tokens where address = ?", [other])
        r = ws.trace_account(asset="tok", sources=[txs["b"] + ":0"])
    assert r.asset.symbol == "TOK" and r.asset.decimals == 6 and r.source_amount == 50


def test_pools_conserve_every_unit() -> None:
    h = HaircutPool()
    h.add([Slice("a", 1), Slice(None, 1), Slice("b", 1)])
    taken, short = h.take(2)
    assert short == 0 and sum(s.amount for s in taken) == 2
    assert sum(h.balances().values()) == 1
    f = FifoPool()
    f.add([Slice("a", 5), Slice("a", 5), Slice(None, 3)])
    taken, short = f.take(15)
    assert taken == [Slice("a", 10), Slice(None, 3)] and short == 2


USDT = "0xdac17f958d2ee523a2206206994597c13d831ec7"
EXPORT = "eth/etl-rpc-fixtures/test_stream/blocks_17173049_17173050"
SWAP = "0xdf39c8315cb99faf95f48374aa075873c29e5c121158dbe20d7cf5dcdfec9738"


@pytest.mark.realdata
def test_real_usdt_transfer_one_hop(tmp_path: Path, shared_data: Path) -> None:
    """Log 85 of SWAP pays 108,714.272823 USDT to 0xfd6c…; log 87 of the same transaction
    passes 108,453.358568 USDT on to 0x45f4… (expected_token_transfers.json). FIFO one hop:
    0x45f4… is where the hop limit stops it, the difference stays with 0xfd6c…."""
    text = (shared_data / EXPORT / "expected_token_transfers.json").read_text()
    expected = [json.loads(line) for line in text.splitlines() if line.strip()]
    rows = {(e["transaction_hash"], e["log_index"]): e for e in expected
            if e["token_address"] == USDT}  # fmt: skip
    first, second = rows[(SWAP, 85)], rows[(SWAP, 87)]
    assert first["to_address"] == second["from_address"]
    with Workspace.create(tmp_path / "ws") as ws:
        ws.eth_ingest.etl([shared_data / EXPORT])
        r = ws.trace_account(asset=USDT, sources=[f"{SWAP}:85"], stop=Stop.hops(1)).to_json()
    assert r["source_amount"] == int(first["value"]) == 108_714_272_823
    assert _flows(r["stopped"]) == [(second["to_address"], "hop_limit", int(second["value"]))]
    assert r["stopped"][0]["log_index"] == 87
    assert r["unspent"][0]["address"] == first["to_address"]
    assert r["unspent"][0]["amount"] == int(first["value"]) - int(second["value"]) == 260_914_255
    assert r["conserved"] is True and r["fees"] == 0


def test_cli_trace_chain_eth(
    history: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    path, txs = history
    w = ["-w", str(path), "trace"]
    out = json.loads(run(capsys, *w, "--chain", "eth", "--asset", "ETH", "--from", txs["b"],
                         "--policy", "haircut", "--json"))  # fmt: skip
    assert out["asset"]["symbol"] == "ETH" and out["policy"] == "haircut"
    assert [(f["address"], f["amount"]) for f in out["endpoints"]] == [(X, 461)]
    human = run(capsys, *w, "--chain", "eth", "--asset", "ETH", "--from-address", S)
    assert "accounted 1,300 of 1,300" in human
    err = run(capsys, *w, "--asset", "ETH", "--from", txs["b"], code=2)
    assert "account-model chain" in err
    err = run(capsys, *w, "--chain", "eth", "--from", txs["b"], code=2)
    assert "--asset" in err
    err = run(capsys, *w, "--chain", "eth", "--asset", "ETH", "--from", txs["b"], "--policy",
              "poison", code=1)  # fmt: skip
    assert "poison" in err


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.booleans(), st.sampled_from(["a", "b", None]), st.integers(0, 10**30)),
        max_size=30,
    )
)
def test_pools_conserve_under_any_history(steps: list[tuple[bool, str | None, int]]) -> None:
    for pool in (FifoPool(), HaircutPool()):
        held = 0
        for is_add, label, amount in steps:
            if is_add:
                pool.add([Slice(label, amount)])
                held += amount
                continue
            before = pool.balances()
            taken, short = pool.take(amount)
            assert sum(s.amount for s in taken) + short == amount
            assert short == max(0, amount - held)
            after = pool.balances()
            for s in taken:  # no label gives more than it held
                assert s.amount <= before.get(s.label, 0)
            held = max(0, held - amount)
            assert sum(after.values()) == held
