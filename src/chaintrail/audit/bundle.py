"""Checking an evidence bundle without the workspace that made it.

Everything needed is in the zip: the manifest lists every file with its SHA-256 and names the
public key; ``manifest.sig`` is that key's signature of the manifest's exact bytes; the audit
entries carry their own hashes and signatures. A receiver who was given the public key out of
band pins it with ``--public-key``, which also catches a bundle rebuilt and re-signed by
someone else.
"""

from __future__ import annotations

import json
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaintrail.audit import keys
from chaintrail.audit.evidence import MANIFEST, SIGNATURE
from chaintrail.audit.log import AuditEntry, sha256_hex
from chaintrail.errors import EvidenceBundleError

AUDIT_FILE = "audit.jsonl"


@dataclass(frozen=True, slots=True)
class BundleProblem:
    """One mismatch, naming the file of the bundle it concerns."""

    path: str
    code: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class BundleVerification:
    path: str
    case_id: str | None
    public_key: str
    key_id: str
    pinned: bool
    files_checked: int
    problems: list[BundleProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "valid": self.ok, "path": self.path, "case_id": self.case_id,
            "public_key": self.public_key, "key_id": self.key_id, "pinned": self.pinned,
            "files_checked": self.files_checked,
            "problems": [p.to_json() for p in self.problems],
        }  # fmt: skip


def _manifest(path: Path, zf: zipfile.ZipFile) -> tuple[bytes, dict[str, Any]]:
    try:
        data = zf.read(MANIFEST)
        manifest = json.loads(data)
    except KeyError:
        raise EvidenceBundleError(str(path), f"no {MANIFEST} in the zip") from None
    except (ValueError, zipfile.BadZipFile) as e:
        raise EvidenceBundleError(str(path), f"{MANIFEST} cannot be read ({e})") from e
    if (
        not isinstance(manifest, dict)
        or not isinstance(manifest.get("files"), list)
        or not isinstance(manifest.get("public_key"), str)
    ):
        raise EvidenceBundleError(str(path), f"{MANIFEST} lacks its file list or public key")
    return data, manifest


def verify_bundle(path: str | Path, *, public_key: str | None = None) -> BundleVerification:
    """Check every file's SHA-256 against the manifest, the manifest's signature, the audit
    entries inside, and (with ``public_key``, 64 hex digits) the signer."""
    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise EvidenceBundleError(str(path), "no such file") from None
    except (OSError, zipfile.BadZipFile) as e:
        raise EvidenceBundleError(str(path), f"not a readable zip file ({e})") from e
    with zf:
        data, manifest = _manifest(path, zf)
        signer = manifest["public_key"]
        problems: list[BundleProblem] = []
        names = Counter(zf.namelist())
        for name, count in sorted(names.items()):
            if count > 1:
                problems.append(BundleProblem(name, "duplicate_file", f"{count} entries named so"))
        listed: set[str] = set()
        for item in manifest["files"]:
            name = str(item.get("path"))
            listed.add(name)
            if name not in names:
                problems.append(BundleProblem(name, "missing_file", "listed but not in the zip"))
                continue
            problems += _check_file(zf, name, str(item.get("sha256")))
        for name in sorted(set(names) - listed - {MANIFEST, SIGNATURE}):
            problems.append(BundleProblem(name, "unlisted_file", "in the zip, not in the manifest"))
        problems += _check_signature(zf, names, signer, data)
        if public_key is not None and public_key != signer:
            problems.append(BundleProblem(
                MANIFEST, "key_mismatch",
                f"signed by key {_kid(signer)}, not by the pinned key {keys.key_id(public_key)}",
            ))  # fmt: skip
        if AUDIT_FILE in names and AUDIT_FILE in listed:
            problems += _check_audit(zf.read(AUDIT_FILE), signer)
    return BundleVerification(
        str(path), manifest.get("case_id"), signer, _kid(signer), public_key is not None,
        len(listed), problems,
    )  # fmt: skip


def _kid(public_key: str) -> str:
    try:
        return keys.key_id(public_key)
    except ValueError:
        return "?"


def _check_file(zf: zipfile.ZipFile, name: str, expected: str) -> list[BundleProblem]:
    try:
        content = zf.read(name)
    except (zipfile.BadZipFile, OSError) as e:  # a CRC error: bytes changed inside the zip
        return [BundleProblem(name, "unreadable_file", f"cannot be read ({e})")]
    actual = sha256_hex(content)
    if actual != expected:
        return [BundleProblem(
            name, "hash_mismatch", f"SHA-256 {actual}, the manifest says {expected}"
        )]  # fmt: skip
    return []


def _check_signature(
    zf: zipfile.ZipFile, names: Counter[str], signer: str, manifest: bytes
) -> list[BundleProblem]:
    if SIGNATURE not in names:
        return [BundleProblem(SIGNATURE, "unsigned", "the manifest has no signature")]
    signature = zf.read(SIGNATURE).decode("ascii", "replace").strip()
    if not keys.verifies(signer, signature, manifest):
        message = "its signature does not verify with the key it names: the manifest changed"
        return [BundleProblem(MANIFEST, "bad_signature", message)]
    return []


def _check_audit(data: bytes, signer: str) -> list[BundleProblem]:
    """Each audit entry must hash to itself and carry the signer's signature (the bundle holds
    a case's entries, not the whole chain, so links are not checked here)."""
    problems = []
    for number, line in enumerate(data.splitlines(), start=1):
        try:
            entry = AuditEntry.from_json(json.loads(line))
        except (ValueError, KeyError, TypeError) as e:
            problems.append(BundleProblem(AUDIT_FILE, "audit_unreadable", f"line {number}: {e}"))
            continue
        for code, message in entry.problems(signer):
            problems.append(BundleProblem(
                AUDIT_FILE, f"audit_{code}", f"line {number} (entry {entry.seq}): {message}"
            ))  # fmt: skip
    return problems


__all__ = ["AUDIT_FILE", "BundleProblem", "BundleVerification", "verify_bundle"]
