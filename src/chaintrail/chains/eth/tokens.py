"""ERC-20 and ERC-721 ``Transfer`` events decoded from logs with ``eth-abi``.

Both standards emit ``Transfer(address,address,uint256)`` (the same topic0). They differ only in
which arguments are indexed: ERC-20 indexes ``from`` and ``to`` (3 topics, the amount in 32 bytes
of data), ERC-721 also the token id (4 topics, no data). Those two layouts are decoded; any other
(an older token with unindexed arguments, extra data words) is a :class:`Reject`, never a guess,
so a token id is never read as an amount. This is also ethereum-etl's rule (topics plus data
words must be four), except that its output does not say which standard a row is.
"""

from __future__ import annotations

from eth_abi.abi import decode
from eth_abi.exceptions import DecodingError

from chaintrail.chains.eth.model import EthLog, TokenTransfer
from chaintrail.errors import MalformedEthRecordError

#: keccak256("Transfer(address,address,uint256)")
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"


def is_transfer(log: EthLog) -> bool:
    return bool(log.topics) and log.topics[0] == TRANSFER_TOPIC


def decode_transfer(log: EthLog) -> TokenTransfer:
    """The transfer a ``Transfer`` log records; raises MalformedEthRecordError otherwise."""
    if not is_transfer(log):
        raise MalformedEthRecordError("log", "topics[0]", "is not the Transfer event")
    data = bytes.fromhex(log.data[2:])
    topics = [bytes.fromhex(t[2:]) for t in log.topics[1:]]
    if len(topics) == 2 and len(data) == 32:
        standard, words = "erc20", [*topics, data]
    elif len(topics) == 3 and not data:
        standard, words = "erc721", topics
    else:
        raise MalformedEthRecordError(
            "log",
            "Transfer",
            f"has {len(log.topics)} topics and {len(data)} data bytes (ERC-20: 3 and 32, "
            "ERC-721: 4 and 0)",
        )
    try:
        sender, recipient, value = decode(["address", "address", "uint256"], b"".join(words))
    except DecodingError as e:
        raise MalformedEthRecordError("log", "Transfer", f"does not decode: {e}") from e
    return TokenTransfer(
        block_number=log.block_number,
        block_hash=log.block_hash,
        transaction_hash=log.transaction_hash,
        transaction_index=log.transaction_index,
        log_index=log.log_index,
        token_address=log.address,
        token_standard=standard,
        from_address=str(sender).lower(),
        to_address=str(recipient).lower(),
        value=int(value),
    )


#: ``eth_call`` selectors of the optional ERC-20 metadata getters.
METADATA_SELECTORS = {"name": "0x06fdde03", "symbol": "0x95d89b41", "decimals": "0x313ce567"}


def decode_text(result: str) -> str | None:
    """The answer of ``name()``/``symbol()``: an ABI ``string``, or the ``bytes32`` some early
    tokens return (MKR, EOS); trailing NUL bytes removed. None when it is neither (the token
    then stays unnamed rather than named with garbage)."""
    data = _bytes(result)
    if data is None:
        return None
    try:
        (text,) = decode(["string"], data)
        return str(text).rstrip("\x00")
    except (DecodingError, UnicodeDecodeError, OverflowError):
        pass
    if len(data) == 32:
        try:
            return data.rstrip(b"\x00").decode("utf-8")
        except UnicodeDecodeError:
            return None
    return None


def decode_decimals(result: str) -> int | None:
    """The answer of ``decimals()`` (a uint8 returned as one 32-byte word); None when absent or
    out of range."""
    data = _bytes(result)
    if data is None or len(data) < 32:
        return None
    (value,) = decode(["uint256"], data[:32])
    return int(value) if value <= 255 else None


def _bytes(result: object) -> bytes | None:
    if not isinstance(result, str) or not result.startswith("0x") or len(result) % 2:
        return None
    try:
        return bytes.fromhex(result[2:])
    except ValueError:
        return None
