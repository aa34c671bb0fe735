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

_worker_normalizer: RowNormalizer | None = None


def _init_worker(normalizer: RowNormalizer) -> None:
    global _worker_normalizer  # noqa: PLW0603 - one normalizer per worker process
    _worker_normalizer = normalizer


def _normalize_chunk(chunk: list[RawRow]) -> list[RowResult]:
    assert _worker_normalizer is not None
    return normalize_rows(_worker_normalizer, chunk)


def normalize_rows(normalizer: RowNormalizer, chunk: Iterable[RawRow]) -> list[RowResult]:
    results = []
    for raw in chunk:
        if raw.values is None:
            results.append(RowResult(None, [Issue(raw.line, "error", "", raw.error)]))
        else:
            results.append(normalizer(raw.line, raw.values))
    return results


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
        self.rows: list[StagedValues] = []
        self.issues: list[Issue] = []

    def add(self, result: RowResult) -> None:
        if result.staged is not None:
            self.rows.append(result.staged)
        self.issues.extend(result.issues)
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
                        line=i.line,
                        severity=i.severity,
                        field=i.field,
                        message=i.message,
                        value=i.value,
                    )
                    for i in self.issues
                )
        self.rows.clear()
        self.issues.clear()

    def _copy_rows(self) -> None:
        columns = ("customer_import_id", "cluster", "new_customer", "in_group", *STAGED_COLUMNS)
        json_positions = [i for i, name in enumerate(STAGED_COLUMNS) if name in _JSON_COLUMNS]
        sql = f"COPY {StagedRow._meta.db_table} ({', '.join(columns)}) FROM STDIN"  # noqa: S608 - fixed names
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for row in self.rows:
                values: list[Any] = list(astuple(row))
                for position in json_positions:
                    values[position] = json.dumps(values[position], ensure_ascii=False)
                copy.write_row((self.import_id, row.line, False, False, *values))

    def _insert_rows(self) -> None:
        StagedRow.objects.bulk_create(
            (StagedRow(customer_import_id=self.import_id, cluster=row.line, **row.__dict__) for row in self.rows),
            batch_size=500,
        )


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
            for results in pool.imap(_normalize_chunk, chunks, chunksize=1):
                _collect(results, counts, writer, on_chunk)
    else:
        for chunk in chunks:
            _collect(normalize_rows(normalizer, chunk), counts, writer, on_chunk)
    writer.flush()
    return counts


def _collect(results: list[RowResult], counts: StagingCounts, writer: _StagingWriter, on_chunk: Any) -> None:
    for result in results:
        counts.rows += 1
        if result.staged is None:
            counts.rejected += 1
        counts.warnings += sum(1 for issue in result.issues if issue.severity == "warning")
        writer.add(result)
    if on_chunk is not None:
        on_chunk(counts)
