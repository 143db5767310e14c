"""Hand-computed splits of one transaction under every policy (REFERENCE §4 conventions)."""

from __future__ import annotations

import pytest

from chaintrail.errors import (
    AnalysisError,
    PolicyNotSupportedError,
    TraceInvariantError,
    UnknownPolicyError,
)
from chaintrail.trace import (
    POLICIES,
    Fifo,
    Haircut,
    Lifo,
    Poison,
    Slice,
    Split,
    TaintedInput,
    Tiho,
    TracePolicy,
    policy,
)

# One transaction used by every policy below:
#   in0  50,000 = ransom 30,000 then clean 20,000
#   in1  80,000 = clean 10,000 then hack 70,000
#   in2  20,000 clean
#   V = 150,000; T_ransom = 30,000, T_hack = 70,000
#   out0 60,000 | out1 0 (OP_RETURN) | out2 45,000 | out3 546 (dust) | out4 40,000
#   W = 145,546; fee = 150,000 - 145,546 = 4,454
INPUTS = (
    TaintedInput.of(("ransom", 30_000), (None, 20_000)),
    TaintedInput.of((None, 10_000), ("hack", 70_000)),
    TaintedInput.clean(20_000),
)
OUTPUTS = (60_000, 0, 45_000, 546, 40_000)

Pairs = list[tuple[str | None, int]]


def _slices(split: Split) -> tuple[list[Pairs], Pairs]:
    outs = [[(s.label, s.amount) for s in p.slices] for p in split.outputs]
    return outs, [(s.label, s.amount) for s in split.fee.slices]


def test_fifo_by_hand() -> None:
    # stream (input order, adjacent clean slices merged): R30000 C30000 H70000 C20000
    outs, fee = _slices(Fifo().split(INPUTS, OUTPUTS))
    assert outs == [
        [("ransom", 30_000), (None, 30_000)],  # 60,000 = R30000 + C30000
        [],  # OP_RETURN takes its 0 in place
        [("hack", 45_000)],  # 45,000 of H70000 (25,000 left)
        [("hack", 546)],  # dust: 546 of H (24,454 left)
        [("hack", 24_454), (None, 15_546)],  # 40,000 = H24454 + C15546 (4,454 left)
    ]
    assert fee == [(None, 4_454)]  # 20,000 - 15,546


def test_lifo_by_hand() -> None:
    # reversed stream: C20000 (in2) H70000 C30000 (in1's 10,000 + in0's 20,000) R30000
    outs, fee = _slices(Lifo().split(INPUTS, OUTPUTS))
    assert outs == [
        [(None, 20_000), ("hack", 40_000)],  # 60,000 = C20000 + H40000 (30,000 left)
        [],
        [("hack", 30_000), (None, 15_000)],  # 45,000 = H30000 + C15000 (15,000 left)
        [(None, 546)],  # 14,454 clean left
        [(None, 14_454), ("ransom", 25_546)],  # 40,000 = C14454 + R25546
    ]
    assert fee == [("ransom", 4_454)]  # 30,000 - 25,546: the thief's coins pay the fee


def test_tiho_by_hand() -> None:
    # stream: tainted first (input order) R30000 H70000, then clean C50000
    # outputs by value descending: out0 60,000, out2 45,000, out4 40,000, out3 546, out1 0
    outs, fee = _slices(Tiho().split(INPUTS, OUTPUTS))
    assert outs == [
        [("ransom", 30_000), ("hack", 30_000)],  # 60,000 (H 40,000 left)
        [],  # the 0-value OP_RETURN comes last and takes nothing
        [("hack", 40_000), (None, 5_000)],  # 45,000 (C 45,000 left)
        [(None, 546)],  # (C 4,454 left)
        [(None, 40_000)],  # (C 4,546 left before the dust output)
    ]
    assert fee == [(None, 4_454)]


def test_haircut_by_hand() -> None:
    # tau_jL = floor(t_L * w_j / 150,000); ransom t = 30,000, hack t = 70,000
    outs, fee = _slices(Haircut().split(INPUTS, OUTPUTS))
    assert outs == [
        # 30,000*60,000/150,000 = 12,000; 70,000*60,000/150,000 = 28,000; clean 20,000
        [("ransom", 12_000), ("hack", 28_000), (None, 20_000)],
        [],  # OP_RETURN: 0
        # 9,000 and 21,000 exactly; clean 15,000
        [("ransom", 9_000), ("hack", 21_000), (None, 15_000)],
        # 16,380,000/150,000 = 109.2 -> 109; 38,220,000/150,000 = 254.8 -> 254; clean 183
        [("ransom", 109), ("hack", 254), (None, 183)],
        # 8,000 exactly; 2,800,000,000/150,000 = 18,666.67 -> 18,666; clean 13,334
        [("ransom", 8_000), ("hack", 18_666), (None, 13_334)],
    ]
    # ransom: 30,000 - (12,000+9,000+109+8,000) = 891; hack: 70,000 - 67,920 = 2,080;
    # clean rest of the fee: 4,454 - 891 - 2,080 = 1,483
    assert fee == [("ransom", 891), ("hack", 2_080), (None, 1_483)]


def test_haircut_remainder_goes_to_a_zero_fee() -> None:
    # V = 3, t = 1, outputs 1 and 2, fee 0: floor(1/3) = floor(2/3) = 0, remainder 1 to the fee
    split = Haircut().split([TaintedInput.clean(2), TaintedInput.of(("x", 1))], [1, 2])
    assert [p.taint for p in split.outputs] == [0, 0]
    assert split.fee.value == 0 and split.fee.slices == (Slice("x", 1),)


def test_poison_by_hand() -> None:
    split = Poison().split(INPUTS, OUTPUTS)
    assert [p.poisoned_by for p in split.outputs] == [("ransom", "hack")] * 5
    assert [p.taint for p in split.outputs] == list(OUTPUTS)  # tau_j = w_j
    assert split.fee.poisoned_by == ("ransom", "hack")
    clean = Poison().split([TaintedInput.clean(10), TaintedInput.of(("x", 0), (None, 5))], [14])
    assert not clean.outputs[0].tainted and not clean.fee.tainted


def test_tiho_ties_go_by_vout() -> None:
    # in0 clean 10,000, in1 t 10,000; outputs 7,000 7,000 5,000; fee 1,000
    # stream T10000 C10000; order out0, out1 (tie: lower vout first), out2
    split = Tiho().split([TaintedInput.clean(10_000), TaintedInput.of(("t", 10_000))],
                         [7_000, 7_000, 5_000])  # fmt: skip
    outs, fee = _slices(split)
    assert outs == [[("t", 7_000)], [("t", 3_000), (None, 4_000)], [(None, 5_000)]]
    assert fee == [(None, 1_000)]


def test_fifo_partial_taint_across_outputs_and_dust() -> None:
    # in0 = clean 1,000 then a 2,000 then b 500 then clean 500 (4,000); in1 = a 1,000
    # stream C1000 A2000 B500 C500 A1000; outputs 546 (dust), 2,954, 300; fee 200
    inputs = [
        TaintedInput.of((None, 1_000), ("a", 2_000), ("b", 500), (None, 500)),
        TaintedInput.of(("a", 1_000)),
    ]
    outs, fee = _slices(Fifo().split(inputs, [546, 2_954, 300]))
    assert outs == [
        [(None, 546)],  # C 454 left
        [(None, 454), ("a", 2_000), ("b", 500)],  # 454 + 2,000 + 500 = 2,954
        [(None, 300)],  # C 200 left
    ]
    assert fee == [(None, 200), ("a", 1_000)]  # 4,000 + 1,000 - 3,800 = 1,200 = 200 + 1,000


def test_no_outputs_all_to_fee() -> None:
    split = Fifo().split([TaintedInput.of(("x", 5), (None, 3))], [])
    assert split.outputs == () and split.fee.slices == (Slice("x", 5), Slice(None, 3))


@pytest.mark.parametrize(
    ("inputs", "outputs", "match"),
    [
        ([TaintedInput(-1, (Slice(None, -1),))], [], "invalid value"),
        ([TaintedInput(5, (Slice("x", 7), Slice(None, -2)))], [], "invalid amount"),
        ([TaintedInput(10, (Slice("x", 4),))], [], "sum to 4, not to its value 10"),
        ([TaintedInput.clean(10)], [6, 5], "exceed the inputs"),
        ([TaintedInput.clean(10)], [-1], "output 0 has an invalid value"),
        ([TaintedInput.clean(10)], [1.5], "output 0 has an invalid value"),
        ([TaintedInput(10, (Slice("", 10),))], [], "invalid label"),
    ],
)
@pytest.mark.parametrize("cls", list(POLICIES.values()))
def test_invalid_input_raises(
    cls: type[TracePolicy], inputs: list[TaintedInput], outputs: list[int], match: str
) -> None:
    with pytest.raises(TraceInvariantError, match=match) as info:
        cls().split(inputs, outputs)
    assert isinstance(info.value, AnalysisError)
    assert (info.value.code, info.value.exit_code, info.value.http_status) == (
        "trace_invariant", 1, 422,
    )  # fmt: skip
    assert info.value.policy == cls.name


def test_registry() -> None:
    assert list(POLICIES) == ["poison", "haircut", "fifo", "lifo", "tiho"]
    for name, cls in POLICIES.items():
        p = policy(name)
        assert isinstance(p, cls) and p.name == name and p.version == 1 and p == cls()
        assert p.models == frozenset({"utxo"})
        assert repr(p) == f"{cls.__name__}()"
    assert not Poison.conserves and Fifo.conserves


def test_unknown_policy() -> None:
    with pytest.raises(UnknownPolicyError) as info:
        policy("clayton")
    err = info.value
    assert (err.code, err.exit_code, err.name) == ("unknown_policy", 2, "clayton")
    assert err.hint == "Use one of: poison, haircut, fifo, lifo, tiho."


def test_policy_not_supported() -> None:
    with pytest.raises(PolicyNotSupportedError) as info:
        policy("fifo", model="account")
    assert (info.value.code, info.value.exit_code, info.value.model) == (
        "policy_not_supported", 1, "account",
    )  # fmt: skip
