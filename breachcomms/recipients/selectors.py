"""Reads about customers: finding them, segments, import issues."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Lower
from django.db.models.lookups import Exact

from breachcomms.incidents.models import Incident
from breachcomms.recipients.contacts import InvalidValue, normalize_email, normalize_phone
from breachcomms.recipients.models import Customer, CustomerImport, CustomerKey, ImportIssue

_TIER_ORDER = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True)
class Segment:
    country: str
    language: str
    risk_tier: str
    customers: int


@dataclass(frozen=True)
class SegmentRow:
    """One country and language, with its customers per risk tier (high, medium, low)."""

    country: str
    language: str
    tiers: tuple[int, int, int]

    @property
    def customers(self) -> int:
        return sum(self.tiers)


def segment_rows(segments: list[Segment]) -> list[SegmentRow]:
    """Segments pivoted to one row per country and language, most high-risk customers first."""
    rows: dict[tuple[str, str], list[int]] = {}
    for segment in segments:
        tiers = rows.setdefault((segment.country, segment.language), [0, 0, 0])
        tiers[_TIER_ORDER[segment.risk_tier]] += segment.customers
    pivoted = [SegmentRow(country, language, (t[0], t[1], t[2])) for (country, language), t in rows.items()]
    return sorted(pivoted, key=lambda r: (-r.tiers[0], -r.customers, r.country, r.language))


def customer_search(*, queryset: QuerySet[Customer], term: str) -> QuerySet[Customer]:
    """The customers a support search finds: part of the name, or exactly one of their emails (any
    case), phones (any common format) or references, their own or one they were merged from."""
    term = term.strip()
    if not term:
        return queryset
    email = _valid_email(term)
    phone = _valid_phone(term)
    # Each lookup matches an index: lower(email) and phone where not blank, the first reference.
    match = Q(name__icontains=term) | Q(Exact(KeyTextTransform("0", "external_refs"), term))
    keys = Q(kind=CustomerKey.Kind.REFERENCE, value=term)
    if email:
        match |= Q(Exact(Lower("email"), Lower(Value(email))), ~Q(email=""))
        keys |= Q(Exact(F("value"), Lower(Value(email))), kind=CustomerKey.Kind.EMAIL)
    if phone:
        match |= Q(phone=phone) & ~Q(phone="")
        keys |= Q(kind=CustomerKey.Kind.PHONE, value=phone)
    other_keys = CustomerKey.objects.filter(keys, customer=OuterRef("pk"))
    return queryset.filter(match | Q(Exists(other_keys)))


def _valid_email(term: str) -> str:
    if "@" not in term:
        return ""
    try:
        return normalize_email(term)
    except InvalidValue:
        return ""


def _valid_phone(term: str) -> str:
    try:
        return normalize_phone(term, None).e164
    except InvalidValue:
        return ""


def customer_known_as(*, customer: Customer) -> list[tuple[str, str]]:
    """(kind, value) of every email, phone and reference that finds the customer, sorted.

    Emails are lower-cased as lookups compare them.
    """
    own = Customer.objects.filter(id=customer.id).annotate(email_key=Lower("email")).values_list("email_key", flat=True)
    known = {(str(CustomerKey.Kind.REFERENCE), ref) for ref in customer.external_refs}
    if customer.email:
        known.add((str(CustomerKey.Kind.EMAIL), str(own.get())))
    if customer.phone:
        known.add((str(CustomerKey.Kind.PHONE), customer.phone))
    known.update(CustomerKey.objects.filter(customer=customer).values_list("kind", "value"))
    return sorted(known)


def segment_list(*, incident: Incident) -> list[Segment]:
    """Segments (country × language × risk tier) with their customer counts, high risk first."""
    rows = (
        Customer.objects.filter(incident=incident)
        .values_list("country", "language", "risk_tier")
        # COUNT(*), not COUNT(id): the segment index carries every column this reads, so PostgreSQL
        # can count from the index alone (id is not in it).
        .annotate(customers=Count("*"))
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
