"""Streaming readers for customer files: CSV (any common dialect) and JSON Lines.

They yield one ``RawRow`` per record with the line number the record starts on, in constant
memory, and count the bytes consumed so callers can show progress.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from breachcomms.recipients.rows import canonical_field

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


def read_csv(stream: IO[bytes]) -> Iterator[RawRow]:
    """Rows of a CSV file: comma, semicolon or tab separated, quoted fields may hold newlines."""
    text = _text_stream(stream)
    first = text.readline()
    if not first.strip():
        return
    delimiter = max((",", ";", "\t"), key=first.count)
    header = next(csv.reader([first], delimiter=delimiter))
    mapping = _mapping(header)
    reader = csv.reader(text, delimiter=delimiter)
    previous_end = 1
    for values in reader:
        start = previous_end + 1
        previous_end = reader.line_num + 1
        if not values or all(not v.strip() for v in values):
            continue
        if len(values) > len(mapping) and any(v.strip() for v in values[len(mapping) :]):
            yield RawRow(start, None, f"expected {len(mapping)} fields, found {len(values)} (check the quoting)")
            continue
        yield RawRow(start, _assign(mapping, values))


def read_jsonl(stream: IO[bytes]) -> Iterator[RawRow]:
    """Rows of a JSON Lines file: one JSON object per line."""
    text = _text_stream(stream)
    for number, line in enumerate(text, start=1):
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
