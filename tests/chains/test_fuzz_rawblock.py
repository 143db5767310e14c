"""Fuzzing: whatever the bytes, the parser and the blk reader raise only chaintrail errors.

Inputs are random bytes and real blocks (tests/data/btc) with bytes flipped, cut, inserted or
deleted. Success is allowed (a mutation inside a script keeps the block parseable but breaks the
merkle root, so it ends as a MerkleMismatchError; with verify_merkle=False it parses). Anything
else (IndexError, struct.error, ValueError, MemoryError, a hang) fails the test.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaintrail.chains.btc.rawblock import parse_block
from chaintrail.errors import BlockParseError, MerkleMismatchError
from chaintrail.ingest.sources.files import iter_blk_records

BTC = Path(__file__).resolve().parent.parent / "data" / "btc"
# A small real block (2012, 14 txs), a real segwit block (2021, 2,500 txs) and the first records
# of a real blk file.
BLOCK = (BTC / "block169482.dat").read_bytes()
SEGWIT = (
    BTC / "mainnet_block_000000000000000000000c835b2adcaedc20fdf6ee440009c249452c726dafae.raw"
).read_bytes()
BLK = (BTC / "first-100k-blocks.dat").read_bytes()[:6_000]  # the first ~25 records
ALLOWED = (BlockParseError, MerkleMismatchError)
FUZZ = settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _parse(data: bytes, *, verify_merkle: bool = True) -> None:
    try:
        parse_block(data, source="fuzz", offset=7, verify_merkle=verify_merkle)
    except ALLOWED as error:
        assert error.code in ("block_parse_error", "merkle_mismatch")


def _read_blk(data: bytes) -> None:
    try:
        for offset, record, network in iter_blk_records(data, source="fuzz"):
            parse_block(record, source="fuzz", offset=offset, network=network.addresses)
    except ALLOWED:
        pass


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
            data[at] = 0xFF  # the start of a huge CompactSize, if at a count
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=9))
        elif kind == "delete":
            del data[at : at + draw(st.integers(min_value=1, max_value=40))]
        elif kind == "cut":
            del data[at:]
        else:
            del data[: draw(st.integers(min_value=1, max_value=len(data)))]
    return bytes(data)


@FUZZ
@given(st.binary(max_size=2_000))
def test_random_bytes(data: bytes) -> None:
    _parse(data)
    _read_blk(data)


@FUZZ
@given(st.binary(min_size=150, max_size=600))
def test_random_bytes_after_a_real_header(tail: bytes) -> None:
    _parse(BLOCK[:80] + tail)


@FUZZ
@given(mutated(BLOCK))
def test_mutated_real_block(data: bytes) -> None:
    _parse(data)
    _parse(data, verify_merkle=False)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(SEGWIT))
def test_mutated_real_segwit_block(data: bytes) -> None:
    _parse(data, verify_merkle=False)


@FUZZ
@given(mutated(BLK))
def test_mutated_blk_file(data: bytes) -> None:
    _read_blk(data)
