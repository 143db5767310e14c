"""Typed settings: declared once here, each with a default, help text and environment variable.

A setting named ``ingest_batch_txs`` is read from ``CHAINTRAIL_INGEST_BATCH_TXS``. There is no
global singleton: :meth:`Settings.from_env` builds a record that the workspace holds, and tests
pass their own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from chaintrail.errors import UsageError


def _setting(default: int, help: str) -> int:
    return field(default=default, metadata={"help": help})


def _text_setting(help: str) -> str | None:
    """A text setting; unset (or empty in the environment) is None."""
    return field(default=None, metadata={"help": help, "text": True})


@dataclass(frozen=True, slots=True)
class Settings:
    ingest_batch_txs: int = _setting(
        20_000,
        "File ingest commits a batch (one store transaction) at this many transactions.",
    )
    ingest_batch_blocks: int = _setting(
        500, "... or at this many blocks, whichever comes first (file ingest)."
    )
    max_reorg_depth: int = _setting(
        100,
        "An ingest rolls back at most this many blocks on a reorg (a node's, or a file's with "
        "--replace-reorged); deeper is refused.",
    )
    cluster_guard_factor: int = _setting(
        10,
        "Supercluster guard: warn when a cluster grows to at least this many times its largest "
        "part within one guard step.",
    )
    cluster_guard_min_size: int = _setting(
        100, "Supercluster guard: ... only for clusters reaching at least this many addresses."
    )
    cluster_guard_large: int = _setting(
        1_000, "Supercluster guard: warn when two clusters of at least this size merge."
    )
    cluster_guard_blocks: int = _setting(
        1_000, "Clustering checks the supercluster guard after every this many blocks."
    )
    eth_deposit_window_blocks: int = _setting(
        7_200,
        "Deposit detection: a deposit address forwards each payment within this many blocks.",
    )
    eth_deposit_tolerance_bps: int = _setting(
        100,
        "Deposit detection: forwarded (plus fees paid) may differ from received by this many "
        "basis points (100 = 1%).",
    )
    eth_deposit_min_deposits: int = _setting(
        2,
        "Deposit detection: an untagged hot wallet needs at least this many deposit addresses.",
    )
    eth_deposit_reuse_max_senders: int = _setting(
        5,
        "Deposit-reuse clustering: a deposit address paid by more distinct senders than this "
        "merges none of them (a merchant or processor, not one customer).",
    )
    esplora_url: str | None = _text_setting(
        "Esplora REST server (electrs/mempool API) that traces fetch missing spends from."
    )
    investigator: str | None = _text_setting(
        "Investigator id that audit-log entries name as who made a change (default: OS user)."
    )
    eth_rpc_url: str | None = _text_setting(
        "Ethereum JSON-RPC node that token traces and triage read issuer freeze status from."
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Defaults overridden by ``CHAINTRAIL_<NAME>`` environment variables."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = f"CHAINTRAIL_{f.name.upper()}"
            raw = env.get(name)
            if raw is None:
                continue
            if f.metadata.get("text"):
                values[f.name] = raw.strip() or None
                continue
            try:
                values[f.name] = int(raw)
            except ValueError as e:
                raise UsageError(f"{name}={raw!r} is not an integer.") from e
            if values[f.name] < 1:
                raise UsageError(f"{name} must be at least 1.")
        return cls(**values)


def describe() -> list[dict[str, object]]:
    """Every setting: name, environment variable, default and help (for docs and their test)."""
    return [
        {"name": f.name, "env": f"CHAINTRAIL_{f.name.upper()}", "default": f.default,
         "help": f.metadata["help"]}
        for f in fields(Settings)
    ]  # fmt: skip
