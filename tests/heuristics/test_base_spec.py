"""The heuristic algebra: specs, bool() raising, and the safe spec parser."""

from __future__ import annotations

import pytest

from chaintrail.errors import InvalidSpecError
from chaintrail.heuristics import change, coinjoin, multi_input, parse
from chaintrail.heuristics.base import Verdict


@pytest.mark.parametrize(
    "h", [change.optimal, change.optimal | change.address_type, coinjoin.any, multi_input(),
          (change.optimal & change.address_type).unique(), change.optimal - change.peel_chain],
)  # fmt: skip
def test_bool_raises(h):
    with pytest.raises(TypeError, match="use &, |, -"):
        bool(h)
    with pytest.raises(TypeError):
        _ = h and change.optimal


def test_verdict_bool_raises():
    with pytest.raises(TypeError):
        bool(Verdict(frozenset({1}), 50))


def test_spec_strings():
    rule = (change.optimal & change.address_type).unique() | change.address_reuse
    assert rule.spec == ("((change.optimal & change.address_type).unique() | change.address_reuse)")
    assert (change.optimal - change.peel_chain).spec == "(change.optimal - change.peel_chain)"
    assert coinjoin.any.spec == "coinjoin.any"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("optimal", "change.optimal"),
        ("change.optimal", "change.optimal"),
        ("optimal & address_type", "(change.optimal & change.address_type)"),
        ("optimal | address_type & address_reuse",
         "(change.optimal | (change.address_type & change.address_reuse))"),
        ("(optimal | address_type) & address_reuse",
         "((change.optimal | change.address_type) & change.address_reuse)"),
        ("(optimal & address_type).unique() | address_reuse",
         "((change.optimal & change.address_type).unique() | change.address_reuse)"),
        ("optimal.unique()", "change.optimal.unique()"),
        ("optimal - peel_chain & fresh_address",
         "((change.optimal - change.peel_chain) & change.fresh_address)"),
        ("coinjoin.whirlpool | coinjoin.any", "(coinjoin.whirlpool | coinjoin.any)"),
    ],
)  # fmt: skip
def test_parse_and_round_trip(text, expected):
    rule = parse(text)
    assert rule.spec == expected
    assert parse(rule.spec).spec == expected


@pytest.mark.parametrize(
    "text, position",
    [("", 0), ("optimal &", 9), ("optimal & nonsense", 10), ("(optimal", 8),
     ("optimal )", 8), ("optimal; import os", 7), ("__import__('os')", 11), ("optimal ||", 9)],
)  # fmt: skip
def test_parse_errors_carry_the_position(text, position):
    with pytest.raises(InvalidSpecError) as info:
        parse(text)
    assert info.value.position == position
    assert info.value.exit_code == 2 and info.value.code == "invalid_spec"
