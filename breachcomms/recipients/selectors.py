"""Reads about customers: segments, import issues."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Count

from breachcomms.incidents.models import Incident
from breachcomms.recipients.models import Customer, CustomerImport, ImportIssue

_TIER_ORDER = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True)
class Segment:
    country: str
    language: str
    risk_tier: str
    customers: int


def segment_list(*, incident: Incident) -> list[Segment]:
    """Segments (country × language × risk tier) with their customer counts, high risk first."""
    rows = (
        Customer.objects.filter(incident=incident)
        .values_list("country", "language", "risk_tier")
        .annotate(customers=Count("id"))
        .order_by()
    )
    segments = [Segment(country, language, tier, n) for country, language, tier, n in rows]
    return sorted(segments, key=lambda s: (_TIER_ORDER.get(s.risk_tier, 9), -s.customers, s.country, s.language))


def import_issues_csv(*, customer_import: CustomerImport) -> Iterator[str]:
    """The import's rejected rows and warnings as CSV text, streamed."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["line", "severity", "field", "message", "value"])
    yield buffer.getvalue()
    issues = ImportIssue.objects.filter(customer_import=customer_import).order_by("line", "id")
    for issue in issues.values_list("line", "severity", "field", "message", "value").iterator(chunk_size=5000):
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(issue)
        yield buffer.getvalue()
