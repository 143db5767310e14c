"""Sources that descend from one another (real 2009 blocks): every satoshi is counted once.

Block 9's coinbase pays 50 BTC that reach, six hops later, 11 BTC of the 61 BTC output
a3b0e9e7…:0 (hand-checked: a haircut trace of block 9 alone puts 11 BTC there). Traced together,
that output is one coin: 11 BTC stay block 9's, only the other 50 BTC are the later source's own.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from chaintrail.errors import OutPointNotFoundError
from chaintrail.trace import POLICIES, Stop, Trace, policy, trace
from chaintrail.workspace import Workspace

BLOCK9 = "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9:0"
TX170_CHANGE = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16:1"
LATER = "a3b0e9e7cddbbe78270fa4182a7675ff00b92872d8df7d14265a2b1e379a9d33:0"
BTC = 100_000_000


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory, tests_data: Path) -> Workspace:
    with Workspace.create(tmp_path_factory.mktemp("overlap") / "ws") as w:
        w.ingest.files([tests_data / "btc" / "blk00000_first1MB.dat"])
        yield w  # type: ignore[misc]


def _no_hop(step: dict[str, object]) -> dict[str, object]:
    """A step without its hop and (Poison names every source reaching it) its fee's sources."""
    return {k: v for k, v in step.items() if k not in ("hop", "fee_by_source")}


def _by(result: Trace, label: str) -> dict[tuple[str, str, int], int]:
    out: dict[tuple[str, str, int], int] = defaultdict(int)
    for f in (*result.endpoints, *result.unspent, *result.stopped):
        if f.by_source.get(label):
            out[(f.reason, f.txid, f.vout)] += f.by_source[label]
    return dict(out)


def test_haircut_counts_the_overlap_once(ws: Workspace) -> None:
    both = trace(ws, [BLOCK9, LATER], policy=policy("haircut"), stop=Stop.hops(100))
    first, later = both.sources
    assert (first.amount, first.overlap) == (50 * BTC, 0)
    assert (later.amount, later.overlap) == (50 * BTC, 11 * BTC)
    assert both.source_amount == both.accounted() == 100 * BTC


@pytest.mark.parametrize("name", sorted(n for n in POLICIES if n != "poison"))
def test_the_earlier_source_flows_as_if_alone(ws: Workspace, name: str) -> None:
    alone = trace(ws, [BLOCK9], policy=policy(name), stop=Stop.hops(100))
    both = trace(ws, [BLOCK9, LATER], policy=policy(name), stop=Stop.hops(100))
    assert both.conserved and both.accounted() == both.source_amount
    assert _by(both, BLOCK9) == _by(alone, BLOCK9)
    later = both.sources[1]
    assert later.amount + later.overlap == 61 * BTC
    assert sum(_by(both, LATER).values()) + both.fees_by_source.get(LATER, 0) == later.amount


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_a_source_wholly_inside_another(ws: Workspace, name: str) -> None:
    """Hal's payment's change (40 BTC) is all block 9's money: it adds nothing of its own."""
    both = trace(ws, [BLOCK9, TX170_CHANGE], policy=policy(name), stop=Stop.hops(100))
    alone = trace(ws, [BLOCK9], policy=policy(name), stop=Stop.hops(100))
    # the same money goes the same way; hops count from the nearer source (the change is hop 0)
    assert [_no_hop(s.to_json()) for s in both.steps] == [_no_hop(s.to_json()) for s in alone.steps]
    assert [s.hop for s in both.steps][:2] == [1, 1] and [s.hop for s in alone.steps][:2] == [1, 2]
    change = both.sources[1]
    assert change.overlap == 40 * BTC
    if both.conserved:
        assert change.amount == 0 and both.source_amount == both.accounted() == 50 * BTC


def test_a_transaction_and_the_address_it_paid(ws: Workspace) -> None:
    """``TXID:ADDRESS``: Satoshi's payment to Hal = output 0 of f4184f… (10 BTC)."""
    hal = "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"
    txid = TX170_CHANGE.split(":")[0]
    got = trace(ws, [f"{txid}:{hal}"], stop=Stop.hops(1))
    assert [(s.vout, s.amount) for s in got.sources] == [(0, 10 * BTC)]
    with pytest.raises(OutPointNotFoundError, match="has no output paying"):
        trace(ws, [f"{txid}:1DUDsfc23Dv9sPMEk5RsrtfzCw5ofi5sVW"])
