"""Script classification and address derivation, checked against independent implementations.

Expected values never come from the code under test: the BIP173/BIP350 test vectors,
python-bitcoinlib's address code, base58 from the PyPI ``base58`` package, bitcoin-etl's
recorded output (Bitcoin Core's type names and addresses) and mempool.space's Esplora objects
(AGPL test data, read from ``../shared/data`` at test time only, never copied).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import base58
import pytest
from bitcoin.core import CBlock
from bitcoin.core.script import CScript
from bitcoin.wallet import CBitcoinAddress, CBitcoinAddressError, P2PKHBitcoinAddress
from hypothesis import given, settings
from hypothesis import strategies as st

from chaintrail.chains.btc import _bech32, script
from chaintrail.chains.btc.rawblock import parse_block
from chaintrail.chains.btc.script import (
    MAINNET,
    TESTNET,
    address_to_script,
    classify,
    classify_many,
    classify_uncached,
    is_valid_address,
)
from chaintrail.errors import InvalidAddressError
from chaintrail.ingest.sources.files import iter_blk_records

DATA = Path(__file__).resolve().parent.parent / "data"
BTC = DATA / "btc"
RUST_BLOCK = (
    BTC / "mainnet_block_000000000000000000000c835b2adcaedc20fdf6ee440009c249452c726dafae.raw"
)


def _output_scripts(raw: bytes) -> list[bytes]:
    return [bytes(out.scriptPubKey) for tx in CBlock.deserialize(raw).vtx for out in tx.vout]


@pytest.fixture(scope="module")
def real_scripts() -> list[bytes]:
    """Every output script of the small real blocks in tests/data/btc (11,060)."""
    scripts = _output_scripts(RUST_BLOCK.read_bytes())
    for name in ("block169482.dat", "block227835.dat", "block227836.dat"):
        scripts += _output_scripts((BTC / name).read_bytes())
    blk = (BTC / "blk00000_first1MB.dat").read_bytes()
    for _, record, _ in iter_blk_records(blk):
        scripts += _output_scripts(record)
    return scripts


# --- bech32 / bech32m: the BIP test vectors -----------------------------------------------------

BIP_VALID = [
    ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "0014751e76e8199196d454941c45d1b3a323f1433bd6"),
    (
        "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
        "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262",
    ),
    (
        "tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy",
        "0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433",
    ),
    (
        "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
        "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6",
    ),
    ("BC1SW50QGDZ25J", "6002751e"),
    ("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "5210751e76e8199196d454941c45d1b3a323"),
    (
        "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
        "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433",
    ),
    (
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
    ),
]

BIP_INVALID = [
    "tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut",  # unknown hrp
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",  # v1 with bech32
    "tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf",  # v2 with bech32
    "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",  # v16 with bech32
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",  # v0 with bech32m
    "tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47",  # v0 with bech32m
    "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4",  # invalid character
    "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R",  # version 17
    "bc1pw5dgrnzv",  # 1-byte program
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",  # 41 bytes
    "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P",  # v0 with 16 bytes
    "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq",  # mixed case
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf",  # >4 padding bits
    "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j",  # non-zero padding
    "bc1gmk9yu",  # empty data
]


@pytest.mark.parametrize(("address", "script_hex"), BIP_VALID)
def test_bip173_bip350_valid_vectors(address: str, script_hex: str) -> None:
    network = MAINNET if address.lower().startswith("bc1") else TESTNET
    expected = bytes.fromhex(script_hex)
    assert address_to_script(address, network=network) == expected
    assert is_valid_address(address, network=network)
    version = 0 if expected[0] == 0 else expected[0] - 0x50
    assert _bech32.encode(network.hrp, version, expected[2:]) == address.lower()
    assert _bech32.encode_many(network.hrp, version, [expected[2:]]) == [address.lower()]
    assert classify(expected, network=network)[1] == address.lower()


@pytest.mark.parametrize("address", BIP_INVALID)
def test_bip173_bip350_invalid_vectors(address: str) -> None:
    network = TESTNET if address.lower().startswith("tb1") else MAINNET
    assert not is_valid_address(address, network=network)
    with pytest.raises(InvalidAddressError) as info:
        address_to_script(address, network=network)
    assert info.value.code == "invalid_address"


def test_address_of_the_wrong_network_is_invalid() -> None:
    assert not is_valid_address("tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7")
    assert not is_valid_address("1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3", network=TESTNET)
    assert not is_valid_address("")
    assert not is_valid_address("1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm4")  # checksum
    assert not is_valid_address("€uro")


# --- against python-bitcoinlib ------------------------------------------------------------------


def _bitcoinlib_address(raw: bytes) -> str | None:
    try:
        return str(CBitcoinAddress.from_scriptPubKey(CScript(raw)))
    except (CBitcoinAddressError, ValueError):
        return None


def test_addresses_match_python_bitcoinlib(real_scripts: list[bytes]) -> None:
    script.clear_cache()
    ours = classify_many(real_scripts)
    checked: dict[str, int] = {}
    for raw, (kind, address) in zip(real_scripts, ours, strict=True):
        reference = _bitcoinlib_address(raw)
        if kind in ("pubkeyhash", "scripthash", "witness_v0_keyhash", "witness_v0_scripthash"):
            assert address == reference, (raw.hex(), kind)
        elif kind == "pubkey":
            # bitcoinlib derives the P2PKH address of a bare-checksig key the same way.
            key = raw[1:-1]
            assert address == str(P2PKHBitcoinAddress.from_pubkey(key, accept_invalid=True))
        else:
            assert address is None or kind in ("witness_unknown", "anchor", "witness_v1_taproot")
        checked[kind] = checked.get(kind, 0) + 1
    assert len(real_scripts) == 11_060
    assert checked == {
        "pubkey": 4_383,  # 2009: mostly bare P2PK coinbase outputs
        "pubkeyhash": 2_320,
        "scripthash": 1_816,
        "witness_v0_keyhash": 2_383,
        "witness_v0_scripthash": 133,
        "nulldata": 23,
        "nonstandard": 2,
    }


def test_batch_path_equals_reference_path(real_scripts: list[bytes]) -> None:
    """classify_many (SWAR base58, table bech32, cache) == classify_uncached (base58 package)."""
    script.clear_cache()
    unique = list(dict.fromkeys(real_scripts))
    batch = classify_many(unique)
    assert batch == [classify_uncached(raw) for raw in unique]
    assert classify_many(unique) == batch  # now all from the cache


def test_derived_addresses_round_trip_to_their_script(real_scripts: list[bytes]) -> None:
    for raw, (kind, address) in zip(real_scripts, classify_many(real_scripts), strict=True):
        if address is None:
            continue
        if kind == "pubkey":
            assert address_to_script(address)[3:23] == script.hash160(raw[1:-1])
        else:
            assert address_to_script(address) == raw


def test_testnet_addresses_match_python_bitcoinlib() -> None:
    import bitcoin

    raw = (BTC / "block_testnet700000.dat").read_bytes()
    block = parse_block(raw, network=TESTNET)
    bitcoin.SelectParams("testnet")
    try:
        expected = [_bitcoinlib_address(s) for s in _output_scripts(raw)]
    finally:
        bitcoin.SelectParams("mainnet")
    compared = 0
    for kind, address, reference in zip(
        block.outputs["script_type"], block.outputs["address"], expected, strict=True
    ):
        if kind in ("pubkeyhash", "scripthash", "witness_v0_keyhash", "witness_v0_scripthash"):
            assert address == reference
            assert address_to_script(str(address), network=TESTNET)
            compared += 1
    assert compared >= 5


# --- against bitcoin-etl (Bitcoin Core's types and addresses) ----------------------------------


def _etl_dir(shared: Path | None) -> Path:
    local = DATA / "etl" / "bitcoin"
    if local.is_dir():
        return local
    if shared is None:
        pytest.skip("bitcoin-etl fixtures not found")
    return shared / "btc" / "etl-rpc-fixtures" / "bitcoin"


def test_types_and_addresses_match_bitcoin_etl() -> None:
    outputs = 0
    for path in sorted(_etl_dir(None).glob("*/expected_transactions.json")):
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            tx = json.loads(line)
            for out in tx["outputs"]:
                kind, address = classify(bytes.fromhex(out["script_hex"]))
                assert kind == out["type"]
                assert [address] == out["addresses"]
                outputs += 1
    assert outputs >= 11  # P2PK (address derived as P2PKH, as bitcoin-etl shows it) and P2PKH


# --- against Esplora (mempool.space), every script type incl. taproot --------------------------

ESPLORA_TYPES = {
    "p2pk": "pubkey",
    "p2pkh": "pubkeyhash",
    "p2sh": "scripthash",
    "v0_p2wpkh": "witness_v0_keyhash",
    "v0_p2wsh": "witness_v0_scripthash",
    "v1_p2tr": "witness_v1_taproot",
    "multisig": "multisig",
    "op_return": "nulldata",
}


def _esplora_txs(root: Path) -> Iterator[dict[str, Any]]:
    for path in sorted(root.rglob("*.json")):
        body = json.loads(path.read_text())
        for item in body if isinstance(body, list) else [body]:
            if isinstance(item, dict) and "vout" in item and "vin" in item:
                yield item


@pytest.mark.realdata
def test_every_script_type_matches_esplora(shared_data: Path) -> None:
    root = shared_data / "btc" / "esplora" / "mempool-fixtures-agpl"
    if not root.is_dir():
        pytest.skip("mempool Esplora fixtures not found in the shared data")
    seen: dict[str, int] = {}
    txids = set()
    for tx in _esplora_txs(root):
        txids.add(tx["txid"])
        outs = list(tx["vout"]) + [vin["prevout"] for vin in tx["vin"] if vin.get("prevout")]
        for out in outs:
            raw = bytes.fromhex(out["scriptpubkey"])
            kind, address = classify(raw)
            esplora = out["scriptpubkey_type"]
            if esplora in ESPLORA_TYPES:
                assert kind == ESPLORA_TYPES[esplora], out
            else:
                assert esplora == "unknown" and kind in ("anchor", "witness_unknown"), out
            if kind == "pubkey":
                # Esplora shows no address for P2PK; ours is the P2PKH address of the key.
                key = raw[1:-1]
                digest = hashlib.new("ripemd160", hashlib.sha256(key).digest()).digest()
                assert address == base58.b58encode_check(b"\x00" + digest).decode()
            else:
                assert address == (out.get("scriptpubkey_address") or None), out
            seen[kind] = seen.get(kind, 0) + 1
    assert len(txids) == 12
    assert set(seen) == {
        "pubkey",
        "pubkeyhash",
        "scripthash",
        "multisig",
        "nulldata",
        "witness_v0_keyhash",
        "witness_v0_scripthash",
        "witness_v1_taproot",
        "anchor",
        "witness_unknown",
    }


# --- the classification rules themselves ----------------------------------------------------------


def test_core_solver_edge_cases() -> None:
    p2pkh = bytes.fromhex("76a914099f831c49289c7b9cc07a9a632867ecd51a105a88ac")
    assert classify(p2pkh) == ("pubkeyhash", "1stAprEZapjCYGUACUcXohQqSHF9MU5Kj")
    # A version-0 program of another length is nonstandard, with no address.
    assert classify(bytes.fromhex("0010") + bytes(16)) == ("nonstandard", None)
    # OP_RETURN followed by a non-push opcode is not nulldata (Core: IsPushOnly).
    assert classify(bytes.fromhex("6a76")) == ("nonstandard", None)
    assert classify(bytes.fromhex("6a")) == ("nulldata", None)
    assert classify(bytes.fromhex("6a4c")) == ("nonstandard", None)  # truncated PUSHDATA1
    assert classify(b"") == ("nonstandard", None)
    # A 33-byte "key" with a bad first byte is not P2PK.
    assert classify(bytes([33, 5]) + bytes(32) + b"\xac") == ("nonstandard", None)


def test_cache_is_bounded(monkeypatch: pytest.MonkeyPatch, real_scripts: list[bytes]) -> None:
    script.clear_cache()
    monkeypatch.setattr(script, "CACHE_LIMIT", 100)
    first = classify_many(real_scripts[:3000])
    assert len(script._caches[MAINNET]) <= 3000
    classify_many(real_scripts[3000:6000])
    assert len(script._caches[MAINNET]) < 3000  # emptied once over the limit, then refilled
    assert classify_many(real_scripts[:3000]) == first


def test_ripemd160_fallback_matches_hashlib(real_scripts: list[bytes]) -> None:
    keys = [raw[1:-1] for raw in real_scripts[:50] if len(raw) in (35, 67)]
    keys += [b"", b"abc", bytes(55), bytes(56), bytes(64), bytes(119)]
    for key in keys:
        assert script._ripemd160(key) == hashlib.new("ripemd160", key).digest()


# --- properties --------------------------------------------------------------------------------


def test_b58_batch_on_extreme_payloads() -> None:
    hashes = [bytes(20), b"\xff" * 20] + [bytes(k) + b"\x01" * (20 - k) for k in range(1, 20)]
    hashes += [b"\xff" * k + bytes(20 - k) for k in range(1, 20)]
    payloads = [script._b58check_payload(v, h) for v in (0, 5, 0x6F, 0xC4, 0xFF) for h in hashes]
    assert script._b58encode_many(payloads) == [base58.b58encode(p).decode() for p in payloads]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.binary(min_size=20, max_size=20), min_size=1, max_size=40),
    st.sampled_from([0, 5, 0x6F, 0xC4]),
)
def test_b58_batch_equals_base58_package(hashes: list[bytes], version: int) -> None:
    payloads = [script._b58check_payload(version, h) for h in hashes]
    assert script._b58encode_many(payloads) == [base58.b58encode(p).decode() for p in payloads]


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=0, max_value=16),
    st.integers(min_value=2, max_value=40).flatmap(
        lambda n: st.lists(st.binary(min_size=n, max_size=n), min_size=1, max_size=10)
    ),
)
def test_bech32_batch_round_trips(version: int, programs: list[bytes]) -> None:
    if version == 0:
        programs = [(p * 32)[:20] for p in programs]
    encoded = _bech32.encode_many("bc", version, programs)
    assert encoded == [_bech32.encode("bc", version, p) for p in programs]
    assert [_bech32.decode("bc", a) for a in encoded] == [(version, p) for p in programs]
