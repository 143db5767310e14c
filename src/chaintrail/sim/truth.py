"""The truth folder: what really happened in a simulated economy, for scoring the analysis.

Investigators' tools guess ownership, change and flows; the simulator *knows* them. This module
records that knowledge while the economy runs and writes it next to the blocks (the files and
their columns are described in :data:`README`, which is also written into the folder).

The crime flows are computed here by an independent FIFO tracker (REFERENCE §4, the project's
convention): every coin carries an ordered list of slices (source, amount); a transaction
concatenates its inputs' slices in input order (an untainted input is one clean slice) and
cuts its outputs in vout order from the front; what is left after the last output is the fee.
The tracker only sees committed transactions (inputs, outputs, owners), never the crime
scripts' intentions, so it is a check on them as much as a record. A flow stops at a cash-out
(an output paying an address of an exchange, deposit or hot wallet); what is never spent again
is reported as unspent. For every source the parts add up to its amount exactly.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from chaintrail.sim.keys import Key
    from chaintrail.sim.ledger import Entity, SimTx, Wallet

#: Labels of special transactions (``coinjoins.csv``), and whether each is a real CoinJoin.
TX_LABELS: Final = {
    "whirlpool": True,
    "whirlpool_tx0": False,
    "wasabi1": True,
    "wasabi2": True,
    "joinmarket": True,
    "fake_coinjoin": False,
}
#: Entity kinds whose addresses end a traced flow (a cash-out point).
CASH_OUT_KINDS: Final = frozenset({"exchange"})
_CLEAN: Final = -1

README: Final = """\
# Truth of a simulated economy

Written by `chaintrail simulate` next to `../blocks/` (Bitcoin Core `getblock` verbosity-3 JSON
lines). Everything here is what really happened; an investigator starts only with the blocks,
`tagpack.yaml` and `reports.csv`. Amounts are integer satoshis unless a column says otherwise.
CSV files are UTF-8 with a header row; an empty cell means "none".

## Files and columns

- `summary.json`: scenario, seed, parameters, counts, file names.
- `entities.csv` — `entity_id, kind, name`: every actor. Kinds: user, miner, exchange, mixer,
  coinjoin_coordinator, fake_mixer, scammer, hacker, ransomware.
- `addresses.csv` — `address, script_type, entity_id, entity_kind, entity_name, role`: the owner
  of every address the simulator made (bare P2PK keys with their derived P2PKH address and
  script_type `pubkey`). Roles: receive, change, coinbase, hot, deposit, coordinator_fee,
  premix, postmix, collection, payment, peel_chain, laundering, parking, theft, fan_out,
  re_merge, consolidation.
- `change.csv` — `txid, height, change_vout`: for every non-coinbase transaction the vout of
  its change output; empty when it has none (payments without change, sweeps, CoinJoins,
  whose several change outputs belong to several participants).
- `coinjoins.csv` — `txid, height, kind, is_coinjoin, inputs, outputs`: special transactions.
  Kinds `whirlpool`, `wasabi1`, `wasabi2`, `joinmarket` are real CoinJoins
  (`is_coinjoin` true); `whirlpool_tx0` (one user's premix transaction) and `fake_coinjoin`
  (one entity's look-alike from its own reused addresses) are not.
- `crimes.csv` — `crime_id, kind, name, perpetrator_entity_id, perpetrator_name, victims,
  total_sats`: one row per crime (kind: scam, hack, ransomware).
- `victim_payments.csv` — `source_id, crime_id, victim_name, victim_entity_id, txid, vout,
  address, amount_sats, height`: each victim's payment outpoint (for a hack: the theft
  outputs, the victim being the exchange). Victims pay from coins that carry no other crime's
  funds, so each source is one whole output.
- `flows.csv` — `source_id, crime_id, kind, txid, vout, address, entity_name, amount_sats`: the
  exact FIFO flow (REFERENCE §4: input slices concatenated in input order, outputs cut in vout
  order, the remainder is the fee) of each source. Kinds: `cash_out` (an output paying an
  exchange address, deposit or hot wallet; the flow stops there), `unspent` (the source's
  part of an output still unspent at the end), `fee` (taken by the fee of transaction `txid`;
  vout empty), `unspendable` (an OP_RETURN output's value). Per source the amounts add up
  exactly to its `amount_sats`. CoinJoins, Tx0s and the mixer are traced through.
- `tagpack.yaml`: GraphSense TagPack with what an investigator starts with: about 60% of the
  exchanges' deposit and hot addresses, the mixer and the CoinJoin coordinators.
- `reports.csv` — `report_id, reported_at, victim_name, country, chain, asset, amount, tx_hash,
  from_address, to_address, description`: victim reports in the case-intake format
  (pseudonymous names; descriptions in Korean, Japanese, Chinese or English by country;
  `amount` in BTC as decimal text), with realistic flaws.
- `reports_truth.csv` — `report_id, crime_id, source_id, flaw, duplicate_of`: the crime and
  victim payment each report is about (empty: none) and its flaw: none, hash_typo (one hex
  digit wrong), approximate_amount (rounded from memory), missing_fields (two of tx_hash,
  from_address, to_address empty), invalid_row (an unusable date, chain or amount),
  duplicate (the same report again; `duplicate_of` names the first), unrelated (a payment
  that belongs to no crime).
"""


@dataclass(frozen=True, slots=True)
class Source:
    """One traced source of a crime: a victim's payment outpoint."""

    id: int
    crime_id: str
    victim_name: str
    victim_entity_id: int | None
    from_address: str
    txid: str
    vout: int
    address: str
    amount: int
    height: int


@dataclass(frozen=True, slots=True)
class Crime:
    id: str
    kind: str
    name: str
    perpetrator: Entity


class TruthRecorder:
    """Streams the per-address and per-transaction truth to CSV and runs the FIFO tracker."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._files: list[IO[str]] = []
        self._addresses = self._csv(
            "addresses.csv",
            ["address", "script_type", "entity_id", "entity_kind", "entity_name", "role"],
        )
        self._change = self._csv("change.csv", ["txid", "height", "change_vout"])
        self._coinjoins = self._csv(
            "coinjoins.csv", ["txid", "height", "kind", "is_coinjoin", "inputs", "outputs"]
        )
        self.address_count = 0
        self.tx_count = 0
        self.coinjoin_counts: dict[str, int] = {}
        #: wallet index -> entity (filled as keys are made)
        self._owner: dict[int, Entity] = {}
        #: outpoint (txid internal order, vout) -> slices [[source id or -1, sats], ...]
        self._taint: dict[tuple[bytes, int], list[list[int]]] = {}
        #: outpoint -> (address, owner name) of the tainted outputs
        self._tainted_addresses: dict[tuple[bytes, int], tuple[str, str]] = {}
        self.crimes: dict[str, Crime] = {}
        self.sources: list[Source] = []
        #: (source id, kind, txid, vout, address, entity name) -> sats
        self.flows: dict[tuple[int, str, str, int | None, str, str], int] = {}
        #: (address, entity kind, role) of the keys a TagPack may name
        self.services: list[tuple[str, Entity, str]] = []

    def _csv(self, name: str, header: list[str]) -> Any:
        f = (self.folder / name).open("w", encoding="utf-8", newline="")
        self._files.append(f)
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        return w

    # --- hooks of the ledger --------------------------------------------------------------------

    def on_key(self, key: Key, wallet: Wallet, role: str) -> None:
        e = wallet.entity
        self._owner[wallet.index] = e
        self._addresses.writerow([key.address, key.script_type, e.id, e.kind, e.name, role])
        self.address_count += 1
        if e.kind in ("exchange", "mixer", "coinjoin_coordinator"):
            self.services.append((key.address, e, role))

    def on_tx(self, tx: SimTx) -> None:
        b = tx.built
        self.tx_count += 1
        if tx.inputs:
            cv = "" if tx.change_vout is None else tx.change_vout
            self._change.writerow([b.txid, tx.height, cv])
        if tx.label:
            self._coinjoins.writerow(
                [
                    b.txid,
                    tx.height,
                    tx.label,
                    str(TX_LABELS[tx.label]).lower(),
                    len(tx.inputs),
                    len(tx.outputs),
                ]
            )
            self.coinjoin_counts[tx.label] = self.coinjoin_counts.get(tx.label, 0) + 1
        taint = self._taint
        if taint and any((c.txid_le, c.vout) in taint for c in tx.inputs):
            self._propagate(tx)

    def is_tainted(self, txid_le: bytes, vout: int) -> bool:
        """True when the output carries some crime's funds (victims pay from clean coins, so
        that every source is one output and no output is two sources)."""
        return (txid_le, vout) in self._taint

    # --- crimes ---------------------------------------------------------------------------------

    def crime(self, crime_id: str, kind: str, name: str, perpetrator: Entity) -> Crime:
        c = Crime(crime_id, kind, name, perpetrator)
        self.crimes[crime_id] = c
        return c

    def victim_payment(
        self, crime: Crime, tx: SimTx, vout: int, *, victim_name: str, victim: Entity | None
    ) -> Source:
        """Mark output ``vout`` of ``tx`` as a source of ``crime`` (before it is spent)."""
        out = tx.outputs[vout]
        assert out.key is not None
        src = Source(
            len(self.sources),
            crime.id,
            victim_name,
            None if victim is None else victim.id,
            tx.inputs[0].key.address,
            tx.built.txid,
            vout,
            out.key.address,
            out.value,
            tx.height,
        )
        self.sources.append(src)
        point = (tx.built.txid_le, vout)
        assert point not in self._taint, "an output is one victim's payment at most"
        self._taint[point] = [[src.id, out.value]]
        self._tainted_addresses[point] = (out.key.address, self._owner[out.key.owner].name)
        return src

    # --- FIFO -----------------------------------------------------------------------------------

    def _propagate(self, tx: SimTx) -> None:
        taint = self._taint
        stream: list[list[int]] = []
        for c in tx.inputs:
            slices = taint.pop((c.txid_le, c.vout), None)
            self._tainted_addresses.pop((c.txid_le, c.vout), None)
            stream.extend(s.copy() for s in slices) if slices else stream.append([_CLEAN, c.value])
        txid = tx.built.txid
        pos = 0  # index into stream of the first slice not fully used
        for n, out in enumerate(tx.outputs):
            need = out.value
            taken: list[list[int]] = []
            while need and pos < len(stream):
                label, amount = stream[pos]
                part = min(amount, need)
                if taken and taken[-1][0] == label:
                    taken[-1][1] += part
                else:
                    taken.append([label, part])
                need -= part
                if part == amount:
                    pos += 1
                else:
                    stream[pos][1] -= part
            if not any(label != _CLEAN for label, _ in taken):
                continue
            if out.key is None:
                self._flow(taken, "unspendable", txid, n, "", "")
                continue
            owner = self._owner[out.key.owner]
            if owner.kind in CASH_OUT_KINDS:
                self._flow(taken, "cash_out", txid, n, out.key.address, owner.name)
            else:
                taint[(tx.built.txid_le, n)] = taken
                self._tainted_addresses[(tx.built.txid_le, n)] = (out.key.address, owner.name)
        self._flow(stream[pos:], "fee", txid, None, "", "")

    def _flow(
        self,
        slices: list[list[int]],
        kind: str,
        txid: str,
        vout: int | None,
        address: str,
        entity: str,
    ) -> None:
        flows = self.flows
        for label, amount in slices:
            if label != _CLEAN and amount:
                k = (label, kind, txid, vout, address, entity)
                flows[k] = flows.get(k, 0) + amount

    # --- the end --------------------------------------------------------------------------------

    def finish(self, entities: list[Entity]) -> None:
        """Close the streams; write entities, crimes, sources and flows (unspent included)."""
        for point, slices in self._taint.items():
            address, owner_name = self._tainted_addresses[point]
            self._flow(slices, "unspent", point[0][::-1].hex(), point[1], address, owner_name)
        self._taint = {}
        for f in self._files:
            f.close()
        self._write(
            "entities.csv",
            ["entity_id", "kind", "name"],
            [[e.id, e.kind, e.name] for e in entities],
        )
        totals: dict[str, list[int]] = {}
        for s in self.sources:
            t = totals.setdefault(s.crime_id, [0, 0])
            t[0] += 1
            t[1] += s.amount
        self._write(
            "crimes.csv",
            [
                "crime_id",
                "kind",
                "name",
                "perpetrator_entity_id",
                "perpetrator_name",
                "victims",
                "total_sats",
            ],
            [
                [
                    c.id,
                    c.kind,
                    c.name,
                    c.perpetrator.id,
                    c.perpetrator.name,
                    *totals.get(c.id, [0, 0]),
                ]
                for c in self.crimes.values()
            ],
        )
        self._write(
            "victim_payments.csv",
            [
                "source_id",
                "crime_id",
                "victim_name",
                "victim_entity_id",
                "txid",
                "vout",
                "address",
                "amount_sats",
                "height",
            ],
            [
                [
                    s.id,
                    s.crime_id,
                    s.victim_name,
                    "" if s.victim_entity_id is None else s.victim_entity_id,
                    s.txid,
                    s.vout,
                    s.address,
                    s.amount,
                    s.height,
                ]
                for s in self.sources
            ],
        )
        crime_of = {s.id: s.crime_id for s in self.sources}
        rows = [
            [
                label,
                crime_of[label],
                kind,
                txid,
                "" if vout is None else vout,
                address,
                entity,
                amount,
            ]
            for (label, kind, txid, vout, address, entity), amount in sorted(
                self.flows.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2], kv[0][3] or 0)
            )
        ]
        self._write(
            "flows.csv",
            [
                "source_id",
                "crime_id",
                "kind",
                "txid",
                "vout",
                "address",
                "entity_name",
                "amount_sats",
            ],
            rows,
        )
        (self.folder / "README.md").write_text(README, encoding="utf-8")

    def _write(self, name: str, header: list[str], rows: list[list[Any]]) -> None:
        with (self.folder / name).open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            w.writerows(rows)

    def write_json(self, name: str, data: dict[str, Any]) -> None:
        (self.folder / name).write_text(
            json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )


__all__ = ["CASH_OUT_KINDS", "README", "TX_LABELS", "Crime", "Source", "TruthRecorder"]
