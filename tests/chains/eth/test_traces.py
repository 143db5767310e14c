"""Block traces (parity ``trace_block`` and geth callTracer) against ethereum-etl's expected CSV."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from chaintrail.chains.eth.model import EthTrace
from chaintrail.chains.eth.traces import flatten_geth, flatten_parity

pytestmark = pytest.mark.realdata

FIXTURES = "eth/etl-rpc-fixtures"
CASES = ("block_with_subtraces", "block_with_create", "block_with_error", "block_with_suicide",
         "block_without_transactions")  # fmt: skip
COMMON = ("transaction_index", "from_address", "to_address", "value", "trace_type", "call_type",
          "reward_type", "gas", "gas_used", "subtraces", "trace_address", "error")  # fmt: skip


def _row(t: EthTrace) -> dict[str, str]:
    values = {
        "transaction_hash": t.transaction_hash, "transaction_index": t.transaction_index,
        "from_address": t.from_address, "to_address": t.to_address, "value": t.value,
        "trace_type": t.trace_type, "call_type": t.call_type, "reward_type": t.reward_type,
        "gas": t.gas, "gas_used": t.gas_used, "subtraces": t.subtraces,
        "trace_address": ",".join(map(str, t.trace_address)), "error": t.error,
        "status": t.status, "block_number": t.block_number,
    }  # fmt: skip
    return {k: "" if v is None else str(v) for k, v in values.items()}


def _expected(folder: Path) -> list[dict[str, str]]:
    with (folder / "expected_traces.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def _parity(folder: Path) -> list[EthTrace]:
    (path,) = folder.glob("web3_response.trace_block_*.json")
    rows, rejects = flatten_parity(json.loads(path.read_text())["result"])
    assert rejects == []
    return rows


def _geth(folder: Path) -> list[EthTrace]:
    (path,) = folder.glob("web3_response.debug_traceBlockByNumber_*.json")
    match = re.search(r"ByNumber_(0x[0-9a-f]+)", path.name)
    assert match
    rows, rejects = flatten_geth(
        json.loads(path.read_text())["result"], block_number=int(match.group(1), 16)
    )
    assert rejects == []
    return rows


@pytest.mark.parametrize("case", CASES)
def test_parity_traces_match_ethereum_etl(shared_data: Path, case: str) -> None:
    folder = shared_data / FIXTURES / "test_export_traces_job" / case
    expected = _expected(folder)
    fields = (*COMMON, "transaction_hash", "status", "block_number")
    assert [{k: r[k] for k in fields} for r in map(_row, _parity(folder))] == [
        {k: e[k] for k in fields} for e in expected
    ]


@pytest.mark.parametrize("case", CASES)
def test_geth_traces_match_ethereum_etl(shared_data: Path, case: str) -> None:
    folder = shared_data / FIXTURES / "test_extract_geth_traces_job" / case
    expected = _expected(folder)
    fields = (*COMMON, "block_number")
    assert [{k: r[k] for k in fields} for r in map(_row, _geth(folder))] == [
        {k: e[k] for k in fields} for e in expected
    ]


@pytest.mark.parametrize("case", ("block_with_subtraces", "block_with_create", "block_with_error"))
def test_both_tracers_give_the_same_ether_movements(shared_data: Path, case: str) -> None:
    """The same block traced by geth and by parity moves the same ether (parity adds rewards).
    CALLCODE frames, which the two report with different recipients, move nothing."""

    def moves(rows: list[EthTrace]) -> list[tuple[object, ...]]:
        return [
            (t.transaction_index, t.trace_address, t.from_address, t.to_address, t.value,
             t.status)
            for t in rows if t.moves_value and t.trace_type != "reward"
        ]  # fmt: skip

    parity = _parity(shared_data / FIXTURES / "test_export_traces_job" / case)
    geth = _geth(shared_data / FIXTURES / "test_extract_geth_traces_job" / case)
    assert moves(geth) == moves(parity)
    assert moves(parity)


def test_failure_propagates_to_the_calls_below(shared_data: Path) -> None:
    """A reverted call undoes what its sub-calls sent: they get status 0 too."""
    (path,) = (shared_data / FIXTURES / "test_export_traces_job" / "block_with_subtraces").glob(
        "web3_response.trace_block_*.json"
    )
    answer = json.loads(path.read_text())["result"]
    assert answer[0]["traceAddress"] == [] and answer[1]["traceAddress"] == [0]
    rows, _ = flatten_parity(answer)
    assert [t.status for t in rows[:2]] == [1, 1]
    answer[0]["error"] = "Reverted"
    rows, _ = flatten_parity(answer)
    assert [(t.status, t.error) for t in rows[:2]] == [(0, "Reverted"), (0, None)]
    assert {t.status for t in rows[2:]} == {1}  # the next transaction is untouched
