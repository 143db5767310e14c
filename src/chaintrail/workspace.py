"""The workspace: the one root object of chaintrail.

A workspace is a folder holding the embedded DuckDB database (``chaintrail.duckdb``), a lock file
and exports. It owns the database connection and hands out per-domain services (``ws.btc`` for
Bitcoin lookups, ``ws.ingest`` for writing blocks); CLI and (later) web start from here and
nothing happens at import time.

Writers are kept apart by an OS-level ``flock`` on ``.lock``: the kernel releases it when the
process dies, so a ``kill -9`` never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

import duckdb

from chaintrail.errors import (
    UnknownChainError,
    WorkspaceExistsError,
    WorkspaceLockedError,
    WorkspaceNotFoundError,
)
from chaintrail.settings import Settings
from chaintrail.store import migrations
from chaintrail.store.duck import connect

if TYPE_CHECKING:
    from chaintrail.audit.evidence import BundleResult
    from chaintrail.audit.log import AuditLog
    from chaintrail.cases.service import CaseService
    from chaintrail.chains.btc.view import BtcView
    from chaintrail.chains.eth.view import EthView
    from chaintrail.clustering.service import ClusterService
    from chaintrail.ingest.eth.service import EthIngest
    from chaintrail.ingest.pipeline import BtcIngest
    from chaintrail.prices.service import PriceService
    from chaintrail.report import FreezeRequests
    from chaintrail.store.export import ExportResult
    from chaintrail.tags.service import TagService
    from chaintrail.trace.account_result import AccountTrace
    from chaintrail.trace.backward import BackwardTrace
    from chaintrail.trace.engine import TraceLookups
    from chaintrail.trace.paths import PathSearch
    from chaintrail.trace.policies import TracePolicy
    from chaintrail.trace.result import Trace
    from chaintrail.trace.stops import Stop

DB_NAME = "chaintrail.duckdb"
LOCK_NAME = ".lock"
DEFAULT_PATH = "workspace"


def default_path() -> Path:
    """``$CHAINTRAIL_WORKSPACE`` or ``./workspace``."""
    return Path(os.environ.get("CHAINTRAIL_WORKSPACE") or DEFAULT_PATH)


class Workspace:
    """An open workspace. Use :meth:`create` or :meth:`open`, ideally as a context manager."""

    def __init__(
        self,
        path: Path,
        con: duckdb.DuckDBPyConnection,
        *,
        lock_fd: int | None,
        settings: Settings | None = None,
    ) -> None:
        self.path = path
        self.con = con
        self._lock_fd = lock_fd
        self.settings = settings or Settings.from_env()

    # --- lifecycle -----------------------------------------------------------------------------

    @classmethod
    def create(cls, path: str | Path, *, settings: Settings | None = None) -> Workspace:
        """Create a new workspace folder and open it for writing."""
        path = Path(path)
        if (path / DB_NAME).exists():
            raise WorkspaceExistsError(str(path))
        path.mkdir(parents=True, exist_ok=True)
        ws = cls.open(path, write=True, settings=settings)
        try:
            ws.audit.signing_key()  # the audit key and log header are made with the workspace
        except BaseException:
            ws.close()
            raise
        return ws

    @classmethod
    def open(
        cls, path: str | Path, *, write: bool = False, settings: Settings | None = None
    ) -> Workspace:
        """Open an existing workspace; ``write=True`` takes the writer lock and migrates."""
        path = Path(path)
        db = path / DB_NAME
        if write and not path.is_dir():
            raise WorkspaceNotFoundError(str(path))
        if not write and not db.exists():
            raise WorkspaceNotFoundError(str(path))
        lock_fd = _take_lock(path) if write else None
        try:
            con = connect(db, read_only=not write)
            if write:
                migrations.migrate(con, where=str(path))
            else:
                migrations.check_current(con, where=str(path))
        except BaseException:
            if lock_fd is not None:
                os.close(lock_fd)
            raise
        return cls(path, con, lock_fd=lock_fd, settings=settings)

    def close(self) -> None:
        self.con.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def writable(self) -> bool:
        return self._lock_fd is not None

    @property
    def btc_network(self) -> str | None:
        """The Bitcoin network of the workspace's blocks (None before the first ingest)."""
        row = self.con.execute("select value from meta where key = 'btc_network'").fetchone()
        return None if row is None else str(row[0])

    @property
    def schema_version(self) -> int:
        return migrations.current_version(self.con)

    # --- services ------------------------------------------------------------------------------

    @property
    def btc(self) -> BtcView:
        """Bitcoin lookups and bulk access over the store."""
        from chaintrail.chains.btc.view import BtcView

        return BtcView(self)

    @property
    def eth(self) -> EthView:
        """Ethereum lookups over the store."""
        from chaintrail.chains.eth.view import EthView

        return EthView(self)

    def chain(self, code: str) -> BtcView | EthView:
        if code == "btc":
            return self.btc
        if code == "eth":
            return self.eth
        raise UnknownChainError(code)

    @property
    def ingest(self) -> BtcIngest:
        """Writing Bitcoin blocks into the store (needs a workspace opened with write=True)."""
        from chaintrail.ingest.pipeline import BtcIngest

        return BtcIngest(self)

    @property
    def eth_ingest(self) -> EthIngest:
        """Writing Ethereum data (saved JSON-RPC answers, ethereum-etl exports) into the store."""
        from chaintrail.ingest.eth.service import EthIngest

        return EthIngest(self)

    @property
    def tags(self) -> TagService:
        """Attribution: import TagPacks, OFAC and address lists; tags by address; export."""
        from chaintrail.tags.service import TagService

        return TagService(self)

    @property
    def clusters(self) -> ClusterService:
        """Address clustering: build (write), ``of``, ``explain``, ``info``."""
        from chaintrail.clustering.service import ClusterService

        return ClusterService(self)

    @property
    def cases(self) -> CaseService:
        """Victim reports and cases: import, verify on chain, triage (write); list, show."""
        from chaintrail.cases.service import CaseService

        return CaseService(self)

    @property
    def prices(self) -> PriceService:
        """The imported price table: import a price CSV (write), list, look up."""
        from chaintrail.prices.service import PriceService

        return PriceService(self)

    @property
    def audit(self) -> AuditLog:
        """The signed, hash-chained audit log of case changes: entries, record, verify."""
        from chaintrail.audit.log import AuditLog

        return AuditLog(self)

    def evidence(
        self,
        case_id: str,
        output: str | Path,
        *,
        lang: str = "en",
        report_format: str = "pdf",
        include_report: bool = True,
    ) -> BundleResult:
        """Write a case's signed evidence bundle (see :func:`chaintrail.audit.write_bundle`)."""
        from chaintrail.audit.evidence import write_bundle

        return write_bundle(
            self, case_id, output, lang=lang, report_format=report_format,
            include_report=include_report,
        )  # fmt: skip

    def report(
        self, case_id: str, lang: str = "en", fmt: str = "pdf", *, timezone: str | None = None,
        validation: Path | None = None, currency: str | None = None,
    ) -> bytes:  # fmt: skip
        """A triaged case's court report (see :func:`chaintrail.report.render_report`)."""
        from chaintrail.report import render_report

        return render_report(self, case_id, lang, fmt, timezone=timezone, validation=validation,
                             currency=currency)  # fmt: skip

    def freeze_requests(
        self, case_id: str, output: Path, *, lang: str = "en", fmt: str = "html",
        timezone: str | None = None,
    ) -> FreezeRequests:  # fmt: skip
        """One freeze request per exchange with a CSV annex, written to ``output`` (see
        :func:`chaintrail.report.write_freeze_requests`)."""
        from chaintrail.report import write_freeze_requests

        return write_freeze_requests(self, case_id, output, lang=lang, fmt=fmt, timezone=timezone)

    def trace(
        self,
        start: Iterable[object] | str,
        *,
        policy: TracePolicy | None = None,
        stop: Stop | None = None,
        budget: int | None = None,
        offline: bool = False,
        esplora_url: str | None = None,
        lookups: TraceLookups | None = None,
    ) -> Trace:
        """Trace outpoints (``TXID:VOUT``) forward (see :func:`chaintrail.trace.engine.trace`).

        Spends missing from the store are fetched from ``esplora_url`` (default: the
        ``esplora_url`` setting) unless ``offline``; fetching needs ``write=True``.
        ``lookups`` (:class:`~chaintrail.trace.engine.TraceLookups`) shares store lookups
        between the traces of one run.
        """
        from chaintrail.trace.engine import trace

        url = esplora_url or self.settings.esplora_url
        if offline or not url:
            from chaintrail.ingest.blocksci import SpentOutside

            # Outputs a table source says were spent after its data end: data_end, not unspent.
            outside = None if offline else SpentOutside.for_store(self.con)
            return trace(
                self, start, policy=policy, stop=stop, budget=budget, offline=offline,
                fetcher=outside, lookups=lookups,
            )  # fmt: skip
        from chaintrail.ingest.sources.esplora import open_trace_fetcher

        with open_trace_fetcher(self, url) as fetcher:
            return trace(
                self, start, policy=policy, stop=stop, budget=budget, fetcher=fetcher,
                lookups=lookups,
            )  # fmt: skip

    def trace_account(
        self,
        *,
        asset: str,
        sources: Iterable[str] = (),
        from_address: str | None = None,
        since: str | int | None = None,
        until: str | int | None = None,
        policy: TracePolicy | str | None = None,
        stop: Stop | None = None,
        budget: int | None = None,
        chain: str = "eth",
        eth_url: str | None = None,
    ) -> AccountTrace:
        """Trace one asset (``ETH``, a token address or symbol) forward on an account-model
        chain from transfers (``TXHASH[:INDEX]``) or an address's receipts (see
        :func:`chaintrail.trace.account.trace_account`)."""
        from chaintrail.trace.account import trace_account

        return trace_account(
            self, asset=asset, sources=list(sources), from_address=from_address, since=since,
            until=until, policy=policy, stop=stop, budget=budget, chain=chain, eth_url=eth_url,
        )  # fmt: skip

    def trace_back(
        self,
        target: Iterable[object] | str,
        *,
        policy: TracePolicy | None = None,
        stop: Stop | None = None,
        budget: int | None = None,
        offline: bool = False,
        esplora_url: str | None = None,
    ) -> BackwardTrace:
        """Trace outputs (``TXID:VOUT``) backward to their origins (see
        :func:`chaintrail.trace.backward.trace_back`).

        Creating transactions missing from the store are fetched from ``esplora_url``
        (default: the ``esplora_url`` setting) unless ``offline``; fetching needs ``write=True``.
        """
        from chaintrail.trace.backward import trace_back

        url = esplora_url or self.settings.esplora_url
        if offline or not url:
            return trace_back(self, target, policy=policy, stop=stop, budget=budget,
                              offline=offline)  # fmt: skip
        from chaintrail.ingest.sources.esplora import open_trace_fetcher

        with open_trace_fetcher(self, url) as fetcher:
            return trace_back(self, target, policy=policy, stop=stop, budget=budget,
                              fetcher=fetcher)  # fmt: skip

    def received(
        self,
        *,
        address: str | None = None,
        cluster: int | None = None,
        since: str | int | None = None,
        until: str | int | None = None,
        offline: bool = False,
        esplora_url: str | None = None,
    ) -> list[str]:
        """Outpoints paying an address or cluster in a time window, as trace sources (see
        :func:`chaintrail.trace.sources.received`).

        With an Esplora server (``esplora_url`` or the setting) and not ``offline``, the
        address's confirmed history is fetched into the store first (needs ``write=True``), so
        payments the store lacked are found too.
        """
        from chaintrail.trace.sources import Window, received

        window = Window.parse(since, until)
        url = esplora_url or self.settings.esplora_url
        if address is not None and url and not offline:
            from chaintrail.ingest.sources.esplora import fetch_address

            fetch_address(self, url, address.strip())
        return received(self, address=address, cluster=cluster, window=window)

    def paths(
        self,
        source: str,
        target: str,
        *,
        max_hops: int = 6,
        since: str | int | None = None,
        until: str | int | None = None,
        limit: int = 10,
        offline: bool = False,
        esplora_url: str | None = None,
    ) -> PathSearch:
        """Shortest transaction paths between two addresses or ``cluster:ID`` (see
        :func:`chaintrail.trace.paths.find_paths`).

        Spends and creating transactions missing from the store are fetched from
        ``esplora_url`` (default: the setting) unless ``offline``, and first the confirmed
        histories of the two addresses; fetching needs ``write=True``.
        """
        from chaintrail.trace.paths import find_paths
        from chaintrail.trace.sources import Window

        window = Window.parse(since, until)
        url = esplora_url or self.settings.esplora_url
        if offline or not url:
            return find_paths(self, source, target, max_hops=max_hops, window=window,
                              limit=limit, offline=offline)  # fmt: skip
        from chaintrail.ingest.sources.esplora import open_trace_fetcher

        with open_trace_fetcher(self, url) as fetcher:
            for end in (source, target):
                if not end.strip().lower().startswith("cluster:"):
                    fetcher.fetch_history(end.strip())
            return find_paths(self, source, target, max_hops=max_hops, window=window,
                              limit=limit, fetcher=fetcher)  # fmt: skip

    def export(
        self,
        table: str,
        *,
        format: str,
        path: str | Path,
        with_provenance: bool = False,
        include_stale: bool = False,
    ) -> ExportResult:
        """Write one store table to CSV or Parquet (see :mod:`chaintrail.store.export`)."""
        from chaintrail.store.export import export_table

        return export_table(
            self.con,
            table,
            format=format,
            path=Path(path),
            with_provenance=with_provenance,
            include_stale=include_stale,
        )


def _take_lock(path: Path) -> int:
    fd = os.open(path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as e:
        os.close(fd)
        raise WorkspaceLockedError(str(path)) from e
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd
