"""Readers for customer files: CSV (any common dialect) and JSON Lines.

``read_rows`` streams a whole file, one ``RawRow`` per record with the line number the record
starts on. The import itself reads chunks (see chunks.py) in worker processes:
``CsvLayout`` (from the header) and ``read_csv_chunk``/``read_jsonl_chunk`` yield each record
as the raw field values ``RowNormalizer.normalize`` takes, with the same line numbers and the
same rejections as the streaming readers.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import IO, Any

from breachcomms.recipients.chunks import Chunk
from breachcomms.recipients.rows import RAW_FIELDS, canonical_field, unusable_text

csv.field_size_limit(1024 * 1024)


@dataclass
class RawRow:
    line: int
    values: dict[str, Any] | None  # None when the record itself is malformed
    error: str = ""


class CountingReader(io.RawIOBase):
    """A binary stream that counts the bytes read through it."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.stream.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        self.bytes_read += size
        return size


def detect_format(name: str, head: bytes) -> str:
    """``"jsonl"`` or ``"csv"`` from the file name, else from its first bytes."""
    lower = name.lower()
    if lower.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if lower.endswith((".csv", ".txt", ".tsv")):
        return "csv"
    return "jsonl" if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") else "csv"


def _text_stream(stream: IO[bytes]) -> io.TextIOWrapper:
    # utf-8-sig drops a BOM; surrogateescape keeps bad bytes visible so the row can be rejected.
    return io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")  # type: ignore[arg-type]


def _mapping(headers: list[str]) -> list[tuple[str, str | None]]:
    return [(header.strip(), canonical_field(header)) for header in headers]


def _assign(mapping: list[tuple[str, str | None]], values: list[Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"attributes": {}}
    for (header, field), value in zip(mapping, values, strict=False):
        if field is None:
            if header:
                row["attributes"][header] = value
        elif field in row and row[field]:
            continue  # the first of two columns naming one field wins
        else:
            row[field] = value
    return row


def csv_header(first: str) -> tuple[str, list[str]] | None:
    """(delimiter, column names) of a CSV file's first line, or None if it is blank."""
    if not first.strip():
        return None
    delimiter = max((",", ";", "\t"), key=first.count)
    return delimiter, next(csv.reader([first], delimiter=delimiter))


def _too_many_fields(expected: int, found: int) -> str:
    return f"expected {expected} fields, found {found} (check the quoting)"


def read_csv(stream: IO[bytes]) -> Iterator[RawRow]:
    """Rows of a CSV file: comma, semicolon or tab separated, quoted fields may hold newlines."""
    text = _text_stream(stream)
    found = csv_header(text.readline())
    if found is None:
        return
    delimiter, header = found
    mapping = _mapping(header)
    reader = csv.reader(text, delimiter=delimiter)
    previous_end = 1
    for values in reader:
        start = previous_end + 1
        previous_end = reader.line_num + 1
        if not values or all(not v.strip() for v in values):
            continue
        if len(values) > len(mapping) and any(v.strip() for v in values[len(mapping) :]):
            yield RawRow(start, None, _too_many_fields(len(mapping), len(values)))
            continue
        yield RawRow(start, _assign(mapping, values))


def read_jsonl(stream: IO[bytes], first_line: int = 1) -> Iterator[RawRow]:
    """Rows of a JSON Lines file: one JSON object per line."""
    return _jsonl_rows(_text_stream(stream), first_line)


def _jsonl_rows(lines: Any, first_line: int) -> Iterator[RawRow]:
    for number, line in enumerate(lines, start=first_line):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            yield RawRow(number, None, f"not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(data, dict):
            yield RawRow(number, None, "each line must be a JSON object")
            continue
        mapping = _mapping(list(data))
        yield RawRow(number, _assign(mapping, list(data.values())))


def read_rows(stream: IO[bytes], file_format: str) -> Iterator[RawRow]:
    return read_jsonl(stream) if file_format == "jsonl" else read_csv(stream)


# --- chunks --------------------------------------------------------------------------------------

# A record (line number, raw values in RAW_FIELDS order, custom attributes, error). Rejected
# records have values None and say why in error.
Record = tuple[int, tuple[Any, ...] | None, dict[str, Any] | None, str]
# Appended to a chunk that is not the file's last: read as a record of its own exactly when the
# chunk's last record ended at the chunk's end.
_SENTINEL = "\x1e\x1fend of chunk\x1f\x1e"


@dataclass
class ChunkOutcome:
    """How reading a chunk ended: cleanly at its end, or not (then it must be joined with the next)."""

    clean: bool
    error: str = ""


@dataclass(frozen=True)
class CsvLayout:
    """Where the fields are in a CSV file's rows, from its header."""

    delimiter: str
    width: int  # columns in the header; index ``width`` of a padded row is always ""
    fields: itemgetter[Any]  # padded row → values in RAW_FIELDS order
    several: tuple[tuple[int, tuple[int, ...]], ...]  # fields named by more than one column
    attributes: tuple[tuple[str, int], ...]  # custom columns: (header, index)

    @classmethod
    def from_header(cls, delimiter: str, header: list[str]) -> CsvLayout:
        columns: dict[str, list[int]] = {name: [] for name in RAW_FIELDS}
        attributes = []
        for index, (name, field) in enumerate(_mapping(header)):
            if field in columns:
                columns[field].append(index)
            elif field is None and name:
                attributes.append((name, index))
        width = len(header)
        first = [indexes[0] if indexes else width for indexes in columns.values()]
        several = tuple((position, tuple(ix)) for position, ix in enumerate(columns.values()) if len(ix) > 1)
        return cls(delimiter, width, itemgetter(*first), several, tuple(attributes))

    def record(self, values: list[str]) -> tuple[tuple[Any, ...], dict[str, Any] | None]:
        """The raw values and custom attributes of a row padded to ``width + 1`` columns."""
        raw = self.fields(values)
        if self.several:
            # The first non-empty of the columns naming one field wins, as in _assign.
            raw = list(raw)
            for position, indexes in self.several:
                raw[position] = next((values[i] for i in indexes if values[i]), "")
            raw = tuple(raw)
        if not self.attributes:
            return raw, None
        attributes: dict[str, Any] = {}
        for name, index in self.attributes:
            attributes[name] = values[index]
        return raw, attributes


def _decode(data: bytes) -> tuple[str, bool]:
    """The chunk's text, and whether some rows may hold unusable text (bad bytes or NUL)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", "surrogateescape"), True
    return text, "\x00" in text


def read_csv_chunk(layout: CsvLayout, chunk: Chunk, outcome: ChunkOutcome) -> Iterator[Record]:
    """The records of a CSV chunk; sets ``outcome`` when done."""
    text, suspect = _decode(chunk.data)
    lines: Iterator[str] = iter(io.StringIO(text, newline=""))
    if not chunk.last:
        lines = chain(lines, (_SENTINEL + "\n",))
    reader = csv.reader(lines, delimiter=layout.delimiter)
    width, padding = layout.width, [""] * (layout.width + 1)
    consumed, start = 0, chunk.first_line
    try:
        for values in reader:
            start, consumed = chunk.first_line + consumed, reader.line_num
            if consumed > chunk.lines and not chunk.last:
                outcome.clean = values == [_SENTINEL] and consumed == chunk.lines + 1
                return
            if not values or (not values[0].strip() and all(not v.strip() for v in values)):
                continue
            if len(values) > width and any(v.strip() for v in values[width:]):
                yield start, None, None, _too_many_fields(width, len(values))
                continue
            if suspect and (problem := unusable_text(values)):
                yield start, None, None, problem
                continue
            if len(values) <= width:
                values.extend(padding[len(values) :])
            raw, attributes = layout.record(values)
            yield start, raw, attributes, ""
    except csv.Error as exc:
        outcome.error = f"line {start}: {exc}"
        return
    outcome.clean = True


def read_jsonl_chunk(chunk: Chunk, outcome: ChunkOutcome) -> Iterator[Record]:
    """The records of a JSON Lines chunk (every line stands alone: a chunk always ends cleanly)."""
    text, _ = _decode(chunk.data)
    for row in _jsonl_rows(io.StringIO(text, newline=""), chunk.first_line):
        if row.values is None:
            yield row.line, None, None, row.error
            continue
        problem = unusable_text(row.values.values())  # attribute names and values included
        if problem:
            yield row.line, None, None, problem
            continue
        yield row.line, tuple(row.values.get(name) for name in RAW_FIELDS), row.values.get("attributes"), ""
    outcome.clean = True
