"""All of graphsense-tagpacks (≈524,000 tags in 86 packs and an ActorPack) imports in full."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from chaintrail.workspace import Workspace

pytestmark = [pytest.mark.slow, pytest.mark.realdata]


def _count_tags(folder: Path) -> int:
    total = 0
    for f in sorted(folder.rglob("*.yaml")):
        doc = yaml.load(f.read_bytes(), Loader=yaml.CSafeLoader)
        total += len(doc.get("tags") or [])
    return total


def test_all_graphsense_tagpacks(tmp_path: Path, shared_data: Path) -> None:
    folder = shared_data / "tags" / "graphsense-tagpacks"
    in_packs = _count_tags(folder / "packs")
    with Workspace.create(tmp_path / "ws") as ws:
        report = ws.tags.import_paths([folder])
        assert report.imported + report.rejected + report.duplicates == in_packs > 520_000
        assert report.actors_imported == 3813
        # few rejections, each explained: bad checksums and a TRON address in a BTC tag
        assert report.rejected == 12
        assert all(r.line and r.reason and r.address for r in report.rejections)
        reasons = {r.reason for r in report.rejections}
        assert reasons == {
            "not a valid Bitcoin mainnet address (bad checksum, length or prefix)",
            "bad EIP-55 checksum (mixed-case Ethereum address)",
        }
        # ~25,000 tags are for currencies other than BTC; those without a validator are kept
        other = sum(c.imported for k, c in report.by_currency.items() if k != "BTC")
        assert 24_000 < other < 26_000
        assert report.unvalidated == sum(
            c.imported for k, c in report.by_currency.items() if k not in ("BTC", "ETH")
        )
        # known tags: hacks.yaml (Bitstamp), ofac.yaml (no confidence: unknown), lazarus2.yaml
        (bitstamp,) = ws.tags.for_address("btc", "1JoktQJhCzuCQkt3GnQ8Xddcq4mUgNyXEa")
        assert (bitstamp.label, bitstamp.category, bitstamp.confidence, bitstamp.actor) == (
            "Bitstamp", "exchange", "web_crawl", "bitstamp")  # fmt: skip
        ofac = [t for t in ws.tags.for_address("btc", "3K35dyL85fR9ht7UgzPfd1gLRRXQtNTqE3")
                if t.label == "Asset listed under US Treasury OFAC Sanctions List"]  # fmt: skip
        assert [(t.category, t.confidence, t.confidence_level) for t in ofac] == [
            ("user", "unknown", 5)
        ]
        lazarus = ws.tags.for_address("btc", "3LU8wRu4ZnXP4UM8Yo6kkTiGHM9BubgyiG")
        assert any(t.abuse == "sanction" and t.confidence_level == 60 for t in lazarus)
        ronin = ws.tags.for_address("eth", "0x098b716b8aaf21512996dc57eb0615e2383e2f96")
        assert "Ronin bridge exploiter" in {t.label for t in ronin}
        assert ws.tags.actor("bitstamp") is not None
        # idempotent at full size too
        before = ws.tags.counts()
        again = ws.tags.import_paths([folder / "packs" / "hacks.yaml"])
        assert again.imported == 0 and ws.tags.counts() == before
