"""The price table of a workspace: import a price file, list prices, look one up.

Prices are facts an investigator brings in (from an exchange or a data vendor), so each row
keeps the file it came from (path, SHA-256, provenance row) and the row number. Re-importing the
same file with the same defaults changes nothing; a later file that agrees with a stored price
adds nothing, and one that disagrees is rejected row by row rather than overwriting evidence
a report may already have quoted.
"""

from __future__ import annotations

import builtins
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from chaintrail import __version__
from chaintrail.errors import PriceFileError, WorkspaceError
from chaintrail.prices.csvfile import PriceReject, PriceRow, read_prices
from chaintrail.store.duck import atomic

if TYPE_CHECKING:
    from chaintrail.workspace import Workspace

#: A payment on a day without a price is valued at the nearest earlier day's price within this
#: many days (a weekly or gappy price file still serves); further back it has "no price".
PRICE_TOLERANCE_DAYS: Final = 3


@dataclass(frozen=True, slots=True)
class PriceImport:
    """What one ``prices import`` did; ``rejections`` only for a fresh import."""

    path: str
    sha256: str
    import_id: int
    already_imported: bool
    rows: int
    accepted: int
    known: int
    rejected: int
    rejections: list[PriceReject] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path, "sha256": self.sha256, "import_id": self.import_id,
            "already_imported": self.already_imported, "rows": self.rows,
            "accepted": self.accepted, "known": self.known, "rejected": self.rejected,
            "rejections": [{"row": r.row, "reason": r.reason, "message": r.message,
                            "raw": r.raw} for r in self.rejections],
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Price:
    """One stored price with the file it came from."""

    asset: str
    currency: str
    day: date
    price: Decimal
    path: str
    sha256: str
    row: int

    def to_json(self) -> dict[str, Any]:
        return {"asset": self.asset, "currency": self.currency, "date": self.day.isoformat(),
                "price": str(self.price), "source": self.path, "sha256": self.sha256,
                "row": self.row}  # fmt: skip


_SELECT = (
    "select p.asset, p.currency, p.day, p.price_text, i.path, i.sha256, p.row_number "
    "from prices p join price_imports i on i.id = p.import_id "
)


def _price(row: tuple[Any, ...]) -> Price:
    return Price(row[0], row[1], row[2], Decimal(row[3]), row[4], row[5], int(row[6]))


class PriceService:
    """Prices of one workspace: ``ws.prices``."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.con = ws.con

    def import_file(
        self, path: str | Path, *, asset: str | None = None, currency: str | None = None
    ) -> PriceImport:
        """Import a price CSV (see docs/prices.md); rows that fail a check are kept in
        ``price_rejects`` with the reason. Recorded in the audit log with the file's SHA-256."""
        if not self.ws.writable:
            raise WorkspaceError(
                f"The workspace at {self.ws.path} is open read-only.",
                hint="Open it with Workspace.open(path, write=True) to import prices.",
            )
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise PriceFileError(str(path), f"cannot read it ({e.strerror or e})") from e
        defaults = {"asset": asset.upper() if asset else None,
                    "currency": currency.upper() if currency else None}  # fmt: skip
        result = self._import(path, data, defaults)
        self.ws.audit.record(
            "prices.import",
            arguments={"path": result.path, **defaults},
            result={"import_id": result.import_id, "already_imported": result.already_imported,
                    "accepted": result.accepted, "known": result.known,
                    "rejected": result.rejected},
            inputs_sha256=result.sha256,
        )  # fmt: skip
        return result

    def _import(self, path: Path, data: bytes, defaults: dict[str, str | None]) -> PriceImport:
        sha = hashlib.sha256(data).hexdigest()
        where = str(path.resolve())
        canon = json.dumps(defaults, sort_keys=True)
        rows, rejects, count = read_prices(str(path), data, asset=defaults["asset"],
                                           currency=defaults["currency"])  # fmt: skip
        earlier = self.con.execute(
            "select id, rows, accepted, known, rejected from price_imports "
            "where sha256 = ? and defaults = ?",
            [sha, canon],
        ).fetchone()
        if earlier is not None:
            n = [int(x) for x in earlier]
            return PriceImport(where, sha, n[0], True, n[1], n[2], n[3], n[4])
        fresh: builtins.list[PriceRow] = []
        known = 0
        for r in rows:
            stored = self.price_on(r.asset, r.currency, r.day)
            if stored is None:
                fresh.append(r)
            elif stored.price == r.price:
                known += 1
            else:
                rejects.append(PriceReject(
                    r.row, r.raw, "conflicting_price",
                    f"{r.asset} in {r.currency} on {r.day} is {r.price_text} here but "
                    f"{stored.price} in {stored.path} (row {stored.row}), imported earlier",
                ))  # fmt: skip
        rejects.sort(key=lambda x: x.row)
        import_id = self._write(where, sha, canon, count, fresh, known, rejects)
        return PriceImport(where, sha, import_id, False, count, len(fresh), known, len(rejects),
                           rejects)  # fmt: skip

    def _write(self, path: str, sha: str, defaults: str, count: int,
               rows: builtins.list[PriceRow], known: int,
               rejects: builtins.list[PriceReject]) -> int:  # fmt: skip
        con, now = self.con, datetime.now(UTC)
        with atomic(con):
            prov = con.execute(
                "insert into provenance values (nextval('provenance_id_seq'), 'file', ?, ?, ?, "
                "?, 'price table csv', NULL) returning id",
                [path, now, sha, __version__],
            ).fetchone()
            assert prov is not None
            got = con.execute(
                "insert into price_imports values (nextval('price_import_id_seq'), ?, ?, ?, ?, "
                "?, ?, ?, ?, ?, ?) returning id",
                [path, sha, defaults, now, __version__, count, len(rows), known, len(rejects),
                 prov[0]],
            ).fetchone()  # fmt: skip
            assert got is not None
            import_id = int(got[0])
            if rows:
                con.executemany(
                    "insert into prices values (?, ?, ?, ?::decimal(38, 12), ?, ?, ?, ?)",
                    [[r.asset, r.currency, r.day, r.price_text, r.price_text, import_id, r.row,
                      prov[0]] for r in rows],
                )  # fmt: skip
            if rejects:
                con.executemany(
                    "insert into price_rejects values (?, ?, ?, ?, ?, ?)",
                    [[import_id, r.row, r.raw, r.reason, r.message, prov[0]] for r in rejects],
                )
        return import_id

    def list(
        self, *, asset: str | None = None, currency: str | None = None
    ) -> builtins.list[Price]:
        """Stored prices by asset, currency and day."""
        rows = self.con.execute(
            _SELECT + "where (?::varchar is null or p.asset = ?) and "
            "(?::varchar is null or p.currency = ?) order by p.asset, p.currency, p.day",
            [asset and asset.upper()] * 2 + [currency and currency.upper()] * 2,
        ).fetchall()
        return [_price(r) for r in rows]

    def rejected(self) -> builtins.list[dict[str, Any]]:
        """Every rejected row of every import, with the file it came from."""
        rows = self.con.execute(
            "select i.path, r.row_number, r.reason, r.message, r.raw from price_rejects r "
            "join price_imports i on i.id = r.import_id order by r.import_id, r.row_number"
        ).fetchall()
        return [{"path": r[0], "row": r[1], "reason": r[2], "message": r[3], "raw": r[4]}
                for r in rows]  # fmt: skip

    def price_on(self, asset: str, currency: str, day: date) -> Price | None:
        """The stored price of exactly ``day``."""
        row = self.con.execute(_SELECT + "where p.asset = ? and p.currency = ? and p.day = ?",
                               [asset, currency, day]).fetchone()  # fmt: skip
        return None if row is None else _price(row)

    def price_near(self, asset: str, currency: str, day: date) -> Price | None:
        """The price of ``day``, else of the nearest earlier day within
        :data:`PRICE_TOLERANCE_DAYS`; None when there is none that close."""
        row = self.con.execute(
            _SELECT + "where p.asset = ? and p.currency = ? and p.day <= ? and p.day >= ? "
            "order by p.day desc limit 1",
            [asset, currency, day, day - timedelta(days=PRICE_TOLERANCE_DAYS)],
        ).fetchone()
        return None if row is None else _price(row)

    def currencies(self, asset: str) -> builtins.list[str]:
        """The quote currencies ``asset`` has prices in."""
        rows = self.con.execute(
            "select distinct currency from prices where asset = ? order by currency", [asset]
        ).fetchall()
        return [r[0] for r in rows]


__all__ = ["PRICE_TOLERANCE_DAYS", "Price", "PriceImport", "PriceService"]
