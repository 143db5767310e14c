"""The optional C accelerator (``_fastblock``) against the pure-Python parser it stands in for.

``rawblock.parse_block_python`` is the reference (itself checked against python-bitcoinlib and
Bitcoin Core in test_rawblock.py). Here every real block available must give equal
:class:`BlockData` through both paths, with the C path actually taken; fuzzed bytes must give
the same result or the same error (type, message, source, offset), and the C side must decline
(return None, so Python raises) exactly where Python raises. Script classification is compared
with ``script.classify_uncached`` (base58 package, specification bech32) on generated scripts of
every shape, and the hashes with hashlib.

Tests of the C code skip, with the reason shown, when the extension is not built (no compiler at
install time); the fallback tests at the end run either way.
"""

from __future__ import annotations

import bz2
import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaintrail.chains.btc import rawblock, script
from chaintrail.chains.btc.model import BlockData
from chaintrail.chains.btc.networks import TESTNET3
from chaintrail.chains.btc.rawblock import parse_block, parse_block_python
from chaintrail.chains.btc.script import MAINNET, REGTEST, TESTNET, Network, classify_uncached
from chaintrail.errors import BlockParseError, MerkleMismatchError
from chaintrail.ingest.sources.files import iter_blk_records

BTC = Path(__file__).resolve().parent.parent / "data" / "btc"
RUST_MAINNET = "mainnet_block_000000000000000000000c835b2adcaedc20fdf6ee440009c249452c726dafae.raw"
BLOCK = (BTC / "block169482.dat").read_bytes()
SEGWIT = (BTC / RUST_MAINNET).read_bytes()
BLK = (BTC / "first-100k-blocks.dat").read_bytes()[:6_000]

try:
    from chaintrail.chains.btc import _fastblock as fast
except ImportError:  # not built: the tests of the C code skip
    fast = None  # type: ignore[assignment]
needs_c = pytest.mark.skipif(
    fast is None,
    reason="the C accelerator chaintrail.chains.btc._fastblock is not built (no C compiler at "
    "install time); parse_block uses the pure-Python parser",
)
FUZZ = settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FIELDS = (
    "hash",
    "prev_hash",
    "merkle_root",
    "version",
    "time",
    "bits",
    "nonce",
    "size",
    "stripped_size",
    "weight",
    "height",
    "coinbase_height",
    "merkle_verified",
)


# --- helpers -----------------------------------------------------------------------------------


def _c_result(
    data: bytes, *, verify_merkle: bool = True, network: Network = MAINNET, derive: bool = True
) -> object:
    assert fast is not None
    return fast.parse_block(
        data, verify_merkle, derive, network.p2pkh_version, network.p2sh_version, network.hrp
    )


def assert_same_block(expected: BlockData, actual: BlockData) -> None:
    """Every field and every column equal (column by column, for a readable failure)."""
    for name in FIELDS:
        assert getattr(actual, name) == getattr(expected, name), name
    for group in ("txs", "inputs", "outputs"):
        ours, ref = getattr(actual, group), getattr(expected, group)
        assert list(ours) == list(ref), group
        for column, values in ref.items():
            assert len(ours[column]) == len(values), (group, column)
            for row, (a, b) in enumerate(zip(ours[column], values, strict=True)):
                assert a == b and type(a) is type(b), (group, column, row, a, b)
    assert actual == expected


def assert_parity(
    data: bytes,
    *,
    network: Network = MAINNET,
    verify_merkle: bool = True,
    derive_addresses: bool = True,
) -> BlockData:
    """C and Python give the same block, and the C path is really taken."""
    assert (
        _c_result(data, verify_merkle=verify_merkle, network=network, derive=derive_addresses)
        is not None
    )
    expected = parse_block_python(
        data, network=network, verify_merkle=verify_merkle, derive_addresses=derive_addresses
    )
    actual = parse_block(
        data, network=network, verify_merkle=verify_merkle, derive_addresses=derive_addresses
    )
    assert_same_block(expected, actual)
    return actual


Outcome = BlockData | tuple[object, ...]


def _outcome(parser: Callable[..., BlockData], data: bytes, verify_merkle: bool) -> Outcome:
    """The block, or what identifies the error: type, message, source, offset or hashes."""
    try:
        return parser(data, source="fuzz", offset=7, verify_merkle=verify_merkle)
    except BlockParseError as error:
        return ("BlockParseError", str(error), error.source, error.offset, error.reason)
    except MerkleMismatchError as error:
        return ("MerkleMismatchError", str(error), error.source, error.expected, error.computed)


def assert_same_outcome(data: bytes, *, verify_merkle: bool = True) -> None:
    """Same result or same error from both paths; C declines exactly where Python raises."""
    expected = _outcome(parse_block_python, data, verify_merkle)
    actual = _outcome(parse_block, data, verify_merkle)
    if isinstance(expected, BlockData):
        assert isinstance(actual, BlockData), actual
        assert_same_block(expected, actual)
    else:
        assert actual == expected
    declined = _c_result(data, verify_merkle=verify_merkle) is None
    assert declined == (not isinstance(expected, BlockData))


def _blk_records(path: Path) -> Iterator[tuple[bytes, Network]]:
    raw = path.read_bytes()
    if raw[:3] == b"BZh":
        raw = bz2.decompress(raw)
    for _, record, network in iter_blk_records(raw, source=str(path)):
        yield record, network.addresses


def _sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def _block_of(txs: list[bytes], header_from: bytes = BLOCK) -> bytes:
    """A block of these transactions under a real header with the right merkle root."""
    level = [_sha256d(tx) for tx in txs]
    while len(level) > 1:
        if len(level) & 1:
            level.append(level[-1])
        level = [_sha256d(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    assert len(txs) < 0xFD
    return header_from[:36] + level[0] + header_from[68:80] + bytes([len(txs)]) + b"".join(txs)


# --- every real block available -----------------------------------------------------------------

SINGLE_BLOCKS = ["block169482.dat", "block227835.dat", "block227836.dat", RUST_MAINNET]
BLK_FILES = ["blk00000_first1MB.dat", "first-100k-blocks.dat", "blocks1-256.bz2"]


@needs_c
@pytest.mark.parametrize("name", SINGLE_BLOCKS)
def test_single_blocks_in_tests_data(name: str) -> None:
    raw = (BTC / name).read_bytes()
    block = assert_parity(raw)
    assert_parity(raw, derive_addresses=False)
    assert_parity(raw, verify_merkle=False)
    assert block.merkle_verified


@needs_c
def test_testnet_block_in_tests_data() -> None:
    assert_parity((BTC / "block_testnet700000.dat").read_bytes(), network=TESTNET)


@needs_c
@pytest.mark.parametrize("name", BLK_FILES)
def test_blk_files_in_tests_data(name: str) -> None:
    count = 0
    for record, network in _blk_records(BTC / name):
        assert_parity(record, network=network)
        count += 1
    assert count in (4313, 439, 255)


@needs_c
@pytest.mark.realdata
@pytest.mark.parametrize(
    "relative",
    [
        "bitcoinj/block169482.dat",
        "bitcoinj/block227835.dat",
        "bitcoinj/block227836.dat",
        "bitcoinj/block363703.dat",
        "bitcoinj/block370661.dat",
        "bitcoinj/block383616.dat",
        "bitcoinj/block481815.dat",
        "bitcoinj/block481829.dat",
        "btcd/block-00000000000000000021868c2cefc52a480d173c849412fe81c4e5ab806f94ab.blk",
        "btcd/block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2.blk",
        f"rust-bitcoin/{RUST_MAINNET}",
    ],
)
def test_shared_mainnet_blocks(shared_data: Path, relative: str) -> None:
    raw = (shared_data / "btc" / relative).read_bytes()
    assert_parity(raw)
    assert_parity(raw, derive_addresses=False, verify_merkle=False)


@needs_c
@pytest.mark.realdata
@pytest.mark.parametrize(
    "relative",
    [
        "bitcoinj/block_testnet21066.dat",
        "bitcoinj/block_testnet32768.dat",
        "bitcoinj/block_testnet700000.dat",
        "rust-bitcoin/testnet_block_000000000000045e0b1660b6445b5e5c5ab63c9a4f956be7e1e69be04fa4497b.raw",
    ],
)
def test_shared_testnet_blocks(shared_data: Path, relative: str) -> None:
    raw = (shared_data / "btc" / relative).read_bytes()
    assert_parity(raw, network=TESTNET3.addresses)
    assert_parity(raw, network=REGTEST)  # other prefixes and hrp, same bytes


@needs_c
@pytest.mark.realdata
@pytest.mark.parametrize(
    ("relative", "blocks"),
    [
        ("blk00000-prefix/blk00000_first1MB.dat", 4313),
        ("bitcoinj/first-100k-blocks.dat", 439),
        ("btcd/blocks1-256.bz2", 255),
        ("btcd/277647.dat.bz2", 1),
    ],
)
def test_shared_blk_files(shared_data: Path, relative: str, blocks: int) -> None:
    count = 0
    for record, network in _blk_records(shared_data / "btc" / relative):
        assert_parity(record, network=network)
        count += 1
    assert count == blocks


@needs_c
@pytest.mark.realdata
def test_megatx_inside_a_block(shared_data: Path) -> None:
    """btcd's ~1 MB real transaction, as the only transaction of a block with its merkle root."""
    megatx = bz2.decompress((shared_data / "btc" / "btcd" / "megatx.bin.bz2").read_bytes())
    block = assert_parity(_block_of([megatx]))
    assert block.txs["size"] == [len(megatx)]
    assert block.merkle_verified


# --- synthetic edge cases ------------------------------------------------------------------------


def _tx(outputs: list[tuple[int, bytes]], *, outpoint: bytes = b"\x11" * 36) -> bytes:
    body = b"\x01\x00\x00\x00" + b"\x01" + outpoint + b"\x00" + b"\xfe\xff\xff\xff"
    body += bytes([len(outputs)])
    for value, spk in outputs:
        body += value.to_bytes(8, "little") + bytes([len(spk)]) + spk
    return body + b"\x00\x00\x00\x00"


@needs_c
def test_output_value_beyond_64_bits() -> None:
    """Python's integers do not overflow: two outputs of 2**64 - 1 sum to 2**65 - 2."""
    top = 2**64 - 1
    tx = _tx([(top, b"\x51"), (top, b"\x6a"), (5, b"")])
    block = assert_parity(_block_of([tx]))
    assert block.txs["output_value"] == [2 * top + 5]


@needs_c
def test_zero_outputs_and_null_outpoints_after_the_coinbase() -> None:
    coinbase = _tx([(50, b"\x51")], outpoint=b"\x00" * 32 + b"\xff" * 4)
    again = _tx([], outpoint=b"\x00" * 32 + b"\xff" * 4)  # not a coinbase: not the first tx
    block = assert_parity(_block_of([coinbase, again]))
    assert block.inputs["is_coinbase"] == [True, False]
    assert block.inputs["spent_vout"] == [None, 0xFFFFFFFF]
    assert block.txs["output_count"] == [1, 0]


BAD_BLOCKS = {
    "empty": b"",
    "short": BLOCK[:140],
    "truncated": BLOCK[:-1],
    "truncated more": BLOCK[:-1000],
    "trailing": BLOCK + b"\x00",
    "no transactions": BLOCK[:80] + b"\x00" + BLOCK[81:],
    "absurd count": BLOCK[:80] + b"\xff" + (2**60).to_bytes(8, "little") + BLOCK[81:],
    "non-canonical count": BLOCK[:80] + b"\xfd\x0e\x00" + BLOCK[81:],
    "merkle mismatch": BLOCK[:40] + bytes([BLOCK[40] ^ 1]) + BLOCK[41:],
    "unknown segwit flag": _block_of([_tx([(1, b"\x51")])[:4] + b"\x00\x02" + _tx([])[4:]]),
    # marker and flag, then one empty witness stack for the one input
    "witness flag without witness data": _block_of(
        [_tx([(1, b"\x51")])[:4] + b"\x00\x01" + _tx([(1, b"\x51")])[4:-4] + b"\x00" + bytes(4)]
    ),
    "segwit without inputs": _block_of([b"\x01\x00\x00\x00\x00\x01\x00\x00" + bytes(4)]),
}


@needs_c
@pytest.mark.parametrize("name", sorted(BAD_BLOCKS))
def test_bad_blocks_raise_the_same_error(name: str) -> None:
    assert_same_outcome(BAD_BLOCKS[name])
    assert_same_outcome(BAD_BLOCKS[name], verify_merkle=False)


@needs_c
def test_duplicated_last_transaction_cve_2012_2459() -> None:
    coinbase = _tx([(50, b"\x51")], outpoint=b"\x00" * 32 + b"\xff" * 4)
    other = _tx([(1, b"\x52")])
    third = _tx([(2, b"\x53")])
    good = _block_of([coinbase, other, third])
    mutated = good[:80] + b"\x04" + good[81:] + third
    assert_same_outcome(mutated)
    with pytest.raises(BlockParseError, match="CVE-2012-2459"):
        parse_block(mutated)
    assert_same_outcome(mutated, verify_merkle=False)  # no merkle check, no CVE check


# --- fuzzing: the same outcome from both paths ----------------------------------------------------


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "delete", "set_ff", "truncate"]))
        if not data:
            break
        at = draw(st.integers(min_value=0, max_value=len(data) - 1))
        if kind == "flip":
            data[at] ^= 1 << draw(st.integers(min_value=0, max_value=7))
        elif kind == "set_ff":
            data[at] = 0xFF
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=9))
        elif kind == "delete":
            del data[at : at + draw(st.integers(min_value=1, max_value=40))]
        elif kind == "cut":
            del data[at:]
        else:
            del data[: draw(st.integers(min_value=1, max_value=len(data)))]
    return bytes(data)


@needs_c
@FUZZ
@given(st.binary(max_size=2_000))
def test_fuzz_random_bytes(data: bytes) -> None:
    assert_same_outcome(data)


@needs_c
@FUZZ
@given(st.binary(min_size=150, max_size=600))
def test_fuzz_random_bytes_after_a_real_header(tail: bytes) -> None:
    assert_same_outcome(BLOCK[:80] + tail)
    assert_same_outcome(BLOCK[:80] + tail, verify_merkle=False)


@needs_c
@FUZZ
@given(mutated(BLOCK))
def test_fuzz_mutated_real_block(data: bytes) -> None:
    assert_same_outcome(data)
    assert_same_outcome(data, verify_merkle=False)


@needs_c
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(SEGWIT))
def test_fuzz_mutated_real_segwit_block(data: bytes) -> None:
    assert_same_outcome(data, verify_merkle=False)


@needs_c
@FUZZ
@given(mutated(BLK))
def test_fuzz_mutated_blk_records(data: bytes) -> None:
    """The records of a mutated blk file (the file reader itself is test_fuzz_rawblock's)."""
    pos = 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        assert_same_outcome(data[pos + 8 : pos + 8 + size], verify_merkle=False)
        pos += 8 + max(size, 1)


# --- script classification -----------------------------------------------------------------------

NETWORKS = [MAINNET, TESTNET, REGTEST]


def _push(data: bytes) -> bytes:
    if len(data) < 0x4C:
        return bytes([len(data)]) + data
    if len(data) < 0x100:
        return b"\x4c" + bytes([len(data)]) + data
    return b"\x4d" + len(data).to_bytes(2, "little") + data


keys = st.builds(
    lambda first, rest, size: bytes([first]) + rest[: size - 1],
    st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7, 0xFF]),
    st.binary(min_size=64, max_size=64),
    st.sampled_from([33, 65, 32, 64]),
)
scripts = st.one_of(
    st.binary(max_size=80),
    st.builds(lambda h: b"\x76\xa9\x14" + h + b"\x88\xac", st.binary(min_size=20, max_size=20)),
    st.builds(lambda h: b"\xa9\x14" + h + b"\x87", st.binary(min_size=20, max_size=20)),
    st.builds(
        lambda op, program: bytes([op, len(program)]) + program,
        st.sampled_from([0, 0x50, 0x51, 0x52, 0x60, 0x61]),
        st.binary(min_size=0, max_size=45),
    ),
    st.just(b"\x51\x02\x4e\x73"),
    st.builds(lambda key: _push(key) + b"\xac", keys),
    st.builds(
        lambda m, ks, n_delta: (
            bytes([0x50 + m])
            + b"".join(_push(k) for k in ks)
            + bytes([0x50 + len(ks) + n_delta])
            + b"\xae"
        ),
        st.integers(min_value=0, max_value=17),
        st.lists(keys, max_size=4),
        st.sampled_from([0, 0, 0, 1, -1]),
    ),
    st.builds(
        lambda pushes, tail: b"\x6a" + b"".join(_push(p) for p in pushes) + tail,
        st.lists(st.binary(max_size=300), max_size=3),
        st.sampled_from([b"", b"\x51", b"\x60", b"\x61", b"\x4c", b"\x4d\x01", b"\x4e\xff\xff"]),
    ),
)


def _tweak(script_bytes: bytes, at: int, byte: int) -> bytes:
    if not script_bytes:
        return script_bytes
    at %= len(script_bytes)
    return script_bytes[:at] + bytes([byte]) + script_bytes[at + 1 :]


@needs_c
@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.one_of(
            scripts,
            st.builds(_tweak, scripts, st.integers(0, 100), st.integers(0, 255)),
        ),
        min_size=1,
        max_size=12,
    ),
    st.sampled_from(NETWORKS),
)
def test_classification_matches_the_reference(batch: list[bytes], network: Network) -> None:
    assert fast is not None
    expected = [classify_uncached(s, network=network) for s in batch]
    got = fast.classify_many(batch, network.p2pkh_version, network.p2sh_version, network.hrp)
    assert got == expected
    script.clear_cache()
    assert script.classify_many(batch, network=network) == expected


@needs_c
def test_classification_of_every_real_output_script() -> None:
    """All output scripts of the tests/data blocks, against the cached batch classifier."""
    batch: list[bytes] = []
    for raw in (BLOCK, SEGWIT, (BTC / "block227835.dat").read_bytes()):
        batch += [bytes.fromhex(h) for h in parse_block_python(raw).outputs["script_hex"]]  # type: ignore[arg-type]
    assert fast is not None
    for network in NETWORKS:
        script.clear_cache()
        expected = script.classify_many(batch, network=network)
        got = fast.classify_many(batch, network.p2pkh_version, network.p2sh_version, network.hrp)
        assert got == expected


@needs_c
def test_unsupported_network_parameters_fall_back_to_python() -> None:
    odd = Network("odd", 0x6F, 0xC4, "tb\u00e9")  # non-ASCII hrp: left to Python
    assert _c_result(SEGWIT, network=odd) is None
    assert parse_block(SEGWIT, network=odd) == parse_block_python(SEGWIT, network=odd)


# --- hashes --------------------------------------------------------------------------------------


@needs_c
@pytest.mark.parametrize("backend", ["portable", "x86-sha"])
def test_hashes_match_hashlib(backend: str) -> None:
    assert fast is not None
    before = fast.sha256_backend()
    if not fast.set_sha256_backend(backend):
        pytest.skip(f"this CPU has no {backend} SHA-256 (the portable code is used)")
    try:
        lengths = [*range(0, 260), 1_000, 4_095, 4_096, 65_537]
        for n in lengths:
            data = os.urandom(n)
            assert fast.sha256(data) == hashlib.sha256(data).digest(), n
            assert fast.sha256d(data) == _sha256d(data), n
            assert fast.ripemd160(data) == script._ripemd160(data), n
            assert fast.hash160(data) == script.hash160(data), n
        assert_parity(SEGWIT)
        assert_parity(BLOCK)
    finally:
        fast.set_sha256_backend(before)


# --- dispatch and fallback (run with or without the extension) -----------------------------------


@needs_c
def test_parse_block_takes_the_c_path_and_falls_back_on_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[object] = []

    class Spy:
        def parse_block(self, *args: object) -> object:
            assert fast is not None
            result = fast.parse_block(*args)  # type: ignore[arg-type]
            calls.append(result is not None)
            return result

    monkeypatch.setattr(rawblock, "_fastblock", Spy())
    assert parse_block(BLOCK) == parse_block_python(BLOCK)
    with pytest.raises(BlockParseError, match="trailing"):
        parse_block(BLOCK + b"\x00")
    assert calls == [True, False]


def test_without_the_extension_the_python_parser_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rawblock, "_fastblock", None)
    assert parse_block(BLOCK) == parse_block_python(BLOCK)
    with pytest.raises(BlockParseError, match="trailing"):
        parse_block(BLOCK + b"\x00")
