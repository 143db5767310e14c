"""Tags in the workspace's DuckDB store: bulk writes through Arrow, lookups by address.

Writes are idempotent by content: a tag whose ``tag_key`` (a hash of the whole assertion, see
:meth:`chaintrail.tags.model.Tag.key`) is already stored is counted as a duplicate and not
written again, and a file whose SHA-256 is already in ``tag_sources`` gets no second row. So
importing the same file twice changes nothing, and two packs that assert the same thing store
it once (under the first).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import duckdb
import pyarrow as pa

from chaintrail._version import __version__
from chaintrail.store.duck import atomic, register
from chaintrail.tags.model import Actor, Tag, normalise_address
from chaintrail.tags.tagpack import ACTOR_SCHEMA, TAG_SCHEMA, ParsedFile

_TAG_COLUMNS: Final = (
    "currency, network, address, label, source, confidence, category, abuse, actor, tag_type, "
    "concepts, context, lastmod, is_public, tlp, is_cluster_definer, validated, pack_id, position"
)
_ACTOR_COLUMNS: Final = (
    "id, label, uri, categories, jurisdictions, aliases, context, pack_id, position"
)
_INSERT_TAGS: Final = ", ".join(f.name for f in TAG_SCHEMA) + ", pack_id"
_INSERT_ACTORS: Final = ", ".join(f.name for f in ACTOR_SCHEMA) + ", pack_id"


@dataclass(frozen=True, slots=True)
class CurrencyCounts:
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    unvalidated: int = 0

    def to_json(self) -> dict[str, int]:
        return {"imported": self.imported, "duplicates": self.duplicates,
                "rejected": self.rejected, "unvalidated": self.unvalidated}  # fmt: skip


@dataclass(frozen=True, slots=True)
class WriteResult:
    #: By currency code: tags written, duplicates skipped, unvalidated among those written.
    by_currency: dict[str, CurrencyCounts]
    #: By file index (of the list given to :meth:`TagStore.write`): tags (or actors) written.
    imported_by_file: dict[int, int]
    duplicates_by_file: dict[int, int]
    actors_imported: int
    actors_duplicates: int
    pack_ids: list[int]


def _tag(row: tuple[Any, ...]) -> Tag:
    (currency, network, address, label, source, confidence, category, abuse, actor, tag_type,
     concepts, context, lastmod, is_public, tlp, definer, validated, pack_id,
     position) = row  # fmt: skip
    return Tag(
        currency=currency, network=network, address=address, label=label, source=source,
        confidence=confidence, category=category, abuse=abuse, actor=actor, tag_type=tag_type,
        concepts=tuple(concepts), context=context, lastmod=lastmod, is_public=is_public,
        tlp=tlp, is_cluster_definer=definer, validated=validated, pack_id=pack_id,
        position=position,
    )  # fmt: skip


def _actor(row: tuple[Any, ...]) -> Actor:
    id_, label, uri, cats, jur, aliases, context, pack_id, position = row
    return Actor(id=id_, label=label, uri=uri, categories=tuple(cats),
                 jurisdictions=tuple(jur), aliases=tuple(aliases), context=context,
                 pack_id=pack_id, position=position)  # fmt: skip


class TagStore:
    """The ``tags``, ``actors`` and ``tag_sources`` tables of one workspace."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    # --- writes --------------------------------------------------------------------------------

    def write(self, files: Sequence[ParsedFile]) -> WriteResult:
        """Write parsed files in one transaction; returns what was new and what was known."""
        con = self.con
        tag_tables: list[pa.Table] = []
        actor_tables: list[pa.Table] = []
        pack_ids: list[int] = []
        with atomic(con):
            for i, pf in enumerate(files):
                pack_id = self._source_id(pf)
                pack_ids.append(pack_id)
                for table, out in ((pf.tags, tag_tables), (pf.actors, actor_tables)):
                    if table is not None and table.num_rows:
                        n = table.num_rows
                        table = table.append_column("pack_id", pa.array([pack_id] * n, pa.int64()))
                        out.append(table.append_column("file", pa.array([i] * n, pa.int32())))
            by_currency, tags_by_file, tag_dups = self._insert(
                "tags", "tag_key", _INSERT_TAGS, tag_tables, group="currency"
            )
            actors_by, actors_by_file, actor_dups = self._insert(
                "actors", "actor_key", _INSERT_ACTORS, actor_tables, group=None
            )
        for k, v in actors_by_file.items():
            tags_by_file[k] = tags_by_file.get(k, 0) + v
        for k, v in actor_dups.items():
            tag_dups[k] = tag_dups.get(k, 0) + v
        actors = actors_by.get("", CurrencyCounts())
        return WriteResult(by_currency, tags_by_file, tag_dups, actors.imported,
                           actors.duplicates, pack_ids)  # fmt: skip

    def _source_id(self, pf: ParsedFile) -> int:
        rows = self.con.execute(
            "select min(id) from tag_sources where sha256 = ? and kind = ?", [pf.sha256, pf.kind]
        ).fetchall()
        if rows[0][0] is not None:
            return int(rows[0][0])
        new = self.con.execute(
            "insert into tag_sources values (nextval('tag_source_id_seq'), ?, ?, ?, now(), ?, ?, "
            "?, ?, ?, ?) returning id",
            [pf.kind, pf.path, pf.sha256, __version__, pf.title, pf.creator, pf.description,
             pf.entries, len(pf.rejections)],
        ).fetchall()  # fmt: skip
        return int(new[0][0])

    def _insert(
        self, table: str, key: str, columns: str, batches: list[pa.Table], *, group: str | None
    ) -> tuple[dict[str, CurrencyCounts], dict[int, int], dict[int, int]]:
        if not batches:
            return {}, {}, {}
        con = self.con
        register(con, "_tag_batch", pa.concat_tables(batches))
        try:
            con.execute(
                f"""create or replace temp table _tag_new as
                select b.*, (row_number() over (partition by b.{key} order by b.file, b.position)
                             = 1 and b.{key} not in (select {key} from {table})) as is_new
                from _tag_batch b"""
            )
        finally:
            con.unregister("_tag_batch")
        con.execute(f"insert into {table} ({columns}) select {columns} from _tag_new where is_new")
        validated = "validated" if table == "tags" else "true"
        by_group = {
            str(g): CurrencyCounts(int(new), int(dup), 0, int(unval))
            for g, new, dup, unval in con.execute(
                f"""select {group or "''"}, count(*) filter (where is_new),
                       count(*) filter (where not is_new),
                       count(*) filter (where is_new and not {validated})
                from _tag_new group by all order by 1"""
            ).fetchall()
        }
        per_file = con.execute(
            "select file, count(*) filter (where is_new), count(*) filter (where not is_new) "
            "from _tag_new group by file"
        ).fetchall()
        con.execute("drop table _tag_new")
        return (
            by_group,
            {int(f): int(n) for f, n, _ in per_file},
            {int(f): int(d) for f, _, d in per_file},
        )

    # --- reads ---------------------------------------------------------------------------------

    def for_address(self, network: str, address: str) -> list[Tag]:
        """Direct tags of ``address`` on ``network`` (``BTC``), most confident first."""
        return [
            _tag(r)
            for r in self.con.execute(
                f"select {_TAG_COLUMNS} from tags where network = ? and address_norm = ? "
                "order by confidence_level desc, label, source, pack_id, position",
                [network.upper(), normalise_address(address)],
            ).fetchall()
        ]

    def lookup(self, address: str) -> list[Tag]:
        """Direct tags of ``address`` on any network."""
        return [
            _tag(r)
            for r in self.con.execute(
                f"select {_TAG_COLUMNS} from tags where address_norm = ? "
                "order by network, confidence_level desc, label, source, pack_id, position",
                [normalise_address(address)],
            ).fetchall()
        ]

    def packs(self) -> list[dict[str, Any]]:
        """The ``tag_sources`` rows, in id order."""
        cols = ("id", "kind", "path", "sha256", "imported_at", "tool_version", "title",
                "creator", "description", "entries", "rejected")  # fmt: skip
        rows = self.con.execute(f"select {', '.join(cols)} from tag_sources order by id")
        return [dict(zip(cols, r, strict=True)) for r in rows.fetchall()]

    def pack_tags(self, pack_id: int) -> list[Tag]:
        return [
            _tag(r)
            for r in self.con.execute(
                f"select {_TAG_COLUMNS} from tags where pack_id = ? order by position, tag_key",
                [pack_id],
            ).fetchall()
        ]

    def actors(self) -> list[Actor]:
        return [
            _actor(r)
            for r in self.con.execute(
                f"select {_ACTOR_COLUMNS} from actors order by pack_id, position, id"
            ).fetchall()
        ]

    def actor(self, actor_id: str) -> Actor | None:
        rows = self.con.execute(
            f"select {_ACTOR_COLUMNS} from actors where id = ? order by pack_id desc limit 1",
            [actor_id],
        ).fetchall()
        return _actor(rows[0]) if rows else None

    def counts(self) -> dict[str, int]:
        row = self.con.execute(
            "select (select count(*) from tags), (select count(*) from actors), "
            "(select count(*) from tag_sources)"
        ).fetchall()[0]
        return {"tags": int(row[0]), "actors": int(row[1]), "sources": int(row[2])}
