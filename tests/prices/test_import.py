"""``prices import``: the file layout, one rejection per reason, idempotence, conflicts."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from chaintrail.errors import PriceFileError
from chaintrail.prices import REASONS
from chaintrail.workspace import Workspace
from tests._cli import run

GOOD = "date,asset,currency,price\n2024-01-05,BTC,USD,44162.69\n2024-01-06, btc ,usd,44000.5\n"

#: One bad row per rejection reason (after a good row of 2024-01-01 in the same file).
BAD_ROWS = {
    "wrong_cell_count": "2024-01-02,BTC,USD",
    "missing_value": "2024-01-02,BTC,USD,",
    "invalid_date": "2024-02-30,BTC,USD,1",
    "invalid_asset": "2024-01-02,B-T-C,USD,1",
    "invalid_currency": "2024-01-02,BTC,DOLLAR,1",
    "invalid_price": "2024-01-02,BTC,USD,1e5",
    "price_not_positive": "2024-01-02,BTC,USD,0.000",
    "too_many_decimals": "2024-01-02,BTC,USD,1.0000000000001",
    "duplicate_day": "2024-01-01,BTC,USD,42000",
}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


def test_import_list_and_idempotent_reimport(ws: Workspace, tmp_path: Path):
    path = write(tmp_path, "btc.csv", GOOD + "\n")
    first = ws.prices.import_file(path)
    assert (first.rows, first.accepted, first.rejected, first.already_imported) == (2, 2, 0, False)
    again = ws.prices.import_file(path)
    assert again.already_imported and again.import_id == first.import_id
    prices = ws.prices.list()
    assert [(p.asset, p.currency, p.day, p.price) for p in prices] == [
        ("BTC", "USD", date(2024, 1, 5), Decimal("44162.69")),
        ("BTC", "USD", date(2024, 1, 6), Decimal("44000.5")),
    ]
    assert prices[1].row == 3 and prices[0].sha256 == first.sha256
    count = ws.con.execute("select count(*) from prices").fetchone()
    assert count == (2,)
    prov = ws.con.execute(
        "select p.sha256, p.kind from price_imports i join provenance p on p.id = i.provenance_id"
    ).fetchall()
    assert prov == [(first.sha256, "file")]


@pytest.mark.parametrize("reason", sorted(BAD_ROWS))
def test_each_rejection_reason(ws: Workspace, tmp_path: Path, reason: str):
    text = f"date,asset,currency,price\n2024-01-01,BTC,USD,42000\n{BAD_ROWS[reason]}\n"
    done = ws.prices.import_file(write(tmp_path, "p.csv", text))
    assert (done.accepted, done.rejected) == (1, 1)
    assert [(r.row, r.reason, r.raw) for r in done.rejections] == [(3, reason, BAD_ROWS[reason])]
    assert ws.prices.rejected()[0]["reason"] == reason  # kept in the store, verbatim
    assert ws.prices.rejected()[0]["raw"] == BAD_ROWS[reason]


def test_defaults_from_options_and_mismatches(ws: Workspace, tmp_path: Path):
    only = ws.prices.import_file(write(tmp_path, "a.csv", "date,price\n2024-01-01,1.5\n"),
                                 asset="eth", currency="eur")  # fmt: skip
    assert only.accepted == 1 and ws.prices.list(asset="ETH")[0].currency == "EUR"
    text = "date,asset,currency,price\n2024-01-01,BTC,EUR,1\n2024-01-02,ETH,USD,1\n"
    done = ws.prices.import_file(write(tmp_path, "b.csv", text), asset="ETH", currency="EUR")
    assert [r.reason for r in done.rejections] == ["asset_mismatch", "currency_mismatch"]


def test_a_later_file_that_disagrees_is_rejected_not_overwritten(ws: Workspace, tmp_path: Path):
    ws.prices.import_file(write(tmp_path, "a.csv", GOOD))
    text = "date,asset,currency,price\n2024-01-05,BTC,USD,44162.690\n2024-01-06,BTC,USD,1\n"
    done = ws.prices.import_file(write(tmp_path, "b.csv", text))
    assert (done.accepted, done.known, done.rejected) == (0, 1, 1)
    assert done.rejections[0].reason == "conflicting_price"
    assert "a.csv" in done.rejections[0].message
    assert ws.prices.price_on("BTC", "USD", date(2024, 1, 6)).price == Decimal("44000.5")  # type: ignore[union-attr]


def test_every_reason_is_tested_and_documented():
    assert set(BAD_ROWS) | {"asset_mismatch", "currency_mismatch", "conflicting_price"} == set(
        REASONS
    )
    doc = (Path(__file__).parents[2] / "docs" / "prices.md").read_text("utf-8")
    assert all(f"`{r}`" in doc for r in REASONS)


@pytest.mark.parametrize(
    ("text", "reason"),
    [("date,asset,price\n", "currency"), ("", "no header"), ("\xff", "not UTF-8")],
)
def test_unusable_file_is_an_error(ws: Workspace, tmp_path: Path, text: str, reason: str):
    path = tmp_path / "x.csv"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(PriceFileError, match=reason):
        ws.prices.import_file(path)
    assert ws.con.execute("select count(*) from price_imports").fetchone() == (0,)


def test_cli_import_list_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    w = str(tmp_path / "w")
    run(capsys, "-w", w, "init")
    path = write(tmp_path, "p.csv", GOOD + "2024-01-07,BTC,USD,abc\n")
    out = json.loads(run(capsys, "-w", w, "prices", "import", str(path), "--json"))
    assert (out["accepted"], out["rejected"]) == (2, 1)
    assert out["rejections"][0]["reason"] == "invalid_price"
    listed = json.loads(run(capsys, "-w", w, "prices", "list", "--asset", "btc", "--json"))
    assert [p["price"] for p in listed["prices"]] == ["44162.69", "44000.5"]
    rejected = json.loads(run(capsys, "-w", w, "prices", "rejected", "--json"))
    assert rejected["rejected"][0]["row"] == 4
    err = run(capsys, "-w", w, "prices", "import", str(tmp_path / "missing.csv"), code=2)
    assert "missing.csv" in err
