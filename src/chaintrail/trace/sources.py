"""Trace sources from an address or a cluster and a time window.

An investigator often has an address, not outpoints: "everything the scam address received in
March". :func:`received` turns that into the outpoints a trace starts from — every output in the
best chain that pays the address (or any address of the cluster), in a block inside the
:class:`Window`, of a transaction that the address (cluster) did not fund itself — so the
forward and backward traces and the ``trace`` command share one definition of "payments
received". Change paid back to the address is no payment received: it is the address's own
earlier money, which a trace from the earlier payment already follows (counting it again as a
source would count the same satoshis twice).

A window bound is a block height (digits only), a date (``2024-03-01``: the whole day, UTC) or an
ISO 8601 date-time **with** a timezone (``2024-03-01T09:00:00+09:00``, ``…Z``); both bounds are
inclusive. A date-time without a timezone is refused rather than guessed (local-time skew is a
classic source of wrong evidence).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from chaintrail.errors import ClustersNotBuiltError, InvalidTraceOptionError, NoPaymentsError

if TYPE_CHECKING:
    import duckdb

    from chaintrail.workspace import Workspace

__all__ = ["Window", "received"]

_HEIGHT = re.compile(r"^\d{1,10}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HINT = (
    "Give --since/--until as a block height (840000), a date (2024-03-01, whole day UTC) or a "
    "date-time with a timezone (2024-03-01T09:00:00+09:00 or …Z)."
)


@dataclass(frozen=True, slots=True)
class Window:
    """Inclusive bounds on the block of a payment: heights and/or UTC times (None: open)."""

    min_height: int | None = None
    max_height: int | None = None
    min_time: datetime | None = None
    max_time: datetime | None = None
    text: str = ""

    @classmethod
    def parse(cls, since: str | int | None = None, until: str | int | None = None) -> Window:
        """The window from ``--since``/``--until`` text (see the module docstring).

        Raises :class:`~chaintrail.errors.InvalidTraceOptionError` for a bound that does not
        parse and for a start after the end (when both are heights or both are times).
        """
        lo_h, lo_t = _bound(since, end=False)
        hi_h, hi_t = _bound(until, end=True)
        if lo_h is not None and hi_h is not None and lo_h > hi_h:
            raise InvalidTraceOptionError(
                f"--since {since} is after --until {until}", "Give the earlier bound as --since."
            )
        if lo_t is not None and hi_t is not None and lo_t > hi_t:
            raise InvalidTraceOptionError(
                f"--since {since} is after --until {until}", "Give the earlier bound as --since."
            )
        parts = ([f"since {since}"] if since is not None else []) + (
            [f"until {until}"] if until is not None else []
        )
        return cls(lo_h, hi_h, lo_t, hi_t, " and ".join(parts))

    @property
    def is_open(self) -> bool:
        return all(x is None for x in (self.min_height, self.max_height, self.min_time,
                                       self.max_time))  # fmt: skip

    def sql(self, block: str) -> tuple[str, dict[str, Any]]:
        """A SQL condition on the blocks alias ``block`` and its parameters."""
        conds, params = ["true"], {}
        for name, op, col, value in (
            ("w_min_h", ">=", "height", self.min_height),
            ("w_max_h", "<=", "height", self.max_height),
            ("w_min_t", ">=", "time", self.min_time),
            ("w_max_t", "<=", "time", self.max_time),
        ):
            if value is not None:
                conds.append(f"{block}.{col} {op} ${name}")
                params[name] = value
        return " and ".join(conds), params

    def to_json(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return None if t is None else t.isoformat()

        return {"min_height": self.min_height, "max_height": self.max_height,
                "min_time": iso(self.min_time), "max_time": iso(self.max_time)}  # fmt: skip


def _bound(value: str | int | None, *, end: bool) -> tuple[int | None, datetime | None]:
    if value is None:
        return None, None
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise InvalidTraceOptionError(f"invalid block height {value}", _HINT)
        return value, None
    text = str(value).strip()
    if _HEIGHT.match(text):
        return int(text), None
    try:
        if _DATE.match(text):
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time.min, tzinfo=UTC)
            return None, (moment + timedelta(days=1, microseconds=-1) if end else moment)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidTraceOptionError(f"invalid time bound {text!r}", _HINT) from None
    if parsed.tzinfo is None:
        raise InvalidTraceOptionError(f"time bound {text!r} has no timezone", _HINT)
    return None, parsed.astimezone(UTC)


def received(
    ws: Workspace,
    *,
    address: str | None = None,
    cluster: int | None = None,
    window: Window | None = None,
    own_change: bool = False,
) -> list[str]:
    """The outpoints (``TXID:VOUT``) paying ``address`` — or any address of ``cluster`` — in the
    best chain within ``window``, in chain order (height, position, vout).

    Exactly one of ``address`` and ``cluster`` is given (else InvalidTraceOptionError). Raises
    :class:`~chaintrail.errors.NoPaymentsError` when nothing was received (the message says
    whether the address is unknown or only the window is empty) and ClustersNotBuiltError for
    a cluster in a workspace without clusters. ``own_change`` keeps the outputs of transactions
    the address (cluster) funded itself (path search starts from any output paying it).
    """
    if (address is None) == (cluster is None):
        raise InvalidTraceOptionError(
            "give exactly one of an address and a cluster", "Use --from-address or --from-cluster."
        )
    win = window if window is not None else Window()
    cond, params = win.sql("b")
    con = ws.con
    params["own"] = own_change
    if address is not None:
        subject = f"Address {address}"
        members = "select $addr as address"
        params["addr"] = address.strip()
    else:
        subject = f"Cluster {cluster}"
        if not _clusters_built(con):
            raise ClustersNotBuiltError()
        members = (
            "select a.address from clusters c join addresses a on a.id = c.address_id "
            "where c.cluster_id = $cluster"
        )
        params["cluster"] = cluster
    rows = con.execute(
        f"""with m as ({members})
            select o.txid, o.vout from outputs o
            join m on m.address = o.address
            join blocks b on b.hash = o.block_hash and b.in_best_chain
            join transactions t on t.txid = o.txid and t.block_hash = o.block_hash
            where {cond}
              and ($own or not exists (
                    select 1 from inputs i join m m2 on m2.address = i.address
                    where i.txid = o.txid and i.block_hash = o.block_hash))
            order by b.height, t.position, o.vout""",
        params,
    ).fetchall()
    if rows:
        return [f"{r[0]}:{r[1]}" for r in rows]
    if win.is_open:
        raise NoPaymentsError("btc", subject)
    if _ever_received(con, members, params):
        raise NoPaymentsError("btc", subject, window=win.text)
    raise NoPaymentsError("btc", subject)


def _clusters_built(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute("select count(*) from cluster_blocks").fetchone()
    return bool(row and row[0])


def _ever_received(con: duckdb.DuckDBPyConnection, members: str, params: dict[str, Any]) -> bool:
    keep = {k: v for k, v in params.items() if k in ("addr", "cluster")}
    row = con.execute(
        f"""with m as ({members})
            select count(*) from outputs o join m on m.address = o.address
            join blocks b on b.hash = o.block_hash and b.in_best_chain""",
        keep,
    ).fetchone()
    return bool(row and row[0])
