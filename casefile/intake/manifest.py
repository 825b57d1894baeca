"""Reading a manifest spreadsheet (CSV or XLSX) into rows of named values, one line at a time.

Column names are matched loosely (case, spaces, a few synonyms) but never guessed: a column that maps to no field
stops the import before anything is written, since a silently ignored "classification" column would file a
restricted item as confidential.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Generator, Iterator
from contextlib import closing
from datetime import date
from typing import IO, Any

import openpyxl
from flask_babel import gettext as _
from openpyxl.utils.exceptions import InvalidFileException

from casefile.intake.models import ImportKind

MAX_ROWS = 100_000
MAX_CELL = 60_000  # characters: a description may be long; nothing needs more
SNIFF_BYTES = 64 * 1024

# Field name -> the column names that mean it (the field name itself always does).
COLUMNS: dict[ImportKind, dict[str, tuple[str, ...]]] = {
    ImportKind.EVIDENCE: {
        "file": ("filename", "file_name", "path", "name_in_archive"),
        "title": (),
        "kind": ("type",),
        "description": (),
        "collected_at": ("collected", "date", "collection_date"),
        "collected_precision": ("precision", "date_precision"),
        "collected_by": ("collector",),
        "collection_place": ("place",),
        "source": (),
        "source_reliability": ("reliability",),
        "info_credibility": ("credibility",),
        "classification": (),
        "graphic": (),
        "incidents": ("incident", "incident_reference", "incident_references", "incident_refs"),
        "witness": ("witness_pseudonym", "pseudonym"),
        "sha256": ("declared_sha256", "sha-256", "hash"),
        "interview_date": (),
        "interview_place": (),
        "interviewer": (),
        "language": (),
        "interpreter": (),
    },
    ImportKind.INCIDENTS: {
        "title": (),
        "description": (),
        "start_date": ("date", "start"),
        "end_date": ("end",),
        "date_precision": ("precision",),
        "place_name": ("place", "location"),
        "latitude": ("lat",),
        "longitude": ("lon", "lng", "long"),
        "location_precision": (),
        "violation_types": ("violations", "violation_type"),
        "victim_count": ("victims",),
        "victim_count_source": (),
    },
    ImportKind.ACTORS: {
        "kind": ("type",),
        "name": (),
        "aliases": ("alias", "aka", "also_known_as"),
        "description": (),
        "date_of_birth": ("dob", "born"),
        "nationality": (),
        "identifiers": (),
    },
}
REQUIRED = {ImportKind.EVIDENCE: "file", ImportKind.INCIDENTS: "title", ImportKind.ACTORS: "name"}


class ManifestError(Exception):
    """The manifest as a whole cannot be read (not a spreadsheet, unknown columns): nothing is imported."""


def normalise(header: Any) -> str:
    return "_".join(str(header or "").strip().casefold().replace("-", " ").split())


def header_map(kind: ImportKind, headers: list[Any]) -> list[str | None]:
    """Each column's field (None for an empty header over an empty column)."""
    names: dict[str, str] = {}
    for field, synonyms in COLUMNS[kind].items():
        for name in (field, *synonyms):
            names[normalise(name)] = field
    fields: list[str | None] = []
    unknown: list[str] = []
    for header in headers:
        key = normalise(header)
        if not key:
            fields.append(None)
            continue
        found = names.get(key)
        if found is None:
            unknown.append(str(header)[:60])
        elif found in fields:
            raise ManifestError(_("Two columns mean %(field)s: keep one.", field=found))
        fields.append(found)
    if unknown:
        raise ManifestError(
            _(
                "Unknown column(s): %(unknown)s. The columns understood are: %(known)s.",
                unknown=", ".join(unknown),
                known=", ".join(COLUMNS[kind]),
            )
        )
    if REQUIRED[kind] not in fields:
        raise ManifestError(_("The manifest needs a column %(field)s.", field=REQUIRED[kind]))
    return fields


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, date):  # datetimes too: the date parser takes them as they are
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a spreadsheet's 3.0 victims, or a number-typed reference
    text = str(value).strip()
    if len(text) > MAX_CELL:
        text = text[:MAX_CELL]
    return text


def read_rows(kind: ImportKind, stream: IO[bytes], name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(spreadsheet line, {field: value}) for every non-empty row; ManifestError for a manifest that cannot be
    read. `stream` must be seekable (a staged copy)."""
    head = stream.read(4)
    stream.seek(0)
    rows: Generator[tuple[int, list[Any]]]
    if head.startswith(b"PK\x03\x04"):
        rows = _xlsx_rows(stream)
    elif name.casefold().endswith((".xlsx", ".xlsm")):
        raise ManifestError(_("The manifest is named .xlsx but is not an XLSX workbook."))
    else:
        rows = _csv_rows(stream)
    header: list[str | None] | None = None
    count = 0
    # Closed here, not when collected: the CSV reader must let go of the stream while it is still open.
    with closing(rows):
        for line, values in rows:
            if header is None:
                if not any(_cell(v) != "" for v in values):
                    continue  # blank lines above the header
                header = header_map(kind, list(values))
                continue
            cells = [_cell(v) for v in values]
            if not any(c != "" for c in cells):
                continue
            count += 1
            if count > MAX_ROWS:
                raise ManifestError(_("At most %(n)d rows per import: split the manifest.", n=MAX_ROWS))
            extra = [c for c in cells[len(header) :] if c != ""]
            if extra:
                yield line, {"__error__": _("This row has more cells than the header has columns.")}
                continue
            yield line, {field: cell for field, cell in zip(header, cells, strict=False) if field is not None}
    if header is None:
        raise ManifestError(_("The manifest is empty: it needs a header row and at least one row."))


def _encoding(stream: IO[bytes]) -> str:
    """UTF-8 (with or without a byte-order mark), else Windows-1256, which Excel writes for Arabic CSV."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := stream.read(1 << 20):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
        return "utf-8-sig"
    except UnicodeDecodeError:
        return "cp1256"
    finally:
        stream.seek(0)


def _csv_rows(stream: IO[bytes]) -> Generator[tuple[int, list[Any]]]:
    encoding = _encoding(stream)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    sample = text.read(SNIFF_BYTES)
    text.seek(0)
    if "\x00" in sample:
        raise ManifestError(_("The manifest is not a CSV or XLSX spreadsheet."))
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    csv.field_size_limit(MAX_CELL * 4)
    reader = csv.reader(text, dialect)
    try:
        for values in reader:
            yield reader.line_num, values
    except csv.Error as error:
        raise ManifestError(
            _("The CSV cannot be read at line %(line)d: %(error)s", line=reader.line_num, error=error)
        ) from None
    finally:
        text.detach()


def _xlsx_rows(stream: IO[bytes]) -> Generator[tuple[int, list[Any]]]:
    try:
        book = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise ManifestError(_("The manifest is not a readable XLSX workbook.")) from None
    try:
        sheet = book.worksheets[0]
        for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield line, list(values)
    finally:
        book.close()
