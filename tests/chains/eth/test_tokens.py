"""ERC-20/721 Transfer decoding and EIP-55 checksums."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import pytest

from chaintrail.chains.eth import etl
from chaintrail.chains.eth.address import normalize, to_checksum
from chaintrail.chains.eth.model import EthLog
from chaintrail.chains.eth.tokens import decode_transfer, is_transfer
from chaintrail.errors import InvalidAddressError, MalformedEthRecordError

pytestmark = pytest.mark.realdata


def _csv_logs(path: Path) -> list[EthLog]:
    """ethereum-etl's logs CSV: numbers as decimal text, topics joined by commas."""
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    ints = ("log_index", "transaction_index", "block_number")
    return [etl.log({k: int(v) if k in ints else v for k, v in r.items()}) for r in rows]


def test_token_transfers_from_logs_match_ethereum_etl(shared_data: Path) -> None:
    folder = shared_data / "eth/etl-rpc-fixtures/test_extract_token_transfers_job/logs"
    logs = _csv_logs(folder / "logs.csv")
    transfers = [decode_transfer(log) for log in logs if is_transfer(log)]
    with (folder / "expected_token_transfers.csv").open(newline="") as f:
        expected = list(csv.DictReader(f))
    assert len(transfers) == len(expected) > 0
    assert len(logs) > len(transfers)  # other events are not transfers
    for t, e in zip(transfers, expected, strict=True):
        mine = {
            "token_address": t.token_address, "from_address": t.from_address,
            "to_address": t.to_address, "value": str(t.value),
            "transaction_hash": t.transaction_hash, "log_index": str(t.log_index),
            "block_number": str(t.block_number),
        }  # fmt: skip
        assert mine == e
        assert t.token_standard == "erc20"


def _real_erc20(shared_data: Path) -> EthLog:
    folder = shared_data / "eth/etl-rpc-fixtures/test_extract_token_transfers_job/logs"
    return next(log for log in _csv_logs(folder / "logs.csv") if is_transfer(log))


def test_erc721_layout_reads_the_token_id(shared_data: Path) -> None:
    log = _real_erc20(shared_data)
    word = "0x" + log.data[2:]
    as_721 = dataclasses.replace(log, topics=(*log.topics, word), data="0x")
    t = decode_transfer(as_721)
    assert (t.token_standard, t.value) == ("erc721", int(word, 16))
    assert decode_transfer(log).value == t.value  # same number, other meaning: kept apart


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda log: {"data": log.data + "00" * 32}, "has 3 topics and 64 data bytes"),
        (lambda log: {"topics": log.topics[:1], "data": log.data * 1}, "has 1 topics"),
        (lambda log: {"topics": (*log.topics, log.topics[1])}, "has 4 topics and 32 data"),
        (lambda log: {"topics": (log.topics[0], "0x" + "11" * 32, log.topics[2])},
         "does not decode"),
    ],
)  # fmt: skip
def test_nonstandard_transfer_logs_are_refused_not_guessed(
    shared_data: Path, change: object, reason: str
) -> None:
    log = _real_erc20(shared_data)
    bad = dataclasses.replace(log, **change(log))  # type: ignore[operator]
    with pytest.raises(MalformedEthRecordError, match=reason):
        decode_transfer(bad)


# EIP-55's own test vectors (https://eips.ethereum.org/EIPS/eip-55).
EIP55 = [
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    "0x52908400098527886E0F7030069857D2E4169EE7",  # checksum all caps
    "0xde709f2102306220921060314715629080e2fb77",  # checksum all lower
]


@pytest.mark.parametrize("address", EIP55)
def test_eip55_checksums(address: str) -> None:
    assert to_checksum(address.lower()) == address
    assert normalize(address) == address.lower()


def test_single_case_text_carries_no_checksum_and_is_accepted() -> None:
    assert normalize(EIP55[0].lower()) == EIP55[0].lower()
    assert normalize("0x" + EIP55[0][2:].upper()) == EIP55[0].lower()


def test_a_mistyped_checksum_is_refused() -> None:
    typo = EIP55[0][:-1] + "D"  # last letter's case flipped
    with pytest.raises(InvalidAddressError):
        normalize(typo)
    with pytest.raises(InvalidAddressError):
        to_checksum("0x1234")
