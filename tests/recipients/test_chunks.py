"""Reading a file in chunks gives exactly the rows, line numbers and rejections of reading it whole."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from breachcomms.recipients.chunks import Chunk, count_lines, cut_chunks, read_header
from breachcomms.recipients.readers import (
    ChunkOutcome,
    CsvLayout,
    Record,
    csv_header,
    read_csv,
    read_csv_chunk,
    read_jsonl,
    read_jsonl_chunk,
)
from breachcomms.recipients.rows import RAW_FIELDS, unusable_text
from breachcomms.recipients.staging import ImportFileError, in_order


def _comparable(raw: tuple[Any, ...] | None, attributes: dict[str, Any] | None) -> Any:
    # A missing field and an empty one mean the same to the normalizer.
    if raw is None:
        return None
    values = tuple("" if value is None else value for value in raw)
    return values, {k: v for k, v in (attributes or {}).items() if v != ""}


def _records_whole(data: bytes, file_format: str = "csv") -> list[tuple[int, Any, str]]:
    """What the streaming reader makes of the file: (line, values, error) per record."""
    reader = read_jsonl if file_format == "jsonl" else read_csv
    rows = []
    for row in reader(io.BytesIO(data)):
        if row.values is not None and (problem := unusable_text(row.values.values())):
            # The normalizer rejects such rows; the chunk readers already do.
            rows.append((row.line, None, problem))
            continue
        raw = tuple(row.values.get(name) for name in RAW_FIELDS) if row.values is not None else None
        attributes = row.values.get("attributes") if row.values is not None else None
        rows.append((row.line, _comparable(raw, attributes), row.error))
    return rows


class _Read:
    """A chunk read at once, shaped like a worker's result for in_order."""

    def __init__(self, read: Any, chunk: Chunk) -> None:
        outcome = ChunkOutcome(clean=chunk.last)
        self.records: list[Record] = list(read(chunk, outcome))
        self.clean, self.error = outcome.clean, outcome.error

    def get(self) -> _Read:
        return self


def _records_chunked(data: bytes, size: int, file_format: str = "csv") -> tuple[list[tuple[int, Any, str]], int]:
    """The same through chunks of about ``size`` bytes; also how many chunks were read."""
    stream = io.BytesIO(data)
    header, rest = read_header(stream)
    if file_format == "jsonl":
        chunks = cut_chunks(stream, first_line=1, head=header + rest, quoted=False, size=size)

        def read(chunk: Chunk, outcome: ChunkOutcome) -> Iterator[Record]:
            return read_jsonl_chunk(chunk, outcome)
    else:
        found = csv_header(header.decode("utf-8", "surrogateescape"))
        if found is None:
            return [], 0
        layout = CsvLayout.from_header(*found)
        chunks = cut_chunks(stream, first_line=2, head=rest, quoted=True, size=size)

        def read(chunk: Chunk, outcome: ChunkOutcome) -> Iterator[Record]:
            return read_csv_chunk(layout, chunk, outcome)

    rows, count = [], 0
    for _, result in in_order(chunks, lambda chunk: _Read(read, chunk), 3):  # type: ignore[arg-type,return-value]
        count += 1
        for line, raw, attributes, error in result.records:  # type: ignore[attr-defined]
            rows.append((line, _comparable(raw, attributes), error))
    return rows, count


def test_quoted_newlines_across_a_chunk_boundary_keep_rows_and_line_numbers() -> None:
    content = (
        b"name,email,notes\r\n"
        b'Anna,anna@example.se,"first line\r\nsecond line\r\nthird, with comma"\r\n'
        b'Bo,bo@example.se,"a ""quoted"" word\non two lines"\r\n'
        b"Cia,cia@example.se,plain\r\n"
    )
    whole = _records_whole(content)
    assert [line for line, _, _ in whole] == [2, 5, 7]
    for size in range(1, len(content) + 2):
        chunked, _ = _records_chunked(content, size)
        assert chunked == whole, size


def test_a_stray_quote_makes_the_reader_join_chunks_until_the_rows_are_right() -> None:
    # The quote in 'O"Brien' is literal (it is not at a field's start), so counting quotes to find
    # a safe cut is wrong here: the chunk that starts after a bad cut is detected and read again.
    lines = ['Sean O"Brien,sean@example.ie,"x', 'y",z'] + [f"P{i},p{i}@example.com,n" for i in range(40)]
    content = ("name,email,notes\n" + "\n".join(lines) + "\n").encode()
    whole = _records_whole(content)
    for size in (8, 16, 32, 64, 100):
        chunked, _ = _records_chunked(content, size)
        assert chunked == whole, size


def test_a_file_without_a_final_newline_and_with_only_carriage_returns() -> None:
    mac = b"name,email\rA,a@example.com\rB,b@example.com\r,\rC,c@example.com"
    whole = _records_whole(mac)
    assert [line for line, _, _ in whole] == [2, 3, 5]
    for size in (1, 5, 13, 1000):
        assert _records_chunked(mac, size)[0] == whole


def test_a_byte_order_mark_and_a_bad_byte_in_one_chunk_only_reject_that_row() -> None:
    content = b"\xef\xbb\xbfname;email\nA;a@example.com\nB;b\xff@example.com\nC;c@example.com\n"
    whole = _records_whole(content)
    chunked, count = _records_chunked(content, 16)
    assert chunked == whole
    assert count > 1
    assert whole[1][1] is None  # the row with the bad byte: rejected, the others read
    assert [line for line, _, _ in chunked] == [2, 3, 4]


def test_a_field_over_the_size_limit_stops_the_import_with_its_line() -> None:
    content = b"name,email\nA,a@example.com\n" + b'"' + b"x" * (1024 * 1024 + 10) + b'",b@example.com\n'
    with pytest.raises(ImportFileError, match="line 3"):
        _records_chunked(content, 4096)


def test_json_lines_in_chunks_keep_line_numbers() -> None:
    content = b'\xef\xbb\xbf{"email": "a@example.com"}\n\n{broken\r\n{"email": "b@example.com", "x": 1}\n'
    whole = _records_whole(content, "jsonl")
    assert [line for line, _, _ in whole] == [1, 3, 4]
    for size in (1, 7, 30, 1000):
        assert _records_chunked(content, size, "jsonl")[0] == whole


def test_chunks_end_after_a_line_break_and_count_their_lines() -> None:
    content = b"a,b\r\n" * 50 + b"c,d\n" * 50
    chunks = list(cut_chunks(io.BytesIO(content), first_line=2, quoted=True, size=64))
    assert b"".join(c.data for c in chunks) == content
    assert all(c.data.endswith(b"\n") for c in chunks)
    assert [c.last for c in chunks] == [False] * (len(chunks) - 1) + [True]
    assert chunks[-1].first_line + chunks[-1].lines == 2 + count_lines(content)


FIELD = st.text(alphabet='ab ,;"\r\n\xe9\t', max_size=6)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.lists(FIELD, min_size=1, max_size=4), max_size=12),
    quote_all=st.booleans(),
    line_break=st.sampled_from(["\n", "\r\n", "\r"]),
    delimiter=st.sampled_from([",", ";"]),
    size=st.integers(min_value=1, max_value=80),
)
def test_any_csv_reads_the_same_in_chunks_as_whole(
    rows: list[list[str]], quote_all: bool, line_break: str, delimiter: str, size: int
) -> None:
    def cell(value: str) -> str:
        if quote_all or any(c in value for c in f'"{delimiter}\r\n'):
            return '"' + value.replace('"', '""') + '"'
        return value

    header = delimiter.join(["name", "email", "phone", "extra"])
    text = header + line_break + "".join(delimiter.join(cell(v) for v in row) + line_break for row in rows)
    content = text.encode()
    assert _records_chunked(content, size)[0] == _records_whole(content)


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=300), size=st.integers(min_value=1, max_value=64))
def test_even_malformed_bytes_read_the_same_in_chunks_as_whole(raw: bytes, size: int) -> None:
    content = b"name,email,x\n" + raw
    assert _records_chunked(content, size)[0] == _records_whole(content)
