"""Reports and freeze letters of an Ethereum case (ether and a USDT-like token), on a real node.

A victim pays a scam address 2 ETH and 2,000 USDT (a token with an issuer blacklist); the scam
address keeps 500 USDT and 0.5 ETH and pays the rest to a hop address, which pays an exchange
deposit address 1 ETH and 1,000 USDT and keeps the rest; the deposit address sweeps to the
exchange's tagged hot wallet. The issuer then blacklists the hop. After ingest, clustering and
triage (reading the freeze status from the node):

- the report states each asset's figures, flow, followed addresses and endpoints with the hot
  wallet, and the freeze status as triage read it (hop frozen, scam address freezable), in
  every language, byte for byte the same on a second rendering;
- ``freeze-requests`` writes one letter to the exchange (both assets; the annex names ether
  transfers by trace address and token transfers by log index) and one to the token's issuer
  for the freezable balance.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any

import pytest

from chaintrail.chains.eth.address import display
from chaintrail.report import LANGUAGES, render_report
from chaintrail.report.data import VALIDATION_FILE
from chaintrail.report.freeze import ANNEX_COLUMNS
from chaintrail.report.i18n import catalog
from chaintrail.report.pdf import cjk_fonts_present
from chaintrail.settings import Settings
from chaintrail.workspace import Workspace
from tests.anvil import Anvil, calldata, cli, compile_contracts, missing_tools
from tests.ethbuilder import tagpack

_MISSING = missing_tools()
pytestmark = pytest.mark.skipif(_MISSING is not None, reason=f"Anvil tests: {_MISSING}")

ETHER = 10**18
USD = 10**6


def fresh(name: str) -> str:
    """A deterministic address nobody holds a key for (sent from by impersonation)."""
    return "0x" + name.encode().hex().ljust(40, "0")[:40]


SCAM, HOP, DEPOSIT, HOT = fresh("rscam"), fresh("rhop"), fresh("rdeposit"), fresh("rhot")


@dataclass
class Case:
    workspace: Path
    figures: dict[str, Any]
    token: str
    txs: dict[str, str]


def eth(units: int) -> str:
    return f"{Decimal(units).scaleb(-18):,.18f}"


def usd(units: int) -> str:
    return f"{Decimal(units).scaleb(-6):,.6f}"


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Case]:
    folder = tmp_path_factory.mktemp("eth-report")
    with Anvil("--no-mining", "--auto-impersonate") as node:
        issuer, victim = node.accounts[:2]
        token, _ = node.deploy(
            issuer, compile_contracts()["BlacklistToken"], ["string", "string", "uint8", "uint256"],
            ["Tether USD", "USDT", 6, 1_000_000 * USD],
        )  # fmt: skip
        txs: dict[str, str] = {}

        def pay(key: str, sender: str, to: str, value: int) -> None:
            txs[key] = node.send(sender, to, value=value, gas=21_000)

        def usdt(key: str, sender: str, to: str, amount: int) -> None:
            data = calldata("transfer(address,uint256)", ["address", "uint256"], [to, amount])
            txs[key] = node.send(sender, token, data=data, gas=100_000)

        for step in (
            [("fund", issuer, victim, 5_000 * USD)],
            [("v_usdt", victim, SCAM, 2_000 * USD), ("v_eth", victim, SCAM, 2 * ETHER)],
            [("s_usdt", SCAM, HOP, 1_500 * USD), ("s_eth", SCAM, HOP, 3 * ETHER // 2)],
            [("h_usdt", HOP, DEPOSIT, 1_000 * USD), ("h_eth", HOP, DEPOSIT, ETHER)],
            [("d_usdt", DEPOSIT, HOT, 1_000 * USD), ("d_eth", DEPOSIT, HOT, 99 * ETHER // 100)],
        ):
            for key, sender, to, amount in step:
                (pay if key.endswith("eth") else usdt)(key, sender, to, amount)
            node.mine()
        data = calldata("addBlackList(address)", ["address"], [HOP])
        txs["freeze"] = node.send(issuer, token, data=data, gas=100_000)
        node.mine()
        assert all(int(node.receipt(tx)["status"], 16) == 1 for tx in txs.values())
        ws_path = folder / "ws"
        cli("-w", str(ws_path), "init")
        cli("-w", str(ws_path), "ingest", "eth-rpc", "--url", node.url, "--from", "0", "--to",
            str(node.block_number()), "--traces", "geth")  # fmt: skip
        block = node.rpc("eth_getBlockByNumber", node.receipt(txs["v_eth"])["blockNumber"], False)
        when = int(block["timestamp"], 16)
        with Workspace.open(ws_path, write=True, settings=Settings(eth_rpc_url=node.url)) as ws:
            tags = tagpack(folder / "tags.yaml", [(HOT, "Kite Exchange", "exchange")])
            ws.tags.import_paths([tags], workers=1)
            assert ws.clusters.build_eth() is not None
            reports = folder / "reports.csv"
            day = (datetime.fromtimestamp(when, UTC) + timedelta(days=1)).isoformat()
            reports.write_text(
                "report_id,reported_at,chain,asset,amount,tx_hash,from_address,to_address\n"
                f"R-1,{day},ETH,ETH,2,{txs['v_eth']},{victim},{SCAM}\n"
                f"R-2,{day},ETH,USDT,2000,{txs['v_usdt']},{victim},{SCAM}\n",
                encoding="utf-8",
            )
            assert ws.cases.import_file(reports).accepted == 2
            ws.cases.verify()
            (figures,) = ws.cases.triage().to_json()["cases"]
    yield Case(ws_path, json.loads(json.dumps(figures, default=str)), token, txs)


def test_the_triage_figures_behind_the_report(case: Case) -> None:
    f = case.figures
    assert f["asset"] == ["ETH", "USDT"]
    assert f["frozen_amount"]["USDT"] == 500 * USD and f["freezable_amount"]["USDT"] == 500 * USD
    assert {(e["asset"], e["address"], e["amount"]) for e in f["endpoints"]} == {
        ("ETH", DEPOSIT, ETHER), ("USDT", DEPOSIT, 1_000 * USD),
    }  # fmt: skip


@pytest.fixture(scope="module")
def html(case: Case) -> dict[str, str]:
    with Workspace.open(case.workspace) as ws:
        return {lang: render_report(ws, case.figures["case_id"], lang, "html").decode("utf-8")
                for lang in LANGUAGES}  # fmt: skip


@pytest.mark.parametrize("lang", LANGUAGES)
def test_report_states_each_asset(case: Case, html: dict[str, str], lang: str) -> None:
    body, t, f = html[lang], catalog(lang).t, case.figures
    for key in ("verified_amount", "recoverable_amount", "unspent_amount"):
        assert eth(f[key]["ETH"]) in body and usd(f[key]["USDT"]) in body, key
    assert f"{t('report.flow')} — ETH" in body and f"{t('report.flow')} — USDT" in body
    # people see addresses in their EIP-55 form (the token's has letters of both cases)
    assert display(case.token) != case.token and display(case.token) in body
    for key in ("v_eth", "v_usdt", "h_eth", "h_usdt"):  # sources and endpoint transfers
        assert case.txs[key] in body, key
    assert f"{case.txs['h_usdt']}:" in body and f"{case.txs['h_eth']}:-" in body
    for address in (SCAM, HOP, DEPOSIT, HOT):
        assert display(address) in body
    # the freeze status as triage read it: the hop frozen, the scam address freezable
    section = body.split(escape(t("report.freeze_status")))[1]
    rows = re.findall(r"<tr>(.*?)</tr>", section.split(escape(t("report.methodology")))[0], re.S)
    state = {a: r for r in rows for a in (HOP, SCAM) if display(a) in r and usd(500 * USD) in r}
    assert escape(t("report.freeze_frozen")) in state[HOP]
    assert escape(t("report.freeze_freezable")) in state[SCAM]
    assert escape(t("report.method_deposits")) in body


def test_report_is_deterministic(case: Case, html: dict[str, str]) -> None:
    with Workspace.open(case.workspace) as ws:
        again = render_report(ws, case.figures["case_id"], "ko", "html").decode("utf-8")
    assert again == html["ko"]


def test_pdf_report(case: Case, tmp_path: Path) -> None:
    if not cjk_fonts_present():
        pytest.skip("the Noto CJK fonts (fonts-noto-cjk) are not installed: run 'make sysdeps'")
    from tests.report.test_report import pdf_text

    out = tmp_path / "r.pdf"
    cli("-w", str(case.workspace), "report", case.figures["case_id"], "--lang", "ja",
        "--format", "pdf", "-o", str(out))  # fmt: skip
    text = pdf_text(out)
    assert re.search(r"[\u3040-\u30ff]", text)
    assert usd(1_000 * USD) in text and eth(ETHER) in text


def test_letters_to_the_exchange_and_the_issuer(case: Case, tmp_path: Path) -> None:
    out = tmp_path / "letters"
    got = json.loads(cli("-w", str(case.workspace), "freeze-requests", case.figures["case_id"],
                         "-o", str(out), "--json"))  # fmt: skip
    exchange, issuer = got["letters"]
    assert (exchange["kind"], exchange["exchange"]) == ("exchange", "Kite Exchange")
    assert exchange["amount"] == {"ETH": ETHER, "USDT": 1_000 * USD}
    assert exchange["deposit_addresses"] == [DEPOSIT]
    with (out / f"{exchange['letter']}.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == ANNEX_COLUMNS
    by_asset = {r["asset"]: r for r in rows}
    assert by_asset["ETH"]["txid"] == case.txs["h_eth"] and by_asset["ETH"]["trace_address"]
    assert by_asset["USDT"]["txid"] == case.txs["h_usdt"] and by_asset["USDT"]["log_index"]
    assert by_asset["USDT"]["token_contract"] == display(case.token)
    assert {r["asset"]: int(r["amount_base_units"]) for r in rows} == exchange["amount"]
    assert all(r["vout"] == "" and r["chain"] == "eth" for r in rows)
    assert issuer["kind"] == "issuer" and display(case.token) in issuer["exchange"]
    assert issuer["amount"] == {"USDT": 500 * USD} and issuer["deposit_addresses"] == [SCAM]
    letter = (out / f"{issuer['letter']}.html").read_text("utf-8")
    assert display(SCAM) in letter and display(HOP) not in letter  # the frozen hop needs none
    assert usd(500 * USD) in letter


def test_evidence_bundle_holds_the_ethereum_traces(case: Case, tmp_path: Path) -> None:
    out = tmp_path / "bundle.zip"
    cli("-w", str(case.workspace), "evidence", case.figures["case_id"], "-o", str(out))
    assert "verified" in cli("-w", str(case.workspace), "evidence", "verify", str(out))
    with zipfile.ZipFile(out) as zf:
        rows = list(csv.DictReader(io.StringIO(zf.read("account_transfers.csv").decode())))
        manifest = json.loads(zf.read("manifest.json"))
        provenance = list(csv.DictReader(io.StringIO(zf.read("provenance.csv").decode())))
    ends = {(r["asset"], r["transaction_hash"], int(r["amount"])) for r in rows
            if r["role"] == "endpoint"}  # fmt: skip
    assert ends == {("ETH", case.txs["h_eth"], ETHER), ("USDT", case.txs["h_usdt"], 1_000 * USD)}
    sources = {(r["asset"], r["transaction_hash"]) for r in rows if r["role"] == "source"}
    assert sources == {("ETH", case.txs["v_eth"]), ("USDT", case.txs["v_usdt"])}
    held = {(r["asset"], r["address"]): int(r["amount"]) for r in rows if r["role"] == "balance"}
    assert held[("USDT", SCAM)] == 500 * USD and held[("USDT", HOP)] == 500 * USD
    assert sum("equal the triage's" in n for n in manifest["notes"]) == 2
    # the node answers the transactions were read from are in the bundle, by SHA-256
    rpc = [r for r in provenance if r["kind"] == "rpc"]
    assert rpc and all(r["in_bundle"] == "True" for r in rpc)


def test_methodology_quotes_the_ethereum_error_rates(html: dict[str, str]) -> None:
    """An Ethereum case quotes the eth-exchanges scenario's measured rates (deposit detection,
    deposit-reuse clustering, the FIFO trace per kind of asset), not the Bitcoin ones."""
    results = json.loads(VALIDATION_FILE.read_text("utf-8"))
    eth = results["summary"]["eth-exchanges"]
    body, t = html["en"], catalog("en").t
    for label, stat in ((t("report.m_deposit_precision"), eth["deposits"]["precision"]),
                        (t("report.m_account_recall", asset="token"),
                         eth["tracing"]["token"]["address_recall"])):  # fmt: skip
        row = next(r for r in re.findall(r"<tr>(.*?)</tr>", body, re.S) if escape(label) in r)
        assert f"{stat['mean']:.4f}" in row and f"{stat['low']:.4f}–{stat['high']:.4f}" in row
    assert escape(t("report.m_trace_recall", policy="fifo")) not in body  # no Bitcoin trace
    assert "eth_deposit_reuse" in body
