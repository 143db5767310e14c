"""FileSource: format detection by content, blk framing, provenance of each block.

The blocks are real (tests/data/btc, see PROVENANCE.md). Where a test needs a shape the real
files do not have (gzip/xz instead of bzip2, hex text, zero padding, a wrong magic mid-file, a
Bitcoin Core 28 XOR-obfuscated file), it builds it in tmp_path from the real bytes by that one
documented transformation, and checks the blocks come out exactly as from the original.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import shutil
import time
from pathlib import Path

import pytest

from chaintrail.chains.btc.model import SourcedBlock
from chaintrail.chains.btc.networks import TESTNET3
from chaintrail.chains.btc.rawblock import parse_block
from chaintrail.chains.btc.script import TESTNET
from chaintrail.errors import BlockParseError, UnsupportedFormatError, UsageError
from chaintrail.ingest.sources.base import BlockFileSource
from chaintrail.ingest.sources.files import FileSource, iter_blk_records, read_file

DATA = Path(__file__).resolve().parent.parent / "data"
BTC = DATA / "btc"
FIRST = BTC / "first-100k-blocks.dat"  # blk framing, mainnet blocks 0..438
BLK00000 = BTC / "blk00000_first1MB.dat"
SINGLE = BTC / "block169482.dat"
RUST = BTC / "mainnet_block_000000000000000000000c835b2adcaedc20fdf6ee440009c249452c726dafae.raw"
MAINNET_MAGIC = bytes.fromhex("f9beb4d9")
TESTNET3_MAGIC = bytes.fromhex("0b110907")


def _blocks(*paths: Path) -> list[SourcedBlock]:
    return list(FileSource(list(paths)).blocks())


def _hashes(blocks: list[SourcedBlock]) -> list[str]:
    return [sourced.block.hash for sourced in blocks]


def test_is_a_block_file_source() -> None:
    source: BlockFileSource = FileSource([FIRST])
    assert next(iter(source.blocks())).block.height is None


def test_blk_file_blocks_with_provenance() -> None:
    before = time.time()
    blocks = _blocks(FIRST)
    assert len(blocks) == 439
    assert sum(sourced.block.tx_count for sourced in blocks) == 446
    first = blocks[0]
    assert first.kind == "file"
    assert first.source == str(FIRST)
    assert first.sha256 == hashlib.sha256(FIRST.read_bytes()).hexdigest()
    assert before <= first.retrieved_at <= time.time()
    assert (first.detail, first.locator) == ("blk file", "offset 8")
    assert first.block.hash == "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
    # Each detail offset points at the block's first byte in the file.
    raw = FIRST.read_bytes()
    for sourced in blocks[:50]:
        offset = int(sourced.locator.removeprefix("offset "))
        assert parse_block(raw[offset : offset + sourced.block.size]).hash == sourced.block.hash  # type: ignore[operator]


def test_blk00000_prefix() -> None:
    blocks = _blocks(BLK00000)
    assert len(blocks) == 4313
    assert sum(sourced.block.tx_count for sourced in blocks) == 4371
    assert all(sourced.block.merkle_verified for sourced in blocks)


def test_single_raw_blocks() -> None:
    (sourced,) = _blocks(RUST)
    assert sourced.detail == "raw block"
    assert sourced.block.hash == RUST.name.removeprefix("mainnet_block_").removesuffix(".raw")
    assert sourced.block.tx_count == 2500


def test_folder_is_expanded_in_name_order(tmp_path: Path) -> None:
    for path in (SINGLE, FIRST, BTC / "blocks1-256.bz2"):
        shutil.copy(path, tmp_path / path.name)
    shutil.copy(BTC / "blocks1-256.bz2", tmp_path / "blk00001.dat.bz2")
    (tmp_path / "notes.txt").write_text("not a block file")
    (tmp_path / "rev00000.dat").write_bytes(b"undo data is skipped")
    (tmp_path / "xor.dat").write_bytes(bytes(8))
    source = FileSource([tmp_path])
    # blocks1-256.bz2 is no compressed variant of a block file name: left out of the folder.
    assert [p.name for p in source.files()] == [
        "blk00001.dat.bz2",
        "block169482.dat",
        "first-100k-blocks.dat",
    ]
    blocks = list(source.blocks())
    assert len(blocks) == 255 + 1 + 439
    assert [(b.detail, b.locator) for b in blocks[254:257]] == [
        ("blk file", "offset 58515"),
        ("raw block", ""),
        ("blk file", "offset 8"),
    ]
    # Named explicitly, any file is read.
    assert len(_blocks(tmp_path / "blocks1-256.bz2")) == 255


def test_repository_fixture_folder(tests_data: Path) -> None:
    blocks = _blocks(tests_data / "btc")
    assert len(blocks) == 4313 + 439 + 5  # two blk files, five single blocks
    assert {sourced.detail.split()[0] for sourced in blocks} == {"blk", "raw"}


@pytest.mark.parametrize("compress", [bz2.compress, gzip.compress, lzma.compress])
def test_compression_is_detected_by_content_not_name(tmp_path: Path, compress: object) -> None:
    plain = bz2.decompress((BTC / "blocks1-256.bz2").read_bytes())
    stored = compress(plain)  # type: ignore[operator]
    path = tmp_path / "blocks.dat"  # the name says nothing about compression
    path.write_bytes(stored)
    blocks = _blocks(path)
    assert _hashes(blocks) == _hashes(_blocks(BTC / "blocks1-256.bz2"))
    assert blocks[0].sha256 == hashlib.sha256(stored).hexdigest()  # of the bytes on disk


def test_corrupt_compressed_file(tmp_path: Path) -> None:
    path = tmp_path / "blocks.bz2"
    path.write_bytes((BTC / "blocks1-256.bz2").read_bytes()[:5_000])
    with pytest.raises(BlockParseError, match="compressed"):
        _blocks(path)


def test_hex_text_block_with_whitespace(tmp_path: Path) -> None:
    text = SINGLE.read_bytes().hex()
    wrapped = "\n".join(text[i : i + 75] for i in range(0, len(text), 75))  # odd width on purpose
    path = tmp_path / "block.hex"
    path.write_text("  \n" + wrapped.upper() + "\n\n")
    (sourced,) = _blocks(path)
    assert sourced.detail == "hex block"
    reference = parse_block(SINGLE.read_bytes())
    assert sourced.block.txs == reference.txs
    assert sourced.block.outputs == reference.outputs


def test_zero_padding_between_and_after_records(tmp_path: Path) -> None:
    raw = FIRST.read_bytes()
    records = list(iter_blk_records(raw))
    padded = b""
    for i, (offset, record, _) in enumerate(records[:30]):
        padded += raw[offset - 8 : offset] + record + bytes(i % 3 * 17)
    padded += bytes(4096)  # a node pre-allocates its files with zeros
    path = tmp_path / "blk00000.dat"
    path.write_bytes(padded)
    assert _hashes(_blocks(path)) == _hashes(_blocks(FIRST))[:30]


def test_wrong_magic_mid_file_names_the_offset(tmp_path: Path) -> None:
    raw = bytearray(FIRST.read_bytes())
    offsets = [offset for offset, _, _ in iter_blk_records(bytes(raw))]
    bad = offsets[5] - 8
    raw[bad : bad + 4] = TESTNET3_MAGIC
    path = tmp_path / "blk00001.dat"
    path.write_bytes(bytes(raw))
    with pytest.raises(BlockParseError) as info:
        _blocks(path)
    assert info.value.offset == bad
    assert info.value.source == str(path)
    assert f"at byte {bad:,}" in str(info.value)


def test_garbage_between_records(tmp_path: Path) -> None:
    raw = FIRST.read_bytes()
    offsets = [offset for offset, _, _ in iter_blk_records(raw)]
    cut = offsets[3] - 8
    path = tmp_path / "blk.dat"
    path.write_bytes(raw[:cut] + b"\x00\x00\x07" + raw[cut:])
    with pytest.raises(BlockParseError) as info:
        _blocks(path)
    assert info.value.offset == cut + 2


def test_truncated_last_record(tmp_path: Path) -> None:
    raw = FIRST.read_bytes()
    path = tmp_path / "blk.dat"
    path.write_bytes(raw[:-10])
    blocks = FileSource([path]).blocks()
    with pytest.raises(BlockParseError, match="runs past the end"):
        for _ in blocks:
            pass


def test_network_comes_from_the_magic(tmp_path: Path) -> None:
    raw = (BTC / "block_testnet700000.dat").read_bytes()
    path = tmp_path / "blk00000.dat"
    path.write_bytes(TESTNET3_MAGIC + len(raw).to_bytes(4, "little") + raw)
    (sourced,) = _blocks(path)
    reference = parse_block(raw, network=TESTNET)
    assert sourced.block.outputs["address"] == reference.outputs["address"]
    assert str(sourced.block.outputs["address"][0]).startswith(("m", "n", "2", "tb1"))
    # Without framing nothing says "testnet": the source's network applies.
    raw_path = tmp_path / "testnet.raw"
    raw_path.write_bytes(raw)
    (unframed,) = FileSource([raw_path], network=TESTNET3).blocks()
    assert unframed.block.outputs["address"] == reference.outputs["address"]
    assert (sourced.network, unframed.network) == ("testnet3", "testnet3")
    assert sourced.locator == "offset 8" and unframed.locator == ""


def test_core_28_xor_obfuscated_blk_file(tmp_path: Path) -> None:
    raw = FIRST.read_bytes()
    key = bytes.fromhex("3d8a92e7014fbc56")  # an 8-byte key as xor.dat holds it
    stream = (key * (len(raw) // 8 + 1))[: len(raw)]
    (tmp_path / "xor.dat").write_bytes(key)
    (tmp_path / "blk00000.dat").write_bytes(bytes(a ^ b for a, b in zip(raw, stream, strict=True)))
    assert _hashes(_blocks(tmp_path)) == _hashes(_blocks(FIRST))


def test_json_is_delegated_to_the_getblock_reader() -> None:
    (path,) = (DATA / "etl" / "bitcoin" / "block_1").glob("rpc_response_getblock_*_2.json")
    (sourced,) = _blocks(path)
    assert sourced.detail == "getblock json"
    assert sourced.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    raw_block_1 = _blocks(FIRST)[1].block
    assert sourced.block.hash == raw_block_1.hash
    assert sourced.block.txs["txid"] == raw_block_1.txs["txid"]
    assert sourced.block.outputs["address"] == raw_block_1.outputs["address"]
    assert sourced.block.outputs["script_type"] == raw_block_1.outputs["script_type"]


@pytest.mark.realdata
def test_unknown_formats(tmp_path: Path, shared_data: Path) -> None:
    cases = {
        "notes.dat": b"hello, not a block",
        "empty.dat": b"",
        "tx.bin": bz2.decompress((shared_data / "btc" / "btcd" / "megatx.bin.bz2").read_bytes()),
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(UnsupportedFormatError) as info:
            _blocks(tmp_path / name)
        assert info.value.path == str(tmp_path / name)
        assert isinstance(info.value, UsageError)
    with pytest.raises(UnsupportedFormatError, match="not a block"):
        _blocks(shared_data / "btc" / "btcd" / "bip69-1.hex")  # a real tx in hex


def test_missing_paths_and_empty_folders(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormatError, match="no such file"):
        _blocks(tmp_path / "nope.dat")
    with pytest.raises(UnsupportedFormatError, match="no block files"):
        _blocks(tmp_path)


@pytest.mark.realdata
def test_shared_btcd_blocks(shared_data: Path) -> None:
    btcd = shared_data / "btc" / "btcd"
    for name in (
        "block-00000000000000000021868c2cefc52a480d173c849412fe81c4e5ab806f94ab.blk",
        "block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2.blk",
    ):
        (sourced,) = _blocks(btcd / name)
        assert sourced.block.hash == name.removeprefix("block-").removesuffix(".blk")
        assert sourced.detail == "raw block"
    (sourced,) = read_file(btcd / "277647.dat.bz2")
    assert (sourced.block.tx_count, sourced.locator) == (213, "offset 8")
