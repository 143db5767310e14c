"""Hand-built transactions for heuristic tests: short address names, integer satoshis."""

from __future__ import annotations

from typing import Any

from chaintrail.heuristics.base import InputView, OutputView, TxView

WPKH = "witness_v0_keyhash"


def tx(
    inputs: list[tuple[Any, ...]],
    outputs: list[tuple[Any, ...]],
    *,
    seen: dict[int, bool] | None = None,
    spent_by: dict[int, tuple[int, int]] | None = None,
    txid: str = "ab" * 32,
) -> TxView:
    """A TxView from (address, value[, script_type]) tuples; ``seen``/``spent_by`` by vout."""
    ins = tuple(InputView(i[0], i[1], i[2] if len(i) > 2 else WPKH) for i in inputs)
    outs = tuple(
        OutputView(k, o[0], o[1], o[2] if len(o) > 2 else WPKH,
                   None if seen is None else seen.get(k),
                   None if spent_by is None else spent_by.get(k))
        for k, o in enumerate(outputs)
    )  # fmt: skip
    return TxView(txid, ins, outs, 100)
