"""The truth folder: CoinJoin shapes, change, FIFO flows, TagPack and victim reports."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

import yaml

from chaintrail.chains.btc.corejson import btc_to_sats
from chaintrail.cli import main
from chaintrail.sim import SimResult
from chaintrail.sim.actors import WHIRLPOOL_DENOMINATIONS
from chaintrail.sim.reports import COLUMNS, FLAWS
from tests.sim.conftest import read_csv


def _txs(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {tx["txid"]: tx for b in blocks for tx in b["tx"]}


def _ins(tx: dict[str, Any]) -> list[tuple[int, str]]:
    return [
        (btc_to_sats(i["prevout"]["value"]), i["prevout"]["scriptPubKey"]["hex"]) for i in tx["vin"]
    ]


def _outs(tx: dict[str, Any]) -> list[tuple[int, str]]:
    return [(btc_to_sats(o["value"]), o["scriptPubKey"]["hex"]) for o in tx["vout"]]


def _sybil(ins: list[tuple[int, str]]) -> bool:
    """REFERENCE §3: one address supplies >= 2 inputs and more than 10% of them."""
    top = max(Counter(s for _, s in ins).values())
    return top >= 2 and top * 10 > len(ins)


def test_coinjoin_shapes_follow_reference_section_3(
    sim: SimResult, sim_blocks: list[dict[str, Any]]
) -> None:
    txs = _txs(sim_blocks)
    rows = read_csv(sim.truth / "coinjoins.csv")
    kinds = Counter(r["kind"] for r in rows)
    assert set(kinds) == {
        "whirlpool",
        "whirlpool_tx0",
        "wasabi1",
        "wasabi2",
        "joinmarket",
        "fake_coinjoin",
    }, kinds
    for r in rows:
        tx = txs[r["txid"]]
        ins, outs = _ins(tx), _outs(tx)
        values = Counter(v for v, _ in outs)
        assert r["is_coinjoin"] == (
            "false" if r["kind"] in ("whirlpool_tx0", "fake_coinjoin") else "true"
        )
        if r["kind"] == "whirlpool":
            (d,) = values
            assert d in WHIRLPOOL_DENOMINATIONS and 5 <= len(ins) == len(outs) <= 8
            assert all(d <= v <= d + 110_000 for v, _ in ins)
            scripts = [s for _, s in ins + outs]
            assert len(set(scripts)) == len(scripts)
        elif r["kind"] == "whirlpool_tx0":
            assert sum(1 for o in tx["vout"] if o["scriptPubKey"]["type"] == "nulldata") == 1
        elif r["kind"] == "wasabi1":
            d, n = values.most_common(1)[0]
            assert abs(d - 10_000_000) <= 500_000 and n >= 3 and len(ins) >= 10
        elif r["kind"] == "wasabi2":
            assert len(ins) >= 20 and all(v >= 5_000 for v, _ in outs)
            assert sum(1 for n in values.values() if n >= 2) >= 3
        elif r["kind"] == "joinmarket":
            d, n = values.most_common(1)[0]
            equal = [s for v, s in outs if v == d]
            assert n >= 3 and n <= len({s for _, s in ins}) and len(set(equal)) == n
        if r["kind"] == "fake_coinjoin":
            assert _sybil(ins)
        elif r["is_coinjoin"] == "true":
            assert not _sybil(ins)


def test_change_table_covers_every_spend_and_points_at_an_output(
    sim: SimResult, sim_blocks: list[dict[str, Any]]
) -> None:
    txs = _txs(sim_blocks)
    rows = read_csv(sim.truth / "change.csv")
    assert len(rows) == sim.transactions - sim.blocks  # every spend; coinbases have no change
    with_change = 0
    for r in rows:
        if r["change_vout"]:
            assert int(r["change_vout"]) < len(txs[r["txid"]]["vout"])
            with_change += 1
    assert with_change > len(rows) // 2


def test_fifo_flows_add_up_and_match_an_independent_replay(
    sim: SimResult, sim_blocks: list[dict[str, Any]]
) -> None:
    sources = read_csv(sim.truth / "victim_payments.csv")
    flows = read_csv(sim.truth / "flows.csv")
    assert {r["crime_id"].split("-")[0] for r in sources} == {"scam", "hack", "ransomware"}
    total: Counter[str] = Counter()
    for f in flows:
        total[f["source_id"]] += int(f["amount_sats"])
    for s in sources:
        assert total[s["source_id"]] == int(s["amount_sats"])
    assert {f["kind"] for f in flows} >= {"cash_out", "unspent", "fee"}
    assert _replay(sim, sim_blocks, sources) == {
        (f["source_id"], f["kind"], f["txid"], f["vout"]): int(f["amount_sats"]) for f in flows
    }


def _replay(
    sim: SimResult, blocks: list[dict[str, Any]], sources: list[dict[str, str]]
) -> dict[tuple[str, str, str, str], int]:
    """FIFO over the JSON blocks alone (REFERENCE §4), stopping at exchange addresses."""
    exchange = {
        r["address"]
        for r in read_csv(sim.truth / "addresses.csv")
        if r["entity_kind"] == "exchange"
    }
    taint: dict[tuple[str, int], list[list[Any]]] = {
        (s["txid"], int(s["vout"])): [[s["source_id"], int(s["amount_sats"])]] for s in sources
    }
    flows: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for b in blocks:
        for tx in b["tx"][1:]:
            keys = [(i["txid"], i["vout"]) for i in tx["vin"]]
            if not any(k in taint for k in keys):
                continue
            stream: list[list[Any]] = []
            for k, i in zip(keys, tx["vin"], strict=True):
                stream += taint.pop(k, None) or [[None, btc_to_sats(i["prevout"]["value"])]]
            for n, o in enumerate(tx["vout"]):
                need = btc_to_sats(o["value"])
                got: list[list[Any]] = []
                while need:
                    label, amount = stream[0]
                    part = min(need, amount)
                    got.append([label, part])
                    need -= part
                    if part == amount:
                        stream.pop(0)
                    else:
                        stream[0] = [label, amount - part]
                if all(label is None for label, _ in got):
                    continue
                spk = o["scriptPubKey"]
                if spk["type"] == "nulldata":
                    kind = "unspendable"
                elif spk.get("address") in exchange:
                    kind = "cash_out"
                else:
                    taint[(tx["txid"], n)] = got
                    continue
                for label, part in got:
                    if label is not None and part:
                        flows[(label, kind, tx["txid"], str(n))] += part
            for label, part in stream:
                if label is not None and part:
                    flows[(label, "fee", tx["txid"], "")] += part
    for (txid, n), slices in taint.items():
        for label, part in slices:
            if label is not None and part:
                flows[(label, "unspent", txid, str(n))] += part
    return dict(flows)


def test_tagpack_tags_part_of_the_services(sim: SimResult) -> None:
    pack = yaml.safe_load((sim.truth / "tagpack.yaml").read_text(encoding="utf-8"))
    for field in ("title", "creator", "description", "is_public", "tags", "currency", "confidence"):
        assert field in pack
    addresses = read_csv(sim.truth / "addresses.csv")
    owner = {r["address"]: r for r in addresses}
    exchange = {r["address"] for r in addresses if r["entity_kind"] == "exchange"}
    tagged = set()
    for tag in pack["tags"]:
        assert {"address", "label", "category"} <= set(tag)
        assert owner[tag["address"]]["entity_kind"] in ("exchange", "mixer", "coinjoin_coordinator")
        tagged.add(tag["address"])
    share = len(tagged & exchange) / len(exchange)
    assert 0.4 < share < 0.8


def test_reports_have_the_columns_and_the_flaws_their_truth_announces(sim: SimResult) -> None:
    reports = read_csv(sim.truth / "reports.csv")
    truth = {r["report_id"]: r for r in read_csv(sim.truth / "reports_truth.csv")}
    assert tuple(reports[0]) == COLUMNS
    assert len(reports) == len(truth) == sim.reports
    sources = {r["source_id"]: r for r in read_csv(sim.truth / "victim_payments.csv")}
    by_id = {r["report_id"]: r for r in reports}
    flaws = Counter(t["flaw"] for t in truth.values())
    assert set(flaws) <= set(FLAWS) and flaws["none"] > 0 and flaws["unrelated"] > 0
    langs = {r["country"] for r in reports}
    assert {"KR", "JP", "CN", "US"} <= langs
    for rid, r in by_id.items():
        t = truth[rid]
        src = sources.get(t["source_id"])
        if t["flaw"] == "none":
            assert r["tx_hash"] == src["txid"] and r["to_address"] == src["address"]
            assert btc_to_sats(_dec(r["amount"])) == int(src["amount_sats"])
        elif t["flaw"] == "hash_typo":
            diff = sum(a != b for a, b in zip(r["tx_hash"], src["txid"], strict=True))
            assert diff == 1
        elif t["flaw"] == "approximate_amount":
            assert r["amount"] != f"{int(src['amount_sats']) / 1e8:.8f}" and len(r["amount"]) < 10
        elif t["flaw"] == "missing_fields":
            assert sum(not r[c] for c in ("tx_hash", "from_address", "to_address")) == 2
        elif t["flaw"] == "duplicate":
            original = by_id[t["duplicate_of"]]
            assert {k: v for k, v in r.items() if k != "report_id"} == {
                k: v for k, v in original.items() if k != "report_id"
            }
        elif t["flaw"] == "unrelated":
            assert t["crime_id"] == "" and r["tx_hash"] not in {s["txid"] for s in sources.values()}


def _dec(text: str) -> Any:
    from decimal import Decimal

    return Decimal(text)


def test_cli_simulate_json_and_unknown_scenario(tmp_path: Any, capsys: Any) -> None:
    assert (
        main(
            [
                "simulate",
                "--scenario",
                "ransomware",
                "--blocks",
                "6",
                "--seed",
                "2",
                "-o",
                str(tmp_path / "r"),
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is True and out["blocks"] == 6 and out["transactions"] > 0
    for key in (
        "addresses",
        "entities",
        "coinjoins",
        "victims",
        "reports",
        "seconds",
        "block_files",
        "truth",
    ):
        assert key in out
    assert main(["simulate", "--scenario", "nope", "-o", str(tmp_path / "n"), "--json"]) == 2
    err = json.loads(capsys.readouterr().out)
    assert err["code"] == "unknown_scenario" and "scam-wave" in err["hint"]
