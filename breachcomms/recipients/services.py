"""Writes for customers: creating and running imports, re-tiering after a rule change."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import IO, Any

from django.conf import settings
from django.core.files.base import File
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from breachcomms.core.progress import ProgressReporter, null_progress
from breachcomms.incidents.models import Incident
from breachcomms.incidents.risk import RiskRules, validate_risk_rules
from breachcomms.recipients.merging import CUSTOMER, merge_staged, tier_sql
from breachcomms.recipients.models import CustomerImport, ImportIssue, StagedRow
from breachcomms.recipients.readers import CountingReader, detect_format
from breachcomms.recipients.rows import RowNormalizer
from breachcomms.recipients.staging import StagingCounts, stage_rows

logger = logging.getLogger(__name__)

# A running import whose heartbeat is older than this lost its worker and may be restarted.
IMPORT_LEASE = timedelta(minutes=5)


def customer_import_create(
    *, incident: Incident, stream: IO[bytes], name: str, uploaded_by: Any = None
) -> CustomerImport:
    """Store an uploaded customer file and register its import (run it with customer_import_run)."""
    head = stream.read(4096)
    stream.seek(0)
    customer_import = CustomerImport(
        incident=incident,
        original_name=name[:255],
        format=detect_format(name, head),
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


def _reset(customer_import: CustomerImport) -> None:
    StagedRow.objects.filter(customer_import=customer_import).delete()
    ImportIssue.objects.filter(customer_import=customer_import).delete()


def customer_import_run(
    *, customer_import_id: int, progress: ProgressReporter = null_progress, processes: int | None = None
) -> CustomerImport | None:
    """Validate, stage and merge an import's rows. Harmless to call twice: only one run claims it."""
    if not _claim(customer_import_id):
        logger.info("import %s is taken or finished; nothing to do", customer_import_id)
        return None
    customer_import = CustomerImport.objects.select_related("incident").get(id=customer_import_id)
    _reset(customer_import)
    incident = customer_import.incident
    try:
        rules = RiskRules.from_json(incident.risk_rules)
        counts = _stage(customer_import, incident, progress, processes)
        progress(customer_import.size_bytes, customer_import.size_bytes, f"{counts.rows:,} rows, merging")
        _set_phase(customer_import, "merging")
        if connection.vendor == "postgresql":
            # The planner must know the staging table now holds the file, or it picks nested loops.
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {StagedRow._meta.db_table}")
        with transaction.atomic():
            result = merge_staged(customer_import.id, incident.id, rules)
            StagedRow.objects.filter(customer_import=customer_import).delete()
            customer_import.customers_created = result.customers_created
            customer_import.rows_read = counts.rows
            customer_import.rows_rejected = counts.rejected
            customer_import.rows_merged = counts.rows - counts.rejected - result.customers_created
            customer_import.warnings = counts.warnings
            customer_import.status = CustomerImport.Status.DONE
            customer_import.phase = ""
            customer_import.finished_at = timezone.now()
            customer_import.bytes_read = customer_import.size_bytes
            customer_import.save()
    except Exception as exc:
        logger.exception("import %s failed", customer_import_id)
        StagedRow.objects.filter(customer_import=customer_import).delete()
        CustomerImport.objects.filter(id=customer_import.id).update(
            status=CustomerImport.Status.FAILED, error=f"{type(exc).__name__}: {exc}", finished_at=timezone.now()
        )
        raise
    return customer_import


def _set_phase(customer_import: CustomerImport, phase: str) -> None:
    CustomerImport.objects.filter(id=customer_import.id).update(phase=phase, heartbeat_at=timezone.now())


def _stage(
    customer_import: CustomerImport, incident: Incident, progress: ProgressReporter, processes: int | None
) -> StagingCounts:
    if processes is None:
        big = customer_import.size_bytes > 4 * 1024 * 1024
        processes = settings.BREACHCOMMS_IMPORT_PROCESSES if big else 0
    normalizer = RowNormalizer(default_locale=incident.default_locale)
    with customer_import.file.open("rb") as raw:
        stream = CountingReader(raw)

        def on_chunk(counts: StagingCounts) -> None:
            progress(stream.bytes_read, customer_import.size_bytes, f"{counts.rows:,} rows")
            CustomerImport.objects.filter(id=customer_import.id).update(
                bytes_read=stream.bytes_read,
                rows_read=counts.rows,
                rows_rejected=counts.rejected,
                warnings=counts.warnings,
                heartbeat_at=timezone.now(),
            )

        return stage_rows(
            customer_import_id=customer_import.id,
            stream=stream,  # type: ignore[arg-type]
            file_format=customer_import.format,
            normalizer=normalizer,
            processes=processes,
            on_chunk=on_chunk,
        )


def incident_risk_rules_update(*, incident: Incident, rules: dict[str, list[str]]) -> int:
    """Replace the incident's risk rules and re-tier every customer in SQL; returns rows changed."""
    validate_risk_rules(rules)
    compiled = RiskRules.from_json(rules)
    tier, basis, params = tier_sql(compiled)
    with transaction.atomic():
        incident.risk_rules = rules
        incident.save(update_fields=["risk_rules", "updated_at"])
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {CUSTOMER} SET risk_tier = {tier}, risk_basis_flags = {basis} WHERE incident_id = %s",  # noqa: S608
                [*params, incident.id],
            )
            return cursor.rowcount
