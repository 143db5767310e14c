"""``ingest eth-etl``: mainnet blocks 17,173,049-17,173,050 from ethereum-etl's JSON export.

The export holds blocks, transactions (with their receipts) and logs; chaintrail decodes the
token transfers itself and must arrive at exactly ethereum-etl's ``expected_token_transfers.json``
(291 rows, 9 of them ERC-721 transfers whose value is a token id).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from chaintrail.workspace import Workspace
from tests._cli import run

pytestmark = pytest.mark.realdata

EXPORT = "eth/etl-rpc-fixtures/test_stream/blocks_17173049_17173050"


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def export(shared_data: Path) -> Path:
    return shared_data / EXPORT


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, export: Path) -> Path:
    path = tmp_path_factory.mktemp("eth") / "ws"
    with Workspace.create(path) as ws:
        report = ws.eth_ingest.etl([export])
    assert report.to_json()["rejects_added"] == 0
    return path


def test_the_export_lands_whole(loaded: Path) -> None:
    with Workspace.open(loaded) as ws:
        counts = {
            t: ws.con.execute(f"select count(*) from {t}").fetchall()[0][0]
            for t in ("eth_blocks", "eth_transactions", "eth_receipts", "eth_logs")
        }
    assert counts == {"eth_blocks": 2, "eth_transactions": 298, "eth_receipts": 298,
                      "eth_logs": 681}  # fmt: skip


def test_token_transfers_equal_ethereum_etl_exactly(loaded: Path, export: Path) -> None:
    expected = _lines(export / "expected_token_transfers.json")
    assert len(expected) == 291
    with Workspace.open(loaded) as ws:
        rows = ws.con.execute(
            "select token_address, from_address, to_address, value, transaction_hash, "
            "log_index, block_number, block_hash, token_standard, value_u128 "
            "from token_transfers order by block_number, log_index"
        ).fetchall()
    keys = ("token_address", "from_address", "to_address", "value", "transaction_hash",
            "log_index", "block_number", "block_hash")  # fmt: skip
    mine = [dict(zip(keys, (*r[:3], int(r[3]), *r[4:8]), strict=True)) for r in rows]
    assert mine == [{k: e[k] for k in keys} for e in expected]
    assert all(r[9] == int(r[3]) for r in rows if int(r[3]) < 2**128)
    erc721 = [r for r in rows if r[8] == "erc721"]
    assert len(erc721) == 9
    assert {r[8] for r in rows} == {"erc20", "erc721"}


def test_erc721_rows_are_the_four_topic_logs(loaded: Path, export: Path) -> None:
    four = {
        (log["transaction_hash"], log["log_index"]): int(str(log["topics"][3]), 16)  # type: ignore[index]
        for log in _lines(export / "expected_logs.json")
        if len(log["topics"]) == 4  # type: ignore[arg-type]
        and log["topics"][0] == "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"  # type: ignore[index]
    }
    with Workspace.open(loaded) as ws:
        rows = ws.con.execute(
            "select transaction_hash, log_index, value from token_transfers "
            "where token_standard = 'erc721'"
        ).fetchall()
    assert {(h, i): int(v) for h, i, v in rows} == four


def test_transactions_status_and_fee_match_the_export(loaded: Path, export: Path) -> None:
    expected = {str(t["hash"]): t for t in _lines(export / "expected_transactions.json")}
    with Workspace.open(loaded) as ws:
        rows = ws.con.execute(
            "select hash, value, gas, gas_price, nonce, status, gas_used, effective_gas_price, "
            "fee, transaction_type, from_address, to_address from eth_transactions"
        ).fetchall()
    assert len(rows) == len(expected) == 298
    for h, value, gas, price, nonce, status, used, eff, fee, kind, sender, to in rows:
        e = expected[h]
        assert (value, gas, price, nonce, status, used, eff, kind, sender, to) == (
            e["value"], e["gas"], e["gas_price"], e["nonce"], e["receipt_status"],
            e["receipt_gas_used"], e["receipt_effective_gas_price"], e["transaction_type"],
            e["from_address"], e["to_address"],
        )  # fmt: skip
        assert fee == e["receipt_gas_used"] * e["receipt_effective_gas_price"]  # type: ignore[operator]


def test_native_transfers_from_transaction_values(loaded: Path, export: Path) -> None:
    """Without traces, a block's ether movements are its transactions' values; a reverted
    transaction's row says it moved nothing (status 0)."""
    expected = {
        str(t["hash"]): (t["value"], t["receipt_status"])
        for t in _lines(export / "expected_transactions.json")
        if t["value"]
    }
    with Workspace.open(loaded) as ws:
        rows = ws.con.execute(
            "select transaction_hash, value, status, kind, source, trace_address "
            "from native_transfers"
        ).fetchall()
    assert {r[0]: (r[1], r[2]) for r in rows} == expected
    assert len(rows) == len(expected)
    assert {(r[3], r[4], r[5]) for r in rows} == {("transaction", "transaction", None)}


def test_reingest_adds_nothing(loaded: Path, export: Path) -> None:
    with Workspace.open(loaded, write=True) as ws:
        report = ws.eth_ingest.etl([export]).to_json()
        provenance = ws.con.execute("select count(*) from provenance").fetchall()[0][0]
    added = {k: v for k, v in report.items() if k.endswith("_added")}
    assert set(added.values()) == {0}
    assert report["files_read"] == 4
    assert provenance == 4  # one row per file, with its SHA-256


def test_provenance_names_each_file_and_its_sha256(loaded: Path, export: Path) -> None:
    import hashlib

    with Workspace.open(loaded) as ws:
        rows = dict(ws.con.execute("select source, sha256 from provenance").fetchall())
    for path in export.glob("*.json"):
        assert rows[str(path.resolve())] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_malformed_lines_are_kept_and_explained(
    tmp_path: Path, export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = (export / "expected_logs.json").read_text().splitlines()
    bad = json.loads(lines[0])
    bad["data"] = "0xZZ"
    lines[0] = json.dumps(bad)
    lines[1] = lines[1][:40]  # cut: not JSON
    damaged = tmp_path / "logs.json"
    damaged.write_text("\n".join(lines) + "\n")
    ws = str(tmp_path / "ws")
    run(capsys, "-w", ws, "init")
    report = json.loads(run(capsys, "-w", ws, "ingest", "eth-etl", str(damaged), "--json"))
    assert (report["logs_added"], report["rejects_added"]) == (679, 2)
    with Workspace.open(ws) as w:
        rejects = w.con.execute(
            "select kind, code, locator, reason from eth_rejects order by locator"
        ).fetchall()
    assert [(k, c, loc) for k, c, loc, _ in rejects] == [
        ("log", "malformed_eth_record", "line 1"),
        ("line", "invalid_eth_data", "line 2"),
    ]
    assert "data is '0xZZ', not hex bytes" in rejects[0][3]


def test_a_file_that_is_no_export_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], shared_data: Path
) -> None:
    ws = str(tmp_path / "ws")
    run(capsys, "-w", ws, "init")
    block = next((shared_data / "eth/ethereumjs-blocks").glob("*.json"))
    shutil.copy(block, tmp_path / "block.json")
    err = run(capsys, "-w", ws, "ingest", "eth-etl", str(tmp_path / "block.json"), code=2)
    assert "no ethereum-etl lines" in err
