"""Validate an import file's rows (in worker processes when it is big) into the staging table.

Valid rows go to ``StagedRow`` (PostgreSQL: COPY; otherwise bulk inserts); problems go to
``ImportIssue``. Memory stays constant: rows flow through in chunks.
"""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Iterable, Iterator
from dataclasses import astuple, dataclass
from itertools import islice
from typing import IO, Any

from django.db import connection, transaction

from breachcomms.recipients.models import ImportIssue, StagedRow
from breachcomms.recipients.readers import RawRow, read_rows
from breachcomms.recipients.rows import Issue, RowNormalizer, RowResult, StagedValues

CHUNK_ROWS = 2000
STAGED_COLUMNS = tuple(f for f in StagedValues.__dataclass_fields__)
_JSON_COLUMNS = {"external_refs", "accounts", "attributes"}
_JSON_POSITIONS = [i for i, name in enumerate(STAGED_COLUMNS) if name in _JSON_COLUMNS]

_worker_normalizer: RowNormalizer | None = None


def _init_worker(normalizer: RowNormalizer) -> None:
    global _worker_normalizer  # noqa: PLW0603 - one normalizer per worker process
    _worker_normalizer = normalizer


def _normalize_chunk(chunk: list[RawRow]) -> ChunkResult:
    assert _worker_normalizer is not None
    return normalize_chunk(_worker_normalizer, chunk)


@dataclass
class ChunkResult:
    """A chunk's outcome in plain tuples: cheap to send back from a worker process."""

    rows: list[tuple[Any, ...]]  # STAGED_COLUMNS order, JSON columns already encoded
    issues: list[tuple[int, str, str, str, str]]
    read: int
    rejected: int
    warnings: int


def normalize_chunk(normalizer: RowNormalizer, chunk: Iterable[RawRow]) -> ChunkResult:
    """Normalize raw rows into staging tuples and issue tuples."""
    result = ChunkResult([], [], 0, 0, 0)
    for raw in chunk:
        result.read += 1
        if raw.values is None:
            outcome = RowResult(None, [Issue(raw.line, "error", "", raw.error)])
        else:
            outcome = normalizer(raw.line, raw.values)
        if outcome.staged is None:
            result.rejected += 1
        else:
            values = list(astuple(outcome.staged))
            for position in _JSON_POSITIONS:
                values[position] = json.dumps(values[position], ensure_ascii=False)
            result.rows.append(tuple(values))
        for issue in outcome.issues:
            if issue.severity == "warning":
                result.warnings += 1
            result.issues.append((issue.line, issue.severity, issue.field, issue.message, issue.value))
    return result


def _chunks(rows: Iterator[RawRow], size: int) -> Iterator[list[RawRow]]:
    while chunk := list(islice(rows, size)):
        yield chunk


@dataclass
class StagingCounts:
    rows: int = 0
    rejected: int = 0
    warnings: int = 0


class _StagingWriter:
    """Buffers staged rows and issues and flushes them in batches."""

    def __init__(self, customer_import_id: int) -> None:
        self.import_id = customer_import_id
        self.rows: list[tuple[Any, ...]] = []
        self.issues: list[tuple[int, str, str, str, str]] = []

    def add(self, chunk: ChunkResult) -> None:
        self.rows.extend(chunk.rows)
        self.issues.extend(chunk.issues)
        if len(self.rows) >= 20_000 or len(self.issues) >= 5_000:
            self.flush()

    def flush(self) -> None:
        with transaction.atomic():
            if self.rows:
                if connection.vendor == "postgresql":
                    self._copy_rows()
                else:
                    self._insert_rows()
            if self.issues:
                ImportIssue.objects.bulk_create(
                    ImportIssue(
                        customer_import_id=self.import_id,
                        line=line,
                        severity=severity,
                        field=field,
                        message=message,
                        value=value,
                    )
                    for line, severity, field, message, value in self.issues
                )
        self.rows.clear()
        self.issues.clear()

    def _copy_rows(self) -> None:
        columns = ("customer_import_id", "cluster", *STAGED_COLUMNS)
        sql = f"COPY {StagedRow._meta.db_table} ({', '.join(columns)}) FROM STDIN"  # noqa: S608 - fixed names
        prefix = (self.import_id,)
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for row in self.rows:
                copy.write_row((*prefix, row[0], *row))

    def _insert_rows(self) -> None:
        objects = []
        for row in self.rows:
            values = dict(zip(STAGED_COLUMNS, row, strict=True))
            for name in _JSON_COLUMNS:
                values[name] = json.loads(values[name])
            objects.append(StagedRow(customer_import_id=self.import_id, cluster=values["line"], **values))
        StagedRow.objects.bulk_create(objects, batch_size=500)


def stage_rows(
    *,
    customer_import_id: int,
    stream: IO[bytes],
    file_format: str,
    normalizer: RowNormalizer,
    processes: int,
    on_chunk: Any = None,
) -> StagingCounts:
    """Read, validate and stage every row of ``stream``; call ``on_chunk(counts)`` as it goes."""
    counts = StagingCounts()
    writer = _StagingWriter(customer_import_id)
    chunks = _chunks(read_rows(stream, file_format), CHUNK_ROWS)
    if processes > 1:
        context = multiprocessing.get_context("fork")
        with context.Pool(processes, initializer=_init_worker, initargs=(normalizer,)) as pool:
            for result in pool.imap(_normalize_chunk, chunks, chunksize=1):
                _collect(result, counts, writer, on_chunk)
    else:
        for chunk in chunks:
            _collect(normalize_chunk(normalizer, chunk), counts, writer, on_chunk)
    writer.flush()
    return counts


def _collect(result: ChunkResult, counts: StagingCounts, writer: _StagingWriter, on_chunk: Any) -> None:
    counts.rows += result.read
    counts.rejected += result.rejected
    counts.warnings += result.warnings
    writer.add(result)
    if on_chunk is not None:
        on_chunk(counts)
