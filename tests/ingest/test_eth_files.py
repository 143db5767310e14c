"""``ingest eth-files``: saved JSON-RPC answers (blocks, receipts, logs, traces) into the store."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from chaintrail.workspace import Workspace
from tests._cli import run

pytestmark = pytest.mark.realdata

FIXTURES = "eth/etl-rpc-fixtures"


def _order(row: tuple[object, ...]) -> tuple[str, ...]:
    return tuple("" if v is None else str(v) for v in row)


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_block_and_receipts_give_status_fee_and_token_transfers(
    tmp_path: Path, shared_data: Path
) -> None:
    d = shared_data / FIXTURES
    with Workspace.create(tmp_path / "ws") as ws:
        # receipts first: the transactions pick them up when their block arrives
        first = ws.eth_ingest.files([d / "test_export_receipts_job/receipts_with_logs"])
        second = ws.eth_ingest.files([d / "test_export_blocks_job/block_with_logs"])
        # the same two logs again, from an eth_getFilterLogs answer: stored once
        third = ws.eth_ingest.files([d / "test_export_token_transfers_job/block_with_transfers"])
        txs = ws.con.execute(
            "select hash, status, gas_used, effective_gas_price, fee from eth_transactions "
            "order by transaction_index"
        ).fetchall()
        transfers = ws.con.execute(
            "select token_address, from_address, to_address, value, transaction_hash, "
            "log_index, block_number, token_standard from token_transfers order by log_index"
        ).fetchall()
        logs = ws.con.execute("select count(*) from eth_logs").fetchall()[0][0]
        natives = ws.con.execute(
            "select transaction_hash, value, status, kind from native_transfers order by 1"
        ).fetchall()
    assert first.to_json()["receipts_added"] == 4
    assert second.to_json()["transactions_added"] == 4
    assert third.to_json()["logs_added"] == 0 and third.files_read == 1
    assert logs == 2
    receipts = {r["transaction_hash"]: r for r in _csv(
        d / "test_export_receipts_job/receipts_with_logs/expected_receipts.csv")}  # fmt: skip
    for h, status, used, price, fee in txs:
        r = receipts[h]
        assert status is None  # pre-Byzantium (block 483,920): receipts carry a state root
        assert (used, price) == (int(r["gas_used"]), int(r["effective_gas_price"]))
        assert fee == used * price
    expected = _csv(d / "test_export_token_transfers_job/block_with_transfers"
                    / "expected_token_transfers.csv")  # fmt: skip
    assert [tuple(map(str, t[:7])) for t in transfers] == [tuple(e.values()) for e in expected]
    assert {t[7] for t in transfers} == {"erc20"}
    blocks = _csv(d / "test_export_blocks_job/block_with_logs/expected_transactions.csv")
    moving = sorted((b["hash"], int(b["value"])) for b in blocks if b["value"] != "0")
    assert [(h, v) for h, v, _, _ in natives] == moving
    assert {(s, k) for _, _, s, k in natives} == {(None, "transaction")}  # status unknown


@pytest.mark.parametrize("case", ("block_with_subtraces", "block_with_create", "block_with_error",
                                  "block_with_suicide"))  # fmt: skip
def test_trace_block_gives_the_ether_movements(
    tmp_path: Path, shared_data: Path, case: str
) -> None:
    folder = shared_data / FIXTURES / "test_export_traces_job" / case
    with Workspace.create(tmp_path / "ws") as ws:
        ws.eth_ingest.files([folder])
        rows = ws.con.execute(
            "select transaction_hash, from_address, to_address, value, kind, trace_address, "
            "status, source from native_transfers order by all"
        ).fetchall()
        # the same block from the other tracer adds nothing: one trace per block
        geth = shared_data / FIXTURES / "test_extract_geth_traces_job" / case
        again = ws.eth_ingest.files([geth]).to_json()
    expected = sorted(
        [(e["transaction_hash"] or None, e["from_address"] or None, e["to_address"],
         int(e["value"]), e["trace_type"], e["trace_address"], int(e["status"]), "parity")
        for e in _csv(folder / "expected_traces.csv")
        if e["value"] not in ("", "0") and e["call_type"] in ("", "call")],
        key=_order,
    )  # fmt: skip
    assert sorted(rows, key=_order) == expected
    assert rows
    assert again["native_transfers_added"] == 0


def test_geth_trace_without_amount_is_kept_as_reject(tmp_path: Path, shared_data: Path) -> None:
    folder = shared_data / FIXTURES / "test_extract_geth_traces_job" / "block_with_suicide"
    with Workspace.create(tmp_path / "ws") as ws:
        report = ws.eth_ingest.files([folder]).to_json()
        rejects = ws.con.execute("select kind, reason from eth_rejects").fetchall()
        rows = ws.con.execute("select count(*) from native_transfers").fetchall()[0][0]
    assert report["rejects_added"] == 1 and rows == 0  # the only call moves 0 wei
    assert rejects[0][0] == "trace" and "ether it moved is unknown" in rejects[0][1]
    # the folder's other files were looked at and passed over, with the reason
    assert {Path(s["path"]).name for s in report["files_skipped"]} == {"geth_traces.json"}


def test_cli_json_and_reingest(
    tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = str(tmp_path / "ws")
    run(capsys, "-w", ws, "init")
    blocks = shared_data / "eth/ethereumjs-blocks"
    out = json.loads(run(capsys, "-w", ws, "ingest", "eth-files", str(blocks), "--json"))
    assert (out["blocks_added"], out["transactions_added"]) == (3, 74)
    again = json.loads(run(capsys, "-w", ws, "ingest", "eth-files", str(blocks), "--json"))
    assert (again["blocks_added"], again["transactions_added"], again["files_read"]) == (0, 0, 3)


@pytest.mark.parametrize("case", ("token_with_alternative_return_type", "token_with_invalid_data"))
def test_token_metadata_from_eth_call_answers(tmp_path: Path, shared_data: Path, case: str) -> None:
    """name/symbol as ABI strings or bytes32, NULs stripped: ethereum-etl's expected tokens."""
    folder = shared_data / FIXTURES / "test_export_tokens_job" / case
    with Workspace.create(tmp_path / "ws") as ws:
        report = ws.eth_ingest.files([folder]).to_json()
        rows = ws.con.execute("select address, symbol, name, decimals, source from tokens")
        tokens = rows.fetchall()
    (expected,) = _csv(folder / "expected_tokens.csv")
    assert tokens == [(expected["address"], expected["symbol"], expected["name"],
                       int(expected["decimals"]), "eth_call")]  # fmt: skip
    assert report["tokens_added"] == 1 and report["files_read"] == 4  # 3 getters + a block
    reasons = {s["reason"] for s in report["files_skipped"]}  # type: ignore[attr-defined]
    assert "an eth_call of a function other than name, symbol or decimals" in reasons


def test_hash_only_block_is_skipped_and_reported(tmp_path: Path, shared_data: Path) -> None:
    path = next((shared_data / FIXTURES / "test_stream/blocks_508110_508110").glob(
        "web3_response.eth_getBlockByNumber_0x7c0ce_false.json"))  # fmt: skip
    with Workspace.create(tmp_path / "ws") as ws:
        report = ws.eth_ingest.files([path])
    assert report.files_read == 0
    assert "transaction hashes only" in report.files_skipped[0]["reason"]


def test_bad_files_are_refused_with_exit_2(
    tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = str(tmp_path / "ws")
    run(capsys, "-w", ws, "init")
    logs = shared_data / FIXTURES / "test_stream/blocks_17173049_17173050/expected_logs.json"
    err = run(capsys, "-w", ws, "ingest", "eth-files", str(logs), code=2)
    assert "not JSON" in err
    trace = tmp_path / "trace.json"  # a callTracer answer whose file name lost the block number
    shutil.copy(next((shared_data / FIXTURES / "test_extract_geth_traces_job/block_with_error")
                     .glob("web3_response.*.json")), trace)  # fmt: skip
    err = run(capsys, "-w", ws, "ingest", "eth-files", str(trace), code=2)
    assert "without its block number" in err
    error = tmp_path / "error.json"
    error.write_text('{"jsonrpc": "2.0", "id": 1, "error": {"code": -32000, "message": "x"}}')
    err = run(capsys, "-w", ws, "ingest", "eth-files", str(error), code=2)
    assert "JSON-RPC error answer" in err
