"""Case triage of Ethereum victim reports, end to end against a real node (Anvil).

Three victims pay two scam addresses in ether and in a USDT-like token with an issuer blacklist
(``BlacklistToken``); the funds meet at one hop address, which pays two exchange deposit
addresses; those forward to the exchange's tagged hot wallet. The hop keeps part of the money,
and the issuer then blacklists it. The victims' reports (a CSV with ``chain`` ETH; ether reports
by txid, token reports by addresses and amount) are imported, verified and triaged:

- one case (the same scam address; the second scam address by convergence at the hop);
- endpoints at the two detected deposit addresses with the exchange's label, exact amounts;
- ``recoverable`` = the deposits plus what the hop and scam addresses still hold, per asset;
- ``frozen_amount`` = the token the blacklisted hop holds (read with ``eth_call``).

Scam-side addresses are fresh (``--auto-impersonate``): they hold nothing before the scenario,
so every unit they move is the victims'.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chaintrail.settings import Settings
from chaintrail.workspace import Workspace
from tests.anvil import Anvil, calldata, cli, compile_contracts, missing_tools
from tests.ethbuilder import tagpack

_MISSING = missing_tools()
pytestmark = pytest.mark.skipif(_MISSING is not None, reason=f"Anvil tests: {_MISSING}")

ETHER = 10**18
USD = 10**6
SUPPLY = 1_000_000 * USD


def fresh(name: str) -> str:
    """A deterministic address nobody holds a key for (sent from by impersonation)."""
    return "0x" + name.encode().hex().ljust(40, "0")[:40]


SCAM, SCAM2, HOP = fresh("scam"), fresh("scam2"), fresh("hop")
DEPOSIT1, DEPOSIT2, HOT = fresh("deposit1"), fresh("deposit2"), fresh("hot")


@dataclass
class Played:
    node: Anvil
    token: str
    victims: list[str]
    txs: dict[str, str]

    def fee(self, tx: str) -> int:
        r = self.node.receipt(tx)
        return int(r["gasUsed"], 16) * int(r["effectiveGasPrice"], 16)

    def time(self, tx: str) -> datetime:
        block = self.node.rpc("eth_getBlockByNumber", self.node.receipt(tx)["blockNumber"], False)
        return datetime.fromtimestamp(int(block["timestamp"], 16), UTC)


def _play(node: Anvil) -> Played:
    contracts = compile_contracts()
    issuer, *victims = node.accounts[:4]
    token, _ = node.deploy(
        issuer, contracts["BlacklistToken"], ["string", "string", "uint8", "uint256"],
        ["Tether USD", "USDT", 6, SUPPLY],
    )  # fmt: skip
    txs: dict[str, str] = {}

    def eth(key: str, sender: str, to: str, value: int) -> None:
        txs[key] = node.send(sender, to, value=value, gas=21_000)

    def usdt(key: str, sender: str, to: str, amount: int) -> None:
        data = calldata("transfer(address,uint256)", ["address", "uint256"], [to, amount])
        txs[key] = node.send(sender, token, data=data, gas=100_000)

    usdt("fund1", issuer, victims[0], 5_000 * USD)
    usdt("fund2", issuer, victims[1], 5_000 * USD)
    node.mine()
    eth("v1_eth", victims[0], SCAM, 2 * ETHER)
    eth("v2_eth", victims[1], SCAM, 1 * ETHER)
    eth("v3_eth", victims[2], SCAM2, ETHER // 2)
    usdt("v1_usdt", victims[0], SCAM, 2_000 * USD)
    usdt("v2_usdt", victims[1], SCAM, 1_000 * USD)
    node.mine()
    eth("scam_hop", SCAM, HOP, 25 * ETHER // 10)
    usdt("scam_hop_usdt", SCAM, HOP, 3_000 * USD)
    eth("scam2_hop", SCAM2, HOP, 4 * ETHER // 10)
    node.mine()
    eth("hop_d1", HOP, DEPOSIT1, ETHER)
    eth("hop_d2", HOP, DEPOSIT2, ETHER)
    usdt("hop_d1_usdt", HOP, DEPOSIT1, 1_000 * USD)
    usdt("hop_d2_usdt", HOP, DEPOSIT2, 1_000 * USD)
    node.mine()
    eth("d1_hot", DEPOSIT1, HOT, 99 * ETHER // 100)
    eth("d2_hot", DEPOSIT2, HOT, 99 * ETHER // 100)
    usdt("d1_hot_usdt", DEPOSIT1, HOT, 1_000 * USD)
    usdt("d2_hot_usdt", DEPOSIT2, HOT, 1_000 * USD)
    node.mine()
    # the issuer freezes the hop address, which still holds 1,000 USDT
    data = calldata("addBlackList(address)", ["address"], [HOP])
    txs["freeze"] = node.send(issuer, token, data=data, gas=100_000)
    node.mine()
    for key, tx in txs.items():
        assert int(node.receipt(tx)["status"], 16) == 1, key
    return Played(node, token, victims, txs)


@pytest.fixture(scope="module")
def played() -> Iterator[Played]:
    with Anvil("--no-mining", "--auto-impersonate") as node:
        yield _play(node)


def _reports(p: Played, path: Path) -> Path:
    """The victims' reports: ether by txid, tokens by sender, recipient and amount."""
    when = (p.time(p.txs["v1_eth"]) + timedelta(days=1)).isoformat()
    v1, v2, v3 = p.victims
    rows = [
        f"E-1,{when},Ethereum,ETH,2,{p.txs['v1_eth']},{v1},{SCAM}",
        f"E-2,{when},ETH,ETH,1.0,{p.txs['v2_eth']},,",
        f"E-3,{when},eth,ETH,0.5,,{v3},{SCAM2}",
        f"E-4,{when},ERC-20,USDT,2000,,{v1},{SCAM}",
        f"E-5,{when},eth,Tether,1000.00,,,{SCAM}",
    ]
    path.write_text(
        "report_id,reported_at,chain,asset,amount,tx_hash,from_address,to_address\n"
        + "\n".join(rows) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def triaged(
    played: Played, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any], Any]:
    folder = tmp_path_factory.mktemp("eth-triage")
    ws_path = folder / "ws"
    cli("-w", str(ws_path), "init")
    tip = str(played.node.block_number())
    cli("-w", str(ws_path), "ingest", "eth-rpc", "--url", played.node.url, "--from", "0",
        "--to", tip, "--traces", "geth", "--json")  # fmt: skip
    settings = Settings(eth_rpc_url=played.node.url)
    with Workspace.open(ws_path, write=True, settings=settings) as ws:
        ws.tags.import_paths([tagpack(folder / "tags.yaml", [(HOT, "Kite Exchange", "exchange")])],
                             workers=1)  # fmt: skip
        assert ws.clusters.build_eth() is not None
        assert ws.cases.import_file(_reports(played, folder / "reports.csv")).accepted == 5
        verified = ws.cases.verify()
        report = ws.cases.triage()
    return ws_path, report.to_json(), verified


def test_token_and_ether_reports_are_verified_exactly(played: Played, triaged: Any) -> None:
    _, _, verified = triaged
    got = {v.report_id: v for v in verified.results}
    assert {r: v.status for r, v in got.items()} == dict.fromkeys(got, "verified")
    assert got["E-3"].txid == played.txs["v3_eth"] and got["E-3"].method == "address_amount"
    token_log = int(played.node.receipt(played.txs["v1_usdt"])["logs"][0]["logIndex"], 16)
    assert (got["E-4"].txid, got["E-4"].vout) == (played.txs["v1_usdt"], token_log)
    assert got["E-5"].txid == played.txs["v2_usdt"] and got["E-5"].reasons == ()
    assert verified.verified_amount == {"ETH": 35 * ETHER // 10, "USDT": 3_000 * USD}


def test_one_case_with_endpoints_at_the_exchange_deposits(played: Played, triaged: Any) -> None:
    _, report, _ = triaged
    (case,) = report["cases"]
    assert case["case_id"] == "SCHEME-E-1" and case["victims"] == 5
    assert case["asset"] == ["ETH", "USDT"] and case["traced"] is True
    reasons = {(m["report_b"], m["reason"]) for m in case["merges"]}
    assert ("E-3", "convergence") in reasons  # paid another scam address; met at the hop
    meet = next(m for m in case["merges"] if m["reason"] == "convergence")
    assert meet["address"] == HOP
    ends = {(e["asset"], e["address"]): e for e in case["endpoints"]}
    assert set(ends) == {(a, d) for a in ("ETH", "USDT") for d in (DEPOSIT1, DEPOSIT2)}
    for (asset, _), e in ends.items():
        assert e["label"] == "Kite Exchange" and e["hot_wallet"] == HOT
        assert e["category"] == "exchange" and e["recoverable"] is True
        assert e["amount"] == (ETHER if asset == "ETH" else 1_000 * USD)
    usdt_end = ends[("USDT", DEPOSIT1)]
    assert usdt_end["transaction_hash"] == played.txs["hop_d1_usdt"]
    assert usdt_end["outputs"] == [f"{played.txs['hop_d1_usdt']}:{usdt_end['log_index']}"]
    assert {(x["label"], x["asset"], x["amount"]) for x in case["exchanges"]} == {
        ("Kite Exchange", "ETH", 2 * ETHER), ("Kite Exchange", "USDT", 2_000 * USD),
    }  # fmt: skip


def test_amounts_per_asset_recoverable_and_frozen(played: Played, triaged: Any) -> None:
    _, report, _ = triaged
    (case,) = report["cases"]
    fees = sum(played.fee(played.txs[k]) for k in (
        "scam_hop", "scam_hop_usdt", "scam2_hop", "hop_d1", "hop_d2", "hop_d1_usdt",
        "hop_d2_usdt",
    ))  # fmt: skip
    left = 35 * ETHER // 10 - 2 * ETHER - fees  # what the scam and hop addresses still hold
    assert case["reported_amount"] == {"ETH": 35 * ETHER // 10, "USDT": 3_000 * USD}
    assert case["verified_amount"] == case["reported_amount"]
    assert case["unspent_amount"] == {"ETH": left, "USDT": 1_000 * USD}
    assert case["recoverable_amount"] == {"ETH": 2 * ETHER + left, "USDT": 3_000 * USD}
    assert case["frozen_amount"] == {"ETH": 0, "USDT": 1_000 * USD}
    assert case["freezable_amount"] == {"ETH": 0, "USDT": 0}
    traces = case["trace"]
    assert traces["ETH"]["amounts"]["fee"] == fees and traces["ETH"]["conserved"]
    freeze = traces["USDT"]["freeze"]
    assert freeze["function"] == "isBlackListed(address)"
    assert freeze["holders"] == [{"address": HOP, "status": "frozen", "amount": 1_000 * USD,
                                  "frozen_amount": 1_000 * USD, "balance": 1_000 * USD,
                                  "blacklisted": True}]  # fmt: skip
    assert report["parameters"]["freeze_status"] is True


def test_cli_triage_json_is_stable(triaged: Any) -> None:
    ws_path, report, _ = triaged
    again = json.loads(cli("-w", str(ws_path), "cases", "triage", "--json"))
    (case,) = again["cases"]
    (first,) = report["cases"]
    # without a node setting the freeze status is not read; everything else is the same
    assert case["frozen_amount"] == {"ETH": 0, "USDT": 0}
    for key in ("endpoints", "unspent_amount", "recoverable_amount", "merges", "report_ids"):
        assert case[key] == first[key], key


def test_a_symbol_means_the_issuers_contract_not_a_look_alike(tmp_path: Path) -> None:
    """Hand-built store: the real USDT contract and a look-alike with the same symbol and
    decimals both paid the scam address 500 USDT; the report by address and amount matches the
    real one only. A token named by its address is found; a symbol the store lacks is not."""
    from chaintrail.cases.eth_payments import CANONICAL_TOKENS, token_addresses
    from tests.ethbuilder import EthChain, addr

    real, fake = CANONICAL_TOKENS["USDT"], addr(0xFA4E)
    victim, scam = addr(0x1), addr(0x5CA)
    with Workspace.create(tmp_path / "ws") as ws:
        chain = EthChain(ws.con)
        paid = chain.tx(10, 0, victim, real, tokens=((3, real, victim, scam, 500 * USD),))
        chain.tx(10, 1, addr(0x2), fake, tokens=((4, fake, addr(0x2), scam, 500 * USD),))
        for token in (real, fake):
            ws.con.execute(
                "insert into tokens values ('eth', ?, 'USDT', 'Tether USD', 6, 'manual', null)",
                [token],
            )
        assert token_addresses(ws.con, "USDT", 6) == [real]
        assert token_addresses(ws.con, "0X" + fake[2:].upper(), None) == [fake]
        assert token_addresses(ws.con, "USDC", 6) == []
        reports = tmp_path / "r.csv"
        reports.write_text(
            "report_id,reported_at,chain,asset,amount,tx_hash,from_address,to_address\n"
            f"U-1,2024-01-02T00:00:00+00:00,eth,USDT,500,,,{scam}\n"
            f"U-2,2024-01-02T00:00:00+00:00,eth,USDC,500,,,{scam}\n",
            encoding="utf-8",
        )
        ws.cases.import_file(reports)
        got = {v.report_id: v for v in ws.cases.verify().results}
    assert (got["U-1"].status, got["U-1"].txid, got["U-1"].vout) == ("verified", paid, 3)
    assert got["U-1"].reasons == ()  # the look-alike's payment is no candidate
    assert got["U-2"].reasons == ("asset_not_supported",)


def test_cluster_ids_of_two_chains_never_merge_reports() -> None:
    from chaintrail.cases.grouping import Member, group

    same = [
        Member("B-1", "aa" * 32 + ":0", "bc1qone", cluster_id=1),
        Member("B-2", "bb" * 32 + ":0", "bc1qtwo", cluster_id=1),
        Member("E-1", "0x" + "cc" * 32 + ":-", SCAM, cluster_id=1, asset="ETH", chain="eth"),
    ]
    schemes = group(same)
    assert [s.report_ids for s in schemes] == [("B-1", "B-2"), ("E-1",)]
    assert schemes[0].merges[0].reason == "same_cluster"
