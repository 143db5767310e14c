"""Audit log and evidence bundles (see docs/audit.md).

``ws.audit`` is the workspace's append-only, hash-chained, Ed25519-signed log of every command
that changed a case; :func:`write_bundle` packs a case's evidence into a signed, deterministic
zip, and :func:`verify_bundle` checks one without the workspace that made it.
"""

from chaintrail.audit.bundle import BundleProblem, BundleVerification, verify_bundle
from chaintrail.audit.evidence import BundleResult, write_bundle
from chaintrail.audit.keys import parse_public_key
from chaintrail.audit.log import AuditEntry, AuditLog, AuditVerification, Problem

__all__ = [
    "AuditEntry",
    "AuditLog",
    "AuditVerification",
    "BundleProblem",
    "BundleResult",
    "BundleVerification",
    "Problem",
    "parse_public_key",
    "verify_bundle",
    "write_bundle",
]
