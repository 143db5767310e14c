"""The workspace's Ed25519 signing key: made once, kept beside the store, never in it.

The private key lives in ``keys/audit_ed25519.pem`` (mode 0600, folder 0700) and not in the
database, so that a copy of the store handed to a court or a partner carries only the public key
(in the audit log's header) and can be verified but not re-signed. The public key is also
written as ``keys/audit_ed25519.pub`` (PEM) to hand out for pinning.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from chaintrail.errors import AuditKeyError, PublicKeyError

KEY_DIR = "keys"
PRIVATE_NAME = "audit_ed25519.pem"
PUBLIC_NAME = "audit_ed25519.pub"
_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")


def public_hex(key: Ed25519PublicKey) -> str:
    """The raw 32-byte public key as 64 lower-case hex digits (how the log and bundles name it)."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw.hex()


def key_id(public_key_hex: str) -> str:
    """A short name for a key: the first 16 hex digits of SHA-256 of its raw bytes."""
    return hashlib.sha256(bytes.fromhex(public_key_hex)).hexdigest()[:16]


def from_hex(text: str) -> Ed25519PublicKey:
    """A public key from its 64 hex digits (as stored in the log header and manifests)."""
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text))


def verifies(public_key_hex: str, signature_hex: str, message: bytes) -> bool:
    """Whether ``signature_hex`` is the key's Ed25519 signature of ``message``."""
    try:
        from_hex(public_key_hex).verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def private_path(workspace: Path) -> Path:
    return workspace / KEY_DIR / PRIVATE_NAME


def load_or_create(workspace: Path, *, create: bool) -> Ed25519PrivateKey | None:
    """The workspace's private key; made (when ``create``) if there is none yet, else None.

    The file is created with ``O_EXCL`` and mode 0600, so a key is never silently replaced and
    never readable by other users, even for a moment.
    """
    path = private_path(workspace)
    if path.exists():
        try:
            loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as e:
            raise AuditKeyError(str(path), f"cannot read it ({e})") from e
        if not isinstance(loaded, Ed25519PrivateKey):
            raise AuditKeyError(str(path), "it is not an Ed25519 private key")
        return loaded
    if not create:
        return None
    path.parent.mkdir(mode=0o700, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (path.parent / PUBLIC_NAME).write_bytes(public)
    return key


def parse_public_key(text: str) -> str:
    """A ``--public-key`` value as 64 hex digits: the hex itself, or a file holding the hex or
    a PEM Ed25519 public key."""
    value = text.strip()
    if _HEX_KEY.fullmatch(value):
        return value.lower()
    path = Path(value)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise PublicKeyError(text, f"not 64 hex digits and not a readable file ({e})") from e
    if _HEX_KEY.fullmatch(data.strip().decode("ascii", "replace")):
        return data.strip().decode("ascii").lower()
    try:
        loaded = serialization.load_pem_public_key(data)
    except ValueError as e:
        raise PublicKeyError(text, "the file is not a PEM public key") from e
    if not isinstance(loaded, Ed25519PublicKey):
        raise PublicKeyError(text, "the key is not an Ed25519 key")
    return public_hex(loaded)


__all__ = [
    "KEY_DIR",
    "PRIVATE_NAME",
    "PUBLIC_NAME",
    "from_hex",
    "key_id",
    "load_or_create",
    "parse_public_key",
    "private_path",
    "public_hex",
    "verifies",
]
