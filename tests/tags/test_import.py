"""Importing TagPacks, ActorPacks, OFAC and address lists; lookups; idempotence; export."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from chaintrail.errors import InvalidTagOptionError, TagFileError, UnsupportedTagFormatError
from chaintrail.tags.model import Tag
from chaintrail.workspace import Workspace
from tests.tags.conftest import write

BTC_OK = "1Archive1n2C579dMsAu3iC6tWzuQJz8dN"
BTC_OK2 = "3ETAVt2scYBFkBFksuNDk1i5tDLQ2c4zWR"
BTC_BADSUM = "1Archive1n2C579dMsAu3iC6tWzuQJz8dM"
TESTNET = "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn"
BECH32 = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"


def _content(tags: list[Tag]) -> list[tuple[object, ...]]:
    return sorted((t.content() for t in tags), key=repr)


def all_tags(ws: Workspace) -> list[Tag]:
    return [t for p in ws.tags.store.packs() for t in ws.tags.store.pack_tags(int(p["id"]))]


# --- TagPack rules ------------------------------------------------------------------------------


def test_header_inheritance(ws: Workspace, packs: Path) -> None:
    report = ws.tags.import_paths([packs / "demo.yaml"])
    assert (report.imported, report.rejected) == (5, 0)
    (tag,) = ws.tags.for_address("btc", BTC_OK)
    # label, category, source, actor, confidence, lastmod, is_cluster_definer from the header
    assert tag.label == "Internet Archive"
    assert tag.category == "organization"
    assert tag.source == "https://archive.org/donate/cryptocurrency"
    assert tag.actor == "internet_archive"
    assert (tag.confidence, tag.confidence_level) == ("service_data", 50)
    assert tag.lastmod == date(2021, 11, 12)
    assert tag.is_cluster_definer is True
    assert tag.is_public is True and tag.tlp is None and tag.validated


def test_tag_fields_override_the_header(ws: Workspace, tmp_path: Path) -> None:
    pack = write(
        tmp_path / "p.yaml",
        f"""
title: T
creator: C
label: Header label
source: https://example.org/
currency: BTC
confidence: web_crawl
category: exchange
tlp: amber
is_public: false
tags:
- address: {BTC_OK}
- address: {BTC_OK2}
  label: Own label
  confidence: forensic_investigation
  category: scam
  tlp: TLP:RED
  is_public: true
""",
    )
    assert ws.tags.import_paths([pack]).imported == 2
    (a,) = ws.tags.for_address("btc", BTC_OK)
    (b,) = ws.tags.for_address("btc", BTC_OK2)
    assert (a.label, a.confidence, a.category, a.tlp, a.is_public) == (
        "Header label", "web_crawl", "exchange", "AMBER", False)  # fmt: skip
    assert (b.label, b.confidence_level, b.category, b.tlp, b.is_public) == (
        "Own label", 70, "scam", "RED", True)  # fmt: skip


def test_rejections_name_file_position_line_and_reason(ws: Workspace, tmp_path: Path) -> None:
    pack = write(
        tmp_path / "bad.yaml",
        f"""title: Bad tags
creator: tests
source: https://example.org/
currency: BTC
confidence: web_crawl
tags:
- address: {BTC_OK}
  label: good one
- address: {BTC_OK2}
  label: [not, text]
- address: {BTC_OK2}
  label: unknown confidence
  confidence: pretty_sure
- address: {BTC_BADSUM}
  label: bad checksum
- address: {TESTNET}
  label: testnet address
- address: {BECH32}
  label: good bech32
- address: {BTC_OK2}
  label: unknown category
  category: bakery
- address: {BTC_OK2}
  label: private flag as text
  is_public: "no"
""",
    )
    report = ws.tags.import_paths([pack])
    assert (report.imported, report.rejected) == (2, 6)
    got = [(r.index, r.line, r.reason) for r in report.rejections]
    assert got == [
        (1, 9, "field 'label' must be text, not list"),
        (2, 11, "unknown confidence 'pretty_sure'"),
        (3, 14, "not a valid Bitcoin mainnet address (bad checksum, length or prefix)"),
        (4, 16, "testnet address in a BTC tag (BTC tags need mainnet addresses)"),
        (6, 20, "unknown category 'bakery'"),
        (7, 23, "field 'is_public' must be true or false, not str"),
    ]
    assert {r.file for r in report.rejections} == {str(pack.resolve())}
    assert report.rejections[2].address == BTC_BADSUM
    assert report.by_currency["BTC"].rejected == 6
    assert [t.label for t in ws.tags.for_address("btc", BECH32.upper())] == ["good bech32"]


def test_real_pack_with_bad_checksums(ws: Workspace, packs: Path) -> None:
    report = ws.tags.import_paths([packs / "plustoken.yaml"])
    assert (report.imported, report.rejected) == (10, 2)
    assert [(r.index, r.line, r.address) for r in report.rejections] == [
        (0, 11, "1MFgcyJ7ZNSknbTBRaih6zWDE6V1A64tRYs"),
        (10, 31, "14bwh6gmvol5ntwbvxqjkjdtzv4y5ebtvm"),
    ]
    (tag,) = ws.tags.for_address("btc", "3ETAVt2scYBFkBFksuNDk1i5tDLQ2c4zWR")
    assert (tag.label, tag.abuse, tag.confidence) == (
        "Plus Token Scam",
        "scam",
        "untrusted_transaction",
    )


def test_unvalidated_currencies_are_kept(ws: Workspace, packs: Path) -> None:
    report = ws.tags.import_paths([packs / "demo.yaml"])
    assert report.unvalidated == 3
    assert {k for k, c in report.by_currency.items() if c.unvalidated} == {"BCH", "XRP", "ZEC"}
    (xrp,) = ws.tags.lookup("rGeyCsqc6vKXuyTGF39WJxmTRemoV3c97h")
    assert (xrp.network, xrp.validated) == ("XRP", False)
    (eth,) = ws.tags.for_address("eth", "0xfa8e3920daf271dab92be9b87d9998ddd94fef08")
    assert eth.validated and eth.address == "0xFA8E3920daF271daB92Be9B87d9998DDd94FEF08"


def test_eth_checksum_rejected(ws: Workspace, tmp_path: Path) -> None:
    pack = write(
        tmp_path / "eth.yaml",
        """title: t
creator: c
currency: ETH
label: x
source: s
tags:
- address: '0x098B716B8Aaf21512996dC57EB0615e2383E2f96'
- address: '0x098B716B8Aaf21512996dC57EB0615e2383E2f97'
- address: '0x098b716b8aaf21512996dc57eb0615e2383e2f97'
""",
    )
    report = ws.tags.import_paths([pack])
    assert (report.imported, report.rejected) == (2, 1)
    assert report.rejections[0].reason == "bad EIP-55 checksum (mixed-case Ethereum address)"
    # No confidence anywhere: GraphSense makes it optional; chaintrail records 'unknown' (5).
    assert {t.confidence_level for t in all_tags(ws)} == {5}


def test_file_level_errors(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(TagFileError, match="not valid YAML at line 2"):
        ws.tags.import_paths([write(tmp_path / "a.yaml", "title: x\n  - : [\n")])
    with pytest.raises(TagFileError, match="needs a 'creator'"):
        ws.tags.import_paths([write(tmp_path / "b.yaml", "title: x\ntags: []\n")])
    with pytest.raises(UnsupportedTagFormatError):
        ws.tags.import_paths([write(tmp_path / "c.yaml", "just: a mapping\n")])
    with pytest.raises(UnsupportedTagFormatError):
        ws.tags.import_paths([write(tmp_path / "d.pdf", "%PDF")])
    with pytest.raises(TagFileError, match="no such file"):
        ws.tags.import_paths([tmp_path / "missing.yaml"])
    with pytest.raises(InvalidTagOptionError):
        ws.tags.import_paths([], confidence="sure")
    assert ws.tags.counts() == {"tags": 0, "actors": 0, "sources": 0}


# --- idempotence and export ---------------------------------------------------------------------


def test_reimport_changes_nothing(ws: Workspace, packs: Path) -> None:
    first = ws.tags.import_paths([packs])
    assert first.imported == 5 + 10 + 6 + 6 and first.rejected == 2
    before = ws.tags.counts()
    again = ws.tags.import_paths([packs])
    assert (again.imported, again.duplicates, again.rejected) == (0, first.imported, 2)
    assert ws.tags.counts() == before


def test_export_then_import_round_trips(ws: Workspace, packs: Path, tmp_path: Path) -> None:
    ws.tags.import_paths([packs])
    actors = write(
        tmp_path / "a.yaml",
        """title: actors
creator: c
actors:
- id: internet_archive
  label: Internet Archive
  uri: https://archive.org
  categories: [organization]
  jurisdictions: [US]
  context: {refs: [https://archive.org/donate]}
- id: lazarusgroup
  label: Lazarus Group
  uri: https://en.wikipedia.org/wiki/Lazarus_Group
  categories: [perpetrator]
  jurisdictions: [KP]
  aliases: [APT38, Hidden Cobra]
""",
    )
    assert ws.tags.import_paths([actors]).actors_imported == 2
    exported = ws.tags.export(tmp_path / "out")
    assert exported.tags == 27 and exported.actors == 2 and len(exported.files) == 5
    with Workspace.create(tmp_path / "ws2") as ws2:
        report = ws2.tags.import_paths([tmp_path / "out"])
        assert (report.imported, report.rejected, report.actors_imported) == (27, 0, 2)
        assert _content(all_tags(ws2)) == _content(all_tags(ws))
        assert [a.key for a in ws2.tags.store.actors()] == [a.key for a in ws.tags.store.actors()]
    # and exporting into the workspace the tags came from adds nothing
    assert ws.tags.import_paths([tmp_path / "out"]).imported == 0


# --- OFAC and address lists --------------------------------------------------------------------


def test_address_list_with_options(ws: Workspace, tmp_path: Path) -> None:
    lst = write(tmp_path / "victims.txt", f"# reported by victims\n{BTC_OK}\n\n{BECH32}\n"
                "0x52908400098527886E0F7030069857D2E4169EE7\nnot-an-address\n")  # fmt: skip
    report = ws.tags.import_paths([lst], label="Scam deposit", category="scam",
                                  confidence="manual_transaction")  # fmt: skip
    assert (report.imported, report.rejected) == (3, 1)
    assert report.rejections[0].line == 6 and "currency" in report.rejections[0].reason
    (tag,) = ws.tags.for_address("btc", BTC_OK)
    assert (tag.label, tag.category, tag.confidence_level) == ("Scam deposit", "scam", 90)
    assert (tag.is_public, tag.tlp, tag.source) == (False, "AMBER", str(lst.resolve()))
    assert ws.tags.for_address("eth", "0x52908400098527886e0f7030069857d2e4169ee7")


def test_csv_list_columns_win(ws: Workspace, tmp_path: Path) -> None:
    lst = write(tmp_path / "l.csv", f"address;label;currency;tlp\n{BTC_OK};Own;btc;green\n"
                f"{BTC_OK2};;;\n")  # fmt: skip
    with pytest.raises(TagFileError, match="needs a label"):
        ws.tags.import_paths([write(tmp_path / "nolabel.csv", f"address\n{BTC_OK}\n")])
    report = ws.tags.import_paths([lst], label="Default", tlp="red", public=True)
    assert report.imported == 2
    (a,) = ws.tags.for_address("btc", BTC_OK)
    (b,) = ws.tags.for_address("btc", BTC_OK2)
    assert (a.label, a.tlp, a.is_public) == ("Own", "GREEN", True)
    assert (b.label, b.tlp, b.confidence) == ("Default", "RED", "unknown")


def test_ofac_lists(ws: Workspace, shared_data: Path) -> None:
    folder = shared_data / "tags" / "ofac"
    lines = {p.name: len(p.read_text().split()) for p in folder.glob("sanctioned_addresses_*.txt")}
    report = ws.tags.import_paths([folder])
    # the .json twins and README/LICENSE are skipped; every line of every .txt is accounted for
    assert sum(f.entries for f in report.files) == sum(lines.values())
    assert report.imported + report.rejected + report.duplicates == sum(lines.values())
    xbt = next(f for f in report.files if f.path.endswith("_XBT.txt"))
    assert xbt.entries == lines["sanctioned_addresses_XBT.txt"] == 435
    assert xbt.imported + xbt.rejected == 435
    # the one rejection: a TRON address in the XBT list, line 355
    assert [(r.line, r.address) for r in report.rejections if r.file.endswith("_XBT.txt")] == [
        (355, "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq")
    ]
    (tag,) = ws.tags.for_address("btc", "123WBUDmSJv4GctdVEz6Qq6z8nXSKrJ4KX")
    assert (tag.category, tag.confidence, tag.confidence_level) == (
        "sanction",
        "authority_data",
        60,
    )
    assert tag.source.endswith("/sanctioned_addresses_XBT.txt") and tag.tlp == "CLEAR"
    # the JSON twin holds the same addresses (and the same TRON address in it)
    json_report = ws.tags.import_paths([folder / "sanctioned_addresses_XBT.json"])
    assert json_report.files[0].entries == 435 and json_report.rejected == 1
