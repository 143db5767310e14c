"""Reading victim-report files (CSV, XLSX, JSON) into rows of field texts.

Police forms differ, so a :class:`Layout` says which file column holds which intake field (the
default layout is the intake fields by name), which time zone dates without one are in, and
the text encoding of a CSV. Reading never judges a value: every row comes back with its exact
text (the CSV record as it stands in the file, the JSON element as written, the XLSX cells) so
that a rejected row can be shown verbatim. Only the shape of a row is checked here (a CSV row
with more or fewer cells than the header, a JSON element that is not an object).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml  # type: ignore[import-untyped, unused-ignore]

from chaintrail import _exactjson
from chaintrail.cases.model import FIELDS, IDENTIFIERS, Normalisation, Problem, RawRow
from chaintrail.errors import ReportFileError, ReportMappingError

FORMATS: Final = {".csv": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".json": "json"}


@dataclass(frozen=True, slots=True)
class Layout:
    """Where each field is in the file: ``columns`` maps field -> file column."""

    columns: dict[str, str] = field(default_factory=lambda: {f: f for f in FIELDS})
    timezone: str | None = None
    encoding: str = "utf-8-sig"

    def to_json(self) -> dict[str, Any]:
        return {
            "columns": dict(sorted(self.columns.items())),
            "timezone": self.timezone,
            "encoding": self.encoding,
        }

    @property
    def zone(self) -> ZoneInfo | None:
        return None if self.timezone is None else ZoneInfo(self.timezone)


def make_layout(
    *,
    mapping_file: str | Path | None = None,
    maps: Sequence[str] = (),
    timezone: str | None = None,
    encoding: str | None = None,
) -> Layout:
    """The layout from a mapping file (YAML/JSON: ``columns: {file column: field}``,
    ``timezone``, ``encoding``) and ``--map COLUMN=FIELD`` options, which win."""
    columns = {f: f for f in FIELDS}
    tz: str | None = None
    enc = "utf-8-sig"
    explicit: list[tuple[str, str]] = []
    if mapping_file is not None:
        doc = _read_mapping_file(Path(mapping_file))
        explicit.extend(_pairs(doc.get("columns") or {}, str(mapping_file)))
        tz = _optional_text(doc, "timezone", str(mapping_file))
        enc = _optional_text(doc, "encoding", str(mapping_file)) or enc
    for item in maps:
        column, sep, target = item.partition("=")
        if not sep or not column.strip() or not target.strip():
            raise ReportMappingError(f"--map {item!r} is not COLUMN=FIELD")
        explicit.append((column.strip(), target.strip()))
    for column, target in explicit:
        if target not in FIELDS:
            raise ReportMappingError(f"{target!r} is not an intake field")
        columns[target] = column
    tz = timezone or tz
    if tz is not None:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ReportMappingError(f"unknown time zone {tz!r}") from None
    return Layout(columns=columns, timezone=tz, encoding=encoding or enc)


def _read_mapping_file(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise ReportMappingError(f"cannot read the mapping file {path}: {e}") from e
    if not isinstance(doc, dict):
        raise ReportMappingError(f"{path}: a mapping file is a mapping with 'columns'")
    unknown = set(doc) - {"columns", "timezone", "encoding"}
    if unknown:
        raise ReportMappingError(f"{path}: unknown keys {sorted(unknown)}")
    return doc


def _pairs(columns: object, where: str) -> list[tuple[str, str]]:
    if not isinstance(columns, dict):
        raise ReportMappingError(f"{where}: 'columns' maps file columns to intake fields")
    return [(str(k).strip(), str(v).strip()) for k, v in columns.items()]


def _optional_text(doc: Mapping[str, Any], key: str, where: str) -> str | None:
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ReportMappingError(f"{where}: {key!r} must be text")
    return value


@dataclass(frozen=True, slots=True)
class ReadFile:
    """A file read into rows; ``blank_rows`` are rows without any text (not reports)."""

    format: str
    header: list[str]
    rows: list[RawRow]
    blank_rows: int
    generated_ids: bool


def file_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ReportFileError(str(path), "not a CSV, XLSX or JSON file (by its extension)")
    return fmt


def read_rows(path: Path, data: bytes, layout: Layout, *, id_prefix: str) -> ReadFile:
    """Every data row of the file with its field texts under ``layout``. Reports without a
    ``report_id`` column get ``<id_prefix>-<row>``."""
    fmt = file_format(path)
    if fmt == "csv":
        header, records = _csv_records(path, data, layout.encoding)
    elif fmt == "xlsx":
        header, records = _xlsx_records(path, data)
    else:
        header, records = _json_records(path, data)
    where = _columns_of(path, header, layout)
    rows: list[RawRow] = []
    blank = 0
    gen = "report_id" not in where
    for number, raw, cells, problems, notes in records:
        if not problems and all(not c.strip() for c in cells.values()):
            blank += 1
            continue
        fields = {f: cells.get(col, "") for f, col in where.items()}
        if gen:
            fields["report_id"] = f"{id_prefix}-{number}"
        rows.append(RawRow(number, raw, fields, tuple(problems), tuple(notes)))
    return ReadFile(fmt, header, rows, blank, gen)


Record = tuple[int, str, dict[str, str], list[Problem], list[Normalisation]]


def _columns_of(path: Path, header: list[str], layout: Layout) -> dict[str, str]:
    """field -> the header cell it reads from (matched trimmed and case-insensitively)."""
    by_key = {h.strip().casefold(): h for h in header}
    found: dict[str, str] = {}
    missing: list[str] = []
    for f, column in layout.columns.items():
        cell = by_key.get(column.strip().casefold())
        if cell is not None:
            found[f] = cell
        elif column != f:  # mapped by the user, so it must be there
            missing.append(column)
    if missing:
        raise ReportFileError(
            str(path),
            f"the mapping names columns the file lacks: {', '.join(missing)} "
            f"(its columns: {', '.join(header) or 'none'})",
        )
    if not any(f in found for f in IDENTIFIERS):
        raise ReportFileError(
            str(path),
            "no column for tx_hash, from_address or to_address "
            f"(its columns: {', '.join(header) or 'none'}); map them with --map COLUMN=FIELD",
        )
    return found


# --- CSV -------------------------------------------------------------------------------------


def _csv_records(path: Path, data: bytes, encoding: str) -> tuple[list[str], Iterator[Record]]:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as e:
        raise ReportFileError(
            str(path), f"not {encoding} text (byte {e.start:,}); give its --encoding (e.g. cp949)"
        ) from e
    except LookupError as e:
        raise ReportMappingError(f"unknown encoding {encoding!r}") from e
    consumed: list[str] = []

    def lines() -> Iterator[str]:
        for line in io.StringIO(text, newline=""):
            consumed.append(line)
            yield line

    dialect = "excel-tab" if path.suffix.lower() == ".tsv" else "excel"
    reader = csv.reader(lines(), dialect=dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise ReportFileError(str(path), "the file is empty (no header row)") from None
    except csv.Error as e:
        raise ReportFileError(str(path), f"the header row is not CSV: {e}") from e
    consumed.clear()
    return header, _csv_rows(path, reader, header, consumed)


def _csv_rows(
    path: Path, reader: Iterator[list[str]], header: list[str], consumed: list[str]
) -> Iterator[Record]:
    number = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise ReportFileError(str(path), f"row {number + 1}: not CSV: {e}") from e
        number += 1
        raw = "".join(consumed).rstrip("\r\n")
        consumed.clear()
        problems = []
        if cells and len(cells) != len(header):
            problems.append(
                Problem(
                    "wrong_column_count",
                    None,
                    f"the row has {len(cells)} cells, the header {len(header)}",
                )
            )
        yield number, raw, dict(zip(header, cells, strict=False)), problems, []


# --- XLSX ------------------------------------------------------------------------------------


def _xlsx_records(path: Path, data: bytes) -> tuple[list[str], Iterator[Record]]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as e:
        raise ReportFileError(str(path), f"not an XLSX workbook ({e})") from e
    try:
        sheet = book.worksheets[0]
        table = [(row[0].row if row else 0, [c.value for c in row]) for row in sheet.iter_rows()]
    finally:
        book.close()
    table = [(n, cells) for n, cells in table if n]
    if not table:
        raise ReportFileError(str(path), "the first sheet is empty (no header row)")
    header = [_cell_text(v)[0] for v in table[0][1]]
    while header and not header[-1]:
        header.pop()
    return header, _xlsx_rows(header, table[1:])


def _xlsx_rows(header: list[str], table: list[tuple[int, list[object]]]) -> Iterator[Record]:
    for number, values in table:
        texts: list[str] = []
        notes: list[Normalisation] = []
        for i, value in enumerate(values):
            text, rule = _cell_text(value)
            texts.append(text)
            if rule and i < len(header):
                notes.append(Normalisation(header[i], repr(value), text, rule))
        while len(texts) > len(header) and not texts[-1]:
            texts.pop()
        problems = []
        if len(texts) > len(header):
            problems.append(
                Problem(
                    "wrong_column_count",
                    None,
                    f"the row has {len(texts)} cells, the header {len(header)}",
                )
            )
        raw = json.dumps(texts, ensure_ascii=False)
        yield number, raw, dict(zip(header, texts, strict=False)), problems, notes


def _cell_text(value: object) -> tuple[str, str]:
    """A cell as the text a person sees, and the rule applied when it was not text."""
    if value is None:
        return "", ""
    if isinstance(value, str):
        return value, ""
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE"), "boolean_cell"
    if isinstance(value, int):
        return str(value), "number_cell"
    if isinstance(value, float):
        # Excel keeps numbers as binary doubles: the shortest text that reads back as the
        # same double is what Excel shows, and the only honest decimal reading of the cell.
        return format(Decimal(repr(value)), "f"), "number_cell"
    if isinstance(value, datetime | date | time):
        return value.isoformat(), "date_cell"
    return str(value), "other_cell"


# --- JSON ------------------------------------------------------------------------------------


def _json_records(path: Path, data: bytes) -> tuple[list[str], Iterator[Record]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ReportFileError(str(path), f"not UTF-8 text (byte {e.start:,})") from e
    start = _exactjson.skip_whitespace(text, 0)
    if text[start : start + 1] != "[":
        raise ReportFileError(str(path), "a JSON report file is an array of objects")
    try:
        elements = list(_exactjson.iter_array(text, start))
    except ValueError as e:
        raise ReportFileError(str(path), f"not valid JSON: {e}") from e
    header: list[str] = []
    for value, _, _ in elements:
        if isinstance(value, dict):
            header.extend(k for k in value if k not in header)
    return header, _json_rows(text, elements)


def _json_rows(text: str, elements: list[tuple[Any, int, int]]) -> Iterator[Record]:
    for index, (value, start, end) in enumerate(elements):
        raw = text[start:end]
        if not isinstance(value, dict):
            problem = Problem("not_an_object", None, "the element is not a JSON object")
            yield index + 1, raw, {}, [problem], []
            continue
        cells: dict[str, str] = {}
        notes: list[Normalisation] = []
        for key, v in value.items():
            cells[key], rule = _json_text(v)
            if rule:
                notes.append(Normalisation(key, json.dumps(v, default=str), cells[key], rule))
        yield index + 1, raw, cells, [], notes


def _json_text(value: object) -> tuple[str, str]:
    if value is None:
        return "", ""
    if isinstance(value, str):
        return value, ""
    if isinstance(value, bool):
        return ("true" if value else "false"), "json_boolean"
    if isinstance(value, Decimal):
        return format(value, "f"), "json_number"
    if isinstance(value, int):
        return str(value), "json_number"
    return json.dumps(value, ensure_ascii=False, default=str), "json_structure"


__all__ = ["FORMATS", "Layout", "ReadFile", "file_format", "make_layout", "read_rows"]
