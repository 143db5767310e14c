"""Victim reports in the case-intake CSV format, with the flaws real intake has.

Reports are what a police unit actually receives: people's own words in Korean, Japanese,
Chinese or English, a transaction hash copied by hand (sometimes wrongly), an amount from
memory, fields left empty, rows that cannot be used, the same loss reported twice, and
reports about payments that were never part of any scheme. ``reports_truth.csv`` says which
crime and victim payment each report is about and which flaw it has, so case triage can be
scored. Victims are pseudonymous (``user-00042`` in the truth, a made-up name here).
"""

from __future__ import annotations

import csv
import random
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

from chaintrail.cases.model import FIELDS

if TYPE_CHECKING:
    from chaintrail.sim.ledger import Ledger
    from chaintrail.sim.truth import Crime, Source

#: The case-intake columns (``chaintrail cases import``'s default layout).
COLUMNS: Final = FIELDS
FLAWS: Final = (
    "none",
    "hash_typo",
    "approximate_amount",
    "missing_fields",
    "invalid_row",
    "duplicate",
    "unrelated",
)

#: Pseudonymous victim names per country, as intake forms mask them.
VICTIM_NAMES: Final = {
    "KR": ("김민*", "이서*", "박지*", "최현*", "정수*"),
    "JP": ("佐藤 *", "鈴木 *", "高橋 *", "田中 *", "伊藤 *"),
    "CN": ("王*", "李*", "张*", "刘*", "陈*"),
    "US": ("J. D.", "M. S.", "A. K.", "R. T.", "L. P."),
}
_TEXT: Final = {
    "scam": {
        "KR": "투자 플랫폼 {name}에 비트코인을 보냈는데 출금이 안 됩니다. 고수익을 약속했습니다.",
        "JP": "投資サイト「{name}」にビットコインを送金しましたが、出金できません。",
        "CN": "我向投资平台{name}转了比特币，现在无法提现，对方承诺高额回报。",
        "US": "I sent bitcoin to the investment platform {name}; withdrawals are blocked.",
    },
    "ransomware": {
        "KR": "회사 서버가 랜섬웨어({name})에 감염되어 복구 비용을 비트코인으로 지불했습니다.",
        "JP": "社内サーバーがランサムウェア（{name}）に感染し、"
        "身代金をビットコインで支払いました。",
        "CN": "公司服务器感染了勒索软件（{name}），我们用比特币支付了赎金。",
        "US": "Our servers were encrypted by {name} ransomware; we paid the ransom in bitcoin.",
    },
    "hack": {
        "KR": "거래소 핫월렛에서 비트코인이 무단 인출되었습니다.",
        "JP": "取引所のホットウォレットからビットコインが不正に引き出されました。",
        "CN": "交易所热钱包中的比特币被盗。",
        "US": "Bitcoin was stolen from our exchange hot wallet.",
    },
    "none": {
        "KR": "중고거래 판매자에게 비트코인을 보냈는데 물건을 받지 못했습니다.",
        "JP": "個人売買でビットコインを支払いましたが、商品が届きません。",
        "CN": "我在网上购物用比特币付款，但没有收到货。",
        "US": "Paid a seller in bitcoin for a used laptop that never arrived.",
    },
}


def _btc(sats: int) -> str:
    whole, frac = divmod(sats, 100_000_000)
    return f"{whole}.{frac:08d}"


def hash_typo(rng: random.Random, text: str, *, start: int = 0) -> str:
    """One hex digit of ``text`` (from ``start``: past a ``0x``) changed, as when a hash is
    copied by hand."""
    i = rng.randrange(start, len(text))
    options = [c for c in "0123456789abcdef" if c != text[i]]
    return text[:i] + rng.choice(options) + text[i + 1 :]


def write_reports(
    folder: Path,
    sources: list[Source],
    crimes: Mapping[str, Crime],
    ledger: Ledger,
    *,
    times: Mapping[int, int],
    rng: random.Random,
) -> int:
    """Write ``reports.csv`` and ``reports_truth.csv``; returns the number of reports."""
    rows: list[list[str]] = []
    truth: list[list[str]] = []
    last_time = max(times.values())

    def add(row: list[str], crime_id: str, source: str, flaw: str, dup: str = "") -> None:
        rid = f"R-{len(rows) + 1:05d}"
        rows.append([rid, *row])
        truth.append([rid, crime_id, source, flaw, dup])

    for s in sources:
        if rng.random() < 0.15:
            continue  # not every victim reports
        kind = crimes[s.crime_id].kind
        country = rng.choice(("KR", "KR", "KR", "JP", "CN", "US"))
        when = times[s.height] + rng.randint(1, 30) * 86_400
        reported = datetime.fromtimestamp(min(when, last_time + 60 * 86_400), UTC)
        name = crimes[s.crime_id].name.split(" #")[0]
        row = [
            reported.isoformat().replace("+00:00", "Z"),
            rng.choice(VICTIM_NAMES[country]),
            country,
            "BTC",
            "BTC",
            _btc(s.amount),
            s.txid,
            s.from_address,
            s.address,
            _TEXT[kind][country].format(name=name),
        ]
        r = rng.random()
        flaw = "none"
        if r < 0.1:
            row[6] = hash_typo(rng, row[6])
            flaw = "hash_typo"
        elif r < 0.2:
            approx = round(s.amount / 100_000_000 * rng.uniform(0.95, 1.05), 2)
            row[5] = f"{approx:.2f}"  # what the victim remembers (text, not money math)
            flaw = "approximate_amount"
        elif r < 0.28:
            for i in rng.sample((6, 7, 8), 2):
                row[i] = ""
            flaw = "missing_fields"
        elif r < 0.33:
            row[rng.choice((0, 3, 5))] = rng.choice(("yesterday", "ETHH", "약 0.5비트", "n/a"))
            if row[6]:
                row[6] = row[6][:40]
            flaw = "invalid_row"
        add(row, s.crime_id, str(s.id), flaw)
        if rng.random() < 0.08:
            add(list(row), s.crime_id, str(s.id), "duplicate", rows[-1][0])
    # reports about payments that were no scheme's
    crime_txids = {s.txid for s in sources}
    plain = _sample_plain(ledger, rng, max(3, len(rows) // 10), crime_txids)
    for txid, vout_addr, _, value, height in plain:
        country = rng.choice(("KR", "JP", "CN", "US"))
        seen = datetime.fromtimestamp(times.get(height, last_time) + 3 * 86_400, UTC)
        add(
            [
                seen.isoformat().replace("+00:00", "Z"),
                rng.choice(VICTIM_NAMES[country]),
                country,
                "BTC",
                "BTC",
                _btc(value),
                txid,
                "",
                vout_addr,
                _TEXT["none"][country],
            ],
            "",
            "",
            "unrelated",
        )
    with (folder / "reports.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS)
        w.writerows(rows)
    with (folder / "reports_truth.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(("report_id", "crime_id", "source_id", "flaw", "duplicate_of"))
        w.writerows(truth)
    return len(rows)


def _sample_plain(
    ledger: Ledger, rng: random.Random, count: int, exclude: set[str]
) -> list[tuple[str, str, str, int, int]]:
    """Payments between users still unspent at the end (txid, to, from, value, height)."""
    found = []
    users = [w for w in ledger.wallets if w.entity.kind == "user" and w.coins]
    for w in rng.sample(users, min(len(users), count * 3)):
        coin = next(iter(w.coins.values()))
        if coin.generated or coin.txid_le[::-1].hex() in exclude:
            continue
        found.append(
            (coin.txid_le[::-1].hex(), coin.key.address, coin.key.address, coin.value, coin.height)
        )
        if len(found) == count:
            break
    return found


__all__ = ["COLUMNS", "FLAWS", "VICTIM_NAMES", "hash_typo", "write_reports"]
