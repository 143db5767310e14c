"""Blocks from saved files: node ``blk*.dat`` files, raw blocks (binary or hex) and getblock JSON.

:class:`FileSource` takes files and folders. A folder contributes its block-like files in name
order (``blk*.dat``, ``*.dat``, ``*.raw``, ``*.blk``, ``*.hex``, ``*.bin``, ``*.json``,
``*.jsonl``, each also with ``.bz2``/``.gz``/``.xz``); a node's ``rev*.dat`` undo files and
``xor.dat`` key are left out. Each file is identified by its content, never by its name:

1. compression (bzip2, gzip, xz) by magic bytes, undone first;
2. ``blk`` framing: records of [4-byte network magic][4-byte little-endian length][block], the
   magic telling the network (mainnet ``f9beb4d9``, testnet3 ``0b110907``, testnet4 ``1c163f28``,
   signet ``0a03cf40``, regtest ``fabfb5da``). Zero bytes between and after records (a node
   pre-allocates its files) are skipped; any other byte where a record should start is an error
   naming its offset;
3. JSON or JSON lines (first non-blank byte ``{`` or ``[``), handed to
   :func:`chaintrail.chains.btc.corejson.iter_json_blocks`;
4. one block as hex text (whitespace anywhere is ignored);
5. one raw binary block (recognised by its coinbase input right after the header).

Bitcoin Core 28+ obfuscates new block files with the 8-byte key in ``xor.dat`` next to them; a
``blk*.dat`` file with a non-zero ``xor.dat`` beside it is de-obfuscated before reading.

Every block comes out as a :class:`SourcedBlock` with ``kind`` "file", the path, the SHA-256 of
the file's bytes as stored on disk (before decompression), the time it was read, and a detail
(``"blk offset N"`` with N the byte offset of the block itself in the decompressed file,
``"raw block"``, ``"hex block"``, ``"json"``). Blocks of a ``blk`` file come in file order,
which need not be height order.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import re
import struct
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

from chaintrail.chains.btc.model import BlockData, SourcedBlock
from chaintrail.chains.btc.networks import BY_MAGIC, MAINNET, BtcNetwork
from chaintrail.chains.btc.rawblock import HEADER_SIZE, parse_block
from chaintrail.errors import BlockParseError, UnsupportedFormatError

_SUFFIXES: Final = (".dat", ".raw", ".blk", ".hex", ".bin", ".json", ".jsonl")
_COMPRESSED: Final = (".bz2", ".gz", ".xz")
_NONZERO = re.compile(rb"[^\x00]")
_HEX = re.compile(rb"[0-9a-fA-F]*")
_NULL_OUTPOINT: Final = b"\x00" * 32 + b"\xff\xff\xff\xff"
_LENGTH = struct.Struct("<I")


class FileSource:
    """Blocks read from files and folders (see the module documentation for the formats)."""

    def __init__(self, paths: Sequence[Path], *, network: BtcNetwork = MAINNET) -> None:
        """``network`` is that of raw, hex and JSON blocks (blk files name their own)."""
        self.paths = [Path(p) for p in paths]
        self.network = network

    def files(self) -> list[Path]:
        """The files the source reads, in order (folders expanded)."""
        found: list[Path] = []
        for path in self.paths:
            if path.is_dir():
                inside = sorted(p for p in path.iterdir() if p.is_file() and _is_block_file(p))
                if not inside:
                    raise UnsupportedFormatError(str(path), "the folder holds no block files")
                found.extend(inside)
            elif path.is_file():
                found.append(path)
            else:
                raise UnsupportedFormatError(str(path), "no such file or folder")
        return found

    def blocks(self) -> Iterator[SourcedBlock]:
        """Every block of the files, in file order; raises a UsageError on bad input."""
        for path in self.files():
            yield from read_file(path, network=self.network)


def _is_block_file(path: Path) -> bool:
    name = path.name.lower()
    for suffix in _COMPRESSED:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    if name.startswith("rev") and name.endswith(".dat") or name == "xor.dat":
        return False
    return name.endswith(_SUFFIXES)


def read_file(path: Path, *, network: BtcNetwork = MAINNET) -> Iterator[SourcedBlock]:
    """The blocks of one file, whatever its format."""
    source = str(path.resolve())
    try:
        stored = path.read_bytes()
    except OSError as exc:
        raise UnsupportedFormatError(source, f"cannot read the file: {exc.strerror}") from None
    digest = hashlib.sha256(stored).hexdigest()
    retrieved_at = time.time()
    data = _deobfuscate(path, _decompress(stored, source))

    def sourced(
        block: BlockData, detail: str, locator: str = "", net: BtcNetwork = network
    ) -> SourcedBlock:
        return SourcedBlock(block, "file", source, digest, retrieved_at, detail, locator, net.name)

    head = data[:4]
    if head in BY_MAGIC:
        for offset, record, record_network in iter_blk_records(data, source=source):
            block = parse_block(
                record, source=source, offset=offset, network=record_network.addresses
            )
            yield sourced(block, "blk file", f"offset {offset}", record_network)
        return
    first = data.lstrip()[:1]
    if first in (b"{", b"["):
        from chaintrail.chains.btc.corejson import iter_json_blocks

        for block in iter_json_blocks(data, source=source, network=network.addresses):
            yield sourced(block, "getblock json")
        return
    compact = b"".join(data[:4096].split())
    if compact and _HEX.fullmatch(compact):
        compact = b"".join(data.split())
    if compact and len(compact) % 2 == 0 and _HEX.fullmatch(compact):
        raw = bytes.fromhex(compact.decode("ascii"))
        if not _looks_like_block(raw):
            raise UnsupportedFormatError(source, "hex text that is not a block")
        yield sourced(parse_block(raw, source=source, network=network.addresses), "hex block")
        return
    if _looks_like_block(data):
        yield sourced(parse_block(data, source=source, network=network.addresses), "raw block")
        return
    raise UnsupportedFormatError(
        source,
        "not a blk file (unknown network magic "
        f"{head.hex() or 'none'}), not JSON, and not a raw block in binary or hex",
    )


def iter_blk_records(
    data: bytes, *, source: str = "<bytes>"
) -> Iterator[tuple[int, bytes, BtcNetwork]]:
    """(offset of the block, block bytes, network) of each record of a ``blk*.dat`` file.

    Every record must carry the magic of the first one; zero padding is skipped.
    """
    end = len(data)
    pos = 0
    expected: bytes | None = None
    network = MAINNET
    while pos < end:
        if data[pos] == 0:
            match = _NONZERO.search(data, pos)
            if match is None:
                return
            pos = match.start()
        magic = data[pos : pos + 4]
        if expected is None:
            if magic not in BY_MAGIC:
                raise BlockParseError(
                    f"unknown network magic {magic.hex()}", source=source, offset=pos
                )
            expected = magic
            network = BY_MAGIC[magic]
        elif magic != expected:
            raise BlockParseError(
                f"expected the network magic {expected.hex()} of a record, found {magic.hex()}",
                source=source,
                offset=pos,
            )
        if end - pos < 8:
            raise BlockParseError("truncated record header", source=source, offset=pos)
        (length,) = _LENGTH.unpack_from(data, pos + 4)
        if length > end - pos - 8:
            raise BlockParseError(
                f"a record of {length:,} bytes runs past the end of the file "
                f"({end - pos - 8:,} bytes left)",
                source=source,
                offset=pos,
            )
        yield pos + 8, data[pos + 8 : pos + 8 + length], network
        pos += 8 + length


def _decompress(stored: bytes, source: str) -> bytes:
    try:
        if stored[:3] == b"BZh":
            return bz2.decompress(stored)
        if stored[:2] == b"\x1f\x8b":
            return gzip.decompress(stored)
        if stored[:6] == b"\xfd7zXZ\x00":
            return lzma.decompress(stored)
    except (OSError, EOFError, ValueError, lzma.LZMAError) as exc:
        raise BlockParseError(f"corrupt compressed data ({exc})", source=source) from None
    return stored


def _deobfuscate(path: Path, data: bytes) -> bytes:
    """Undo Bitcoin Core 28+'s block file XOR (key in ``xor.dat`` next to ``blk*.dat``)."""
    if not (path.name.startswith("blk") and path.name.endswith(".dat")):
        return data
    key_path = path.with_name("xor.dat")
    try:
        key = key_path.read_bytes()
    except OSError:
        return data
    if len(key) != 8 or not any(key) or not data:
        return data
    chunk = 1 << 20  # a multiple of 8, so every chunk starts at key offset 0
    mask = int.from_bytes(key * (chunk // 8), "big")
    out = bytearray(len(data))
    for start in range(0, len(data), chunk):
        piece = data[start : start + chunk]
        size = len(piece)
        mixed = int.from_bytes(piece, "big") ^ (mask >> (8 * (chunk - size)))
        out[start : start + size] = mixed.to_bytes(size, "big")
    return bytes(out)


def _looks_like_block(data: bytes) -> bool:
    """A header followed by a transaction whose single input is a coinbase (null outpoint)."""
    if len(data) < HEADER_SIZE + 61:
        return False
    pos = HEADER_SIZE
    first = data[pos]
    pos += 1 if first < 0xFD else (3, 5, 9)[first - 0xFD]
    pos += 4  # tx version
    if data[pos : pos + 2] == b"\x00\x01":
        pos += 2
    return data[pos : pos + 1] == b"\x01" and data[pos + 1 : pos + 37] == _NULL_OUTPOINT


__all__ = ["FileSource", "iter_blk_records", "read_file"]
