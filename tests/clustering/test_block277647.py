"""Mainnet block 277,647 with its prevouts (see tests/ingest/test_block277647.py): a known
multi-input transaction's input addresses, derived test-side from the scriptSig public keys,
end up in one cluster with the transaction as the evidence."""

from __future__ import annotations

import bz2
from pathlib import Path

import pytest
from bitcoin.core import CBlock, b2lx
from bitcoin.wallet import P2PKHBitcoinAddress

from chaintrail.workspace import Workspace
from tests.corejson_builder import Prevout, dumps, read_blk, render_block
from tests.ingest.test_block277647 import HEIGHT, decode_utxostore

pytestmark = pytest.mark.realdata

#: Spends two P2PKH outputs of two different keys (inputs 0 and 1).
TXID = "010aa178b4fea5d884c80602d61b5e67a61ef3e03f501c03b6c922cc5eccf1e6"


def test_known_multi_input_transaction(shared_data: Path, tmp_path: Path):
    folder = shared_data / "btc" / "btcd"
    [raw] = list(read_blk(bz2.decompress((folder / "277647.dat.bz2").read_bytes())))
    utxos = decode_utxostore(bz2.decompress((folder / "277647.utxostore.bz2").read_bytes()))
    [tx] = [t for t in CBlock.deserialize(raw).vtx if b2lx(t.GetTxid()) == TXID]
    # The address of each input: the P2PKH of the public key its scriptSig pushes last.
    addresses = []
    for txin in tx.vin:
        *_, pubkey = (data for _, data, _ in txin.scriptSig.raw_iter())
        addresses.append(str(P2PKHBitcoinAddress.from_pubkey(pubkey)))
    assert len(set(addresses)) == 2
    prevouts = {op: Prevout(e.value, e.script, e.height, e.coinbase) for op, e in utxos.items()}
    body = tmp_path / "277647.json"
    body.write_text(dumps(render_block(raw, height=HEIGHT, verbosity=3, prevouts=prevouts)))
    with Workspace.create(tmp_path / "ws") as ws:
        ws.ingest.files([body])
        run = ws.clusters.build()
        a, b = (ws.clusters.of(x) for x in addresses)
        e = ws.clusters.explain(addresses[0], addresses[1])
    assert run.height_to == HEIGHT and run.coinjoins == {}
    assert a.cluster_id == b.cluster_id == min(a.address_id, b.address_id)
    assert e.linked and [link.txid for link in e.path] == [TXID]
    assert (e.path[0].heuristic, e.path[0].height, e.path[0].confidence) == (
        "multi_input", HEIGHT, 100,
    )  # fmt: skip
