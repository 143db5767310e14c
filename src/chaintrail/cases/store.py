"""The case tables (schema 5): writes and reads, kept out of the service's logic.

An import is written in one transaction: the file's provenance row, its ``report_imports`` row,
every accepted report and every rejected row. A verification run is written in one transaction
too; the latest run is the one reads return.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

import duckdb
import pyarrow as pa

from chaintrail._version import __version__
from chaintrail.cases.model import (
    Normalisation,
    Problem,
    Rejection,
    Report,
    Verification,
    dumps,
)
from chaintrail.store.duck import atomic

#: Column kinds for bulk inserts through Arrow (DuckDB's executemany costs ~3 ms a row):
#: s text, i integer, t timestamp, l list of text, h HUGEINT (carried as text, then cast).
_ARROW: Final[dict[str, pa.DataType]] = {
    "s": pa.string(),
    "i": pa.int64(),
    "t": pa.timestamp("us", tz="UTC"),
    "l": pa.list_(pa.string()),
    "h": pa.string(),
}
_REPORT_TYPES: Final = {
    "report_id": "s",
    "import_id": "i",
    "row_number": "i",
    "raw": "s",
    "fields": "s",
    "reported_at": "t",
    "victim_name": "s",
    "country": "s",
    "chain": "s",
    "asset": "s",
    "amount_text": "s",
    "amount": "h",
    "decimals": "i",
    "tx_hash": "s",
    "from_address": "s",
    "to_address": "s",
    "description": "s",
    "flags": "l",
    "normalisations": "s",
    "duplicate_of": "s",
    "provenance_id": "i",
}
_REJECT_TYPES: Final = {
    "import_id": "i",
    "row_number": "i",
    "report_id": "s",
    "raw": "s",
    "fields": "s",
    "problems": "s",
    "reason": "s",
    "message": "s",
    "provenance_id": "i",
}
_VERIFICATION_TYPES: Final = {
    "run_id": "i",
    "report_id": "s",
    "status": "s",
    "method": "s",
    "reasons": "l",
    "txid": "s",
    "vout": "i",
    "address": "s",
    "verified_amount": "h",
    "block_height": "i",
    "block_time": "t",
    "duplicate_of": "s",
    "detail": "s",
}

_REPORT_COLUMNS = (
    "report_id, import_id, row_number, raw, fields, reported_at, victim_name, country, chain, "
    "asset, amount_text, amount, decimals, tx_hash, from_address, to_address, description, "
    "flags, normalisations, duplicate_of"
)
_CASE_COLUMNS = (
    "case_id", "title", "status", "assignee", "opened_at", "closed_at", "origin", "close_reason",
)  # fmt: skip
_REJECT_COLUMNS = "import_id, row_number, report_id, raw, fields, problems"
_VERIFICATION_COLUMNS = (
    "report_id, status, method, reasons, txid, vout, address, verified_amount, block_height, "
    "block_time, duplicate_of, detail"
)


class CaseStore:
    """SQL over the case tables of one workspace connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    # --- imports -------------------------------------------------------------------------------

    def find_import(self, sha256: str, layout_sha256: str) -> dict[str, Any] | None:
        row = self.con.execute(
            "select id, rows, accepted, rejected, (select count(*) from reports r "
            "where r.import_id = i.id and r.duplicate_of is not null) from report_imports i "
            "where sha256 = ? and layout_sha256 = ? order by id limit 1",
            [sha256, layout_sha256],
        ).fetchone()
        if row is None:
            return None
        keys = ("id", "rows", "accepted", "rejected", "duplicates")
        return dict(zip(keys, row, strict=True))

    def write_import(
        self,
        *,
        path: str,
        sha256: str,
        fmt: str,
        layout: dict[str, Any],
        layout_sha256: str,
        rows: int,
        reports: Sequence[Report],
        rejections: Sequence[Rejection],
    ) -> int:
        """Store one import; returns its id."""
        con = self.con
        now = datetime.now(UTC)
        with atomic(con):
            prov = con.execute(
                "insert into provenance values (nextval('provenance_id_seq'), 'file', ?, ?, ?, "
                "?, ?, NULL) returning id",
                [path, now, sha256, __version__, f"victim reports {fmt}"],
            ).fetchone()
            assert prov is not None
            prov_id = int(prov[0])
            got = con.execute(
                "insert into report_imports values (nextval('report_import_id_seq'), ?, ?, ?, "
                "?, ?, ?, ?, ?, ?, ?, ?) returning id",
                [
                    path,
                    sha256,
                    fmt,
                    dumps(layout),
                    layout_sha256,
                    now,
                    __version__,
                    rows,
                    len(reports),
                    len(rejections),
                    prov_id,
                ],
            ).fetchone()
            assert got is not None
            import_id = int(got[0])
            _insert(
                con,
                "reports",
                _REPORT_TYPES,
                [[*_report_row(r, import_id), prov_id] for r in reports],
            )
            _insert(
                con,
                "report_rejects",
                _REJECT_TYPES,
                [
                    [
                        import_id,
                        r.row,
                        r.report_id,
                        r.raw,
                        dumps(r.fields),
                        dumps([p.to_json() for p in r.problems]),
                        r.reason,
                        r.message,
                        prov_id,
                    ]
                    for r in rejections
                ],
            )
        return import_id

    # --- reads ---------------------------------------------------------------------------------

    def reports(self, report_id: str | None = None) -> list[Report]:
        """Accepted reports in import order (one, when ``report_id`` is given)."""
        where, params = ("where report_id = ?", [report_id]) if report_id else ("", [])
        rows = self.con.execute(
            f"select {_REPORT_COLUMNS} from reports {where} order by import_id, row_number",
            params,
        ).fetchall()
        return [_report(r) for r in rows]

    def report_ids(self) -> set[str]:
        return {str(r[0]) for r in self.con.execute("select report_id from reports").fetchall()}

    def rejections(self) -> list[Rejection]:
        rows = self.con.execute(
            f"select {_REJECT_COLUMNS} from report_rejects order by import_id, row_number"
        ).fetchall()
        return [
            Rejection(
                row=int(row_number),
                raw=raw,
                fields=json.loads(fields),
                problems=tuple(
                    Problem(p["code"], p["field"], p["message"]) for p in json.loads(problems)
                ),
                report_id=report_id,
                import_id=int(import_id),
            )
            for import_id, row_number, report_id, raw, fields, problems in rows
        ]

    def imports(self) -> list[dict[str, Any]]:
        cols = ("id", "path", "sha256", "format", "imported_at", "rows", "accepted", "rejected")
        rows = self.con.execute(f"select {', '.join(cols)} from report_imports order by id")
        return [dict(zip(cols, r, strict=True)) for r in rows.fetchall()]

    # --- verification --------------------------------------------------------------------------

    def write_verifications(
        self, parameters: dict[str, Any], height_to: int | None, results: Sequence[Verification]
    ) -> int:
        con = self.con
        with atomic(con):
            got = con.execute(
                "insert into verification_runs values (nextval('verification_run_id_seq'), ?, "
                "?, ?, ?, ?) returning id",
                [datetime.now(UTC), __version__, dumps(parameters), height_to, len(results)],
            ).fetchone()
            assert got is not None
            run_id = int(got[0])
            _insert(
                con,
                "report_verifications",
                _VERIFICATION_TYPES,
                [
                    [
                        run_id,
                        v.report_id,
                        v.status,
                        v.method,
                        list(v.reasons),
                        v.txid,
                        v.vout,
                        v.address,
                        v.verified_amount,
                        v.block_height,
                        v.block_time,
                        v.duplicate_of,
                        dumps(v.detail),
                    ]
                    for v in results
                ],
            )
        return run_id

    def latest_verifications(self) -> dict[str, Verification]:
        """The latest run's result for every report it covered, by report id."""
        rows = self.con.execute(
            f"select {_VERIFICATION_COLUMNS} from report_verifications "
            "where run_id = (select max(id) from verification_runs)"
        ).fetchall()
        out = {}
        for (
            report_id,
            status,
            method,
            reasons,
            txid,
            vout,
            address,
            amount,
            height,
            time,
            dup,
            detail,
        ) in rows:
            out[report_id] = Verification(
                report_id=report_id,
                status=status,
                method=method,
                reasons=tuple(reasons),
                txid=txid,
                vout=vout,
                address=address,
                verified_amount=amount,
                block_height=height,
                block_time=time,
                duplicate_of=dup,
                detail=json.loads(detail),
            )
        return out

    # --- cases ---------------------------------------------------------------------------------

    def write_case(
        self,
        case_id: str,
        title: str,
        assignee: str | None,
        report_ids: Sequence[str],
        *,
        origin: str = "hand",
    ) -> None:
        now = datetime.now(UTC)
        with atomic(self.con):
            self.con.execute(
                "insert into cases (case_id, title, status, assignee, opened_at, closed_at, "
                "origin) values (?, ?, 'open', ?, ?, NULL, ?)",
                [case_id, title, assignee, now, origin],
            )
            for report_id in report_ids:
                self.con.execute(
                    "insert into case_reports (case_id, report_id, added_at, placed_by) "
                    "values (?, ?, ?, ?)",
                    [case_id, report_id, now, origin],
                )

    def assign(self, case_id: str, assignee: str) -> None:
        self.con.execute("update cases set assignee = ? where case_id = ?", [assignee, case_id])

    def close(self, case_id: str, reason: str | None) -> None:
        self.con.execute(
            "update cases set status = 'closed', closed_at = ?, close_reason = ? where case_id = ?",
            [datetime.now(UTC), reason, case_id],
        )

    def placements(self) -> list[tuple[str, str, str]]:
        """(case id, report id, placed by) of every report in a case."""
        rows = self.con.execute(
            "select case_id, report_id, placed_by from case_reports order by case_id, report_id"
        ).fetchall()
        return [(str(c), str(r), str(p)) for c, r, p in rows]

    def write_note(self, case_id: str, author: str, text: str) -> int:
        row = self.con.execute(
            "insert into case_notes values (nextval('case_note_id_seq'), ?, ?, ?, ?) returning id",
            [case_id, datetime.now(UTC), author, text],
        ).fetchone()
        assert row is not None
        return int(row[0])

    def case(self, case_id: str) -> dict[str, Any] | None:
        cols = _CASE_COLUMNS
        row = self.con.execute(
            f"select {', '.join(cols)} from cases where case_id = ?", [case_id]
        ).fetchone()
        if row is None:
            return None
        found = dict(zip(cols, row, strict=True))
        found["report_ids"] = [
            r[0]
            for r in self.con.execute(
                "select report_id from case_reports where case_id = ? order by report_id",
                [case_id],
            ).fetchall()
        ]
        found["placed_by"] = dict(
            self.con.execute(
                "select report_id, placed_by from case_reports where case_id = ? "
                "order by report_id",
                [case_id],
            ).fetchall()
        )
        found["notes"] = [
            {"id": i, "created_at": t, "author": a, "text": x}
            for i, t, a, x in self.con.execute(
                "select id, created_at, author, text from case_notes where case_id = ? order by id",
                [case_id],
            ).fetchall()
        ]
        return found

    def cases(self) -> list[dict[str, Any]]:
        cols = _CASE_COLUMNS
        rows = self.con.execute(
            f"select {', '.join(f'c.{c}' for c in cols)}, count(r.report_id) "
            "from cases c left join case_reports r using (case_id) "
            f"group by {', '.join(f'c.{c}' for c in cols)} order by c.case_id"
        ).fetchall()
        return [{**dict(zip(cols, r[:-1], strict=True)), "reports": r[-1]} for r in rows]

    # --- triage --------------------------------------------------------------------------------

    def address_context(
        self, addresses: Sequence[str], categories: Sequence[str]
    ) -> dict[str, tuple[int | None, bool]]:
        """(cluster id, attributed) of each Bitcoin address: its cluster (None when not
        clustered) and whether it or another address of its cluster has a tag in
        ``categories`` (an attributed service)."""
        rows = self.con.execute(
            """with f as (select distinct unnest($a::VARCHAR[]) as address),
               fc as (select f.address, c.cluster_id from f
                      left join addresses a on a.address = f.address
                      left join clusters c on c.address_id = a.id),
               members as (select fc.address, fc.address as via from fc
                           union
                           select fc.address, a2.address from fc
                           join clusters c2 on c2.cluster_id = fc.cluster_id
                           join addresses a2 on a2.id = c2.address_id),
               tagged as (select distinct m.address from members m
                          join tags t on t.address_norm = m.via
                          where t.network = 'BTC'
                            and (lower(t.category) in (select unnest($c::VARCHAR[]))
                                 or list_has_any(t.concepts, $c::VARCHAR[])))
               select fc.address, fc.cluster_id, tagged.address is not null
               from fc left join tagged using (address)""",
            {"a": list(addresses), "c": list(categories)},
        ).fetchall()
        return {str(a): (None if c is None else int(c), bool(t)) for a, c, t in rows}

    def tip(self) -> tuple[int | None, datetime | None]:
        """Height and time of the newest best-chain block (None, None when empty)."""
        row = self.con.execute(
            "select max(height), max(time) from blocks where in_best_chain"
        ).fetchone()
        return (None, None) if row is None else (row[0], row[1])

    def verification_run(self) -> int | None:
        row = self.con.execute("select max(id) from verification_runs").fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def write_triage(
        self,
        *,
        parameters: dict[str, Any],
        height_to: int | None,
        verification_run_id: int | None,
        new_cases: Sequence[tuple[str, str]],
        placements: dict[str, str],
        superseded: Sequence[tuple[str, str]],
        figures: Sequence[tuple[str, dict[str, Any]]],
        merges: Sequence[tuple[str, str, str, str, dict[str, Any]]],
    ) -> int:
        """Store one triage run in one transaction: the cases it opens, the reports it places
        (``placements``: report id -> case id; only triage's own placements move), the cases it
        supersedes (closed with a note), the ranked figures and the merges."""
        con = self.con
        now = datetime.now(UTC)
        with atomic(con):
            got = con.execute(
                "insert into triage_runs values (nextval('triage_run_id_seq'), ?, ?, ?, ?, ?) "
                "returning id",
                [now, __version__, dumps(parameters), height_to, verification_run_id],
            ).fetchone()
            assert got is not None
            run_id = int(got[0])
            for case_id, title in new_cases:
                con.execute(
                    "insert into cases (case_id, title, status, assignee, opened_at, closed_at, "
                    "origin) values (?, ?, 'open', NULL, ?, NULL, 'triage')",
                    [case_id, title, now],
                )
            old = {
                (str(r), str(c))
                for c, r in con.execute(
                    "select case_id, report_id from case_reports where placed_by = 'triage'"
                ).fetchall()
            }
            new = set(placements.items())
            for report_id, case_id in sorted(old - new):
                con.execute(
                    "delete from case_reports where case_id = ? and report_id = ? "
                    "and placed_by = 'triage'",
                    [case_id, report_id],
                )
            for report_id, case_id in sorted(new - old):
                con.execute(
                    "insert into case_reports (case_id, report_id, added_at, placed_by) "
                    "values (?, ?, ?, 'triage')",
                    [case_id, report_id, now],
                )
            for case_id, note in superseded:
                con.execute(
                    "update cases set status = 'closed', closed_at = ?, "
                    "close_reason = 'superseded' where case_id = ?",
                    [now, case_id],
                )
                con.execute(
                    "insert into case_notes values (nextval('case_note_id_seq'), ?, ?, "
                    "'triage', ?)",
                    [case_id, now, note],
                )
            _insert(
                con,
                "case_triage",
                {"run_id": "i", "case_id": "s", "rank": "i", "figures": "s"},
                [
                    [run_id, case_id, rank, dumps(data)]
                    for rank, (case_id, data) in enumerate(figures, start=1)
                ],
            )
            _insert(
                con,
                "scheme_merges",
                {
                    "run_id": "i",
                    "case_id": "s",
                    "report_a": "s",
                    "report_b": "s",
                    "reason": "s",
                    "detail": "s",
                },  # fmt: skip
                [[run_id, c, a, b, reason, dumps(detail)] for c, a, b, reason, detail in merges],
            )
        return run_id

    def latest_triage(self, case_id: str) -> dict[str, Any] | None:
        """The case's figures from the latest triage run that ranked it."""
        row = self.con.execute(
            "select t.run_id, t.rank, t.figures from case_triage t where t.case_id = ? "
            "order by t.run_id desc limit 1",
            [case_id],
        ).fetchone()
        if row is None:
            return None
        return {"run_id": int(row[0]), "rank": int(row[1]), **json.loads(row[2])}


def _insert(
    con: duckdb.DuckDBPyConnection, table: str, kinds: dict[str, str], rows: list[list[Any]]
) -> None:
    """Insert ``rows`` (values in the order of ``kinds``) in one statement."""
    if not rows:
        return
    names = list(kinds)
    arrays = []
    for i, name in enumerate(names):
        values = [r[i] for r in rows]
        if kinds[name] == "h":
            values = [None if v is None else str(v) for v in values]
        arrays.append(pa.array(values, type=_ARROW[kinds[name]]))
    exprs = ", ".join(f"cast({n} as HUGEINT)" if kinds[n] == "h" else n for n in names)
    con.register("_case_batch", pa.table(arrays, names=names))
    try:
        con.execute(f"insert into {table} ({', '.join(names)}) select {exprs} from _case_batch")
    finally:
        con.unregister("_case_batch")


def _report_row(r: Report, import_id: int) -> list[Any]:
    return [
        r.report_id,
        import_id,
        r.row,
        r.raw,
        dumps(r.fields),
        r.reported_at,
        r.victim_name,
        r.country,
        r.chain,
        r.asset,
        r.amount_text,
        r.amount,
        r.decimals,
        r.tx_hash,
        r.from_address,
        r.to_address,
        r.description,
        list(r.flags),
        dumps([n.to_json() for n in r.normalisations]),
        r.duplicate_of,
    ]


def _report(row: tuple[Any, ...]) -> Report:
    (
        report_id,
        import_id,
        row_number,
        raw,
        fields,
        reported_at,
        victim_name,
        country,
        chain,
        asset,
        amount_text,
        amount,
        decimals,
        tx_hash,
        from_address,
        to_address,
        description,
        flags,
        normalisations,
        duplicate_of,
    ) = row
    return Report(
        report_id=report_id,
        row=int(row_number),
        raw=raw,
        fields=json.loads(fields),
        chain=chain,
        asset=asset,
        reported_at=reported_at,
        victim_name=victim_name,
        country=country,
        amount_text=amount_text,
        amount=None if amount is None else int(amount),
        decimals=decimals,
        tx_hash=tx_hash,
        from_address=from_address,
        to_address=to_address,
        description=description,
        flags=tuple(flags),
        normalisations=tuple(
            Normalisation(n["field"], n["from"], n["to"], n["rule"])
            for n in json.loads(normalisations)
        ),
        duplicate_of=duplicate_of,
        import_id=int(import_id),
    )


__all__ = ["CaseStore"]
