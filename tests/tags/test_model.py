"""The tag model: the confidence scale, TLP markings, address normalisation, EIP-55."""

from __future__ import annotations

import pytest

from chaintrail.tags.model import (
    CONFIDENCE_LEVELS,
    Confidence,
    Tag,
    normalise_address,
    normalise_tlp,
)
from chaintrail.tags.tagpack import eth_address_problem

#: REFERENCE §5, exactly.
SCALE = {
    "override": 100, "ownership": 100, "ledger_immanent": 100, "manual_transaction": 90,
    "service_api": 70, "forensic_investigation": 70, "authority_data": 60,
    "trusted_provider": 50, "service_data": 50, "forensic": 50, "untrusted_transaction": 40,
    "web_crawl": 20, "heuristic": 10, "unknown": 5,
}  # fmt: skip


def test_the_confidence_scale_is_graphsenses() -> None:
    assert CONFIDENCE_LEVELS == SCALE


@pytest.mark.parametrize("cid, level", sorted(SCALE.items()))
def test_every_confidence_id(cid: str, level: int) -> None:
    assert Confidence.from_id(cid) == Confidence(cid, level)
    tag = Tag("BTC", "BTC", "1Archive1n2C579dMsAu3iC6tWzuQJz8dN", "x", "s", cid)
    assert tag.confidence_level == level


def test_unknown_confidence_id() -> None:
    with pytest.raises(ValueError, match="unknown confidence 'sure'"):
        Confidence.from_id("sure")


@pytest.mark.parametrize(
    "given, expected",
    [("CLEAR", "CLEAR"), ("green", "GREEN"), ("TLP:AMBER", "AMBER"),
     ("amber+strict", "AMBER+STRICT"), ("tlp:red", "RED"), ("WHITE", "CLEAR")],
)  # fmt: skip
def test_tlp_markings(given: str, expected: str) -> None:
    assert normalise_tlp(given) == expected


def test_unknown_tlp() -> None:
    with pytest.raises(ValueError, match="unknown TLP marking"):
        normalise_tlp("PURPLE")


def test_address_normalisation() -> None:
    assert normalise_address(" BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ ") == (
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
    )
    assert normalise_address("0xFA8E3920daF271daB92Be9B87d9998DDd94FEF08") == (
        "0xfa8e3920daf271dab92be9b87d9998ddd94fef08"
    )
    assert (
        normalise_address("1Archive1n2C579dMsAu3iC6tWzuQJz8dN")
        == "1Archive1n2C579dMsAu3iC6tWzuQJz8dN"
    )


@pytest.mark.parametrize(
    "address",
    [  # EIP-55's own test vectors
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        "0x52908400098527886E0F7030069857D2E4169EE7",
        "0xde709f2102306220921060314715629080e2fb77",
    ],
)
def test_eip55_valid(address: str) -> None:
    assert eth_address_problem(address) is None


def test_eip55_invalid() -> None:
    assert "EIP-55" in str(eth_address_problem("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"))
    assert "40 hexadecimal" in str(eth_address_problem("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA"))
