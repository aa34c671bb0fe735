"""Read and validate an import file (in worker processes when it is big) into a staging table.

The main process cuts the file into chunks (chunks.py) and writes what comes back; worker
processes (processes.py) read, validate and format their chunk's rows as COPY text, so the main
process never touches a row.
Results are written in file order; a chunk whose cut fell inside a quoted field is joined with
the next one and read again. Valid rows go to a temporary table on the import's own database
connection (PostgreSQL: COPY), or, for a first import on PostgreSQL, straight into the customer
table (``DirectLoad``); problems go to ``ImportIssue``. Memory stays constant: a few
chunks are in flight at a time.
"""

from __future__ import annotations

import json
from array import array
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import IO, Any, Protocol

from django.db import connection

from breachcomms.incidents.risk import RiskRules
from breachcomms.recipients.chunks import CHUNK_BYTES, Chunk, cut_chunks, read_header
from breachcomms.recipients.models import Customer, ImportIssue
from breachcomms.recipients.processes import Processes
from breachcomms.recipients.readers import (
    ChunkOutcome,
    CsvLayout,
    Record,
    csv_header,
    read_csv_chunk,
    read_jsonl_chunk,
)
from breachcomms.recipients.rows import RowNormalizer, Staged
from breachcomms.recipients.sieve import LoadNotes, email_hash, phone_hash

STAGING = "breachcomms_import_rows"
STAGED_COLUMNS = (
    "line",
    "name",
    "email",
    "phone",
    "country",
    "subdivision",
    "locale",
    "language",
    "time_zone",
    "external_refs",
    "accounts",
    "exposure_flags",
    "attributes",
)
# A first import's rows go straight into the customer table (DirectLoad), in these columns.
DIRECT_COLUMNS = (
    "id",
    "incident_id",
    *STAGED_COLUMNS[1:-2],
    "exposure_flags",
    "risk_tier",
    "risk_basis_flags",
    "attributes",
)  # created_at and updated_at: the database's default (the COPY's time)
IssueRow = tuple[int, str, str, str, str]


class ImportFileError(ValueError):
    """The file cannot be read on from some point (the message says where and why)."""


def create_staging_table() -> None:
    """A temporary table for this connection's import: no WAL, no indexes, gone with the session."""
    json_type = "jsonb" if connection.vendor == "postgresql" else "text"
    types = ["integer", *["text"] * 8, json_type, json_type, "bigint", json_type]
    columns = ", ".join(f"{name} {kind} NOT NULL" for name, kind in zip(STAGED_COLUMNS, types, strict=True))
    # The keys rows are compared by, computed by the database while the file is still being read.
    # NULL, not "", where a row has no such contact: a quarter of a file may lack one, and "" as the
    # most common value made the planner expect a billion matches between a file and an incident's
    # customers and choose index probes per row over a hash join (9 s against 2.5 s for a million).
    columns += ", email_key text GENERATED ALWAYS AS (NULLIF(lower(email), '')) STORED"
    columns += ", phone_key text GENERATED ALWAYS AS (NULLIF(phone, '')) STORED"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGING}")
        cursor.execute(f"CREATE TEMPORARY TABLE {STAGING} ({columns})")


def drop_staging_table() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGING}")


# --- one chunk, in a worker ----------------------------------------------------------------------


@dataclass
class ChunkResult:
    """A chunk's outcome, cheap to send back from a worker: COPY text (or rows) and issue tuples."""

    payload: bytes | list[tuple[Any, ...]]
    issues: list[IssueRow]
    read: int
    rejected: int
    warnings: int
    clean: bool
    error: str = ""
    keys: array | None = None  # a direct load's line, hash pairs for the KeySieve
    several_refs: list[int] = field(default_factory=list)  # a direct load's lines with several references


@dataclass(frozen=True)
class DirectLoad:
    """A first import on PostgreSQL: every valid row becomes customer ``base + line`` as it is read.

    The merge then removes the rows that turn out to belong to another row's customer
    (merging.merge_staged); the import's transaction hides all of it until it commits.
    """

    incident_id: int
    base: int
    rules: RiskRules


@dataclass(frozen=True)
class StagingJob:
    """What a worker needs to read chunks of one file."""

    normalizer: RowNormalizer
    layout: CsvLayout | None  # None for JSON Lines
    copy_text: bool  # PostgreSQL COPY text; else row tuples
    direct: DirectLoad | None = None

    @cached_property
    def direct_lines(self) -> DirectLines:
        """The direct load's line formatter, made in the worker on its first chunk."""
        assert self.direct is not None
        return DirectLines(self.direct)


def _plain_json_string(text: str) -> bool:
    """Whether ``text`` is its own JSON string body: no quote, backslash or control character.

    ``in`` and str.isprintable are C scans of the string; a regex character class search cost ten
    times more, on every row. (Some printable-looking characters fail isprintable, such as U+2028;
    those take json.dumps, which is right for every string, only slower.)
    """
    return '"' not in text and "\\" not in text and text.isprintable()


def _json_list(items: list[str]) -> str:
    if len(items) == 1:
        item = items[0]
        return f'["{item}"]' if _plain_json_string(item) else json.dumps(items, ensure_ascii=False)
    if not items:
        return "[]"
    if not _plain_json_string("".join(items)):
        return json.dumps(items, ensure_ascii=False)
    return '["' + '", "'.join(items) + '"]'


def _json_dict(values: dict[str, str]) -> str:
    return json.dumps(values, ensure_ascii=False) if values else "{}"


def staged_tuple(staged: Staged) -> tuple[Any, ...]:
    """The staged values in STAGED_COLUMNS order, JSON columns encoded."""
    values = list(staged)
    values[9], values[10], values[12] = _json_list(staged[9]), _json_list(staged[10]), _json_dict(staged[12])
    return tuple(values)


def _copy_text(text: str) -> str:
    """COPY text of values joined by NUL: NUL cannot occur (such rows are rejected), so it stands for the
    column separator while the special characters of all the values are escaped in one pass (looked
    for with ``in``, as in _plain_json_string)."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text.replace("\x00", "\t")


def copy_line(staged: Staged) -> str:
    """One line of PostgreSQL COPY text format (without its newline)."""
    line, name, email, phone, country, subdivision, locale, language, zone, refs, accounts, flags, attributes = staged
    return _copy_text(
        "\x00".join(
            (
                str(line),
                name,
                email,
                phone,
                country,
                subdivision,
                locale,
                language,
                zone,
                _json_list(refs),
                _json_list(accounts),
                str(flags),
                _json_dict(attributes),
            )
        )
    )


class DirectLines:
    """COPY text lines (without their newline) for the customer table, in DIRECT_COLUMNS order.

    One per worker and load: what every line of the load shares is formatted once, and the risk
    tier of each distinct set of exposures is decided once.
    """

    def __init__(self, load: DirectLoad) -> None:
        self.base = load.base
        self.rules = load.rules
        self.incident = str(load.incident_id)
        self._risk: dict[int, str] = {}  # exposure flags → "flags NUL tier NUL basis"

    def __call__(self, staged: Staged) -> str:
        line, name, email, phone, country, subdivision, locale, language, zone, refs, accounts, flags, attrs = staged
        risk = self._risk.get(flags)
        if risk is None:
            if len(self._risk) >= 4096:
                self._risk.clear()
            tier, basis = self.rules.classify(flags)
            risk = self._risk[flags] = f"{flags}\x00{tier!s}\x00{basis}"
        return _copy_text(
            f"{self.base + line}\x00{self.incident}\x00{name}\x00{email}\x00{phone}\x00{country}\x00"
            f"{subdivision}\x00{locale}\x00{language}\x00{zone}\x00{_json_list(refs)}\x00{_json_list(accounts)}\x00"
            f"{risk}\x00{_json_dict(attrs)}"
        )


def stage_chunk(job: StagingJob, chunk: Chunk) -> ChunkResult:
    """Read, validate and format the rows of one chunk."""
    outcome = ChunkOutcome(clean=chunk.last)
    records: Iterator[Record] = (
        read_csv_chunk(job.layout, chunk, outcome) if job.layout else read_jsonl_chunk(chunk, outcome)
    )
    normalize = job.normalizer.normalize
    lines: list[Any] = []
    issues: list[IssueRow] = []
    read = rejected = warnings = 0
    output: Callable[[Staged], Any] = copy_line if job.copy_text else staged_tuple
    keys, several_refs = None, []
    if job.direct is not None:
        output = job.direct_lines
        keys = array("q")
    for line, raw, attributes, error in records:
        read += 1
        if raw is None:
            rejected += 1
            issues.append((line, "error", "", error, ""))
            continue
        staged, row_issues = normalize(line, raw, attributes)
        if staged is None:
            rejected += 1
        else:
            lines.append(output(staged))
            if keys is not None:
                if email := staged[2]:
                    keys.extend((line, email_hash(email)))
                if phone := staged[3]:
                    keys.extend((line, phone_hash(phone)))
                if len(staged[9]) > 1:
                    several_refs.append(line)
        for issue in row_issues:
            warnings += issue.severity == "warning"
            issues.append((issue.line, issue.severity, issue.field, issue.message, issue.value))
    payload: bytes | list[Any] = lines
    if job.copy_text:
        payload = ("\n".join(lines) + "\n").encode() if lines else b""
    return ChunkResult(payload, issues, read, rejected, warnings, outcome.clean, outcome.error, keys, several_refs)


# --- the file, in order --------------------------------------------------------------------------


class _Pending(Protocol):
    def get(self) -> ChunkResult: ...


@dataclass
class _Done:
    result: ChunkResult

    def get(self) -> ChunkResult:
        return self.result


def in_order(
    chunks: Iterator[Chunk], submit: Callable[[Chunk], _Pending], window: int
) -> Iterator[tuple[Chunk, ChunkResult]]:
    """Each chunk with its result, in file order; unclean chunks are joined with the next and redone."""
    in_flight: deque[tuple[Chunk, _Pending]] = deque()

    def top_up() -> None:
        while len(in_flight) < window and (chunk := next(chunks, None)) is not None:
            in_flight.append((chunk, submit(chunk)))

    top_up()
    while in_flight:
        chunk, pending = in_flight.popleft()
        result = pending.get()
        if not result.clean and not result.error:
            if not in_flight:
                window += 1
                top_up()
            following, _ = in_flight.popleft()  # read from a wrong start: its result is dropped
            joined = chunk.followed_by(following)
            in_flight.appendleft((joined, submit(joined)))
            continue
        if result.error:
            raise ImportFileError(result.error)
        yield chunk, result
        top_up()


@dataclass
class StagingCounts:
    rows: int = 0
    rejected: int = 0
    warnings: int = 0
    bytes_read: int = 0
    chunks: int = 0
    notes: LoadNotes | None = None  # a direct load's rows that may have a twin, … (sieve.py)


class _StagingWriter:
    """Writes chunk results to the staging table and the issue table."""

    def __init__(self, customer_import_id: int, direct: bool = False) -> None:
        self.import_id = customer_import_id
        self.issues: list[IssueRow] = []
        columns = ", ".join(STAGED_COLUMNS)
        self.copy_sql = f"COPY {STAGING} ({columns}) FROM STDIN"
        if direct:
            self.copy_sql = f"COPY {Customer._meta.db_table} ({', '.join(DIRECT_COLUMNS)}) FROM STDIN"
        placeholders = ", ".join(["%s"] * len(STAGED_COLUMNS))
        self.insert_sql = f"INSERT INTO {STAGING} ({columns}) VALUES ({placeholders})"  # noqa: S608 - fixed names

    def add(self, result: ChunkResult) -> None:
        if result.payload:
            with connection.cursor() as cursor:
                if isinstance(result.payload, bytes):
                    with cursor.cursor.copy(self.copy_sql) as copy:
                        copy.write(result.payload)
                else:
                    cursor.executemany(self.insert_sql, result.payload)
        self.issues.extend(result.issues)
        if len(self.issues) >= 5000:
            self.flush()

    def flush(self) -> None:
        ImportIssue.objects.bulk_create(
            ImportIssue(
                customer_import_id=self.import_id, line=line, severity=severity, field=name, message=text, value=value
            )
            for line, severity, name, text, value in self.issues
        )
        self.issues.clear()


def job_and_chunks(
    stream: IO[bytes], file_format: str, normalizer: RowNormalizer, chunk_bytes: int, direct: DirectLoad | None
) -> tuple[StagingJob, Iterator[Chunk], int]:
    """The job for the workers, the file's chunks, and the bytes read for the header."""
    copy_text = connection.vendor == "postgresql"
    if file_format == "jsonl":
        head, rest = read_header(stream)  # only to drop a byte order mark: the first line is a row
        chunks = cut_chunks(stream, first_line=1, head=head + rest, quoted=False, size=chunk_bytes)
        return StagingJob(normalizer, None, copy_text, direct), chunks, 0
    header, rest = read_header(stream)
    found = csv_header(header.decode("utf-8", "surrogateescape"))
    if found is None:
        return StagingJob(normalizer, None, copy_text, direct), iter(()), len(header)
    layout = CsvLayout.from_header(*found)
    chunks = cut_chunks(stream, first_line=2, head=rest, quoted=True, size=chunk_bytes)
    return StagingJob(normalizer, layout, copy_text, direct), chunks, len(header)


def stage_file(
    *,
    customer_import_id: int,
    stream: IO[bytes],
    file_format: str,
    normalizer: RowNormalizer,
    processes: int,
    on_chunk: Callable[[StagingCounts], None] | None = None,
    chunk_bytes: int | None = None,
    direct: DirectLoad | None = None,
) -> StagingCounts:
    """Read, validate and stage every row of ``stream`` into the staging table (create it first).

    With ``direct`` (PostgreSQL), rows go straight into the customer table instead.
    """
    counts = StagingCounts(notes=LoadNotes() if direct is not None else None)
    writer = _StagingWriter(customer_import_id, direct=direct is not None)
    job, chunks, counts.bytes_read = job_and_chunks(stream, file_format, normalizer, chunk_bytes or CHUNK_BYTES, direct)
    if processes > 1:
        with Processes(processes, partial(stage_chunk, job)) as pool:
            results = in_order(chunks, pool.submit, 3 * processes)
            _collect(results, counts, writer, on_chunk)
    else:
        _collect(in_order(chunks, lambda c: _Done(stage_chunk(job, c)), 1), counts, writer, on_chunk)
    writer.flush()
    return counts


def _collect(
    results: Iterator[tuple[Chunk, ChunkResult]],
    counts: StagingCounts,
    writer: _StagingWriter,
    on_chunk: Callable[[StagingCounts], None] | None,
) -> None:
    for chunk, result in results:
        counts.rows += result.read
        counts.rejected += result.rejected
        counts.warnings += result.warnings
        counts.bytes_read += len(chunk.data)
        counts.chunks += 1
        writer.add(result)
        if counts.notes is not None and result.keys is not None:
            counts.notes.sieve.add(result.keys)
            counts.notes.several_refs += result.several_refs
        if on_chunk is not None:
            on_chunk(counts)
