"""The simulated blocks: determinism, conservation, ids, addresses, and the ingest path."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from chaintrail.chains.btc.corejson import btc_to_sats, merkle_root
from chaintrail.chains.btc.script import address_to_script, classify
from chaintrail.sim import SimResult, simulate
from chaintrail.sim.economy import subsidy
from chaintrail.sim.keys import KINDS, KeyMaker
from chaintrail.sim.txbuild import build, estimate_vsize
from chaintrail.workspace import Workspace
from tests.sim.conftest import read_csv


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a = simulate("scam-wave", tmp_path / "a", seed=3, blocks=8)
    b = simulate("scam-wave", tmp_path / "b", seed=3, blocks=8)
    c = simulate("scam-wave", tmp_path / "c", seed=4, blocks=8)
    da, db, dc = _digest(a.out), _digest(b.out), _digest(c.out)
    assert da == db
    assert len(da) >= 12
    assert da["blocks/blocks-0000000.jsonl"] != dc["blocks/blocks-0000000.jsonl"]


def _sats(v: Any) -> int:
    assert isinstance(v, Decimal | int) and not isinstance(v, bool), v
    return btc_to_sats(v)


def test_values_conserve_and_coinbase_claims_at_most_subsidy_plus_fees(
    sim_blocks: list[dict[str, Any]],
) -> None:
    for block in sim_blocks:
        fees = 0
        for tx in block["tx"][1:]:
            ins = sum(_sats(i["prevout"]["value"]) for i in tx["vin"])
            outs = sum(_sats(o["value"]) for o in tx["vout"])
            assert ins - outs == _sats(tx["fee"]) >= 0
            fees += ins - outs
        coinbase = block["tx"][0]
        assert "coinbase" in coinbase["vin"][0]
        claimed = sum(_sats(o["value"]) for o in coinbase["vout"])
        assert claimed <= subsidy(block["height"]) + fees


def test_ids_headers_and_chain_are_consistent(sim_blocks: list[dict[str, Any]]) -> None:
    txids = [tx["txid"] for b in sim_blocks for tx in b["tx"]]
    assert len(txids) == len(set(txids))
    prev = None
    for i, b in enumerate(sim_blocks):
        assert b["height"] == i
        assert b["merkleroot"] == merkle_root([tx["txid"] for tx in b["tx"]])
        assert b.get("previousblockhash") == prev
        if prev is not None:
            assert sim_blocks[i - 1]["nextblockhash"] == b["hash"]
            assert b["time"] > sim_blocks[i - 1]["time"]
        prev = b["hash"]
        for tx in b["tx"]:
            raw = bytes.fromhex(tx["hex"])
            assert tx["size"] == len(raw)


def test_every_address_is_valid_for_its_script_type(sim: SimResult) -> None:
    rows = read_csv(sim.truth / "addresses.csv")
    kinds = {r["script_type"] for r in rows}
    assert set(KINDS.values()) <= kinds  # every script type the simulator makes occurs
    for r in rows:
        if r["script_type"] == "pubkey":
            continue  # the derived P2PKH address of a bare key: checked from the blocks below
        script = address_to_script(r["address"])
        assert classify(script) == (r["script_type"], r["address"])


def test_output_scripts_classify_to_the_stated_type_and_address(
    sim_blocks: list[dict[str, Any]],
) -> None:
    seen = 0
    for b in sim_blocks:
        for tx in b["tx"]:
            for o in tx["vout"]:
                spk = o["scriptPubKey"]
                kind, address = classify(bytes.fromhex(spk["hex"]))
                assert kind == spk["type"]
                if "address" in spk:
                    assert address == spk["address"]
                seen += 1
    assert seen > 1000


@pytest.mark.parametrize("kinds", [list(KINDS), ["p2wpkh"], ["p2pkh", "p2pk"], ["p2tr"] * 300])
def test_the_fee_estimate_is_the_vsize_of_the_bytes(kinds: list[str]) -> None:
    import random

    maker = KeyMaker(random.Random(5))
    keys = [maker.make(k, 0) for k in kinds]
    spends = [maker.spend(k) for k in keys]
    outs = [maker.make(k, 0).script for k in ("p2wsh", "p2pkh", "p2tr")]
    tx = build(
        version=2,
        inputs=[(bytes(32), i, sig, 0xFFFFFFFD) for i, (sig, _) in enumerate(spends)],
        witnesses=[w for _, w in spends],
        outputs=[(1000, s) for s in outs],
        locktime=0,
    )
    assert estimate_vsize(kinds, outs) == tx.vsize


def test_ingest_stores_exactly_what_the_simulator_wrote(
    sim: SimResult, sim_blocks: list[dict[str, Any]], tmp_path: Path
) -> None:
    with Workspace.create(tmp_path / "ws") as ws:
        report = ws.ingest.files([sim.out / "blocks"])
        assert report.blocks_added == len(sim_blocks) == sim.blocks
        assert report.transactions_added == sim.transactions  # coinbases included
        con = ws.con
        assert con.execute("select count(*) from blocks where not merkle_verified").fetchone() == (
            0,
        )
        unresolved = con.execute(
            "select count(*) from inputs where not is_coinbase and value is null"
        ).fetchone()
        assert unresolved == (0,)
        stored = set(con.execute("select txid, vout, value, address from outputs").fetchall())
        spent = set(
            con.execute(
                "select spent_txid, spent_vout, value, address from inputs where not is_coinbase"
            ).fetchall()
        )
    expected = set()
    expected_spent = set()
    for b in sim_blocks:
        for tx in b["tx"]:
            for n, o in enumerate(tx["vout"]):
                expected.add((tx["txid"], n, _sats(o["value"]), _address(o["scriptPubKey"])))
            for i in tx["vin"]:
                if "prevout" in i:
                    p = i["prevout"]
                    expected_spent.add(
                        (i["txid"], i["vout"], _sats(p["value"]), _address(p["scriptPubKey"]))
                    )
    assert stored == expected
    assert spent == expected_spent
    truth_addresses = {r["address"] for r in read_csv(sim.truth / "addresses.csv")}
    assert {a for *_, a in stored if a is not None} <= truth_addresses


def _address(spk: dict[str, Any]) -> str | None:
    if spk["type"] == "nulldata":
        return None
    return spk.get("address") or classify(bytes.fromhex(spk["hex"]))[1]
