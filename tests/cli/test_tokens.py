"""``chaintrail tokens add`` and ``tokens list``: user-stated metadata, never silently over
metadata a node answered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chaintrail.workspace import Workspace
from tests._cli import run

USDT = "0xdAC17F958D2ee523a2206206994597C13D831ec7"
NODE_TOKEN = "0x" + "ab" * 20


@pytest.fixture
def ws(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    path = str(tmp_path / "ws")
    run(capsys, "-w", path, "init")
    # a token an ingest met whose node answered symbol() only (decimals and name unknown)
    with Workspace.open(path, write=True) as w:
        w.con.execute(
            "insert into provenance values (nextval('provenance_id_seq'), 'rpc', 'node', "
            "now(), repeat('0', 64), 'test', 'eth_call answers', null)"
        )
        w.con.execute(
            "insert into tokens values ('eth', ?, 'NODE', null, null, 'eth_call', "
            "currval('provenance_id_seq'))",
            [NODE_TOKEN],
        )
    return path


def _add(capsys: pytest.CaptureFixture[str], ws: str, *args: str, code: int = 0) -> str:
    return run(capsys, "-w", ws, "tokens", "add", *args, *(["--json"] if not code else []),
               code=code)  # fmt: skip


def test_add_then_list(ws: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = json.loads(_add(capsys, ws, USDT, "--symbol", "USDT", "--decimals", "6",
                          "--name", "Tether USD"))  # fmt: skip
    assert out["action"] == "added"
    assert out["token"] | {"provenance_id": None} == {
        "address": USDT.lower(), "symbol": "USDT", "decimals": 6, "name": "Tether USD",
        "source": "user", "provenance_id": None,
    }  # fmt: skip
    listed = json.loads(run(capsys, "-w", ws, "tokens", "list", "--json"))["tokens"]
    assert [(t["address"], t["symbol"], t["source"]) for t in listed] == [
        (NODE_TOKEN, "NODE", "eth_call"),
        (USDT.lower(), "USDT", "user"),
    ]
    with Workspace.open(ws) as w:
        prov = w.con.execute(
            "select kind, source, detail from provenance where id = ?",
            [out["token"]["provenance_id"]],
        ).fetchone()
    assert prov is not None and prov[0] == "user" and '"symbol": "USDT"' in prov[2]
    # the same statement again changes nothing; a new one replaces the user's own
    assert json.loads(_add(capsys, ws, USDT, "--symbol", "USDT", "--decimals", "6"))[
        "action"] == "unchanged"  # fmt: skip
    again = json.loads(_add(capsys, ws, USDT, "--symbol", "USD₮", "--decimals", "6"))
    assert (again["action"], again["token"]["symbol"], again["token"]["name"]) == (
        "updated", "USD₮", "Tether USD",
    )  # fmt: skip
    table = run(capsys, "-w", ws, "tokens", "list")
    assert "USD₮" in table and "eth_call" in table


def test_fills_what_the_node_left_unknown(ws: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = json.loads(_add(capsys, ws, NODE_TOKEN, "--symbol", "NODE", "--decimals", "18"))
    assert out["action"] == "filled"
    assert (out["token"]["symbol"], out["token"]["decimals"], out["token"]["source"]) == (
        "NODE", 18, "eth_call+user",
    )  # fmt: skip


def test_a_conflict_with_the_node_changes_nothing(
    ws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _add(capsys, ws, NODE_TOKEN, "--symbol", "OTHER", "--decimals", "6", code=2)
    assert "differs" in err and "'NODE'" in err and "'OTHER'" in err
    with Workspace.open(ws) as w:
        row = w.con.execute("select symbol, decimals, source from tokens where address = ?",
                            [NODE_TOKEN]).fetchone()  # fmt: skip
    assert row == ("NODE", None, "eth_call")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["0x1234", "--symbol", "X", "--decimals", "6"], "not a valid eth address"),
        ([USDT, "--symbol", " ", "--decimals", "6"], "Invalid token symbol"),
        ([USDT, "--symbol", "X", "--decimals", "256"], "Invalid token decimals"),
    ],
)
def test_bad_input_exits_2(
    ws: str, capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    assert needle in _add(capsys, ws, *args, code=2)
