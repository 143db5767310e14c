"""A bundle on real blocks: the raw answers fetched during triage travel with their hashes.

The store holds the real first blocks of 2009 up to block 170 (tests/data); a loopback Esplora
server (tests/esploraserver.py) serves the rest of the first megabyte. A report of the 40 BTC
change output of block 170 (Satoshi to Hal Finney) is verified, triaged (its trace fetches the
later spends from the server, archiving each answer), and exported.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import zipfile
from pathlib import Path

from chaintrail.audit import verify_bundle
from chaintrail.settings import Settings
from chaintrail.workspace import Workspace
from tests.esploraserver import EsploraChain, EsploraServer, blk_blocks, blk_file

TX_170 = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
CHANGE_170 = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"
HEADER = "report_id,reported_at,victim_name,country,chain,asset,amount,tx_hash,from_address,"
HEADER += "to_address,description\n"


def test_archived_answers_in_the_bundle(tests_data: Path, tmp_path: Path) -> None:
    blocks = blk_blocks((tests_data / "btc" / "blk00000_first1MB.dat").read_bytes())
    (tmp_path / "blk00000.dat").write_bytes(blk_file(blocks[:171]))
    (tmp_path / "reports.csv").write_text(
        HEADER + f"V-1,2009-01-20T00:00:00Z,Victim 001,KR,BTC,BTC,40,{TX_170},,{CHANGE_170},\n"
    )
    chain = EsploraChain()
    chain.add_blocks(blocks)
    with EsploraServer(chain) as server:
        settings = Settings(esplora_url=server.url)
        with Workspace.create(tmp_path / "ws", settings=settings) as ws:
            ws.ingest.files([tmp_path / "blk00000.dat"])
            ws.cases.import_file(tmp_path / "reports.csv")
            ws.cases.verify()
            case_id = ws.cases.triage().cases[0].case_id
            ws.evidence(case_id, tmp_path / "bundle.zip", include_report=False)
    assert verify_bundle(tmp_path / "bundle.zip").ok
    with zipfile.ZipFile(tmp_path / "bundle.zip") as zf:
        raw = {n: zf.read(n) for n in zf.namelist() if n.startswith("raw/")}
        rows = list(csv.DictReader(io.StringIO(zf.read("provenance.csv").decode())))
        hops = list(csv.DictReader(io.StringIO(zf.read("trace_hops.csv").decode())))
        reports = list(csv.DictReader(io.StringIO(zf.read("reports.csv").decode())))
    assert reports[0]["amount"] == "4000000000"
    assert any(int(h["block_height"]) > 170 for h in hops)  # fetched from the server
    assert raw
    in_bundle = {r["sha256"] for r in rows if r["in_bundle"] == "True"}
    for name, data in raw.items():
        body_sha = hashlib.sha256(gzip.decompress(data)).hexdigest()
        assert name == f"raw/{body_sha}.gz" and body_sha in in_bundle
    assert any(r["kind"] == "file" and r["source"].endswith("blk00000.dat") for r in rows)
    assert any(r["kind"] == "file" and r["source"].endswith("reports.csv") for r in rows)
