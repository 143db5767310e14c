"""The command-line contract: commands, JSON shapes and exit codes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pytest

from chaintrail.cli import main
from chaintrail.demo import FAMOUS_TXID, shipped_blocks
from tests._cli import run


@pytest.fixture
def loaded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    ws = tmp_path / "ws"
    run(capsys, "-w", str(ws), "init")
    run(capsys, "-w", str(ws), "ingest", "btc-blocks", str(shipped_blocks()))
    return ws


def test_init_json_and_env(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CHAINTRAIL_WORKSPACE", str(tmp_path / "from-env"))
    info = json.loads(run(capsys, "init", "--json"))
    assert info["ok"] is True and info["workspace"].endswith("from-env")
    err = run(capsys, "init", code=3)
    assert "already exists" in err


def test_stats_json_shape(loaded, capsys):
    s = json.loads(run(capsys, "-w", str(loaded), "stats", "--json"))
    keys = ("blocks", "transactions", "inputs", "coinbase_inputs", "unresolved_inputs",
            "outputs", "addresses", "total_output_value", "height_min", "height_max")  # fmt: skip
    for key in keys:
        assert isinstance(s[key], int), key
    assert s["blocks"] == 4313 and s["height_max"] == 4312
    assert s["total_output_value"] == 22_809_956_000_000  # every output, spent or not
    assert isinstance(s["sources"], list) and s["sources"][0]["kind"] == "file"


def test_ingest_json(tmp_path, capsys):
    ws = str(tmp_path / "ws")
    run(capsys, "-w", ws, "init")
    r = json.loads(run(capsys, "-w", ws, "ingest", "btc-blocks", str(shipped_blocks()), "--json"))
    assert r["ok"] and r["blocks_added"] == 4313 and r["transactions_added"] == 4371
    r = json.loads(run(capsys, "-w", ws, "ingest", "btc-blocks", str(shipped_blocks()), "--json"))
    assert r["blocks_added"] == 0 and r["blocks_skipped"] == 4313


def test_tx_and_address(loaded, capsys):
    t = json.loads(run(capsys, "-w", str(loaded), "tx", FAMOUS_TXID, "--json"))
    assert t["block_height"] == 170 and t["fee"] == 0
    assert [o["value"] for o in t["outputs"]] == [10 * 10**8, 40 * 10**8]
    human = run(capsys, "-w", str(loaded), "tx", FAMOUS_TXID)
    assert "10.00000000 BTC" in human
    a = json.loads(
        run(capsys, "-w", str(loaded), "address", "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "--json")
    )
    assert a["received"] >= 40 * 10**8 and a["balance"] == a["received"] - a["spent"]
    assert any(row["txid"] == FAMOUS_TXID for row in a["transactions"])


def test_lookup_errors(loaded, capsys):
    err = run(capsys, "-w", str(loaded), "tx", "zz", code=2)
    assert err.startswith("Error:") and len(err.strip().splitlines()) <= 2
    err = run(capsys, "-w", str(loaded), "tx", "00" * 32, code=1)
    assert "not found" in err and "4,312" in err
    run(capsys, "-w", str(loaded), "address", "1NotAnAddressAtAll", code=2)
    run(capsys, "-w", str(loaded), "address", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", code=1)
    assert main(["-w", str(loaded), "tx", "00" * 32, "--json"]) == 1
    envelope = json.loads(capsys.readouterr().out)
    assert envelope["ok"] is False and envelope["code"] == "tx_not_found"


def test_bad_input_exit_codes(tmp_path, capsys):
    ws = str(tmp_path / "ws")
    run(capsys, "-w", ws, "init")
    (tmp_path / "junk.json").write_text('{"not": "a block"}')
    err = run(capsys, "-w", ws, "ingest", "btc-blocks", str(tmp_path / "junk.json"), code=2)
    assert "junk.json" in err
    (tmp_path / "junk.bin").write_bytes(b"\x00\x01garbage" * 10)
    run(capsys, "-w", ws, "ingest", "btc-blocks", str(tmp_path / "junk.bin"), code=2)
    run(capsys, "-w", ws, "ingest", "btc-blocks", str(tmp_path / "missing.dat"), code=2)
    run(capsys, "-w", ws, "stats", "--no-such-option", code=2)
    run(capsys, "-w", str(tmp_path / "none"), "stats", code=3)


def test_export_csv_and_parquet(loaded, tmp_path, capsys):
    out = tmp_path / "outputs.csv"
    r = json.loads(run(capsys, "-w", str(loaded), "export", "outputs", "--format", "csv",
                       "-o", str(out), "--json"))  # fmt: skip
    assert r["rows"] == 4397
    with out.open() as f:
        header = next(csv.reader(f))
    assert "provenance_id" not in header and "value" in header
    r = json.loads(run(capsys, "-w", str(loaded), "export", "outputs", "--format", "csv",
                       "-o", str(out), "--with-provenance", "--json"))  # fmt: skip
    assert "provenance_id" in r["columns"]

    folder = tmp_path / "parquet" / "transactions"
    run(
        capsys,
        "-w",
        str(loaded),
        "export",
        "transactions",
        "--format",
        "parquet",
        "-o",
        str(folder),
    )
    assert (folder / "height_range=0").is_dir()
    n = duckdb.sql(
        f"select count(*) from read_parquet('{folder}/**/*.parquet', hive_partitioning=true)"
    ).fetchall()
    assert n == [(4371,)]
    one = tmp_path / "blocks.parquet"
    run(capsys, "-w", str(loaded), "export", "blocks", "--format", "parquet", "-o", str(one))
    assert duckdb.sql(f"select count(*), max(height) from '{one}'").fetchall() == [(4313, 4312)]
    run(capsys, "-w", str(loaded), "export", "nosuch", "-o", str(one), code=1)


def test_sql_escape_hatch(loaded):
    from chaintrail.workspace import Workspace

    with Workspace.open(loaded) as ws:
        ws.btc.stats()  # earlier queries on the connection must not block the relation
        rel = ws.btc.sql("select count(*) from outputs where value > ?", [40 * 10**8])
        assert rel.fetchall() == [(4351,)]  # as in the 2009 BlockSci tables (tx_output.csv)
