"""The audit log: entries for every case change, and tampering of every kind detected."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chaintrail.audit import keys
from chaintrail.audit.log import AuditEntry, Header, canonical, head_message
from chaintrail.errors import AuditKeyError
from chaintrail.settings import Settings
from chaintrail.workspace import Workspace


def _codes(path: Path, public_key: str | None = None) -> list[tuple[str, int | None]]:
    with Workspace.open(path) as ws:
        result = ws.audit.verify(public_key=public_key)
    return [(p.code, p.seq) for p in result.problems]


def _sql(path: Path, statement: str, params: list[object] | None = None) -> None:
    with Workspace.open(path, write=True) as ws:
        ws.con.execute(statement, params or [])


def test_every_case_change_is_an_entry(case_ws: Path) -> None:
    with Workspace.open(case_ws) as ws:
        entries = ws.audit.entries()
        result = ws.audit.verify()
    assert [e.command for e in entries] == [
        "cases.open", "cases.note", "cases.note", "cases.assign", "cases.close",
    ]  # fmt: skip
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert all(e.case_ids == ("CT-1",) for e in entries)
    assert entries[2].arguments["text"] == "피해자 진술 확인"
    assert entries[4].arguments == {"case_id": "CT-1", "reason": "Referred"}
    assert entries[1].result == {"note_id": 1}
    assert all(e.at.utcoffset() is not None and e.at.utcoffset().total_seconds() == 0
               for e in entries)  # fmt: skip
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.prev_hash == before.entry_hash
    assert result.ok and result.entries == 5 and result.pinned_by == "workspace key file"


def test_entry_names_the_configured_investigator(tmp_path: Path) -> None:
    settings = Settings.from_env({"CHAINTRAIL_INVESTIGATOR": "KNPA-1234"})
    with Workspace.create(tmp_path / "ws", settings=settings) as ws:
        ws.cases.open_case("CT-9", title="t")
        entry = ws.audit.entries(case_id="CT-9")[0]
    assert entry.actor == "KNPA-1234"
    assert entry.inputs_sha256 == hashlib.sha256(canonical(entry.arguments)).hexdigest()


def test_key_file_is_private_and_public_key_in_header(case_ws: Path) -> None:
    private = case_ws / "keys" / "audit_ed25519.pem"
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    pub = keys.parse_public_key(str(case_ws / "keys" / "audit_ed25519.pub"))
    with Workspace.open(case_ws) as ws:
        header = ws.audit.header()
    assert header is not None and header.public_key == pub
    assert header.key_id == keys.key_id(pub)


def test_a_copy_of_the_store_verifies_without_the_key(case_ws: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "chaintrail.duckdb").write_bytes((case_ws / "chaintrail.duckdb").read_bytes())
    with Workspace.open(copy) as ws:
        result = ws.audit.verify()
    assert result.ok and result.pinned_by is None and result.entries == 5


def test_a_store_without_its_key_cannot_be_written_to(case_ws: Path) -> None:
    (case_ws / "keys" / "audit_ed25519.pem").unlink()
    with Workspace.open(case_ws, write=True) as ws, pytest.raises(AuditKeyError, match="missing"):
        ws.cases.add_note("CT-1", "more")


def test_another_key_in_the_folder_is_refused(case_ws: Path) -> None:
    (case_ws / "keys" / "audit_ed25519.pem").unlink()
    with Workspace.open(case_ws, write=True) as ws:
        keys.load_or_create(case_ws, create=True)  # a new key, not the log's
        with pytest.raises(AuditKeyError, match="the audit log's is"):
            ws.cases.add_note("CT-1", "more")


def test_edited_entry(case_ws: Path) -> None:
    _sql(case_ws, "update audit_log set actor = 'someone else' where seq = 2")
    assert _codes(case_ws) == [("hash_mismatch", 2)]


def test_edited_arguments(case_ws: Path) -> None:
    args = json.dumps({"case_id": "CT-1", "reason": "No crime"}, separators=(",", ":"))
    _sql(case_ws, "update audit_log set arguments = ? where seq = 5", [args])
    assert _codes(case_ws) == [("hash_mismatch", 5)]


def test_deleted_entry(case_ws: Path) -> None:
    _sql(case_ws, "delete from audit_log where seq = 3")
    assert _codes(case_ws) == [("sequence", 4), ("chain_broken", 4)]


def test_deleted_last_entry(case_ws: Path) -> None:
    _sql(case_ws, "delete from audit_log where seq = 5")
    assert _codes(case_ws) == [("head_mismatch", 5)]


def test_deleted_last_entry_and_head_moved_back(case_ws: Path) -> None:
    with Workspace.open(case_ws) as ws:
        fourth = ws.audit.entries()[3]
    _sql(case_ws, "delete from audit_log where seq = 5")
    _sql(case_ws, "update audit_header set head_seq = 4, head_hash = ?", [fourth.entry_hash])
    assert _codes(case_ws) == [("bad_head_signature", None)]


def _rows(path: Path) -> list[AuditEntry]:
    with Workspace.open(path) as ws:
        return ws.audit.entries()


def _insert(path: Path, e: AuditEntry) -> None:
    _sql(
        path,
        "insert into audit_log values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [e.seq, e.at, e.actor, e.command, canonical(e.arguments).decode(),
         canonical(e.result).decode(), list(e.case_ids), e.inputs_sha256, e.prev_hash,
         e.entry_hash, e.signature],
    )  # fmt: skip


def test_inserted_entry(case_ws: Path) -> None:
    """A forged entry after entry 2, hashed correctly but signed with another key, the later
    entries renumbered to make room."""
    entries = _rows(case_ws)
    forged = dataclasses.replace(
        entries[2], seq=3, actor="intruder", prev_hash=entries[1].entry_hash
    )
    forged = dataclasses.replace(forged, entry_hash=forged.computed_hash())
    other = Ed25519PrivateKey.generate()
    forged = dataclasses.replace(forged, signature=other.sign(forged.entry_hash.encode()).hex())
    _sql(case_ws, "update audit_log set seq = seq + 1 where seq >= 3")
    _insert(case_ws, forged)
    codes = _codes(case_ws)
    assert ("bad_signature", 3) in codes
    assert ("chain_broken", 4) in codes  # the old entry 3 no longer follows its predecessor
    assert ("hash_mismatch", 4) in codes  # renumbered: its seq is hashed


def test_reordered_entries(case_ws: Path) -> None:
    _sql(case_ws, "update audit_log set seq = case seq when 2 then 3 when 3 then 2 else seq end")
    codes = _codes(case_ws)
    assert ("hash_mismatch", 2) in codes and ("hash_mismatch", 3) in codes
    assert ("chain_broken", 2) in codes


def _resign(path: Path) -> str:
    """Rewrite the whole log, consistently, signed with a new key; returns its public key."""
    key = Ed25519PrivateKey.generate()
    public = keys.public_hex(key.public_key())
    kid = keys.key_id(public)
    with Workspace.open(path) as ws:
        header = ws.audit.header()
        entries = ws.audit.entries()
    assert header is not None
    new = Header(header.format, public, kid, header.created_at, "", 0, "", "")
    prev = new.computed_hash()
    first = prev
    rewritten = []
    for e in entries:
        e = dataclasses.replace(e, actor="rewriter", prev_hash=prev)
        e = dataclasses.replace(e, entry_hash=e.computed_hash())
        e = dataclasses.replace(e, signature=key.sign(e.entry_hash.encode()).hex())
        rewritten.append(e)
        prev = e.entry_hash
    _sql(path, "delete from audit_log")
    for e in rewritten:
        _insert(path, e)
    head_sig = key.sign(head_message(kid, rewritten[-1].seq, prev)).hex()
    _sql(
        path,
        "update audit_header set public_key = ?, key_id = ?, header_hash = ?, head_seq = ?, "
        "head_hash = ?, head_signature = ?",
        [public, kid, first, rewritten[-1].seq, prev, head_sig],
    )
    return public


def test_resigned_chain_caught_by_the_workspace_key(case_ws: Path) -> None:
    _resign(case_ws)
    assert _codes(case_ws) == [("key_mismatch", None)]


def test_resigned_chain_caught_by_a_pinned_key(case_ws: Path, tmp_path: Path) -> None:
    original = keys.parse_public_key(str(case_ws / "keys" / "audit_ed25519.pub"))
    forger = _resign(case_ws)
    copy = tmp_path / "copy"  # the store alone, as a court receives it
    copy.mkdir()
    (copy / "chaintrail.duckdb").write_bytes((case_ws / "chaintrail.duckdb").read_bytes())
    assert _codes(copy) == []  # consistent in itself: only a pinned key tells
    assert _codes(copy, public_key=original) == [("key_mismatch", None)]
    assert _codes(copy, public_key=forger) == []


def test_appending_after_verify_continues_the_chain(case_ws: Path) -> None:
    with Workspace.open(case_ws, write=True) as ws:
        ws.cases.add_note("CT-1", "Reopened the file.")
        assert ws.audit.verify().ok
        assert ws.audit.entries()[-1].seq == 6
