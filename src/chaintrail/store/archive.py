"""The workspace's evidence archive: raw inputs that cannot be read again, kept byte for byte.

Node and server answers vanish once read, so the exact bytes whose SHA-256 a provenance row
records are kept under ``raw/<sha256>.gz`` (gzip without a timestamp, so the same bytes always
give the same file). Files are content-addressed and written through a temporary name, so a
crash leaves at most a harmless extra file, never a truncated one under the real name.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path


def archive_raw(folder: Path | None, sha256: str, body: bytes | None) -> str | None:
    """Keep ``body`` (whose SHA-256 is ``sha256``) in ``folder``; returns the path relative to
    the workspace (``raw/<sha256>.gz``) to record in ``provenance.archived``, or None when there
    is no archive or nothing to keep."""
    if folder is None or body is None:
        return None
    name = f"{sha256}.gz"
    target = folder / name
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        partial.write_bytes(gzip.compress(body, mtime=0))
        os.replace(partial, target)
    return f"{folder.name}/{name}"
