"""Finding a customer from whatever the caller can tell: an email, a phone number in any format, the reference
code of a notice, or the company's own customer reference.

Every key is an equality lookup on an index, one query per kind (an OR across kinds would let the planner
fall back to reading the table): a customer's own email, phone and first reference through the lookup
indexes on the customer table (recipients migration 0003: ``lower(email)``, ``phone``,
``external_refs ->> 0``), everything it was known by besides through CustomerKey's (incident, kind, value)
indexes, and reference codes through Delivery's unique ``reference``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Lower
from django.db.models.lookups import Exact

from breachcomms.delivery.models import Delivery
from breachcomms.delivery.references import InvalidReference, parse_reference
from breachcomms.incidents.models import Incident
from breachcomms.recipients.contacts import InvalidValue, normalize_email, normalize_phone
from breachcomms.recipients.models import Customer, CustomerKey

MAX_RESULTS = 20
COUNTRIES_CACHE_SECONDS = 600
_LOOKS_LIKE_PHONE = re.compile(r"^\s*(\+|00)?[\d\s\-.()/]{5,}\s*$")


@dataclass
class SearchKeys:
    """What a typed text could be, normalized the way the keys are stored."""

    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    references: set[str] = field(default_factory=set)  # the company's customer references
    codes: set[int] = field(default_factory=set)  # notice reference codes

    @property
    def kinds(self) -> list[str]:
        names = (("email", self.emails), ("phone", self.phones), ("ref", self.references), ("code", self.codes))
        return [name for name, values in names if values]


def search_keys(text: str, *, regions: Iterable[str]) -> SearchKeys:
    """Every reading of ``text``; a phone without a country code is read in each of ``regions``."""
    value = text.strip()
    keys = SearchKeys()
    if not value:
        return keys
    keys.references.add(value)
    if "@" in value:
        # Stored as lower(email), as the lookup index reads it.
        try:
            keys.emails.add(normalize_email(value).lower())
        except InvalidValue:
            keys.emails.add(value.lower())
        return keys
    with contextlib.suppress(InvalidReference):
        keys.codes.add(parse_reference(value))
    if _LOOKS_LIKE_PHONE.match(value):
        keys.phones |= _phone_readings(value, regions)
    return keys


def _phone_readings(value: str, regions: Iterable[str]) -> set[str]:
    international = value.lstrip().startswith(("+", "00"))
    if international:
        value = "+" + value.lstrip()[2:] if value.lstrip().startswith("00") else value
    readings = set()
    for region in [None] if international else list(dict.fromkeys(regions)):
        try:
            readings.add(normalize_phone(value, region).e164)
        except (InvalidValue, phonenumbers.NumberParseException):
            continue
    return readings


@dataclass(frozen=True)
class Hit:
    customer: Customer
    matched: tuple[str, ...]  # which kinds of key found it


def customer_search(
    *, text: str, region: str = "", incident_ids: list[int] | None = None
) -> tuple[SearchKeys, list[Hit]]:
    """The customers a support agent's search text finds (at most MAX_RESULTS), with how each was found."""
    incidents = incident_ids if incident_ids is not None else list(Incident.objects.values_list("id", flat=True))
    keys = search_keys(text, regions=_regions(region, incidents))
    matched: dict[int, list[str]] = {}
    for kind, query in lookups(keys, incidents):
        for customer_id in query:
            matched.setdefault(customer_id, []).append(kind)
    customers = Customer.objects.filter(id__in=list(matched)[:MAX_RESULTS]).select_related("incident").order_by("id")
    return keys, [Hit(customer, tuple(dict.fromkeys(matched[customer.id]))) for customer in customers]


def lookups(keys: SearchKeys, incidents: list[int]) -> Iterator[tuple[str, QuerySet[Any]]]:
    """(kind, query of customer ids) for each lookup that applies: one indexed equality query each."""
    if not incidents:
        return
    own = Customer.objects.filter(incident_id__in=incidents)
    other = CustomerKey.objects.filter(incident_id__in=incidents)
    if keys.emails:
        emails = sorted(keys.emails)
        yield "email", _ids(own.filter(Exact(Lower("email"), emails[0])).exclude(email=""))
        yield "email", _ids(other.filter(kind=CustomerKey.Kind.EMAIL, value__in=emails), "customer_id")
    if keys.phones:
        phones = sorted(keys.phones)
        yield "phone", _ids(own.filter(phone__in=phones).exclude(phone=""))
        yield "phone", _ids(other.filter(kind=CustomerKey.Kind.PHONE, value__in=phones), "customer_id")
    if keys.references:
        [reference] = keys.references
        yield "ref", _ids(own.filter(Exact(KeyTextTransform("0", "external_refs"), reference)))
        yield "ref", _ids(other.filter(kind=CustomerKey.Kind.REFERENCE, value=reference), "customer_id")
    if keys.codes:
        deliveries = Delivery.objects.filter(reference__in=keys.codes, campaign__incident_id__in=incidents)
        yield "code", _ids(deliveries, "customer_id")


def _ids(queryset: QuerySet[Any], field: str = "id") -> QuerySet[Any]:
    return queryset.values_list(field, flat=True)[:MAX_RESULTS]


def _regions(region: str, incident_ids: list[int]) -> list[str]:
    """Where a national phone number may be from: the agent's choice, the desk's default, the customers' countries."""
    first = [r for r in (region.upper(), settings.BREACHCOMMS_SUPPORT_PHONE_REGION.upper()) if r]
    return first + [country for country in incident_countries(incident_ids) if country not in first]


def incident_countries(incident_ids: list[int]) -> list[str]:
    """The distinct countries of the incidents' customers (cached; read by skipping along the segment index)."""
    countries: list[str] = []
    for incident_id in incident_ids:
        key = f"support:countries:{incident_id}"
        found = cache.get(key)
        if found is None:
            found = _countries(incident_id)
            cache.set(key, found, COUNTRIES_CACHE_SECONDS)
        countries += [c for c in found if c not in countries]
    return countries


def _countries(incident_id: int) -> list[str]:
    # A loose index scan: one probe of customer_segment_idx (incident, country, …) per distinct country,
    # instead of reading every customer of a million-customer incident.
    table = Customer._meta.db_table
    sql = f"""
        WITH RECURSIVE c(country) AS (
            SELECT min(country) FROM {table} WHERE incident_id = %s
            UNION ALL
            SELECT (SELECT min(country) FROM {table} WHERE incident_id = %s AND country > c.country)
            FROM c WHERE c.country IS NOT NULL
        )
        SELECT country FROM c WHERE country IS NOT NULL AND country <> ''"""  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [incident_id, incident_id])
        return [row[0] for row in cursor.fetchall()]
