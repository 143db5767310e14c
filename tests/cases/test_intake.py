"""Importing and verifying the simulator's victim reports, scored against its truth table."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import openpyxl

from chaintrail.cases.model import FIELDS, Rejection, Report
from chaintrail.workspace import Workspace
from tests.cases.conftest import Economy

#: What the simulator writes into the one field it spoils in an ``invalid_row``.
SPOILERS = ("yesterday", "ETHH", "약 0.5비트", "n/a")
#: The reason expected for a spoiled field.
SPOILED_REASON = {"reported_at": "invalid_date", "chain": "unknown_chain",
                  "amount": "invalid_amount"}  # fmt: skip


def _import(ws_path: Path, path: Path) -> tuple[list[Report], list[Rejection]]:
    with Workspace.open(ws_path, write=True) as ws:
        ws.cases.import_file(path)
        return ws.cases.reports(), ws.cases.rejected()


def test_no_row_is_lost_and_every_invalid_row_is_rejected_for_its_reason(economy, ws_path):
    rows = economy.table("reports.csv")
    truth = {t["report_id"]: t for t in economy.table("reports_truth.csv")}
    reports, rejected = _import(ws_path, economy.reports_csv)
    assert len(reports) + len(rejected) == len(rows)
    assert sorted(r.report_id or "" for r in [*reports, *rejected]) == sorted(
        r["report_id"] for r in rows
    )
    lines = economy.reports_csv.read_text(encoding="utf-8").splitlines()
    by_id = {r["report_id"]: r for r in rows}
    rejected_ids = {r.report_id for r in rejected}
    invalid = [rid for rid, t in truth.items() if t["flaw"] == "invalid_row"]
    assert invalid and set(invalid) <= rejected_ids
    for r in rejected:
        assert r.raw == lines[r.row - 1]  # verbatim, and the row number is the file's
        flaw = truth[r.report_id or ""]["flaw"]
        original = truth[truth[r.report_id or ""]["duplicate_of"]] if flaw == "duplicate" else None
        if flaw == "invalid_row" or (original and original["flaw"] == "invalid_row"):
            spoiled = [f for f in SPOILED_REASON if by_id[r.report_id or ""][f] in SPOILERS]
            assert len(spoiled) == 1
            assert r.reason == SPOILED_REASON[spoiled[0]]
        else:  # an approximate amount remembered as 0.00 is not a payment amount
            assert flaw in ("approximate_amount", "duplicate")
            assert r.reason == "amount_not_positive"
    for r in reports:
        assert truth[r.report_id]["flaw"] != "invalid_row"


def test_verification_matches_the_truth(economy, ws_path):
    truth = {t["report_id"]: t for t in economy.table("reports_truth.csv")}
    payments = {p["source_id"]: p for p in economy.table("victim_payments.csv")}
    given = {r["report_id"]: r for r in economy.table("reports.csv")}
    with Workspace.open(ws_path, write=True) as ws:
        ws.cases.import_file(economy.reports_csv)
        result = ws.cases.verify()
        reports = {r.report_id: r for r in ws.cases.reports()}
    correct = 0
    for v in result.results:
        t = truth[v.report_id]
        assert v.status == "verified", v
        if t["source_id"]:
            p = payments[t["source_id"]]
            assert (v.txid, v.vout, v.address) == (p["txid"], int(p["vout"]), p["address"])
            assert v.verified_amount == int(p["amount_sats"])  # exact satoshis
        else:  # a payment that was no scheme's: the report's own txid
            assert t["flaw"] == "unrelated" and v.txid == given[v.report_id]["tx_hash"]
            assert v.address == given[v.report_id]["to_address"]
        correct += 1
        if t["flaw"] == "hash_typo":
            assert "txid_typo_recovered" in v.reasons
        if t["flaw"] == "duplicate" and t["duplicate_of"] in reports:
            assert v.duplicate_of == t["duplicate_of"] and "duplicate_payment" in v.reasons
            assert reports[v.report_id].duplicate_of == t["duplicate_of"]
        if "amount_differs" in v.reasons:
            assert reports[v.report_id].amount != v.verified_amount
    assert correct == len(reports) == len(result.results)
    # each payment once: duplicates left out of the sums
    distinct = {(v.txid, v.vout): v.verified_amount for v in result.results}
    assert result.verified_amount == {"BTC": sum(a or 0 for a in distinct.values())}
    assert result.counts() == {"verified": len(reports)}


def test_reimporting_the_same_file_changes_nothing(economy, ws_path):
    with Workspace.open(ws_path, write=True) as ws:
        first = ws.cases.import_file(economy.reports_csv)
        again = ws.cases.import_file(economy.reports_csv)
        counts = ws.con.execute(
            "select (select count(*) from reports), (select count(*) from report_rejects), "
            "(select count(*) from report_imports)"
        ).fetchone()
        prov = ws.con.execute(
            "select p.sha256, p.kind from report_imports i join provenance p "
            "on p.id = i.provenance_id"
        ).fetchall()
    assert not first.already_imported and again.already_imported
    assert again.import_id == first.import_id
    assert (again.rows, again.accepted, again.rejected, again.duplicates) == (
        first.rows,
        first.accepted,
        first.rejected,
        first.duplicates,
    )
    assert counts == (first.accepted, first.rejected, 1)
    assert prov == [(first.sha256, "file")]


def _equivalent_files(economy: Economy, folder: Path) -> tuple[Path, Path]:
    rows = economy.table("reports.csv")
    xlsx = folder / "reports.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(FIELDS))
    for r in rows:
        sheet.append([r[f] for f in FIELDS])
    book.save(xlsx)
    js = folder / "reports.json"
    js.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    return xlsx, js


def _normalised(reports: list[Report]) -> list[dict[str, object]]:
    out = []
    for r in reports:
        d = r.to_json()
        for key in ("raw", "row", "import_id"):
            d.pop(key)
        out.append(d)
    return out


def test_xlsx_and_json_of_the_same_rows_give_the_same_result(economy, ws_path, tmp_path):
    xlsx, js = _equivalent_files(economy, tmp_path)
    results = []
    for path in (economy.reports_csv, xlsx, js):
        ws_copy = tmp_path / f"ws-{path.suffix[1:]}"
        shutil.copytree(ws_path, ws_copy)
        with Workspace.open(ws_copy, write=True) as ws:
            ws.cases.import_file(path)
            verified = ws.cases.verify()
            results.append((
                _normalised(ws.cases.reports()),
                sorted((r.report_id, [p.code for p in r.problems]) for r in ws.cases.rejected()),
                [v.to_json() for v in verified.results],
            ))  # fmt: skip
    assert results[0] == results[1] == results[2]


def test_korean_japanese_and_chinese_text_survives_the_round_trip(economy, ws_path, tmp_path):
    rows = {r["report_id"]: r for r in economy.table("reports.csv")}
    xlsx, js = _equivalent_files(economy, tmp_path)
    _import(ws_path, economy.reports_csv)
    with Workspace.open(ws_path) as ws:  # read back by a new connection
        reports, rejected = ws.cases.reports(), ws.cases.rejected()
    texts = "".join(r.description or "" for r in reports)
    assert {"투", "サ", "我"} <= set(texts)  # Hangul, katakana, hanzi
    for r in reports:
        assert r.victim_name == rows[r.report_id]["victim_name"]
        assert r.description == rows[r.report_id]["description"]
    for r in rejected:
        assert r.fields["description"] == rows[r.report_id or ""]["description"]
    names = {r["victim_name"] for r in rows.values()}
    for path in (xlsx, js):
        with Workspace.create(tmp_path / f"ws-{path.suffix[1:]}") as ws:
            ws.cases.import_file(path)
        with Workspace.open(tmp_path / f"ws-{path.suffix[1:]}") as ws:
            got = [*ws.cases.reports(), *ws.cases.rejected()]
        assert {r.fields["victim_name"] for r in got} == names


def test_two_victims_paying_the_same_amount_to_one_address_get_one_payment_each(
    economy, ws_path, tmp_path
):
    payments = economy.table("victim_payments.csv")
    seen: dict[tuple[str, str], dict[str, str]] = {}
    pair = None
    for p in payments:
        key = (p["address"], p["amount_sats"])
        if key in seen:
            pair = (seen[key], p)
            break
        seen[key] = p
    assert pair is not None, "the economy has no two equal payments to one address"
    whole, frac = divmod(int(pair[0]["amount_sats"]), 100_000_000)
    amount = f"{whole}.{frac:08d}"
    f = tmp_path / "pair.csv"
    f.write_text(
        "report_id,reported_at,chain,amount,to_address\n"
        + "".join(f"P{i},2024-03-01T00:00:00Z,btc,{amount},{pair[0]['address']}\n" for i in (1, 2)),
        encoding="utf-8",
    )
    with Workspace.open(ws_path, write=True) as ws:
        assert ws.cases.import_file(f).duplicates == 0
        result = ws.cases.verify()
    got = {v.report_id: v for v in result.results}
    assert {(got[r].txid, got[r].vout) for r in ("P1", "P2")} == {
        (p["txid"], int(p["vout"])) for p in pair
    }
    assert all("ambiguous_match" in got[r].reasons and got[r].duplicate_of is None
               for r in ("P1", "P2"))  # fmt: skip
