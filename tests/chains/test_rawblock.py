"""The raw block parser on real mainnet blocks, checked against independent sources.

Expected values come from outside the code under test: python-bitcoinlib's deserializer (txids,
wtxids, weights, every field), the block hashes in the file names, Bitcoin Core's getblock JSON
(recorded by bitcoin-etl) for sizes and weights, the counts stated in each PROVENANCE.txt, and
well-known facts of the chain (block 170, the first payment between people).
"""

from __future__ import annotations

import bz2
import hashlib
import json
from pathlib import Path

import pytest
from bitcoin.core import CBlock, CTransaction

from chaintrail.chains.btc.model import INPUT_COLUMNS, OUTPUT_COLUMNS, TX_COLUMNS, BlockData
from chaintrail.chains.btc.rawblock import block_hash, parse_block, parse_tx
from chaintrail.errors import BlockParseError, ChaintrailError, MerkleMismatchError
from chaintrail.ingest.sources.files import iter_blk_records

DATA = Path(__file__).resolve().parent.parent / "data"
BTC = DATA / "btc"
RUST_HASH = "000000000000000000000c835b2adcaedc20fdf6ee440009c249452c726dafae"
RUST_BLOCK = BTC / f"mainnet_block_{RUST_HASH}.raw"
BTCD_2018 = "00000000000000000021868c2cefc52a480d173c849412fe81c4e5ab806f94ab"
BTCD_2019 = "0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2"
GENESIS = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"


def _blk_blocks(path: Path) -> list[BlockData]:
    raw = path.read_bytes()
    if raw[:3] == b"BZh":
        raw = bz2.decompress(raw)
    return [
        parse_block(record, source=str(path), offset=offset)
        for offset, record, _ in iter_blk_records(raw, source=str(path))
    ]


def _assert_chain(blocks: list[BlockData]) -> None:
    """Consecutive blocks: each links to the one before by prev_hash; all merkle roots verify."""
    for previous, block in zip(blocks, blocks[1:], strict=False):
        assert block.prev_hash == previous.hash
    assert all(block.merkle_verified for block in blocks)


def _assert_columns_well_formed(block: BlockData) -> None:
    assert tuple(block.txs) == TX_COLUMNS
    assert tuple(block.inputs) == INPUT_COLUMNS
    assert tuple(block.outputs) == OUTPUT_COLUMNS
    for group in (block.txs, block.inputs, block.outputs):
        assert len({len(column) for column in group.values()}) == 1
    assert sum(block.txs["input_count"]) == len(block.inputs["txid"])  # type: ignore[arg-type]
    assert sum(block.txs["output_count"]) == len(block.outputs["txid"])  # type: ignore[arg-type]


def assert_matches_bitcoinlib(raw: bytes, block: BlockData) -> None:
    """Every column equals what python-bitcoinlib reads from the same bytes."""
    _assert_columns_well_formed(block)
    ref = CBlock.deserialize(raw)
    assert block.hash == ref.GetHash()[::-1].hex()
    assert block.prev_hash == ref.hashPrevBlock[::-1].hex()
    assert block.merkle_root == ref.hashMerkleRoot[::-1].hex()
    assert (block.version, block.time, block.bits, block.nonce) == (
        ref.nVersion,
        ref.nTime,
        ref.nBits,
        ref.nNonce,
    )
    txs = ref.vtx
    txids = [tx.GetTxid()[::-1].hex() for tx in txs]
    weights = [tx.calc_weight() for tx in txs]
    assert block.txs["txid"] == txids
    assert block.txs["wtxid"] == [tx.GetHash()[::-1].hex() for tx in txs]
    assert block.txs["position"] == list(range(len(txs)))
    assert block.txs["version"] == [tx.nVersion & 0xFFFFFFFF for tx in txs]
    assert block.txs["locktime"] == [tx.nLockTime for tx in txs]
    assert block.txs["size"] == [len(tx.serialize()) for tx in txs]
    assert block.txs["weight"] == weights
    assert block.txs["vsize"] == [(weight + 3) // 4 for weight in weights]
    assert block.txs["input_count"] == [len(tx.vin) for tx in txs]
    assert block.txs["output_count"] == [len(tx.vout) for tx in txs]
    assert block.txs["output_value"] == [sum(o.nValue for o in tx.vout) for tx in txs]
    assert block.txs["is_coinbase"] == [tx.is_coinbase() for tx in txs]
    ins = [(tx, i, vin) for tx in txs for i, vin in enumerate(tx.vin)]
    assert block.inputs["index"] == [i for _, i, _ in ins]
    assert block.inputs["txid"] == [
        txid for txid, tx in zip(txids, txs, strict=True) for _ in tx.vin
    ]
    assert block.inputs["sequence"] == [vin.nSequence for _, _, vin in ins]
    assert block.inputs["is_coinbase"] == [tx.is_coinbase() for tx, _, _ in ins]
    assert block.inputs["spent_txid"] == [
        None if tx.is_coinbase() else vin.prevout.hash[::-1].hex() for tx, _, vin in ins
    ]
    assert block.inputs["spent_vout"] == [
        None if tx.is_coinbase() else vin.prevout.n for tx, _, vin in ins
    ]
    assert block.inputs["coinbase_script"] == [
        bytes(vin.scriptSig).hex() if tx.is_coinbase() else None for tx, _, vin in ins
    ]
    for column in ("value", "address", "script_type"):
        assert set(block.inputs[column]) == {None}
    outs = [(tx, n, out) for tx in txs for n, out in enumerate(tx.vout)]
    assert block.outputs["txid"] == [
        txid for txid, tx in zip(txids, txs, strict=True) for _ in tx.vout
    ]
    assert block.outputs["vout"] == [n for _, n, _ in outs]
    assert block.outputs["value"] == [out.nValue for _, _, out in outs]
    assert block.outputs["script_hex"] == [bytes(out.scriptPubKey).hex() for _, _, out in outs]
    stripped = len(raw) - sum(
        len(tx.serialize()) - len(tx.serialize({"include_witness": False})) for tx in txs
    )
    assert (block.size, block.stripped_size) == (len(raw), stripped)
    assert block.weight == 3 * stripped + len(raw)
    assert block.merkle_verified


# --- the first 4,313 blocks of a real blk00000.dat -------------------------------------------


@pytest.fixture(scope="module")
def blk00000() -> list[BlockData]:
    return _blk_blocks(BTC / "blk00000_first1MB.dat")


def test_blk00000_prefix_blocks_0_to_4312(blk00000: list[BlockData]) -> None:
    assert len(blk00000) == 4313
    assert sum(block.tx_count for block in blk00000) == 4371
    assert sum(block.tx_count - 1 for block in blk00000) == 58  # non-coinbase txs
    assert blk00000[0].hash == GENESIS
    assert blk00000[0].prev_hash == "00" * 32
    assert blk00000[0].txs["txid"] == [
        "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"
    ]
    _assert_chain(blk00000)


def test_block_170_first_person_to_person_payment(blk00000: list[BlockData]) -> None:
    block = blk00000[170]
    assert block.hash == "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee"
    txid = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
    assert block.txs["txid"] == [block.txs["txid"][0], txid]
    spent = block.inputs["spent_txid"][block.inputs["txid"].index(txid)]
    assert spent == "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9"  # block 9
    outputs = [
        (value, address, kind)
        for tx, value, address, kind in zip(
            block.outputs["txid"],
            block.outputs["value"],
            block.outputs["address"],
            block.outputs["script_type"],
            strict=True,
        )
        if tx == txid
    ]
    assert outputs == [
        (10 * 10**8, "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3", "pubkey"),
        (40 * 10**8, "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "pubkey"),
    ]


def test_blk00000_matches_bitcoinlib_on_every_block_with_payments() -> None:
    raw = (BTC / "blk00000_first1MB.dat").read_bytes()
    checked = 0
    for offset, record, _ in iter_blk_records(raw):
        if checked < 20 or record[80] > 1:  # the first blocks and all with more than a coinbase
            assert_matches_bitcoinlib(record, parse_block(record, offset=offset))
            checked += 1
    assert checked > 60


def test_blocks_0_and_1_match_bitcoin_core_json() -> None:
    """Sizes and weights as Bitcoin Core's getblock printed them (recorded by bitcoin-etl)."""
    raw = (BTC / "blk00000_first1MB.dat").read_bytes()
    records = iter_blk_records(raw)
    for case in ("block_0", "block_1"):
        _, record, _ = next(records)
        block = parse_block(record)
        (path,) = (DATA / "etl" / "bitcoin" / case).glob("rpc_response_getblock_*_2.json")
        core = json.loads(path.read_text())
        assert block.hash == core["hash"]
        assert (block.size, block.stripped_size, block.weight) == (
            core["size"],
            core["strippedsize"],
            core["weight"],
        )
        assert block.merkle_root == core["merkleroot"]
        assert (block.version, block.time, block.nonce) == (
            core["version"],
            core["time"],
            core["nonce"],
        )
        assert f"{block.bits:08x}" == core["bits"]
        (tx,) = core["tx"]
        assert block.txs["txid"] == [tx["txid"]]
        assert block.txs["wtxid"] == [tx["hash"]]
        assert (block.txs["size"], block.txs["vsize"]) == ([tx["size"]], [tx["vsize"]])
        assert block.inputs["coinbase_script"] == [tx["vin"][0]["coinbase"]]
        assert block.outputs["address"] == tx["vout"][0]["scriptPubKey"]["addresses"]
        assert block.outputs["script_type"] == [tx["vout"][0]["scriptPubKey"]["type"]]


# --- other real block files ------------------------------------------------------------------


def test_bitcoinj_first_blocks_0_to_438() -> None:
    blocks = _blk_blocks(BTC / "first-100k-blocks.dat")
    assert len(blocks) == 439
    assert sum(block.tx_count for block in blocks) == 446
    assert blocks[0].hash == GENESIS
    _assert_chain(blocks)


def test_btcd_blocks_1_to_255_bzip2() -> None:
    blocks = _blk_blocks(BTC / "blocks1-256.bz2")
    assert len(blocks) == 255
    assert sum(block.tx_count for block in blocks) == 262
    assert blocks[0].prev_hash == GENESIS
    assert blocks[0].hash == "00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048"
    _assert_chain(blocks)


@pytest.mark.parametrize("name", ["block169482.dat", "block227835.dat", "block227836.dat"])
def test_bitcoinj_single_blocks_match_bitcoinlib(name: str) -> None:
    raw = (BTC / name).read_bytes()
    assert_matches_bitcoinlib(raw, parse_block(raw))


def test_bip34_height_from_the_coinbase() -> None:
    # 227836 is a version-2 block: it pushes its height (BIP34 became mandatory at 227,931).
    # 227835 is a version-1 block whose coinbase starts with a 4-byte push of a timestamp-like
    # number: it decodes, and is not a height - which is why the pipeline treats it as a hint.
    # 169482 starts with a 0-byte push and yields nothing.
    assert parse_block((BTC / "block227836.dat").read_bytes()).coinbase_height == 227836
    old = parse_block((BTC / "block227835.dat").read_bytes())
    assert old.version == 1 and old.coinbase_height == 0x51_4F_20_79
    assert parse_block((BTC / "block169482.dat").read_bytes()).coinbase_height is None
    assert parse_block(RUST_BLOCK.read_bytes()).coinbase_height == 702861


def test_rust_bitcoin_segwit_block_702861() -> None:
    raw = RUST_BLOCK.read_bytes()
    block = parse_block(raw, source=str(RUST_BLOCK))
    assert block.hash == RUST_HASH == block_hash(raw[:80])
    assert block.tx_count == 2500
    assert len(block.inputs["txid"]) == 6518
    assert_matches_bitcoinlib(raw, block)
    ref = CBlock.deserialize(raw).vtx
    segwit = [tx.has_witness() for tx in ref]
    assert sum(segwit) > 1000
    for has_witness, txid, wtxid in zip(segwit, block.txs["txid"], block.txs["wtxid"], strict=True):
        assert (txid != wtxid) == has_witness
    # The coinbase keeps the real hash of its serialization as wtxid (documented choice).
    assert (
        block.txs["wtxid"][0]
        == hashlib.sha256(hashlib.sha256(ref[0].serialize()).digest()).digest()[::-1].hex()
    )
    assert block.txs["wtxid"][0] != "00" * 32
    assert block.weight is not None and block.weight <= 4_000_000


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("name", "txs", "inputs"), [(BTCD_2018, 230, 7033), (BTCD_2019, 3315, None)]
)
def test_btcd_2018_2019_blocks(shared_data: Path, name: str, txs: int, inputs: int | None) -> None:
    raw = (shared_data / "btc" / "btcd" / f"block-{name}.blk").read_bytes()
    block = parse_block(raw)
    assert block.hash == name
    assert block.tx_count == txs
    if inputs is not None:
        assert len(block.inputs["txid"]) == inputs
    assert_matches_bitcoinlib(raw, block)


@pytest.mark.realdata
@pytest.mark.parametrize("height", [363703, 370661, 383616, 481815, 481829])
def test_bitcoinj_larger_blocks(shared_data: Path, height: int) -> None:
    raw = (shared_data / "btc" / "bitcoinj" / f"block{height}.dat").read_bytes()
    block = parse_block(raw)
    assert_matches_bitcoinlib(raw, block)
    assert block.coinbase_height == height


@pytest.mark.realdata
def test_btcd_277647_blk_bzip2(shared_data: Path) -> None:
    (block,) = _blk_blocks(shared_data / "btc" / "btcd" / "277647.dat.bz2")
    assert (block.tx_count, len(block.inputs["txid"])) == (213, 733)
    assert block.coinbase_height == 277647


@pytest.mark.realdata
def test_megatx_parse_tx(shared_data: Path) -> None:
    raw = bz2.decompress((shared_data / "btc" / "btcd" / "megatx.bin.bz2").read_bytes())
    parsed = parse_tx(raw)
    ref = CTransaction.deserialize(raw)
    assert parsed.txs["txid"] == [ref.GetTxid()[::-1].hex()]
    assert parsed.txs["size"] == [len(raw)]
    assert len(parsed.inputs["txid"]) == len(ref.vin)
    assert parsed.outputs["value"] == [out.nValue for out in ref.vout]
    with pytest.raises(BlockParseError):
        parse_tx(raw + b"\x00")


# --- corrupt data ------------------------------------------------------------------------------


def _tx_region(raw: bytes) -> tuple[int, int]:
    """Byte range of the second transaction of a real block (python-bitcoinlib's sizes)."""
    txs = CBlock.deserialize(raw).vtx
    start = 80 + 1 + len(txs[0].serialize())
    return start, start + len(txs[1].serialize())


def test_flipped_byte_in_a_transaction_is_a_merkle_mismatch() -> None:
    raw = bytearray((BTC / "block227836.dat").read_bytes())
    start, stop = _tx_region(bytes(raw))
    raw[stop - 6] ^= 0x01  # inside the last output's script (before the locktime)
    with pytest.raises(MerkleMismatchError) as info:
        parse_block(bytes(raw), source="block227836.dat (altered)")
    error = info.value
    assert error.block_hash == "00000000000000d0dfd4c9d588d325dce4f32c1b31b7c0064cba7025a9b9adcc"
    assert error.expected == parse_block((BTC / "block227836.dat").read_bytes()).merkle_root
    assert error.computed != error.expected
    assert "block227836.dat (altered)" in str(error)
    # Skipping the check parses the altered block (for forensic inspection) without the flag.
    assert not parse_block(bytes(raw), verify_merkle=False).merkle_verified


@pytest.mark.parametrize("cut", [1, 4, 37, 1000, 18_000])
def test_truncated_block_names_source_and_offset(cut: int) -> None:
    raw = (BTC / "block169482.dat").read_bytes()
    with pytest.raises(BlockParseError) as info:
        parse_block(raw[:-cut], source="blk99999.dat", offset=5_000)
    error = info.value
    assert error.source == "blk99999.dat"
    assert error.offset is not None and 5_000 <= error.offset <= 5_000 + len(raw)
    assert "blk99999.dat at byte" in str(error)


def test_trailing_bytes_are_an_error() -> None:
    raw = (BTC / "block169482.dat").read_bytes()
    with pytest.raises(BlockParseError, match="trailing") as info:
        parse_block(raw + b"\x00\x01", offset=100)
    assert info.value.offset == 100 + len(raw)


def test_absurd_transaction_count_is_refused_quickly() -> None:
    raw = (BTC / "block169482.dat").read_bytes()
    bogus = raw[:80] + b"\xff" + (2**60).to_bytes(8, "little") + raw[81:]
    with pytest.raises(BlockParseError, match="transaction count"):
        parse_block(bogus)
    non_canonical = raw[:80] + b"\xfd\x0e\x00" + raw[81:]  # 14 as a 3-byte CompactSize
    with pytest.raises(BlockParseError, match="non-canonical"):
        parse_block(non_canonical)


def test_unknown_segwit_flag_is_an_error() -> None:
    raw = bytearray(RUST_BLOCK.read_bytes())
    ref = CBlock.deserialize(bytes(raw)).vtx
    start = 80 + 3 + len(ref[0].serialize())  # 2,500 txs: 3-byte CompactSize
    assert ref[1].has_witness() and raw[start + 4 : start + 6] == b"\x00\x01"
    raw[start + 5] = 0x02
    with pytest.raises(BlockParseError, match="serialization flag") as info:
        parse_block(bytes(raw))
    assert info.value.offset == start + 4


def test_mutated_block_with_a_duplicated_last_transaction_is_refused() -> None:
    """CVE-2012-2459: repeating the last tx of an odd-length list keeps the merkle root."""
    raw = (BTC / "blk00000_first1MB.dat").read_bytes()
    for _, record, _ in iter_blk_records(raw):
        txs = CBlock.deserialize(record).vtx
        if len(txs) == 3:
            break
    else:  # pragma: no cover - the prefix has such a block
        pytest.fail("no 3-transaction block found")
    mutated = record[:80] + b"\x04" + record[81:] + txs[2].serialize()
    with pytest.raises(BlockParseError, match="CVE-2012-2459"):
        parse_block(mutated)


def test_only_parse_errors_escape() -> None:
    """A few hand-picked shapes; test_fuzz_rawblock.py covers arbitrary bytes."""
    for data in (b"", b"\x00" * 80, b"\xff" * 200, (BTC / "block169482.dat").read_bytes()[:81]):
        with pytest.raises(ChaintrailError):
            parse_block(data)


def test_accepts_bytearray_and_memoryview() -> None:
    raw = (BTC / "block169482.dat").read_bytes()
    reference = parse_block(raw)
    assert parse_block(bytearray(raw)).txs == reference.txs
    assert parse_block(memoryview(raw)).outputs == reference.outputs
