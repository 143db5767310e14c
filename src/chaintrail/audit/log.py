"""``ws.audit``: the append-only, hash-chained, signed audit log of case-changing commands.

Each entry names who (the ``investigator`` setting, else the OS user), when (UTC), what (the
command, its arguments and what it produced), the SHA-256 of its inputs and the hash of the entry
before it; its own hash is SHA-256 over a canonical JSON encoding of all that, and it is signed
with the workspace's Ed25519 key (:mod:`chaintrail.audit.keys`). The chain starts at the header,
which names the public key, so a copy of the store verifies on its own; the header also keeps
the signed head (last sequence number and hash), so that cutting entries off the end shows too.

A hash chain alone only proves order: anyone who can write the store can rewrite every entry and
re-hash. The signatures make that a forgery only the key holder can make, and pinning the public
key (``--public-key``, or the workspace's own key file) catches a chain re-signed with a new key.
"""

from __future__ import annotations

import dataclasses
import getpass
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chaintrail.audit import keys
from chaintrail.errors import AuditKeyError, WorkspaceError
from chaintrail.store.duck import atomic

if TYPE_CHECKING:
    from chaintrail.workspace import Workspace

FORMAT: Final = "chaintrail-audit/1"
_COLUMNS: Final = (
    "seq", "recorded_at", "actor", "command", "arguments", "result", "case_ids", "inputs_sha256",
    "prev_hash", "entry_hash", "signature",
)  # fmt: skip


def canonical(value: Any) -> bytes:
    """The one byte encoding that is hashed and signed: sorted keys, no spaces, UTF-8."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _utc_text(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One entry as stored; :meth:`payload` is what its ``entry_hash`` is computed over."""

    seq: int
    at: datetime
    actor: str
    command: str
    arguments: dict[str, Any]
    result: dict[str, Any]
    case_ids: tuple[str, ...]
    inputs_sha256: str
    prev_hash: str
    entry_hash: str
    signature: str

    def payload(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "seq": self.seq, "at": _utc_text(self.at), "actor": self.actor,
            "command": self.command, "arguments": self.arguments, "result": self.result,
            "case_ids": list(self.case_ids), "inputs_sha256": self.inputs_sha256,
            "prev_hash": self.prev_hash,
        }  # fmt: skip

    def computed_hash(self) -> str:
        return sha256_hex(canonical(self.payload()))

    def to_json(self) -> dict[str, Any]:
        return {**self.payload(), "entry_hash": self.entry_hash, "signature": self.signature}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AuditEntry:
        """An entry as :meth:`to_json` wrote it (evidence bundles carry them so)."""
        return cls(
            int(data["seq"]), datetime.fromisoformat(str(data["at"])), str(data["actor"]),
            str(data["command"]), dict(data["arguments"]), dict(data["result"]),
            tuple(data["case_ids"]), str(data["inputs_sha256"]), str(data["prev_hash"]),
            str(data["entry_hash"]), str(data["signature"]),
        )  # fmt: skip

    def problems(self, public_key: str) -> list[tuple[str, str]]:
        """(code, message) for a hash that is not the entry's own or a bad signature."""
        found = []
        if self.computed_hash() != self.entry_hash:
            found.append(("hash_mismatch", "its content does not hash to its entry_hash: altered"))
        if not keys.verifies(public_key, self.signature, self.entry_hash.encode("ascii")):
            found.append(("bad_signature", "its signature does not verify with the log's key"))
        return found


@dataclass(frozen=True, slots=True)
class Header:
    format: str
    public_key: str
    key_id: str
    created_at: datetime
    header_hash: str
    head_seq: int
    head_hash: str
    head_signature: str

    def computed_hash(self) -> str:
        return sha256_hex(canonical({"format": self.format, "public_key": self.public_key,
                                     "key_id": self.key_id,
                                     "created_at": _utc_text(self.created_at)}))  # fmt: skip


def head_message(key_id: str, seq: int, head_hash: str) -> bytes:
    """The bytes the head signature signs: the last entry's number and hash under the key."""
    return canonical({"format": FORMAT, "key_id": key_id, "head_seq": seq, "head_hash": head_hash})


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the log; ``seq`` is the entry concerned (None: the header)."""

    code: str
    seq: int | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "seq": self.seq, "message": self.message}


@dataclass(frozen=True, slots=True)
class AuditVerification:
    """What ``audit verify`` found. ``pinned_by`` says what the header's key was compared to:
    ``--public-key``, ``workspace key file``, or None (then a chain re-signed with another key
    cannot be told from the original)."""

    entries: int
    public_key: str | None
    key_id: str | None
    pinned_by: str | None
    head_seq: int
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "valid": self.ok, "entries": self.entries, "public_key": self.public_key,
            "key_id": self.key_id, "pinned_by": self.pinned_by, "head_seq": self.head_seq,
            "problems": [p.to_json() for p in self.problems],
        }  # fmt: skip


class AuditLog:
    """The audit log of one workspace: ``ws.audit``."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.con = ws.con

    # --- reading -------------------------------------------------------------------------------

    def header(self) -> Header | None:
        row = self.con.execute(
            "select format, public_key, key_id, created_at, header_hash, head_seq, head_hash, "
            "head_signature from audit_header"
        ).fetchone()
        return None if row is None else Header(*row)

    def entries(self, *, case_id: str | None = None) -> list[AuditEntry]:
        """Entries in sequence order; with ``case_id`` only those that changed that case."""
        where, params = ("where list_contains(case_ids, ?)", [case_id]) if case_id else ("", [])
        rows = self.con.execute(
            f"select {', '.join(_COLUMNS)} from audit_log {where} order by seq, entry_hash",
            params,
        ).fetchall()
        return [_entry(r) for r in rows]

    def for_case(self, case_id: str) -> list[AuditEntry]:
        """The entries an evidence bundle of ``case_id`` carries: those that changed the case
        and the workspace-wide ones (imports, verifications) that made its facts. Earlier
        exports are left out: they changed nothing, and so two exports of an unchanged case
        are the same bytes."""
        rows = self.con.execute(
            f"select {', '.join(_COLUMNS)} from audit_log "
            "where (list_contains(case_ids, ?) or len(case_ids) = 0) and command <> 'evidence' "
            "order by seq, entry_hash",
            [case_id],
        ).fetchall()
        return [_entry(r) for r in rows]

    # --- writing -------------------------------------------------------------------------------

    def signing_key(self) -> Ed25519PrivateKey:
        """The workspace's key, made with the log's header at first use (needs write), and
        checked to be the key the header names."""
        header = self.header()
        key = keys.load_or_create(self.ws.path, create=header is None and self.ws.writable)
        path = str(keys.private_path(self.ws.path))
        if key is None:
            detail = "it is missing" if header else "no key yet; a write command makes it"
            raise AuditKeyError(path, detail)
        mine = keys.public_hex(key.public_key())
        if header is None:
            self._write_header(key, mine)
        elif header.public_key != mine:
            raise AuditKeyError(
                path, f"it is key {keys.key_id(mine)}, the audit log's is {header.key_id}"
            )
        return key

    def _write_header(self, key: Ed25519PrivateKey, public_key: str) -> None:
        if not self.ws.writable:
            raise WorkspaceError(
                f"The workspace at {self.ws.path} is open read-only.",
                hint="Open it with write=True to start its audit log.",
            )
        kid = keys.key_id(public_key)
        created = datetime.now(UTC)
        header = Header(FORMAT, public_key, kid, created, "", 0, "", "")
        first = header.computed_hash()
        signature = key.sign(head_message(kid, 0, first)).hex()
        self.con.execute(
            "insert into audit_header values (?, ?, ?, ?, ?, 0, ?, ?)",
            [FORMAT, public_key, kid, created, first, first, signature],
        )

    def record(
        self,
        command: str,
        *,
        arguments: Mapping[str, Any],
        result: Mapping[str, Any] | None = None,
        case_ids: Sequence[str] = (),
        inputs_sha256: str | None = None,
    ) -> AuditEntry:
        """Append one signed entry after the signed head. ``inputs_sha256`` defaults to the
        SHA-256 of the canonical arguments (for commands whose inputs are their arguments)."""
        key = self.signing_key()
        header = self.header()
        assert header is not None  # signing_key() wrote it
        args = json.loads(canonical(dict(arguments)))
        res = json.loads(canonical(dict(result or {})))
        draft = AuditEntry(
            seq=header.head_seq + 1,
            at=datetime.now(UTC),
            actor=self.ws.settings.investigator or getpass.getuser(),
            command=command,
            arguments=args,
            result=res,
            case_ids=tuple(sorted(set(case_ids))),
            inputs_sha256=inputs_sha256 or sha256_hex(canonical(args)),
            prev_hash=header.head_hash,
            entry_hash="",
            signature="",
        )
        entry_hash = draft.computed_hash()
        signature = key.sign(entry_hash.encode("ascii")).hex()
        head_signature = key.sign(head_message(header.key_id, draft.seq, entry_hash)).hex()
        with atomic(self.con):
            self.con.execute(
                f"insert into audit_log values ({', '.join('?' * len(_COLUMNS))})",
                [draft.seq, draft.at, draft.actor, command, canonical(args).decode(),
                 canonical(res).decode(), list(draft.case_ids), draft.inputs_sha256,
                 draft.prev_hash, entry_hash, signature],
            )  # fmt: skip
            self.con.execute(
                "update audit_header set head_seq = ?, head_hash = ?, head_signature = ?",
                [draft.seq, entry_hash, head_signature],
            )
        return dataclasses.replace(draft, entry_hash=entry_hash, signature=signature)

    # --- verifying -----------------------------------------------------------------------------

    def verify(self, *, public_key: str | None = None) -> AuditVerification:
        """Check the whole chain: every entry's hash, signature, sequence number and link to the
        one before, the signed head, and the header's key against ``public_key`` (64 hex
        digits) or, without it, the workspace's key file when there is one."""
        header = self.header()
        entries = self.entries()
        headers = self.con.execute("select count(*) from audit_header").fetchone()
        problems: list[Problem] = []
        if header is None:
            if entries:
                problems.append(Problem("no_header", None, "entries but no header naming a key"))
            return AuditVerification(len(entries), None, None, None, 0, problems)
        if headers and headers[0] != 1:
            problems.append(Problem("header_altered", None, f"{headers[0]} header rows, not 1"))
        pinned_by = None
        if public_key is not None:
            pinned_by = "--public-key"
        else:
            own = keys.load_or_create(self.ws.path, create=False)
            if own is not None:
                public_key, pinned_by = keys.public_hex(own.public_key()), "workspace key file"
        if public_key is not None and public_key != header.public_key:
            problems.append(Problem(
                "key_mismatch", None,
                f"the log is signed by key {header.key_id}, not by the pinned key "
                f"{keys.key_id(public_key)} ({pinned_by}): a rewritten, re-signed chain",
            ))  # fmt: skip
        if header.computed_hash() != header.header_hash or header.key_id != keys.key_id(
            header.public_key
        ):
            problems.append(Problem("header_altered", None, "the header does not hash to itself"))
        problems += chain_problems(entries, header.public_key, header.header_hash)
        last_seq = entries[-1].seq if entries else 0
        last_hash = entries[-1].entry_hash if entries else header.header_hash
        message = head_message(header.key_id, header.head_seq, header.head_hash)
        if not keys.verifies(header.public_key, header.head_signature, message):
            problems.append(Problem("bad_head_signature", None, "the signed head does not verify"))
        if (header.head_seq, header.head_hash) != (last_seq, last_hash):
            problems.append(Problem(
                "head_mismatch", header.head_seq,
                f"the signed head is entry {header.head_seq}, the log ends at entry {last_seq}: "
                "entries removed from (or added to) its end",
            ))  # fmt: skip
        return AuditVerification(
            len(entries), header.public_key, header.key_id, pinned_by, header.head_seq, problems
        )


def chain_problems(entries: Sequence[AuditEntry], public_key: str, first: str) -> list[Problem]:
    """Problems of a run of entries that should start after ``first`` (a hash) and follow each
    other without gaps: altered (hash), forged (signature), removed, inserted or moved
    (sequence number, link to the entry before)."""
    problems: list[Problem] = []
    prev_hash, expected = first, 1
    for e in entries:
        if e.seq != expected:
            problems.append(Problem(
                "sequence", e.seq,
                f"entry {e.seq} where entry {expected} should be: entries removed, inserted "
                "or reordered",
            ))  # fmt: skip
        problems += [Problem(code, e.seq, message) for code, message in e.problems(public_key)]
        if e.prev_hash != prev_hash:
            problems.append(Problem(
                "chain_broken", e.seq,
                "its prev_hash is not the hash of the entry before it: an entry before it was "
                "removed, inserted or altered",
            ))  # fmt: skip
        prev_hash, expected = e.entry_hash, e.seq + 1
    return problems


def _entry(row: tuple[Any, ...]) -> AuditEntry:
    seq, at, actor, command, arguments, result, case_ids, inputs, prev, entry_hash, sig = row
    return AuditEntry(
        int(seq), at, actor, command, json.loads(arguments), json.loads(result), tuple(case_ids),
        inputs, prev, entry_hash, sig,
    )  # fmt: skip


__all__ = [
    "FORMAT",
    "AuditEntry",
    "AuditLog",
    "AuditVerification",
    "Header",
    "Problem",
    "canonical",
    "chain_problems",
    "head_message",
    "sha256_hex",
]
