"""A detected deposit address is never the hot wallet of other "deposit addresses".

    D:  U1 -> D 1000 (10); D -> H 990, fee 10 (11)            deposit of H (ETH)
    D2: U2 -> D2 500 (12); D2 -> H 495, fee 5 (13)            deposit of H: H has two
    R1: X -> R1 100 (20); R1 -> D 99, fee 1 (21)              forwards everything to D
    R2: X -> R2 200 (22); R2 -> D 198, fee 2 (23)             forwards everything to D
        D -> H 287, fee 10 (24)                                D sweeps R1's and R2's payments

R1 and R2 meet every other rule with D as their "hot wallet" (two of them, as the minimum asks),
which is what a customer's own addresses topping up their deposit address, or a launderer's
fresh relays paying one mule's deposit address, look like. Version 1 took them for deposit
addresses of hot wallet D, so a trace from X stopped at R1 instead of reaching D.
"""

from __future__ import annotations

from pathlib import Path

from chaintrail.clustering.eth_deposit import DEPOSIT_VERSION
from chaintrail.settings import Settings
from chaintrail.workspace import Workspace
from tests.ethbuilder import EthChain, addr

H, D, D2, R1, R2 = (addr(0x100 + k) for k in range(5))
U1, U2, X = (addr(0x300 + k) for k in range(3))
SETTINGS = Settings(eth_deposit_window_blocks=5, eth_deposit_min_deposits=2)


def test_forwarders_to_a_deposit_address_are_not_deposits(tmp_path: Path) -> None:
    with Workspace.create(tmp_path / "ws", settings=SETTINGS) as ws:
        ch = EthChain(ws.con)
        ch.tx(10, 0, U1, D, 1000, fee=1)
        ch.tx(11, 0, D, H, 990, fee=10)
        ch.tx(12, 0, U2, D2, 500, fee=1)
        ch.tx(13, 0, D2, H, 495, fee=5)
        x1 = ch.tx(20, 0, X, R1, 100, fee=1)
        ch.tx(21, 0, R1, D, 99, fee=1)
        ch.tx(22, 0, X, R2, 200, fee=1)
        ch.tx(23, 0, R2, D, 198, fee=2)
        ch.tx(24, 0, D, H, 287, fee=10)
        run = ws.clusters.build_eth()
        assert run is not None and DEPOSIT_VERSION == 2
        assert {(d.address, d.hot_wallet) for d in run.deposits} == {(D, H), (D2, H)}
        trace = ws.trace_account(asset="ETH", sources=[x1])
    assert [(e.address, e.amount, e.hot_wallet) for e in trace.endpoints] == [(D, 99, H)]
    assert trace.fees == 1
