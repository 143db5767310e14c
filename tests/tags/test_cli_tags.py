"""``chaintrail tags ...`` and ``chaintrail address`` with tags: exit codes and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chaintrail.cli import main
from chaintrail.demo import shipped_blocks
from tests._cli import run
from tests.tags.conftest import write

BTC = "1Archive1n2C579dMsAu3iC6tWzuQJz8dN"


@pytest.fixture
def wsdir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    run(capsys, "-w", str(tmp_path / "ws"), "init")
    return tmp_path / "ws"


def test_import_json_partial_success_exits_0(wsdir, packs, capsys):
    out = json.loads(run(capsys, "-w", str(wsdir), "tags", "import", str(packs), "--json"))
    assert out["ok"] is True
    assert (out["imported"], out["rejected"]) == (27, 2)
    assert out["by_currency"]["BTC"]["rejected"] == 2
    assert {"file", "index", "line", "reason", "address"} <= set(out["rejections"][0])
    assert [f["kind"] for f in out["files"]] == ["tagpack"] * 4
    again = json.loads(run(capsys, "-w", str(wsdir), "tags", "import", str(packs), "--json"))
    assert (again["imported"], again["duplicates"]) == (0, 27)


def test_import_human_output(wsdir, packs, capsys):
    main(["-w", str(wsdir), "tags", "import", str(packs / "plustoken.yaml")])
    out, err = capsys.readouterr()
    assert "10 tags imported" in out and "rejected" in err and "line 11" in err


def test_import_errors_exit_2(wsdir, tmp_path, capsys):
    err = run(capsys, "-w", str(wsdir), "tags", "import", str(tmp_path / "nope.yaml"), code=2)
    assert "no such file" in err
    bad = write(tmp_path / "x.yaml", "title: [\n")
    assert "not valid YAML" in run(capsys, "-w", str(wsdir), "tags", "import", str(bad), code=2)
    odd = write(tmp_path / "x.bin", "??")
    run(capsys, "-w", str(wsdir), "tags", "import", str(odd), code=2)
    lst = write(tmp_path / "l.txt", BTC + "\n")
    err = run(capsys, "-w", str(wsdir), "tags", "import", str(lst), "--label", "x",
              "--confidence", "sure", "--json", code=2)  # fmt: skip
    assert "Invalid --confidence" in err


def test_show_and_export(wsdir, packs, tmp_path, capsys):
    run(capsys, "-w", str(wsdir), "tags", "import", str(packs / "demo.yaml"))
    shown = json.loads(run(capsys, "-w", str(wsdir), "tags", "show", BTC, "--json"))
    assert shown["tags"][0]["label"] == "Internet Archive"
    assert shown["tags"][0]["confidence_level"] == 50
    assert "Internet" in run(capsys, "-w", str(wsdir), "tags", "show", BTC)
    assert "No tags" in run(
        capsys, "-w", str(wsdir), "tags", "show", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"
    )
    out = json.loads(
        run(capsys, "-w", str(wsdir), "tags", "export", "-o", str(tmp_path / "e"), "--json")
    )
    assert out["tags"] == 5 and len(out["files"]) == 1 and Path(out["files"][0]).exists()


def test_address_shows_tags_even_before_ingest(wsdir, packs, capsys):
    run(capsys, "-w", str(wsdir), "tags", "import", str(packs / "demo.yaml"))
    a = json.loads(run(capsys, "-w", str(wsdir), "address", BTC, "--json"))
    assert (a["received"], a["outputs"], a["tx_count"]) == (0, 0, 0)
    assert [(t["label"], t["category"], t["confidence"], t["tlp"]) for t in a["tags"]] == [
        ("Internet Archive", "organization", "service_data", None)
    ]
    human = run(capsys, "-w", str(wsdir), "address", BTC)
    assert "direct tags" in human and "Internet" in human
    # untagged and unused: still not found
    run(capsys, "-w", str(wsdir), "address", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", code=1)


def test_address_with_outputs_and_tags(wsdir, tmp_path, capsys):
    run(capsys, "-w", str(wsdir), "ingest", "btc-blocks", str(shipped_blocks()))
    genesis = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
    lst = write(tmp_path / "g.txt", genesis + "\n")
    run(capsys, "-w", str(wsdir), "tags", "import", str(lst), "--label", "Satoshi",
        "--confidence", "ledger_immanent", "--tlp", "green")  # fmt: skip
    a = json.loads(run(capsys, "-w", str(wsdir), "address", genesis, "--json"))
    assert a["received"] > 0
    assert [(t["label"], t["confidence_level"], t["tlp"]) for t in a["tags"]] == [
        ("Satoshi", 100, "GREEN")
    ]
