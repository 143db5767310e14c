"""The Bitcoin networks: magic bytes, genesis block, address prefixes and BIP34 activation.

A workspace holds one network (recorded at its first ingest): mainnet and testnet addresses
must never mix in one store. Files in node framing name their network by their magic; raw
blocks and JSON are read as the network the user says (``--network``, default the workspace's
or mainnet); a node says its own (``getblockchaininfo``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from chaintrail.chains.btc.script import MAINNET as MAINNET_ADDRESSES
from chaintrail.chains.btc.script import REGTEST as REGTEST_ADDRESSES
from chaintrail.chains.btc.script import TESTNET as TESTNET_ADDRESSES
from chaintrail.chains.btc.script import Network
from chaintrail.errors import UsageError


@dataclass(frozen=True, slots=True)
class BtcNetwork:
    name: str
    #: The 4 bytes starting each record of a blk*.dat file (and every P2P message).
    magic: bytes
    genesis_hash: str
    addresses: Network
    #: Name in Bitcoin Core's ``getblockchaininfo`` ``chain`` field.
    core_chain: str
    #: Height from which BIP34 made the coinbase height mandatory; a lone block's coinbase height
    #: is trusted above this.
    bip34_height: int


MAINNET: Final = BtcNetwork(
    "mainnet", bytes.fromhex("f9beb4d9"),
    "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f", MAINNET_ADDRESSES,
    "main", 227_835,
)  # fmt: skip
TESTNET3: Final = BtcNetwork(
    "testnet3", bytes.fromhex("0b110907"),
    "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943", TESTNET_ADDRESSES,
    "test", 21_110,
)  # fmt: skip
TESTNET4: Final = BtcNetwork(
    "testnet4", bytes.fromhex("1c163f28"),
    "00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043", TESTNET_ADDRESSES,
    "testnet4", 0,
)  # fmt: skip
SIGNET: Final = BtcNetwork(
    "signet", bytes.fromhex("0a03cf40"),
    "00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6", TESTNET_ADDRESSES,
    "signet", 0,
)  # fmt: skip
REGTEST: Final = BtcNetwork(
    "regtest", bytes.fromhex("fabfb5da"),
    "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206", REGTEST_ADDRESSES,
    "regtest", 0,
)  # fmt: skip

NETWORKS: Final = {n.name: n for n in (MAINNET, TESTNET3, TESTNET4, SIGNET, REGTEST)}
BY_MAGIC: Final = {n.magic: n for n in NETWORKS.values()}
BY_CORE_CHAIN: Final = {n.core_chain: n for n in NETWORKS.values()}
GENESIS_HASHES: Final = {n.genesis_hash: n for n in NETWORKS.values()}


def network(name: str) -> BtcNetwork:
    """The network called ``name`` (mainnet, testnet3, testnet4, signet, regtest)."""
    try:
        return NETWORKS[name]
    except KeyError:
        raise UsageError(
            f"Unknown Bitcoin network {name!r}.", hint="Use one of: " + ", ".join(NETWORKS) + "."
        ) from None
