"""The Ethereum simulator's victim reports go through the real intake: import, on-chain
verification, triage; each report's flaw is told by ``reports_truth.csv``."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from chaintrail.ingest.eth.token_meta import add_token
from chaintrail.ingest.eth.writer import EthWriter
from chaintrail.sim.eth import EthSimResult, simulate_eth
from chaintrail.workspace import Workspace


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> EthSimResult:
    return simulate_eth(tmp_path_factory.mktemp("ethreports") / "sim", seed=3, scale=0.5)


def test_reports_verify_to_the_payments_the_truth_names(sim: EthSimResult, tmp_path: Path) -> None:
    truth = {r["report_id"]: r for r in _rows(sim.truth / "reports_truth.csv")}
    flaws = [r["flaw"] for r in truth.values()]
    # an unusable row reported twice is unusable twice
    bad = {rid for rid, r in truth.items() if r["flaw"] == "invalid_row"}
    bad |= {rid for rid, r in truth.items() if r["duplicate_of"] in bad}
    assert {"none", "hash_typo", "missing_fields"} <= set(flaws)
    with Workspace.create(tmp_path / "ws") as ws:
        ws.eth_ingest.etl(list(sim.etl_files))
        add_token(EthWriter(ws.con), sim.token, symbol="USDT", decimals=6)
        ws.tags.import_paths([sim.truth / "tagpack.yaml"], workers=1)
        ws.clusters.build_eth()
        imported = ws.cases.import_file(sim.truth / "reports.csv")
        checks = {v.report_id: v for v in ws.cases.verify().results}
        (case, *others) = ws.cases.triage().to_json()["cases"]
    assert imported.rejected == len(bad)
    for rid, t in truth.items():
        if rid in bad:
            assert rid not in checks
            continue
        v = checks[rid]
        asset, tx = t["payment"].split(":")
        assert v.status == "verified" and v.txid == tx, (rid, t["flaw"], v)
        if t["flaw"] == "hash_typo":
            assert "txid_typo_recovered" in v.reasons
        if t["flaw"] == "duplicate":
            assert v.duplicate_of == t["duplicate_of"] and "duplicate_payment" in v.reasons
    # one scam, one case: every accepted report in it, traced per asset
    assert not others and case["asset"] == ["ETH", "USDT"]
    assert len(case["report_ids"]) == len(truth) - len(bad)
