"""``ingest blocksci-tables`` on the real 2009 tables: every row as the CSVs say, raw blocks win.

Expected values are read from the CSVs with the ``csv`` module here, independently of the
loader's SQL, and the numbers written out below were counted by hand from the files
(see ``../shared/data/btc/year2009-tables/PROVENANCE.txt``).
"""

from __future__ import annotations

import csv
import hashlib
import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from chaintrail.errors import BlocksciTableMissingError, MalformedBlocksciRowError
from chaintrail.ingest.blocksci import BlocksciReport
from chaintrail.workspace import Workspace
from tests._cli import run

BLOCK9_COINBASE = "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9"
SATOSHI = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"


@pytest.fixture(scope="module")
def tables(shared_data: Path) -> Path:
    return shared_data / "btc" / "year2009-tables" / "2009"


@pytest.fixture(scope="module")
def raw_prefix(tests_data: Path) -> Path:
    return tests_data / "btc" / "blk00000_first1MB.dat"


@pytest.fixture(scope="module")
def tables_ws(
    tmp_path_factory: pytest.TempPathFactory, tables: Path
) -> tuple[Path, BlocksciReport]:
    path = tmp_path_factory.mktemp("bs") / "ws"
    with Workspace.create(path) as ws:
        [report] = ws.ingest.blocksci_tables(tables.parent)
    return path, report


@pytest.fixture(scope="module")
def raw_ws(
    tmp_path_factory: pytest.TempPathFactory, tables: Path, raw_prefix: Path
) -> tuple[Path, BlocksciReport]:
    path = tmp_path_factory.mktemp("bsraw") / "ws"
    with Workspace.create(path) as ws:
        ws.ingest.files([raw_prefix])
        [report] = ws.ingest.blocksci_tables(tables)
    return path, report


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _int(text: str) -> int:
    """spent_index is written as a float ("171.0") by the exporter."""
    whole, _, frac = text.partition(".")
    assert frac.strip("0") == ""
    return int(whole)


def test_counts_match_the_csvs(tables_ws: tuple[Path, BlocksciReport], tables: Path) -> None:
    _, r = tables_ws
    outputs = _rows(tables / "tx_output.csv")
    assert r.transactions == len(_rows(tables / "tx_hash.csv")) == 32_709
    assert r.addresses == len(_rows(tables / "adr_hash.csv")) == 32_611
    assert len(outputs) == 32_783
    assert r.duplicate_rows == 2
    assert r.outputs == len({tuple(o.values()) for o in outputs}) == 32_781
    assert r.inputs == len(_rows(tables / "tx_input.csv")) == 2_887
    assert r.heights == 32_490  # blocks 0..32,489
    assert (r.txids_exact, r.txids_repaired, r.txids_truncated) == (30_657, 0, 2_052)
    # 21 outputs and 17 inputs name adr_index values adr_hash.csv lacks (e.g. 28411).
    assert r.unknown_address_rows == 38
    last = 32_708
    later = {
        o["output_index"] for o in outputs if o["spent_index"] and _int(o["spent_index"]) > last
    }
    assert r.spent_outside == len(later) == 8_341
    assert (r.blocks_added, r.transactions_added, r.outputs_added) == (32_490, 32_709, 32_781)
    assert r.inputs_added == 2_887 + 32_490  # the spends, and one input per block's coinbase
    assert not r.unchanged and not r.replaced


def test_every_value_equals_the_tables(
    tables_ws: tuple[Path, BlocksciReport], tables: Path
) -> None:
    txid = {int(r["tx_index"]): r["tx_hash"] for r in _rows(tables / "tx_hash.csv")}
    height = {int(r["tx_index"]): int(r["block_index"]) for r in _rows(tables / "tx_height.csv")}
    address = {r["adr_index"]: r["adr_hash"] for r in _rows(tables / "adr_hash.csv")}
    expected_out = {
        (txid[int(o["tx_index"])], int(o["output_index"]) % 10): (
            int(o["output_value"]), address.get(o["adr_index"]), height[int(o["tx_index"])]
        )
        for o in _rows(tables / "tx_output.csv")
    }  # fmt: skip
    expected_in: dict[tuple[str, int], tuple[str, int, int, str | None]] = {}
    seen: defaultdict[int, int] = defaultdict(int)
    for i in _rows(tables / "tx_input.csv"):
        spender = int(i["tx_index"])
        expected_in[(txid[spender], seen[spender])] = (
            txid[int(i["spent_index"])], int(i["output_index"]) % 10, int(i["input_value"]),
            address.get(i["adr_index"]),
        )  # fmt: skip
        seen[spender] += 1
    path, _ = tables_ws
    with Workspace.open(path) as ws:
        got_out = {
            (t, v): (val, a, h)
            for t, v, val, a, h in ws.con.execute(
                "select txid, vout, value, address, block_height from outputs"
            ).fetchall()
        }
        got_in = {
            (t, n): (st, sv, val, a)
            for t, n, st, sv, val, a in ws.con.execute(
                'select txid, "index", spent_txid, spent_vout, value, address from inputs '
                "where not is_coinbase"
            ).fetchall()
        }
        coinbases = ws.con.execute(
            "select count(*), count(*) filter (where position = 0) from transactions "
            "where is_coinbase"
        ).fetchone()
        script_types = ws.con.execute("select distinct script_type from outputs").fetchall()
        fees = dict(
            ws.con.execute("select txid, fee from transactions where not is_coinbase").fetchall()
        )
    assert got_out == expected_out
    assert got_in == expected_in
    assert coinbases == (32_490, 32_490)  # one coinbase per block, always first
    assert script_types == [("unknown",)]  # P2PK outputs carry a derived P2PKH address
    paid: defaultdict[str, int] = defaultdict(int)
    for (paying, _), (_, _, value, _) in expected_in.items():
        paid[paying] += value
    for (creator, _), (value, _, _) in expected_out.items():
        if creator in paid:
            paid[creator] -= value
    assert fees == paid
    assert sum(1 for fee in fees.values() if fee) == 10  # ten 2009 transactions paid a fee


def test_invented_parts_are_flagged(tables_ws: tuple[Path, BlocksciReport], tables: Path) -> None:
    path, r = tables_ws
    with Workspace.open(path) as ws:
        blocks = ws.con.execute(
            "select count(*), bool_and(synthetic), bool_and(not merkle_verified), "
            "bool_and(time is null and merkle_root is null and nonce is null), "
            "bool_and(hash = 'blocksci:height:' || height), any_value(height_source) "
            "from blocks"
        ).fetchone()
        provenance = dict(
            ws.con.execute(
                "select regexp_extract(source, '([a-z_]+)\\.csv$', 1), sha256 from provenance"
            ).fetchall()
        )
        truncated = ws.con.execute(
            "select count(*) from transactions where length(txid) = 63"
        ).fetchone()
        flagged = ws.con.execute(
            "select count(*) from blocksci_txs where hash_status = 'truncated' "
            "and length(txid) = 63"
        ).fetchone()
        dup_lines = ws.con.execute(
            "select line from blocksci_issues where issue = 'duplicate_row' order by line"
        ).fetchall()
    assert blocks == (32_490, True, True, True, True, "blocksci")
    for name, digest in r.files.items():
        assert provenance[name] == digest
        assert digest == hashlib.sha256((tables / f"{name}.csv").read_bytes()).hexdigest()
    assert truncated == flagged == (2_052,)
    assert dup_lines == [(24_304,), (24_305,)]  # copies of lines 24,302 and 24,303


def test_rerun_changes_nothing(tables_ws: tuple[Path, BlocksciReport], tables: Path) -> None:
    path, first = tables_ws
    counts = "select (select count(*) from transactions), (select count(*) from inputs), " \
        "(select count(*) from outputs), (select count(*) from blocks), " \
        "(select count(*) from provenance), (select count(*) from blocksci_issues)"  # fmt: skip
    with Workspace.open(path, write=True) as ws:
        before = ws.con.execute(counts).fetchone()
        [again] = ws.ingest.blocksci_tables(tables)
        after = ws.con.execute(counts).fetchone()
    assert again.unchanged and again.transactions_added == 0
    assert again.txids_truncated == first.txids_truncated
    assert before == after


def test_raw_blocks_win_and_repair_txids(raw_ws: tuple[Path, BlocksciReport], tables: Path) -> None:
    path, r = raw_ws
    # Blocks 0..4312 (4,371 txs) come from the raw file: 4,128 exact, 243 truncated in the tables.
    assert r.transactions_from_raw == 4_371
    assert (r.txids_exact, r.txids_repaired, r.txids_truncated) == (30_657, 243, 1_809)
    assert r.transactions_added == 32_709 - 4_371
    with Workspace.open(path) as ws:
        per_source = ws.con.execute(
            "select synthetic, count(*), min(height), max(height) from blocks group by 1 order by 1"
        ).fetchall()
        dupes = ws.con.execute(
            "select count(*) from (select txid from transactions group by 1 having count(*) > 1)"
        ).fetchone()
        repaired = ws.con.execute(
            "select b.table_hash, b.txid, t.provenance_id = p.id from blocksci_txs b "
            "join transactions t using (txid) join provenance p on p.detail = 'blk file' "
            "where b.hash_status = 'repaired' order by b.tx_index limit 1"
        ).fetchone()
        pubkey = ws.con.execute(
            "select script_type, address from outputs where txid = ?", [BLOCK9_COINBASE]
        ).fetchone()
        link = ws.con.execute(
            "select prev_hash from blocks where hash = 'blocksci:height:4313'"
        ).fetchone()
        tip = ws.con.execute("select hash from blocks where height = 4312").fetchone()
    assert per_source == [(False, 4_313, 0, 4_312), (True, 32_490 - 4_313, 4_313, 32_489)]
    assert dupes == (0,)
    assert repaired is not None and len(repaired[0]) == 63 and len(repaired[1]) == 64
    assert repaired[1].startswith(repaired[0]) and repaired[2]
    assert pubkey == ("pubkey", SATOSHI)  # the raw block tells what the tables cannot
    assert link == tip


def test_raw_blocks_added_later_replace_the_tables_copy(
    tmp_path: Path, tables: Path, raw_prefix: Path, raw_ws: tuple[Path, BlocksciReport]
) -> None:
    snapshot = (
        "select txid, block_height, position, is_coinbase, output_value, fee "
        "from transactions order by block_height, position"
    )
    with Workspace.open(raw_ws[0]) as ws:
        want = ws.con.execute(snapshot).fetchall()
    with Workspace.create(tmp_path / "ws") as ws:
        ws.ingest.blocksci_tables(tables)
        ws.ingest.files([raw_prefix])
        [r] = ws.ingest.blocksci_tables(tables)
        got = ws.con.execute(snapshot).fetchall()
        stale = ws.con.execute("select count(*) from blocks where not in_best_chain").fetchone()
    assert r.replaced and r.txids_repaired == 243
    assert got == want
    assert stale == (0,)


def _copy(tables: Path, target: Path) -> Path:
    target.mkdir()
    for f in tables.glob("*.csv"):
        shutil.copyfile(f, target / f.name)
    return target


def test_missing_table_is_refused(tmp_path: Path, tables: Path) -> None:
    folder = _copy(tables, tmp_path / "2009")
    (folder / "tx_input.csv").unlink()
    with (
        Workspace.create(tmp_path / "ws") as ws,
        pytest.raises(BlocksciTableMissingError, match="tx_input.csv is missing"),
    ):
        ws.ingest.blocksci_tables(folder)


def test_malformed_row_is_refused_and_nothing_stored(
    tmp_path: Path, tables: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _copy(tables, tmp_path / "2009")
    lines = (folder / "tx_output.csv").read_text().splitlines(keepends=True)
    assert lines[2] == "10,1,21,5000000000,\n"
    lines[2] = "10,1,21,50.5,\n"
    (folder / "tx_output.csv").write_text("".join(lines))
    with Workspace.create(tmp_path / "ws") as ws:
        with pytest.raises(MalformedBlocksciRowError) as e:
            ws.ingest.blocksci_tables(folder)
        assert e.value.line == 3 and "output_value '50.5'" in e.value.reason
        assert ws.con.execute("select count(*) from transactions").fetchone() == (0,)
    err = run(capsys, "-w", str(tmp_path / "ws"), "ingest", "blocksci-tables", str(folder),
              code=2)  # fmt: skip
    assert "tx_output.csv, line 3" in err


def test_contradiction_with_raw_blocks_is_refused(
    tmp_path: Path, tables: Path, raw_prefix: Path
) -> None:
    folder = _copy(tables, tmp_path / "2009")
    text = (folder / "tx_hash.csv").read_text()
    real = "0e3e2357e806b6cdb1f70b54c3a3a17b6714ee1f0e68bebb44a74b1efd512098"
    (folder / "tx_hash.csv").write_text(text.replace(real, "f" * 64))
    with Workspace.create(tmp_path / "ws") as ws:
        ws.ingest.files([raw_prefix])
        with pytest.raises(MalformedBlocksciRowError, match=f"is not txid {real}"):
            ws.ingest.blocksci_tables(folder)


def test_cli_json(tmp_path: Path, tables: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    ws = str(tmp_path / "ws")
    run(capsys, "-w", ws, "init")
    out = json.loads(run(capsys, "-w", ws, "ingest", "blocksci-tables", str(tables), "--json"))
    [folder] = out["folders"]
    assert folder["transactions_added"] == 32_709 and folder["txids_truncated"] == 2_052
    human = run(capsys, "-w", ws, "ingest", "blocksci-tables", str(tables))
    assert "already stored, nothing changed" in human


def test_tx_lookup_says_what_the_tables_do_not_know(
    tables_ws: tuple[Path, BlocksciReport], capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    ws = str(tables_ws[0])
    data = json.loads(run(capsys, "-w", ws, "tx", BLOCK9_COINBASE, "--json"))
    assert data["block_hash"] == "blocksci:height:9" and data["block_time"] is None
    assert data["locktime"] is None and data["outputs"][0]["value"] == 5_000_000_000
    human = run(capsys, "-w", ws, "tx", BLOCK9_COINBASE)
    assert "time unknown" in human and "size unknown" in human
