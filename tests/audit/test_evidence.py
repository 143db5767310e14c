"""Evidence bundles: what goes in, a round trip, determinism, and every kind of change caught."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chaintrail.audit import keys, verify_bundle
from chaintrail.audit.evidence import ZIP_TIME
from chaintrail.errors import CaseNotFoundError, EvidenceBundleError
from chaintrail.workspace import Workspace
from tests.audit.conftest import Triaged


def _bundle(ws_path: Path, case_id: str, out: Path) -> Path:
    with Workspace.open(ws_path, write=True) as ws:
        ws.evidence(case_id, out, include_report=False)
    return out


def _csv(zf: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(zf.read(name).decode("utf-8"))))


def _rewrite(src: Path, dest: Path, changes: dict[str, bytes | None]) -> Path:
    """A copy of the zip with some files replaced (bytes), removed (None) or added."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w") as zout:
        for info in zin.infolist():
            if info.filename in changes:
                continue
            zout.writestr(info, zin.read(info.filename))
        for name, data in changes.items():
            if data is not None:
                zout.writestr(name, data)
    return dest


@pytest.fixture
def bundle(triaged: Triaged, triaged_ws: Path, tmp_path: Path) -> Path:
    return _bundle(triaged_ws, triaged.case_id, tmp_path / "bundle.zip")


def test_round_trip(triaged: Triaged, triaged_ws: Path, bundle: Path) -> None:
    result = verify_bundle(bundle)
    assert result.ok, result.problems
    assert result.case_id == triaged.case_id
    with zipfile.ZipFile(bundle) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("manifest.json"))
        assert names == sorted(names)
        assert all(i.date_time == ZIP_TIME for i in zf.infolist())
        listed = {f["path"]: f["sha256"] for f in manifest["files"]}
        assert set(listed) | {"manifest.json", "manifest.sig"} == set(names)
        for name, sha in listed.items():
            assert hashlib.sha256(zf.read(name)).hexdigest() == sha
        reports = _csv(zf, "reports.csv")
        checks = _csv(zf, "verifications.csv")
        hops = _csv(zf, "trace_hops.csv")
        provenance = _csv(zf, "provenance.csv")
        audit = [json.loads(line) for line in zf.read("audit.jsonl").splitlines()]
        case = json.loads(zf.read("case.json"))
    with Workspace.open(triaged_ws) as ws:
        shown = ws.cases.show(triaged.case_id)["case"]
        import_sha = ws.con.execute("select sha256 from report_imports").fetchall()
        header = ws.audit.header()
        verified = ws.cases.verifications()
    assert header is not None
    assert manifest["public_key"] == header.public_key == result.public_key
    assert sorted(r["report_id"] for r in reports) == shown["report_ids"]
    assert case["case"]["case_id"] == triaged.case_id
    for row in checks:  # amounts exact, as stored
        v = verified[row["report_id"]]
        assert row["verified_amount"] == (
            "" if v.verified_amount is None else str(v.verified_amount)
        )
    assert hops and all(int(h["amount"]) >= 0 for h in hops)
    assert {r["sha256"] for r in provenance} >= {s for (s,) in import_sha}
    assert [e["command"] for e in audit][:3] == ["cases.import", "cases.verify", "cases.triage"]
    assert any("traced again" in n and "equal the triage's" in n for n in manifest["notes"])
    assert "report left out (--no-report)" in manifest["notes"]


def test_export_is_recorded_and_deterministic(
    triaged: Triaged, triaged_ws: Path, tmp_path: Path
) -> None:
    first = _bundle(triaged_ws, triaged.case_id, tmp_path / "a.zip")
    second = _bundle(triaged_ws, triaged.case_id, tmp_path / "b.zip")
    assert first.read_bytes() == second.read_bytes()
    manifest_sha = hashlib.sha256(zipfile.ZipFile(first).read("manifest.json")).hexdigest()
    with Workspace.open(triaged_ws) as ws:
        exports = [e for e in ws.audit.entries(case_id=triaged.case_id) if e.command == "evidence"]
        assert ws.audit.verify().ok
    assert len(exports) == 2 and exports[0].result["manifest_sha256"] == manifest_sha


def test_modified_file_is_named(bundle: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(bundle) as zf:
        text = zf.read("verifications.csv").decode()
    changed = text.replace(",verified,", ",not_found,", 1)
    assert changed != text
    tampered = _rewrite(bundle, tmp_path / "t.zip", {"verifications.csv": changed.encode()})
    result = verify_bundle(tampered)
    assert [(p.path, p.code) for p in result.problems] == [("verifications.csv", "hash_mismatch")]


def test_manifest_edited_to_match_fails_its_signature(bundle: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(bundle) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    fake = b"report_id\nR-1\n"
    for f in manifest["files"]:
        if f["path"] == "reports.csv":
            f["sha256"], f["bytes"] = hashlib.sha256(fake).hexdigest(), len(fake)
    new_manifest = json.dumps(manifest, indent=2).encode() + b"\n"
    tampered = _rewrite(
        bundle, tmp_path / "t.zip", {"reports.csv": fake, "manifest.json": new_manifest}
    )
    result = verify_bundle(tampered)
    assert [(p.path, p.code) for p in result.problems] == [("manifest.json", "bad_signature")]


def test_removed_and_added_files(bundle: Path, tmp_path: Path) -> None:
    tampered = _rewrite(bundle, tmp_path / "t.zip", {"trace_hops.csv": None, "extra.txt": b"x"})
    result = verify_bundle(tampered)
    assert sorted((p.path, p.code) for p in result.problems) == [
        ("extra.txt", "unlisted_file"),
        ("trace_hops.csv", "missing_file"),
    ]


def test_resigned_bundle_caught_by_a_pinned_key(bundle: Path, tmp_path: Path) -> None:
    """Someone rebuilds the manifest and signs it with their own key: consistent in itself,
    caught only against the key the receiver was given."""
    original = verify_bundle(bundle).public_key
    forger = Ed25519PrivateKey.generate()
    with zipfile.ZipFile(bundle) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    manifest["public_key"] = keys.public_hex(forger.public_key())
    manifest["files"] = [f for f in manifest["files"] if f["path"] != "audit.jsonl"]
    data = json.dumps(manifest, indent=2).encode() + b"\n"
    signature = forger.sign(data).hex().encode()
    changes = {"manifest.json": data, "manifest.sig": signature, "audit.jsonl": None}
    tampered = _rewrite(bundle, tmp_path / "t.zip", changes)
    assert verify_bundle(tampered).ok
    pinned = verify_bundle(tampered, public_key=original)
    assert [(p.path, p.code) for p in pinned.problems] == [("manifest.json", "key_mismatch")]


def test_audit_entry_altered_inside_the_bundle(bundle: Path, tmp_path: Path) -> None:
    """Each carried audit entry keeps its own hash and signature."""
    with zipfile.ZipFile(bundle) as zf:
        lines = zf.read("audit.jsonl").splitlines()
    entry = json.loads(lines[0])
    entry["actor"] = "someone else"
    lines[0] = json.dumps(entry).encode()
    tampered = _rewrite(bundle, tmp_path / "t.zip", {"audit.jsonl": b"\n".join(lines) + b"\n"})
    codes = [(p.path, p.code) for p in verify_bundle(tampered).problems]
    assert codes == [("audit.jsonl", "hash_mismatch"), ("audit.jsonl", "audit_hash_mismatch")]


def test_unreadable_bundles(tmp_path: Path) -> None:
    with pytest.raises(EvidenceBundleError, match="no such file"):
        verify_bundle(tmp_path / "missing.zip")
    (tmp_path / "not.zip").write_text("hello")
    with pytest.raises(EvidenceBundleError, match="not a readable zip"):
        verify_bundle(tmp_path / "not.zip")
    with zipfile.ZipFile(tmp_path / "empty.zip", "w") as zf:
        zf.writestr("reports.csv", "x")
    with pytest.raises(EvidenceBundleError, match="no manifest.json"):
        verify_bundle(tmp_path / "empty.zip")


def test_unknown_case(triaged_ws: Path, tmp_path: Path) -> None:
    with Workspace.open(triaged_ws, write=True) as ws, pytest.raises(CaseNotFoundError):
        ws.evidence("CT-404", tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists()
