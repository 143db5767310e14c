"""Normalized BlockSci table exports (``tx_hash``, ``tx_height``, ``adr_hash``, ``tx_output``,
``tx_input`` CSVs) into the Bitcoin tables, so the tracing engine runs on them unchanged.

Why a loader of its own: these tables are how BlockSci-based research tools (TaintedTX) ship a
whole year of the transaction graph in a few megabytes, with every input resolved. They hold
txids, heights, values, addresses and who spent what, and nothing else: no block hashes, times,
scripts or transaction fields. The loader stores what they say and never dresses up the rest:

* unknown fields stay NULL; one block row per height holds the rows together, with a hash that
  cannot be mistaken for a real one (``blocksci:height:N``), ``synthetic = true``,
  ``height_source = 'blocksci'`` and ``merkle_verified = false``;
* outputs get ``script_type = 'unknown'``: the tables give bare P2PK outputs the P2PKH address
  derived from the key, indistinguishable from a real P2PKH output;
* raw blocks already in the store win: the tables' transactions at those heights are not stored
  again but checked against them (same count, txid, values, addresses, inputs) and used to
  repair txids the exporter truncated to 63 hex characters (the rest stay truncated, flagged in
  ``blocksci_txs``);
* an output spent after the tables end is recorded in ``spent_outside``.

Everything is set-based DuckDB SQL over ``read_csv`` (32,709 transactions load in about a
second), in one transaction: a folder is stored completely or not at all.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from chaintrail._version import __version__
from chaintrail.clustering.reset import forget_blocks
from chaintrail.errors import (
    BlocksciTableMissingError,
    ChainMismatchError,
    MalformedBlocksciRowError,
)
from chaintrail.ingest import bestchain
from chaintrail.store.duck import atomic

if TYPE_CHECKING:
    from chaintrail.workspace import Workspace

__all__ = ["TABLES", "BlocksciReport", "SpentOutside", "ingest_tables", "table_folders"]

#: The five tables and their columns, in file order.
TABLES: dict[str, tuple[str, ...]] = {
    "tx_hash": ("tx_index", "tx_hash"),
    "tx_height": ("tx_index", "block_index"),
    "adr_hash": ("adr_index", "adr_hash"),
    "tx_output": ("output_index", "tx_index", "adr_index", "output_value", "spent_index"),
    "tx_input": ("output_index", "tx_index", "adr_index", "input_value", "spent_index"),
}
#: The key of each table: one row per key, exact duplicates kept once.
_KEYS = {
    "tx_hash": "tx_index", "tx_height": "tx_index", "adr_hash": "adr_index",
    "tx_output": "output_index", "tx_input": "output_index",
}  # fmt: skip
_INT = "[0-9]{1,18}"
#: BlockSci's exporter writes an output's spent_index as a float ("171.0").
_INT_OR_FLOAT = "[0-9]{1,18}(\\.0+)?"
_ADDRESS = "[1-9A-HJ-NP-Za-km-z]{25,35}|(bc1|tb1|bcrt1)[02-9ac-hj-np-z]{8,87}"
#: (table, column, regex, may be empty, what it must be).
_FORMATS: tuple[tuple[str, str, str, bool, str], ...] = (
    ("tx_hash", "tx_index", _INT, False, "a non-negative integer"),
    ("tx_hash", "tx_hash", "[0-9a-fA-F]{63,64}", False, "63 or 64 hex characters"),
    ("tx_height", "tx_index", _INT, False, "a non-negative integer"),
    ("tx_height", "block_index", _INT, False, "a non-negative integer"),
    ("adr_hash", "adr_index", _INT, False, "a non-negative integer"),
    ("adr_hash", "adr_hash", _ADDRESS, False, "a Bitcoin address"),
    ("tx_output", "output_index", _INT, False, "a non-negative integer"),
    ("tx_output", "tx_index", _INT, False, "a non-negative integer"),
    ("tx_output", "adr_index", _INT, False, "a non-negative integer"),
    ("tx_output", "output_value", "[0-9]{1,16}", False, "an amount in satoshis"),
    ("tx_output", "spent_index", _INT_OR_FLOAT, True, "empty or a transaction index"),
    ("tx_input", "output_index", _INT, False, "a non-negative integer"),
    ("tx_input", "tx_index", _INT, False, "a non-negative integer"),
    ("tx_input", "adr_index", _INT, False, "a non-negative integer"),
    ("tx_input", "input_value", "[0-9]{1,16}", False, "an amount in satoshis"),
    ("tx_input", "spent_index", _INT_OR_FLOAT, False, "a transaction index"),
)
SYNTHETIC_PREFIX = "blocksci:height:"


@dataclass(slots=True)
class BlocksciReport:
    """What a table load found and did; ``to_json`` is the ``--json`` shape of the command."""

    folder: str
    files: dict[str, str] = field(default_factory=dict)  # table -> SHA-256
    transactions: int = 0
    heights: int = 0
    addresses: int = 0
    outputs: int = 0
    inputs: int = 0
    duplicate_rows: int = 0
    unknown_address_rows: int = 0
    transactions_from_raw: int = 0
    txids_exact: int = 0
    txids_repaired: int = 0
    txids_truncated: int = 0
    spent_outside: int = 0
    blocks_added: int = 0
    transactions_added: int = 0
    inputs_added: int = 0
    outputs_added: int = 0
    replaced: bool = False
    unchanged: bool = False
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["seconds"] = round(self.seconds, 3)
        return out


def table_folders(path: Path) -> list[Path]:
    """The table folders under ``path``: itself, or its year subfolders (as TaintedTX lays
    them out: ``2009/``, ``2010/``), in name order."""
    if not path.is_dir():
        raise BlocksciTableMissingError(str(path), "not a folder")
    if any((path / f"{name}.csv").exists() for name in TABLES):
        return [path]
    years = sorted(p for p in path.iterdir() if p.is_dir() and (p / "tx_hash.csv").exists())
    if not years:
        raise BlocksciTableMissingError(str(path), "no tx_hash.csv here or in a subfolder")
    return years


def ingest_tables(ws: Workspace, folder: Path) -> BlocksciReport:
    """Load one table folder (see the module docstring); idempotent."""
    started = time.monotonic()
    files = _files(folder)
    report = BlocksciReport(str(folder))
    report.files = {name: _sha256(path) for name, path in files.items()}
    manifest = hashlib.sha256(
        "".join(f"{report.files[n]}  {n}.csv\n" for n in sorted(report.files)).encode()
    ).hexdigest()
    con = ws.con
    for name, path in files.items():
        _stage(con, name, path)
    try:
        with atomic(con):
            _claim_mainnet(con, str(folder))
            _normalise(con)
            _validate(con, files)
            _map_txids(con, files)
            signature = _raw_signature(con)
            previous = con.execute(
                "select raw_signature, report, provenance_ids from blocksci_imports "
                "where manifest_sha256 = ?",
                [manifest],
            ).fetchone()
            if previous is not None and previous[0] == signature:
                stored = BlocksciReport(**json.loads(previous[1]))
                stored.unchanged, stored.replaced = True, False
                stored.blocks_added = stored.transactions_added = 0
                stored.inputs_added = stored.outputs_added = 0
                stored.seconds = time.monotonic() - started
                return stored
            prov = {n: _provenance(con, files[n], report.files[n], manifest) for n in TABLES}
            if previous is not None:
                _remove(con, [int(i) for i in previous[2]], manifest)
                report.replaced = True
            _count(con, report)
            _insert(con, report, prov)
            bestchain.mark_stale(con)
            report.seconds = time.monotonic() - started
            con.execute(
                "insert into blocksci_imports values (?, ?, ?, ?, ?, ?)",
                [str(folder), manifest, signature, datetime.now(UTC),
                 json.dumps(report.to_json()), sorted(prov.values())],
            )  # fmt: skip
    finally:
        for name in (*TABLES, "dups", "tx", "out", "inp", "adr", "m", "ref", "raw"):
            con.execute(f"drop table if exists _bs_{name}")
    return report


# --- reading -------------------------------------------------------------------------------------


def _files(folder: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for name, columns in TABLES.items():
        path = folder / f"{name}.csv"
        if not path.is_file():
            raise BlocksciTableMissingError(str(folder), f"{name}.csv is missing")
        with path.open(encoding="utf-8", errors="replace") as f:
            header = tuple(c.strip() for c in f.readline().strip().split(","))
        if header != columns:
            raise BlocksciTableMissingError(
                str(folder),
                f"{name}.csv has columns {', '.join(header)}; expected {', '.join(columns)}",
            )
        files[name] = path
    return files


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _stage(con: duckdb.DuckDBPyConnection, name: str, path: Path) -> None:
    """The CSV as text, with its line numbers (the header is line 1)."""
    columns = ", ".join(f"'{c}': 'VARCHAR'" for c in TABLES[name])
    try:
        con.execute(
            f"create or replace temp table _bs_{name} as "
            f"select row_number() over () + 1 as line, * from read_csv($p, header = true, "
            f"delim = ',', quote = '\"', auto_detect = false, columns = {{{columns}}})",
            {"p": str(path)},
        )
    except duckdb.Error as e:
        raise MalformedBlocksciRowError(str(path), _line_of(e), _first_line(e)) from e


def _line_of(e: duckdb.Error) -> int:
    for word in str(e).replace(":", " ").split():
        if word.isdigit():
            return int(word)
    return 0


def _first_line(e: duckdb.Error) -> str:
    return str(e).splitlines()[0].rstrip(".")


def _claim_mainnet(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """BlockSci table exports are of Bitcoin mainnet."""
    row = con.execute("select value from meta where key = 'btc_network'").fetchone()
    if row is None:
        con.execute("insert into meta values ('btc_network', 'mainnet')")
    elif row[0] != "mainnet":
        raise ChainMismatchError(source, str(row[0]), "mainnet")


def _provenance(con: duckdb.DuckDBPyConnection, path: Path, sha256: str, manifest: str) -> int:
    source = str(path.resolve())
    row = con.execute(
        "select id from provenance where kind = 'file' and source = ? and sha256 = ?",
        [source, sha256],
    ).fetchone()
    if row:
        return int(row[0])
    row = con.execute(
        "insert into provenance values (nextval('provenance_id_seq'), 'file', ?, ?, ?, ?, ?, "
        "null) returning id",
        [source, datetime.now(UTC), sha256, __version__, f"blocksci table; set {manifest}"],
    ).fetchone()
    assert row is not None
    return int(row[0])


# --- checking --------------------------------------------------------------------------------


def _fail(con: duckdb.DuckDBPyConnection, files: dict[str, Path], table: str, sql: str) -> None:
    """Raise for the first row ``sql`` returns as (line, reason)."""
    row = con.execute(f"select * from ({sql}) order by 1 limit 1").fetchone()
    if row is not None:
        raise MalformedBlocksciRowError(str(files[table]), int(row[0]), str(row[1]))


def _normalise(con: duckdb.DuckDBPyConnection) -> None:
    """Set exact duplicates aside (in ``_bs_dups``, kept once) before the checks."""
    con.execute("create or replace temp table _bs_dups (tbl VARCHAR, line BIGINT, first BIGINT)")
    for name, columns in TABLES.items():
        cols = ", ".join(columns)
        con.execute(
            f"""insert into _bs_dups
                select '{name}', line, first
                from (select line, min(line) over (partition by {cols}) as first
                      from _bs_{name}) where line <> first"""
        )
        con.execute(
            f"delete from _bs_{name} where line in (select line from _bs_dups where tbl = '{name}')"
        )


def _validate(con: duckdb.DuckDBPyConnection, files: dict[str, Path]) -> None:
    for table, column, regex, nullable, what in _FORMATS:
        empty = f"{column} is not null and " if nullable else f"{column} is null or "
        _fail(
            con, files, table,
            f"select line, '{column} ' || coalesce('''' || {column} || '''', 'empty') || "
            f"' is not {what}' from _bs_{table} "
            f"where {empty}not regexp_full_match({column}, '{regex}')",
        )  # fmt: skip
    for name, key in _KEYS.items():
        _fail(
            con, files, name,
            f"select line, '{key} ' || {key} || ' repeats line ' || first || ' with other values' "
            f"from (select line, {key}, min(line) over (partition by {key}) as first "
            f"from _bs_{name}) where line <> first",
        )  # fmt: skip
    con.execute(
        """create temp table _bs_tx as
           select h.tx_index::BIGINT as tx_index, lower(h.tx_hash) as hash, h.line,
                  g.block_index::BIGINT as height
           from _bs_tx_hash h
           left join _bs_tx_height g on g.tx_index::BIGINT = h.tx_index::BIGINT"""
    )
    _fail(con, files, "tx_hash",
          "select line, 'tx_index ' || tx_index || ' has no row in tx_height.csv' from _bs_tx "
          "where height is null")  # fmt: skip
    _fail(con, files, "tx_height",
          "select line, 'tx_index ' || tx_index || ' is not in tx_hash.csv' from _bs_tx_height "
          "where tx_index::BIGINT not in (select tx_index from _bs_tx)")  # fmt: skip
    con.execute(
        "create temp table _bs_adr as select adr_index::BIGINT as adr_index, adr_hash as address "
        "from _bs_adr_hash"
    )
    for name in ("tx_output", "tx_input"):
        short = "out" if name == "tx_output" else "inp"
        value = "output_value" if name == "tx_output" else "input_value"
        con.execute(
            f"""create temp table _bs_{short} as
                select x.line, x.output_index::BIGINT as output_index,
                       x.tx_index::BIGINT as tx_index, x.output_index::BIGINT // 10 as creator,
                       (x.output_index::BIGINT % 10)::INTEGER as vout,
                       x.adr_index::BIGINT as adr_index, a.address, x.{value}::BIGINT as value,
                       split_part(x.spent_index, '.', 1)::BIGINT as spent_index
                from _bs_{name} x left join _bs_adr a on a.adr_index = x.adr_index::BIGINT"""
        )
    _fail(con, files, "tx_output",
          "select line, 'output_index ' || output_index || ' is not tx_index·10 + vout of '"
          " || 'tx_index ' || tx_index from _bs_out where creator <> tx_index")  # fmt: skip
    _fail(con, files, "tx_output",
          "select line, 'tx_index ' || tx_index || ' is not in tx_hash.csv' from _bs_out "
          "where tx_index not in (select tx_index from _bs_tx)")  # fmt: skip
    _fail(con, files, "tx_input",
          "select line, 'tx_index ' || tx_index || ' is not in tx_hash.csv' from _bs_inp "
          "where tx_index not in (select tx_index from _bs_tx)")  # fmt: skip
    _fail(con, files, "tx_input",
          "select line, 'spent_index ' || spent_index || ' is not the creator of output_index '"
          " || output_index from _bs_inp where spent_index <> creator")  # fmt: skip
    _fail(con, files, "tx_input",
          """select i.line, 'contradicts tx_output.csv line ' || o.line || ' (spender, value or '
                    || 'address)'
             from _bs_inp i join _bs_out o using (output_index)
             where o.spent_index is distinct from i.tx_index or o.value <> i.value
                or o.adr_index <> i.adr_index""")  # fmt: skip
    _fail(con, files, "tx_input",
          """select line, 'spends output_index ' || output_index || ', which no table holds'
             from _bs_inp where output_index not in (select output_index from _bs_out)
               and creator not in (select tx_index from blocksci_txs)""")  # fmt: skip
    _fail(con, files, "tx_output",
          """select line, 'spent_index ' || spent_index || ' is not after its own transaction'
             from _bs_out where spent_index <= tx_index""")  # fmt: skip
    _fail(
        con,
        files,
        "tx_output",
        """select line, 'spent by tx_index ' || spent_index || ', but tx_input.csv has no '
                    || 'such input'
             from _bs_out o where spent_index <= (select max(tx_index) from _bs_tx)
               and not exists (select 1 from _bs_inp i where i.output_index = o.output_index)""",
    )


def _map_txids(con: duckdb.DuckDBPyConnection, files: dict[str, Path]) -> None:
    """Each transaction's txid: from the raw block at its height and position when the store
    holds one (which must agree with the table), else the table's hash.

    A raw block counts even when it is marked stale, if only a synthetic block beat it: raw
    blocks ingested after the tables lose the best-chain walk to the longer synthetic chain
    until this load runs again and replaces the synthetic blocks at their heights.
    """
    con.execute(
        """create temp table _bs_raw as
            select height, hash, tx_count from blocks
            where not synthetic and height is not null
              and height between (select min(height) from _bs_tx)
                             and (select max(height) from _bs_tx)
              and (in_best_chain
                   or height in (select height from blocks where synthetic and in_best_chain))
            qualify row_number() over (partition by height
                                       order by in_best_chain desc, provenance_id, hash) = 1"""
    )
    con.execute(
        """create temp table _bs_m as
           select x.*, r.hash as raw_block, t.txid as raw_txid, r.tx_count
           from (select *, (row_number() over (partition by height order by tx_index) - 1)::INTEGER
                           as position,
                        count(*) over (partition by height) as n
                 from _bs_tx) x
           left join _bs_raw r on r.height = x.height
           left join transactions t on t.block_hash = r.hash and t.position = x.position"""
    )
    _fail(
        con,
        files,
        "tx_height",
        """select min(g.line), 'block_index ' || m.height || ' has ' || any_value(m.n)
                    || ' transactions here but ' || any_value(m.tx_count) || ' in raw block '
                    || any_value(m.raw_block)
             from _bs_m m join _bs_tx_height g on g.tx_index::BIGINT = m.tx_index
             where m.raw_block is not null and m.n <> m.tx_count group by m.height""",
    )
    _fail(
        con,
        files,
        "tx_hash",
        """select line, 'tx_hash ' || hash || ' is not txid ' || raw_txid || ' of raw block '
                    || raw_block || ' at position ' || position
             from _bs_m where raw_block is not null
               and not (hash = raw_txid or (length(hash) = 63 and hash = left(raw_txid, 63)))""",
    )
    con.execute(
        """alter table _bs_m add column txid VARCHAR;
           alter table _bs_m add column hash_status VARCHAR;
           update _bs_m set txid = coalesce(raw_txid, hash),
               hash_status = case when length(hash) = 64 then 'exact'
                                  when raw_txid is not null then 'repaired'
                                  else 'truncated' end;
           create temp table _bs_ref as
           select tx_index, txid, raw_block is not null as from_raw from _bs_m
           union all
           select tx_index, txid, from_raw from blocksci_txs
           where tx_index not in (select tx_index from _bs_m)"""
    )
    _fail(
        con,
        files,
        "tx_output",
        """select o.line, 'value or address differs from output ' || m.txid || ':' || o.vout
                    || ' of the raw block'
             from _bs_out o join _bs_m m using (tx_index)
             left join outputs r on r.block_hash = m.raw_block and r.txid = m.txid
                                and r.vout = o.vout
             where m.raw_block is not null
               and (r.value is distinct from o.value
                    or (o.address is not null and r.address is distinct from o.address))""",
    )
    _fail(
        con,
        files,
        "tx_input",
        """select i.line, 'differs from the inputs of ' || s.txid || ' in the raw block'
             from (select *, (row_number() over (partition by tx_index order by line) - 1)
                             ::INTEGER as idx from _bs_inp) i
             join _bs_m s on s.tx_index = i.tx_index join _bs_ref c on c.tx_index = i.creator
             left join inputs r on r.block_hash = s.raw_block and r.txid = s.txid
                               and r."index" = i.idx
             where s.raw_block is not null
               and (not (r.spent_txid = c.txid
                         or (length(c.txid) = 63 and left(r.spent_txid, 63) = c.txid))
                    or r.spent_vout <> i.vout
                    or r.value is distinct from i.value)""",
    )


def _raw_signature(con: duckdb.DuckDBPyConnection) -> str:
    """What the load deferred to: the raw blocks at the tables' heights."""
    row = con.execute(
        "select sha256(coalesce(string_agg(height || ' ' || hash, ',' order by height), '')) "
        "from _bs_raw"
    ).fetchone()
    assert row is not None
    return str(row[0])


# --- writing ---------------------------------------------------------------------------------


def _remove(con: duckdb.DuckDBPyConnection, prov_ids: list[int], manifest: str) -> None:
    """Take out an earlier load of the same files (the raw blocks in the store changed)."""
    hashes = [
        str(r[0])
        for r in con.execute(
            "select hash from blocks where synthetic and provenance_id in (select unnest(?))",
            [prov_ids],
        ).fetchall()
    ]
    for table in (
        "inputs",
        "outputs",
        "transactions",
        "blocksci_txs",
        "spent_outside",
        "blocksci_issues",
    ):
        con.execute(f"delete from {table} where provenance_id in (select unnest(?))", [prov_ids])
    con.execute("delete from blocks where synthetic and hash in (select unnest(?))", [hashes])
    forget_blocks(con, hashes)
    con.execute("delete from blocksci_imports where manifest_sha256 = ?", [manifest])


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return 0 if row is None or row[0] is None else int(row[0])


def _count(con: duckdb.DuckDBPyConnection, report: BlocksciReport) -> None:
    for name, sql in (
        ("transactions", "select count(*) from _bs_m"),
        ("heights", "select count(distinct height) from _bs_m"),
        ("addresses", "select count(*) from _bs_adr"),
        ("outputs", "select count(*) from _bs_out"),
        ("inputs", "select count(*) from _bs_inp"),
        ("transactions_from_raw", "select count(*) from _bs_m where raw_block is not null"),
        ("txids_exact", "select count(*) from _bs_m where hash_status = 'exact'"),
        ("txids_repaired", "select count(*) from _bs_m where hash_status = 'repaired'"),
        ("txids_truncated", "select count(*) from _bs_m where hash_status = 'truncated'"),
    ):
        setattr(report, name, _scalar(con, sql))


def _insert(con: duckdb.DuckDBPyConnection, report: BlocksciReport, prov: dict[str, int]) -> None:
    blk = f"'{SYNTHETIC_PREFIX}' || m.height"
    names = ", ".join(f"('{n}', {p})" for n, p in prov.items())
    con.execute(
        f"""insert into blocksci_issues
            select p.id, d.line, 'duplicate_row', 'exact duplicate of line ' || d.first
                   || '; kept once'
            from _bs_dups d join (values {names}) p(tbl, id) using (tbl)
            union all
            select {prov["tx_output"]}, line, 'unknown_address',
                   'adr_index ' || adr_index || ' is not in adr_hash.csv; address stored as NULL'
            from _bs_out where address is null
            union all
            select {prov["tx_input"]}, line, 'unknown_address',
                   'adr_index ' || adr_index || ' is not in adr_hash.csv; address stored as NULL'
            from _bs_inp where address is null"""
    )
    report.duplicate_rows = _scalar(
        con,
        f"select count(*) from blocksci_issues where issue = 'duplicate_row' "
        f"and provenance_id in ({', '.join(str(p) for p in prov.values())})",
    )
    report.unknown_address_rows = _scalar(
        con,
        "select (select count(*) from _bs_out where address is null) + "
        "(select count(*) from _bs_inp where address is null)",
    )
    con.execute(
        f"""insert into blocksci_txs
            select tx_index, hash, txid, hash_status, raw_block is not null, height, position,
                   {prov["tx_hash"]} from _bs_m"""
    )
    report.blocks_added = _scalar(
        con,
        f"""insert into blocks (hash, height, prev_hash, time, merkle_root, version, bits, nonce,
                                tx_count, size, stripped_size, weight, height_source,
                                merkle_verified, provenance_id, source_locator, in_best_chain,
                                synthetic)
            select '{SYNTHETIC_PREFIX}' || m.height, m.height,
                   case when m.height = 0 then null
                        else coalesce(r.hash, '{SYNTHETIC_PREFIX}' || (m.height - 1)) end,
                   null, null, null, null, null, m.n, null, null, null, 'blocksci', false,
                   {prov["tx_height"]}, 'block_index ' || m.height, true, true
            from (select height, any_value(n) as n from _bs_m where raw_block is null
                  group by height) m
            left join _bs_raw r on r.height = m.height - 1""",
    )
    report.transactions_added = _scalar(
        con,
        f"""insert into transactions (txid, wtxid, block_hash, block_height, position,
                                      is_coinbase, input_count, output_count, output_value,
                                      input_value, fee, provenance_id)
            select m.txid, m.txid, {blk}, m.height, m.position, i.n is null,
                   coalesce(i.n, 1), coalesce(o.n, 0), coalesce(o.v, 0), i.v,
                   i.v - coalesce(o.v, 0), {prov["tx_hash"]}
            from _bs_m m
            left join (select tx_index, count(*) as n, sum(value) as v from _bs_inp group by 1) i
              using (tx_index)
            left join (select tx_index, count(*) as n, sum(value) as v from _bs_out group by 1) o
              using (tx_index)
            where m.raw_block is null""",
    )
    report.outputs_added = _scalar(
        con,
        f"""insert into outputs (txid, vout, value, address, script_type, script_hex, block_hash,
                                 block_height, provenance_id)
            select m.txid, o.vout, o.value, o.address, 'unknown', null, {blk}, m.height,
                   {prov["tx_output"]}
            from _bs_out o join _bs_m m using (tx_index) where m.raw_block is null""",
    )
    coinbase = _scalar(
        con,
        f"""insert into inputs (txid, "index", is_coinbase, resolved, block_hash, block_height,
                                provenance_id)
            select m.txid, 0, true, true, {blk}, m.height, {prov["tx_input"]}
            from _bs_m m where m.raw_block is null
              and m.tx_index not in (select tx_index from _bs_inp)""",
    )
    spends = _scalar(
        con,
        f"""insert into inputs (txid, "index", spent_txid, spent_vout, is_coinbase, value,
                                address, script_type, resolved, block_hash, block_height,
                                provenance_id)
            select m.txid, i.idx, c.txid, i.vout, false, i.value, i.address,
                   coalesce(o.script_type, 'unknown'), true, {blk}, m.height, {prov["tx_input"]}
            from (select *, (row_number() over (partition by tx_index order by line) - 1)
                            ::INTEGER as idx from _bs_inp) i
            join _bs_m m on m.tx_index = i.tx_index
            join _bs_ref c on c.tx_index = i.creator
            left join (select distinct on (txid, vout) txid, vout, script_type from outputs
                       where txid in (select txid from _bs_ref where from_raw)) o
              on o.txid = c.txid and o.vout = i.vout
            where m.raw_block is null""",
    )
    report.inputs_added = coinbase + spends
    report.spent_outside = _scalar(
        con,
        f"""insert into spent_outside
            select c.txid, o.vout, 'blocksci:tx_index:' || o.spent_index, {prov["tx_output"]}
            from _bs_out o join _bs_ref c on c.tx_index = o.tx_index
            where o.spent_index > (select max(tx_index) from _bs_tx)""",
    )


# --- spends outside the store, for the trace engine ------------------------------------------


class SpentOutside:
    """The trace engine's :class:`~chaintrail.trace.engine.SpendFetcher` over ``spent_outside``.

    Without it, an output spent after the tables end has no spender in the store and the engine
    would call it ``unspent``. With it, such an output is answered with the source's name of
    its spender (``blocksci:tx_index:N``), which cannot be fetched, so the engine stops it as
    ``data_end`` (with that ``spent_by``), and still applies the hop limit and the other stop
    rules first. Every other output is answered as unspent, exactly as without a fetcher.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.answered: set[tuple[str, int]] = set()

    @classmethod
    def for_store(cls, con: duckdb.DuckDBPyConnection) -> SpentOutside | None:
        """One when the store records outputs spent outside it, else None."""
        row = con.execute("select exists (select 1 from spent_outside)").fetchone()
        return cls(con) if row and row[0] else None

    def spenders(self, outpoints: Sequence[tuple[str, int]]) -> dict[tuple[str, int], str | None]:
        rows = self.con.execute(
            """select s.txid, s.vout, min(s.spender_ref)
               from (select unnest($t::VARCHAR[]) as t, unnest($v::INTEGER[]) as v) f
               join spent_outside s on s.txid = f.t and s.vout = f.v group by all""",
            {"t": [t for t, _ in outpoints], "v": [v for _, v in outpoints]},
        ).fetchall()
        found = {(str(r[0]), int(r[1])): str(r[2]) for r in rows}
        self.answered.update(found)
        return {op: found.get(op) for op in outpoints}

    def fetch(self, txids: Sequence[str]) -> None:
        """Nothing to fetch: the source names the spender but does not hold it."""

    def limits(self) -> dict[str, object]:
        return {"enabled": False, "offline": False, "spent_outside": len(self.answered)}
