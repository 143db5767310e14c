"""Reading report files: layouts and mappings, encodings, row shapes, real case data."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from chaintrail.cases.read import make_layout
from chaintrail.errors import ReportFileError, ReportMappingError
from chaintrail.workspace import Workspace

GENESIS = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
HEADER = "report_id,reported_at,chain,amount,to_address,description\n"


@pytest.fixture
def ws(tmp_path: Path):
    with Workspace.create(tmp_path / "ws") as w:
        yield w


def test_a_police_form_layout_with_korean_headers_and_local_times(ws, tmp_path):
    form = tmp_path / "form.csv"
    form.write_text(
        "접수번호,접수일시,피해자,코인,금액,받는주소,내용\n"
        f"2024-0001,2024-03-01 10:00,김민*,BTC,0.5,{GENESIS},투자 사기 피해\n",
        encoding="utf-8-sig",
    )
    mapping = tmp_path / "form.yaml"
    mapping.write_text(
        "columns:\n  접수번호: report_id\n  접수일시: reported_at\n  피해자: victim_name\n"
        "  코인: chain\n  금액: amount\n  받는주소: to_address\n  내용: description\n"
        "timezone: Asia/Seoul\n",
        encoding="utf-8",
    )
    got = ws.cases.import_file(form, layout=make_layout(mapping_file=mapping))
    assert (got.accepted, got.rejected) == (1, 0)
    r = ws.cases.reports()[0]
    assert r.report_id == "2024-0001" and r.victim_name == "김민*"
    assert r.reported_at == datetime(2024, 3, 1, 1, 0, tzinfo=UTC)
    assert r.description == "투자 사기 피해" and r.fields["reported_at"] == "2024-03-01 10:00"


def test_bad_mappings_and_files_fail_before_anything_is_written(ws, tmp_path):
    with pytest.raises(ReportMappingError):
        make_layout(maps=["txid"])
    with pytest.raises(ReportMappingError):
        make_layout(maps=["txid=hash"])
    with pytest.raises(ReportMappingError):
        make_layout(timezone="Mars/Olympus")
    f = tmp_path / "a.csv"
    f.write_text(HEADER + f"R1,2024-01-01T00:00:00Z,btc,1,{GENESIS},x\n", encoding="utf-8")
    with pytest.raises(ReportFileError, match="lacks: txid"):
        ws.cases.import_file(f, layout=make_layout(maps=["txid=tx_hash"]))
    no_ids = tmp_path / "b.csv"
    no_ids.write_text("report_id,amount\nR1,1\n", encoding="utf-8")
    with pytest.raises(ReportFileError, match="no column for tx_hash"):
        ws.cases.import_file(no_ids)
    with pytest.raises(ReportFileError):
        ws.cases.import_file(tmp_path / "missing.csv")
    with pytest.raises(ReportFileError):
        ws.cases.import_file(tmp_path / "form.pdf")
    (tmp_path / "fake.xlsx").write_text("not a workbook", encoding="utf-8")
    with pytest.raises(ReportFileError, match="not an XLSX workbook"):
        ws.cases.import_file(tmp_path / "fake.xlsx")
    assert ws.cases.reports() == [] and ws.cases.rejected() == []


def test_encodings(ws, tmp_path):
    f = tmp_path / "cp949.csv"
    f.write_bytes((HEADER + f"R1,2024-01-01T00:00:00Z,btc,1,{GENESIS},피해 신고\n").encode("cp949"))
    with pytest.raises(ReportFileError, match="encoding"):
        ws.cases.import_file(f)
    ws.cases.import_file(f, layout=make_layout(encoding="cp949"))
    assert ws.cases.reports()[0].description == "피해 신고"


def test_row_shapes_blank_lines_and_multiline_cells(ws, tmp_path):
    f = tmp_path / "shapes.csv"
    multiline = f'R2,2024-01-01T00:00:00Z,btc,1,{GENESIS},"첫 줄\n둘째 줄"'
    f.write_text(
        HEADER + f"R1,2024-01-01T00:00:00Z,btc,1,{GENESIS}\n\n{multiline}\n"
        f"R3,2024-01-01T00:00:00Z,btc,2,{GENESIS},x,extra\n",
        encoding="utf-8",
    )
    got = ws.cases.import_file(f)
    assert (got.rows, got.accepted, got.rejected, got.blank_rows) == (3, 1, 2, 1)
    assert got.duplicates == 0
    rejected = {r.report_id: r for r in ws.cases.rejected()}
    assert rejected["R1"].reason == rejected["R3"].reason == "wrong_column_count"
    assert rejected["R3"].row == 5
    report = ws.cases.reports()[0]
    assert report.raw == multiline and report.row == 4 and "\n" in (report.description or "")


def test_report_ids_are_unique_and_same_payments_are_linked(ws, tmp_path):
    head = "report_id,reported_at,chain,amount,from_address,to_address,description\n"
    victim = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(head + f"R1,2024-01-01T00:00:00Z,btc,1,{victim},{GENESIS},x\n", encoding="utf-8")
    b.write_text(
        head + f"R1,2024-01-02T00:00:00Z,btc,1,{victim},{GENESIS},y\n"
        f"R2,2024-01-02T00:00:00Z,btc,1,{victim},{GENESIS},same victim again\n"
        f"R3,2024-01-02T00:00:00Z,btc,1,,{GENESIS},another victim and amount\n"
        f"R4,2024-01-02T00:00:00Z,btc,1,,{GENESIS},a third one\n",
        encoding="utf-8",
    )
    ws.cases.import_file(a)
    got = ws.cases.import_file(b)
    assert got.reasons == {"duplicate_report_id": 1}
    assert got.duplicates == 1
    links = {r.report_id: r.duplicate_of for r in ws.cases.reports()}
    assert links == {"R1": None, "R2": "R1", "R3": None, "R4": None}  # R3/R4 say too little


def test_json_elements_that_are_not_objects_and_numbers(ws, tmp_path):
    f = tmp_path / "r.json"
    f.write_text(json.dumps([
        {"report_id": "J1", "reported_at": "2024-01-01T00:00:00Z", "chain": "btc",
         "amount": 0.29, "to_address": GENESIS},
        ["not", "an", "object"],
    ]), encoding="utf-8")  # fmt: skip
    got = ws.cases.import_file(f)
    assert (got.accepted, got.rejected, got.reasons) == (1, 1, {"not_an_object": 1})
    r = ws.cases.reports()[0]
    assert r.amount == 29_000_000 and r.raw.startswith('{"report_id": "J1"')
    assert ("amount", "json_number") in {(n.field, n.rule) for n in r.normalisations}
    with pytest.raises(ReportFileError, match="array"):
        (tmp_path / "o.json").write_text('{"reports": []}', encoding="utf-8")
        ws.cases.import_file(tmp_path / "o.json")


def test_xlsx_number_cells_read_as_their_shortest_decimal(ws, tmp_path):
    f = tmp_path / "r.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["report_id", "reported_at", "chain", "amount", "to_address"])
    sheet.append(["X1", "2024-01-01T00:00:00Z", "btc", 0.3007, GENESIS])
    book.save(f)
    ws.cases.import_file(f)
    r = ws.cases.reports()[0]
    assert r.amount == 30_070_000 and r.amount_text == "0.3007" and r.row == 2
    assert ("amount", "number_cell") in {(n.field, n.rule) for n in r.normalisations}


@pytest.mark.realdata
def test_the_bitfinex_theft_list_validates_to_the_satoshi(shared_data, ws):
    path = shared_data / "cases" / "bitfinex-2016-hack" / "bitfinex_tx_dataset.csv"
    layout = make_layout(maps=["txid=tx_hash", "from=from_address", "to=to_address"])
    got = ws.cases.import_file(path, layout=layout)
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert (got.rows, got.accepted, got.rejected) == (2072, 2072, 0)
    reports = ws.cases.reports()
    expected = sum(Decimal(r["amount"]) for r in rows) * 100_000_000
    assert sum(r.amount or 0 for r in reports) == expected == 11_975_662_032_288
    assert round(expected / 100_000_000, 2) == Decimal("119756.62")  # the published total
    assert {r.chain for r in reports} == {"btc"}
    assert all(r.report_id == f"{got.sha256[:8]}-{r.row}" for r in reports)
    assert all("reported_at_missing" in r.flags for r in reports)


def test_amounts_beyond_64_bits_are_stored_exactly(ws, tmp_path):
    f = tmp_path / "eth.csv"
    f.write_text(
        "report_id,reported_at,chain,asset,amount,to_address\n"
        "E1,2024-01-01T00:00:00Z,ethereum,ETH,123456789012345678901.123456789012345678,"
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\n",
        encoding="utf-8",
    )
    ws.cases.import_file(f)
    r = ws.cases.reports()[0]
    assert r.amount == 123456789012345678901_123456789012345678 and r.decimals == 18
    assert r.to_address == "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
    assert ws.cases.verify().results[0].reasons == ("payment_not_found",)  # no Ether stored
