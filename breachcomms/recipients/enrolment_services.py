"""Writes of enrolments: importing a programme's list of enrolled customers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import IO, Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from breachcomms.audit.models import Action
from breachcomms.audit.services import audit_record
from breachcomms.incidents.models import Incident
from breachcomms.recipients.encodings import as_utf8
from breachcomms.recipients.enrolments import BATCH, EnrolmentRow, Rejection, match_customers, read_enrolments
from breachcomms.recipients.models import Enrolment

IMPORT_PERMISSION = "recipients.add_enrolment"


@dataclass
class EnrolmentImportReport:
    """What became of an enrolment file's rows."""

    name: str
    rows: int = 0
    created: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """The one line the command prints and the admin shows."""
        return gettext(
            "Enrolments from %(name)s: rows %(rows)s, new %(created)s, already known %(unchanged)s, "
            "rejected %(rejected)s"
        ) % {
            "name": self.name,
            "rows": self.rows,
            "created": self.created,
            "unchanged": self.unchanged,
            "rejected": len(self.rejected),
        }


@transaction.atomic
def enrolment_import_run(
    *,
    incident: Incident,
    stream: IO[bytes],
    name: str,
    user: Any = None,
    now: datetime | None = None,
    encoding: str = "",
) -> EnrolmentImportReport:
    """Record every matched row's enrolment once; a row enrolled already (or twice in the file) changes nothing.

    A file not in UTF-8 is read like a customer file (encodings.as_utf8); EncodingError if it cannot be.
    """
    if user is not None and not user.has_perm(IMPORT_PERMISSION):
        raise PermissionDenied(gettext("Only an incident commander may import enrolments."))
    now = now or timezone.now()
    report = EnrolmentImportReport(name=name)
    with as_utf8(stream, encoding) as (utf8, _source):
        parsed = read_enrolments(utf8, name=name, now=now)
        while batch := list(islice(parsed, BATCH)):
            report.rows += len(batch)
            rows = [row for row in batch if isinstance(row, EnrolmentRow)]
            report.rejected += [row for row in batch if isinstance(row, Rejection)]
            matched = match_customers(incident_id=incident.pk, rows=rows)
            report.rejected += matched.rejected
            _record(incident, matched.rows, name, report)
    report.rejected.sort(key=lambda rejection: rejection.line)
    audit_record(
        action=Action.ENROLMENT_IMPORT_FINISHED,
        actor=user,
        incident_id=incident.pk,
        data={"file": name, "rows": report.rows, "created": report.created, "rejected": len(report.rejected)},
    )
    return report


def _record(incident: Incident, rows: list[tuple[EnrolmentRow, int]], name: str, report: EnrolmentImportReport) -> None:
    customer_ids = {customer_id for _row, customer_id in rows}
    known = set(Enrolment.objects.filter(customer_id__in=customer_ids).values_list("customer_id", "program"))
    new: list[Enrolment] = []
    for row, customer_id in rows:
        if (customer_id, row.program) in known:
            report.unchanged += 1
            continue
        known.add((customer_id, row.program))
        new.append(
            Enrolment(
                incident=incident,
                customer_id=customer_id,
                program=row.program,
                enrolled_at=row.enrolled_at,
                source=name[:255],
            )
        )
    # A concurrent import of the same list may have added some since: those stay as they are.
    created = Enrolment.objects.bulk_create(new, ignore_conflicts=True)
    report.created += len(created)
