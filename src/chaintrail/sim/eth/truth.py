"""What really happened in the Ethereum economy, written beside the export (``out/truth``).

The scores of ``chaintrail validate`` need answers the store cannot give: who owns every
address, which addresses are deposit addresses (of which exchange and hot wallet, serving which
customer), how long each waited for its sweep, every transfer (to check the ingest loses and
invents nothing), and where the scam's money went by the FIFO convention of REFERENCE §4.

The scam's flows come from :func:`fifo_flows`, an independent FIFO tracker over the simulator's
own transfer list (not the store, not the trace engine): one queue per address and asset, the
ETH fee of a transaction taken first, then its transfer. It follows the scam's own addresses
(collector and hops) and stops at deposit addresses, as an investigator's trace should.

Files: ``addresses.csv``, ``deposits.csv``, ``transfers.csv``, ``victims.csv``,
``flows.csv``, ``tagpack.yaml`` (the hot wallets an investigator already knows) and
``summary.json``.
"""

from __future__ import annotations

import bisect
import csv
import importlib
import json
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from chaintrail.sim.eth.chain import Fee, Transfer
from chaintrail.sim.eth.economy import Economy

FLOW_KINDS: Final = ("deposit", "unspent", "fee", "other")


@dataclass(frozen=True, slots=True)
class Flow:
    source: str  # the victim payment's transaction hash
    asset: str
    kind: str  # one of FLOW_KINDS
    address: str
    amount: int


def fifo_flows(
    transfers: Iterable[Transfer],
    fees: Iterable[Fee],
    *,
    follow: set[str],
    sources: set[tuple[str, str]],
) -> list[Flow]:
    """FIFO per address and asset through ``follow`` from the ``(asset, transaction hash)``
    ``sources``: where each source's value went (a transfer out of the followed addresses,
    kind ``deposit`` when the caller later marks it so, else ``other``), what paid fees, and
    what the followed addresses still hold. Untainted value is tracked too (it sits in the
    queues) but not reported."""
    events: list[tuple[tuple[int, int, int, int], Transfer | Fee]] = []
    for t in transfers:
        events.append(((t.block_number, t.transaction_index, 1, t.log_index or 0), t))
    for f in fees:
        events.append(((f.block_number, f.transaction_index, 0, 0), f))
    events.sort(key=lambda e: e[0])
    queues: defaultdict[tuple[str, str], deque[list[Any]]] = defaultdict(deque)
    out: defaultdict[tuple[str, str, str, str], int] = defaultdict(int)

    def take(address: str, asset: str, amount: int) -> list[tuple[str | None, int]]:
        q = queues[(address, asset)]
        got: list[tuple[str | None, int]] = []
        while amount > 0:
            if not q:  # more than the tracked history gave: clean (an opening balance)
                got.append((None, amount))
                break
            label, have = q[0]
            part = min(have, amount)
            got.append((label, part))
            amount -= part
            if part == have:
                q.popleft()
            else:
                q[0][1] = have - part
        return got

    for _, e in events:
        if isinstance(e, Fee):
            if e.payer in follow:
                for label, part in take(e.payer, "ETH", e.amount):
                    if label is not None:
                        out[(label, "ETH", "fee", e.payer)] += part
            continue
        if e.from_address in follow:
            slices = take(e.from_address, e.asset, e.value)
        elif (e.asset, e.transaction_hash) in sources:
            slices = [(e.transaction_hash, e.value)]
        else:
            slices = [(None, e.value)]
        if e.to_address in follow:
            queues[(e.to_address, e.asset)].extend([label, part] for label, part in slices)
            continue
        for label, part in slices:
            if label is not None:
                out[(label, e.asset, "other", e.to_address)] += part
    for (address, asset), q in sorted(queues.items()):
        for label, part in q:
            if label is not None and part:
                out[(label, asset, "unspent", address)] += part
    return [Flow(s, a, k, addr, v) for (s, a, k, addr), v in sorted(out.items())]


def deposit_waits(economy: Economy) -> dict[str, int | None]:
    """Per deposit address: the longest wait (blocks) from a payment to the next sweep of that
    asset to the hot wallet; None when some payment was never swept before the data ends."""
    hot = {d: x.hot for x in economy.exchanges for d in x.deposits}
    ins: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
    outs: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
    for t in economy.chain.transfers:
        if t.to_address in hot and t.from_address != hot[t.to_address]:
            ins[(t.to_address, t.asset)].append(t.block_number)
        elif t.from_address in hot and t.to_address == hot[t.from_address]:
            outs[(t.from_address, t.asset)].append(t.block_number)
    waits: dict[str, int | None] = {}
    for (d, asset), blocks in sorted(ins.items()):
        sweeps = sorted(outs.get((d, asset), []))
        for b in blocks:
            i = bisect.bisect_left(sweeps, b)
            prev = waits.get(d, 0)
            never = i == len(sweeps) or (d in waits and prev is None)
            waits[d] = None if never or prev is None else max(prev, sweeps[i] - b)
    return waits


def _csv(path: Path, header: list[str], rows: Iterable[Iterable[object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(["" if v is None else v for v in row] for row in rows)


def tagpack(economy: Economy) -> dict[str, Any]:
    """The hot wallets an investigator already knows (of the exchanges in
    ``economy.tagged_exchanges``); deposit addresses are left to the detector."""
    tags = [{"address": x.hot, "label": f"{x.name} hot wallet", "category": "exchange",
             "concepts": ["hot_wallet"], "actor": x.name.lower().replace("-", "_")}
            for x in economy.exchanges if x.name in economy.tagged_exchanges]  # fmt: skip
    return {
        "title": "Simulated Ethereum economy: known exchange hot wallets",
        "creator": "chaintrail simulator",
        "description": "Hot wallets an investigator starts with; deposit addresses are not tagged.",
        "is_public": False, "currency": "ETH", "network": "ETH",
        "source": "https://intel.example/simulated-service-list", "confidence": "service_data",
        "lastmod": "2024-01-01", "tags": tags,
    }  # fmt: skip


def write_truth(folder: Path, economy: Economy, summary: Mapping[str, Any]) -> list[Flow]:
    """Write every truth file; returns the scam's flows."""
    folder.mkdir(parents=True, exist_ok=True)
    _csv(folder / "addresses.csv", ["address", "entity_id", "entity_kind", "entity_name", "role"],
         ((a, o.entity_id, o.kind, o.name, economy.roles[a])
          for a, o in sorted(economy.owners.items())))  # fmt: skip
    waits = deposit_waits(economy)
    _csv(folder / "deposits.csv",
         ["address", "exchange", "hot_wallet", "serves", "received", "max_wait_blocks"],
         ((d, x.name, x.hot, serves, "true" if d in waits else "false", waits.get(d))
          for x in economy.exchanges for d, serves in sorted(x.deposits.items())))  # fmt: skip
    chain = economy.chain
    _csv(folder / "transfers.csv",
         ["asset", "transaction_hash", "log_index", "block_number", "transaction_index",
          "from_address", "to_address", "value"],
         ((t.asset, t.transaction_hash, t.log_index, t.block_number, t.transaction_index,
           t.from_address, t.to_address, t.value) for t in chain.transfers))  # fmt: skip
    _csv(folder / "victims.csv", ["transaction_hash", "asset", "victim", "amount"],
         ((t.transaction_hash, t.asset, t.from_address, t.value)
          for t in economy.victim_payments))  # fmt: skip
    deposits = {d for x in economy.exchanges for d in x.deposits}
    flows = [
        Flow(f.source, f.asset, "deposit", f.address, f.amount)
        if f.kind == "other" and f.address in deposits else f
        for f in fifo_flows(chain.transfers, chain.fees, follow=economy.scam_addresses,
                            sources={(t.asset, t.transaction_hash)
                                     for t in economy.victim_payments})
    ]  # fmt: skip
    _csv(folder / "flows.csv", ["source", "asset", "kind", "address", "amount"],
         ((f.source, f.asset, f.kind, f.address, f.amount) for f in flows))  # fmt: skip
    yaml: Any = importlib.import_module("yaml")  # PyYAML ships no type stubs
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    (folder / "tagpack.yaml").write_text(
        yaml.dump(tagpack(economy), Dumper=dumper, sort_keys=False, width=100), encoding="utf-8"
    )
    (folder / "summary.json").write_text(
        json.dumps(dict(summary), indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return flows


__all__ = ["FLOW_KINDS", "Flow", "deposit_waits", "fifo_flows", "tagpack", "write_truth"]
