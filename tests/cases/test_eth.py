"""Verifying Ether reports against real mainnet transactions in the Ethereum store."""

from __future__ import annotations

import csv

import pytest

from chaintrail.chains.eth.address import to_checksum as eip55
from chaintrail.workspace import Workspace

pytestmark = pytest.mark.realdata

BLOCK = "eth/etl-rpc-fixtures/test_export_blocks_job/block_with_logs"


def _ether(wei: int) -> str:
    whole, frac = divmod(wei, 10**18)
    return f"{whole}.{frac:018d}".rstrip("0")


def test_ether_reports_are_verified_to_the_wei(shared_data, tmp_path):
    with (shared_data / BLOCK / "expected_transactions.csv").open(newline="") as f:
        paid = [r for r in csv.DictReader(f) if int(r["value"]) > 0]
    small, big = sorted(paid, key=lambda r: int(r["value"]))
    typo = big["hash"][:20] + ("0" if big["hash"][20] != "0" else "1") + big["hash"][21:]
    when = "2015-11-05T00:00:00+09:00"
    lines = [
        f"E1,{when},ETH,ETH,{_ether(int(small['value']))},{small['hash']},,{small['to_address']}",
        f"E2,{when},ethereum,,{_ether(int(big['value']))},{typo},,{eip55(big['to_address'])}",
        f"E3,{when},eth,ETH,0.011,,{small['from_address']},",
        f"E4,{when},eth,USDT,100,,,{small['to_address']}",
        f"E5,{when},tron,USDT,100,,,TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
    ]
    reports = tmp_path / "eth.csv"
    reports.write_text(
        "report_id,reported_at,chain,asset,amount,tx_hash,from_address,to_address\n"
        + "\n".join(lines)
        + "\n",
        encoding="utf-8",
    )
    with Workspace.create(tmp_path / "ws") as ws:
        ws.eth_ingest.files([shared_data / BLOCK])
        assert ws.cases.import_file(reports).accepted == 5
        result = ws.cases.verify()
    got = {v.report_id: v for v in result.results}
    assert (got["E1"].status, got["E1"].method, got["E1"].reasons) == ("verified", "txid", ())
    assert got["E1"].verified_amount == int(small["value"])
    assert got["E2"].txid == big["hash"] and got["E2"].reasons == ("txid_typo_recovered",)
    assert got["E2"].verified_amount == int(big["value"]) == 1_530_219_620_000_000_000
    assert got["E3"].method == "address_amount" and got["E3"].txid == small["hash"]
    assert got["E3"].reasons == ("amount_differs", "duplicate_payment")  # E1's payment again
    assert got["E3"].duplicate_of == "E1"
    assert got["E3"].detail["difference"] == int(small["value"]) - 11 * 10**15
    assert got["E4"].reasons == ("asset_not_supported",)
    assert got["E5"].reasons == ("chain_not_supported",)
    assert result.verified_amount["ETH"] == int(small["value"]) + int(big["value"])
