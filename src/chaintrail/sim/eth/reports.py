"""Victim reports of the simulated Ethereum scam, in the case-intake CSV format.

The same intake a unit gets for a stablecoin scam: people's own words in Korean, Japanese,
Chinese or English, the chain and the coin written as people write them (``Ethereum``,
``ERC-20``, ``Tether``), a transaction hash copied by hand (sometimes wrongly, sometimes not at
all: then only the scammer's address, the amount and the day), an amount from memory, a row
that cannot be used, the same loss reported twice. ``reports_truth.csv`` names the victim
payment and the flaw of each report. The flaws mirror the Bitcoin simulator's
(:mod:`chaintrail.sim.reports`), with the same rates.
"""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Final

from chaintrail.sim.reports import COLUMNS, VICTIM_NAMES, hash_typo

if TYPE_CHECKING:
    from chaintrail.sim.eth.economy import Economy

_TEXT: Final = {
    "KR": "코인 투자 리딩방에서 소개받은 플랫폼에 {coin}을(를) 보냈는데 출금이 막혔습니다.",
    "JP": "投資グループで紹介されたプラットフォームに{coin}を送金しましたが、出金できません。",
    "CN": "我在投资群里被介绍到一个平台，转入了{coin}，现在无法提现。",
    "US": "I sent {coin} to a trading platform from an investment chat group; withdrawals fail.",
}
#: How victims write the chain and the coin: (chain, asset) for ether and for the token.
_SPELLINGS: Final = {
    "ETH": (("ETH", "ETH"), ("Ethereum", "ETH"), ("eth", "Ether")),
    "token": (("ERC-20", "USDT"), ("Ethereum", "USDT"), ("ETH", "Tether")),
}


def _decimal(units: int, places: int) -> str:
    return format(Decimal(units).scaleb(-places), "f")


def write_eth_reports(folder: Path, economy: Economy, *, seed: int) -> int:
    """Write ``reports.csv`` and ``reports_truth.csv`` for the scam's victim payments; returns
    the number of reports."""
    from chaintrail.sim.eth.economy import TOKEN_DECIMALS

    rng = random.Random(f"eth-reports:{seed}")
    rows: list[list[str]] = []
    truth: list[list[str]] = []

    def add(row: list[str], payment: str, flaw: str, dup: str = "") -> None:
        rid = f"E-{len(rows) + 1:05d}"
        rows.append([rid, *row])
        truth.append([rid, payment, flaw, dup])

    chain = economy.chain
    for t in economy.victim_payments:
        if rng.random() < 0.15:
            continue  # not every victim reports
        native = t.asset == "ETH"
        spelled_chain, spelled_asset = rng.choice(_SPELLINGS["ETH" if native else "token"])
        places = 18 if native else TOKEN_DECIMALS
        country = rng.choice(("KR", "KR", "KR", "JP", "CN", "US"))
        when = chain.time_of(t.block_number) + rng.randint(1, 20) * 86_400
        coin = "이더리움" if native and country == "KR" else ("ETH" if native else "USDT")
        row = [
            datetime.fromtimestamp(when, UTC).isoformat().replace("+00:00", "Z"),
            rng.choice(VICTIM_NAMES[country]), country, spelled_chain, spelled_asset,
            _decimal(t.value, places), t.transaction_hash, t.from_address, t.to_address,
            _TEXT[country].format(coin=coin),
        ]  # fmt: skip
        r = rng.random()
        flaw = "none"
        if r < 0.1:
            row[6] = hash_typo(rng, row[6], start=2)
            flaw = "hash_typo"
        elif r < 0.2:
            remembered = Decimal(t.value).scaleb(-places) * Decimal(rng.randint(950, 1050)) / 1000
            row[5] = format(round(remembered, 2), "f")
            flaw = "approximate_amount"
        elif r < 0.3:
            row[6] = row[7] = ""  # only the scammer's address, the amount and the day
            flaw = "missing_fields"
        elif r < 0.35:
            row[rng.choice((0, 5))] = rng.choice(("지난주", "約2000ドル", "n/a"))
            flaw = "invalid_row"
        add(row, f"{t.asset}:{t.transaction_hash}", flaw)
        if rng.random() < 0.08:
            add(list(row), f"{t.asset}:{t.transaction_hash}", "duplicate", rows[-1][0])
    with (folder / "reports.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS)
        w.writerows(rows)
    with (folder / "reports_truth.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(("report_id", "payment", "flaw", "duplicate_of"))
        w.writerows(truth)
    return len(rows)


__all__ = ["write_eth_reports"]
