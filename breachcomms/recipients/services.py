"""Writes for customers: creating and running imports, re-tiering after a rule change."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import IO, Any

from django.conf import settings
from django.core.files.base import File
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from breachcomms.audit.models import Action
from breachcomms.audit.services import audit_record
from breachcomms.core.progress import ProgressReporter, null_progress
from breachcomms.core.timing import PhaseTimer
from breachcomms.incidents.models import Incident
from breachcomms.incidents.risk import RiskRules, validate_risk_rules
from breachcomms.recipients.encodings import as_utf8
from breachcomms.recipients.folding import KeptApart
from breachcomms.recipients.merging import CUSTOMER, MergeResult, direct_load_begin, merge_staged, tier_sql
from breachcomms.recipients.models import CustomerImport, CustomerKey, ImportIssue
from breachcomms.recipients.readers import detect_format
from breachcomms.recipients.rows import RowNormalizer
from breachcomms.recipients.staging import (
    DirectLoad,
    ImportFileError,
    StagingCounts,
    create_staging_table,
    drop_staging_table,
    stage_file,
)

logger = logging.getLogger(__name__)

# A running import whose heartbeat is older than this lost its worker and may be restarted.
IMPORT_LEASE = timedelta(minutes=5)
# A first import on PostgreSQL loads its rows as customers while the file is read (_import_directly);
# ``bench_import --staged`` turns that off to compare with staging every import.
DIRECT_LOAD = True


def customer_import_create(
    *, incident: Incident, stream: IO[bytes], name: str, uploaded_by: Any = None, encoding: str = ""
) -> CustomerImport:
    """Store an uploaded customer file and register its import (run it with customer_import_run).

    A file in another encoding than UTF-8 (UTF-16 by its byte order mark, or the ``encoding`` the
    uploader names) is stored converted to UTF-8; EncodingError if that cannot be done.
    """
    with as_utf8(stream, encoding) as (stream, source):
        head = stream.read(4096)
        stream.seek(0)
        customer_import = CustomerImport(
            incident=incident,
            original_name=name[:255],
            format=detect_format(name, head),
            encoding=source,
            uploaded_by=uploaded_by if getattr(uploaded_by, "is_authenticated", False) else None,
        )
        customer_import.file.save(name, File(stream, name=name), save=False)
    customer_import.size_bytes = customer_import.file.size
    customer_import.save()
    return customer_import


def _claim(customer_import_id: int) -> bool:
    """Take the import for this worker: pending, or running with a stale heartbeat."""
    now = timezone.now()
    claimed = CustomerImport.objects.filter(
        Q(status=CustomerImport.Status.PENDING)
        | Q(status=CustomerImport.Status.RUNNING, heartbeat_at__lt=now - IMPORT_LEASE),
        id=customer_import_id,
    ).update(status=CustomerImport.Status.RUNNING, started_at=now, heartbeat_at=now, phase="reading")
    return claimed == 1


def customer_import_run(
    *,
    customer_import_id: int,
    progress: ProgressReporter = null_progress,
    processes: int | None = None,
    timer: PhaseTimer | None = None,
) -> CustomerImport | None:
    """Validate, stage and merge an import's rows. Harmless to call twice: only one run claims it.

    ``timer``, if given, receives the seconds each phase took.
    """
    if not _claim(customer_import_id):
        logger.info("import %s is taken or finished; nothing to do", customer_import_id)
        return None
    customer_import = CustomerImport.objects.select_related("incident").get(id=customer_import_id)
    _audit(Action.CUSTOMER_IMPORT_STARTED, customer_import)
    # A run that died left its issues behind (its staging table died with its connection).
    ImportIssue.objects.filter(customer_import=customer_import).delete()
    timer = timer if timer is not None else PhaseTimer()
    rules = RiskRules.from_json(customer_import.incident.risk_rules)
    try:
        if not _import_directly(customer_import, rules, progress, processes, timer):
            create_staging_table()
            with timer("read and validate"):
                counts = _stage(customer_import, progress, processes)
            progress(customer_import.size_bytes, customer_import.size_bytes, f"{counts.rows:,} rows, merging")
            _set_phase(customer_import, "merging")
            with transaction.atomic():
                _tune_merge_transaction()
                result = merge_staged(customer_import.incident_id, rules)
                _finish(customer_import, counts, result)
            timer.seconds.update(result.timings)
    except Exception as exc:
        logger.exception("import %s failed", customer_import_id)
        message = str(exc) if isinstance(exc, ImportFileError) else f"{type(exc).__name__}: {exc}"
        CustomerImport.objects.filter(id=customer_import.id).update(
            status=CustomerImport.Status.FAILED, error=message, finished_at=timezone.now()
        )
        raise
    finally:
        with contextlib.suppress(DatabaseError):  # a lost connection took the table with it
            drop_staging_table()
    with timer("vacuum"):
        _vacuum_customers()
    logger.info("import %s: %s", customer_import_id, timer)
    return customer_import


# The customer columns queries select, group or join customers by: the planner's statistics are
# gathered for these only. Names, JSON columns and the lookup indexes' expressions are compared by
# equality through an index or not at all. ANALYZE of a million customers (on a copy of the table
# with its indexes): 0.52–0.58 s with every column and index expression, 0.34 s with these.
ESTIMATED_COLUMNS = (
    "incident_id",
    "country",
    "subdivision",
    "language",
    "locale",
    "time_zone",
    "risk_tier",
    "exposure_flags",
    "email",
    "phone",
)


def _vacuum_customers() -> None:
    """Mark the pages just written as visible to all and refresh the planner's statistics.

    Until a page is marked so, every query reads each of its rows to learn whether it may see it:
    segment counts of a million fresh customers took 1.6 s instead of 0.2 s. Autovacuum would get to
    it eventually (where it is on); the import's own VACUUM reads only the pages not yet marked.
    VACUUM cannot run inside a transaction, so an import run inside one (a test) skips it.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {CUSTOMER} ({', '.join(ESTIMATED_COLUMNS)}), {CustomerKey._meta.db_table}")


def _import_directly(
    customer_import: CustomerImport,
    rules: RiskRules,
    progress: ProgressReporter,
    processes: int | None,
    timer: PhaseTimer,
) -> bool:
    """Import into an incident without customers, loading rows as customers while the file is read.

    Returns False, having done nothing, where that does not apply (SQLite, or the incident has
    customers). One transaction holds the whole import, so progress and heartbeat go through a
    connection of their own to stay visible.
    """
    if not DIRECT_LOAD:
        return False
    with transaction.atomic():
        load = direct_load_begin(customer_import.incident_id, rules)
        if load is None:
            return False
        _tune_merge_transaction()
        with _progress_connection() as side:
            with timer("read and validate"):
                counts = _stage(customer_import, progress, processes, load=load, side=side)
            progress(customer_import.size_bytes, customer_import.size_bytes, f"{counts.rows:,} rows, merging")
            _set_phase(customer_import, "merging", side=side)
        result = merge_staged(
            customer_import.incident_id,
            rules,
            direct=load,
            staged_rows=counts.rows - counts.rejected,
            notes=counts.notes,
        )
        _finish(customer_import, counts, result)
    timer.seconds.update(result.timings)
    return True


@contextlib.contextmanager
def _progress_connection() -> Iterator[BaseDatabaseWrapper]:
    side = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with side.cursor() as cursor:
            # Each progress commit would otherwise wait for the disk to flush all the WAL the
            # import's transaction has written so far; a lost progress update is harmless.
            cursor.execute("SET synchronous_commit = off")
        yield side
    finally:
        side.close()


def _update_import(customer_import: CustomerImport, side: BaseDatabaseWrapper | None, **values: Any) -> None:
    """Update the import's row, through ``side`` (a connection outside the import's transaction) if given."""
    values["heartbeat_at"] = timezone.now()
    if side is None:
        CustomerImport.objects.filter(id=customer_import.id).update(**values)
        return
    assignments = ", ".join(f"{name} = %s" for name in values)  # these fields' columns have their names
    with side.cursor() as cursor:
        cursor.execute(
            f"UPDATE {CustomerImport._meta.db_table} SET {assignments} WHERE id = %s",  # noqa: S608 - model names
            [*values.values(), customer_import.id],
        )


def _tune_merge_transaction() -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        # Hash joins and aggregates over a million staged rows need more than the default 4 MB.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        # Compiling these one-off statements costs more than it saves.
        cursor.execute("SET LOCAL jit = off")
        # The commit stays synchronous: the one flush it waits for costs milliseconds, and until an
        # asynchronous commit is flushed, the VACUUM that follows may not mark its pages visible to all.


def _finish(customer_import: CustomerImport, counts: StagingCounts, result: MergeResult) -> None:
    customer_import.customers_created = result.customers_created
    customer_import.rows_read = counts.rows
    customer_import.rows_rejected = counts.rejected
    customer_import.rows_merged = counts.rows - counts.rejected - result.customers_created
    customer_import.warnings = counts.warnings + len(result.kept_apart)
    _record_kept_apart(customer_import, result.kept_apart)
    customer_import.status = CustomerImport.Status.DONE
    customer_import.phase = ""
    customer_import.finished_at = timezone.now()
    customer_import.bytes_read = customer_import.size_bytes
    customer_import.save()
    _audit(
        Action.CUSTOMER_IMPORT_FINISHED,
        customer_import,
        rows=counts.rows,
        customers_created=result.customers_created,
        rows_merged=customer_import.rows_merged,
        rows_rejected=counts.rejected,
        warnings=customer_import.warnings,
    )


def _record_kept_apart(customer_import: CustomerImport, kept_apart: list[KeptApart]) -> None:
    ImportIssue.objects.bulk_create(
        ImportIssue(
            customer_import=customer_import,
            line=kept.line,
            severity=ImportIssue.Severity.WARNING,
            message=gettext(
                "This row links customers %(customer)s and %(other)s, but they were kept apart because both "
                "were already notified in the same campaign through the same channel."
            )
            % {"customer": kept.kept_from, "other": kept.customer_id},
            value=str(kept.customer_id),
        )
        for kept in kept_apart
    )


def _audit(action: Action, customer_import: CustomerImport, **data: Any) -> None:
    audit_record(
        action=action,
        actor=customer_import.uploaded_by,
        incident_id=customer_import.incident_id,
        obj=customer_import,
        data={
            "file": customer_import.original_name,
            "size": customer_import.size_bytes,
            "encoding": customer_import.encoding,
            **data,
        },
    )


def _set_phase(customer_import: CustomerImport, phase: str, side: BaseDatabaseWrapper | None = None) -> None:
    _update_import(customer_import, side, phase=phase)


def _stage(
    customer_import: CustomerImport,
    progress: ProgressReporter,
    processes: int | None,
    load: DirectLoad | None = None,
    side: BaseDatabaseWrapper | None = None,
) -> StagingCounts:
    if processes is None:
        big = customer_import.size_bytes > 4 * 1024 * 1024
        processes = settings.BREACHCOMMS_IMPORT_PROCESSES if big else 0
    normalizer = RowNormalizer(default_locale=customer_import.incident.default_locale)

    def on_chunk(counts: StagingCounts) -> None:
        progress(counts.bytes_read, customer_import.size_bytes, f"{counts.rows:,} rows")
        _update_import(
            customer_import,
            side,
            bytes_read=counts.bytes_read,
            rows_read=counts.rows,
            rows_rejected=counts.rejected,
            warnings=counts.warnings,
        )

    with customer_import.file.open("rb") as stream:
        return stage_file(
            customer_import_id=customer_import.id,
            stream=stream,
            file_format=customer_import.format,
            normalizer=normalizer,
            processes=processes,
            on_chunk=on_chunk,
            direct=load,
        )


def incident_risk_rules_update(*, incident: Incident, rules: dict[str, list[str]], actor: Any = None) -> int:
    """Replace the incident's risk rules and re-tier every customer in SQL; returns rows changed.

    A change of the rules goes on the audit trail with the old and the new rules."""
    validate_risk_rules(rules)
    compiled = RiskRules.from_json(rules)
    tier, basis, params = tier_sql(compiled)
    with transaction.atomic():
        old_rules = Incident.objects.select_for_update().values_list("risk_rules", flat=True).get(pk=incident.pk)
        incident.risk_rules = rules
        incident.save(update_fields=["risk_rules", "updated_at"])
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {CUSTOMER} SET risk_tier = {tier}, risk_basis_flags = {basis} WHERE incident_id = %s",  # noqa: S608
                [*params, incident.id],
            )
            retiered = cursor.rowcount
        if old_rules != rules:
            audit_record(
                action=Action.RULES_CHANGED,
                actor=actor,
                incident_id=incident.id,
                obj=incident,
                data={"rules": "risk", "old": old_rules, "new": rules, "customers_retiered": retiered},
            )
        return retiered
