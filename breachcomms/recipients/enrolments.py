"""Reading an enrolment list (who took up the offered credit monitoring) and finding its customers.

A row names a customer of the incident by email, phone or customer reference (any of them, as the
customer import knows them: their own or one they were merged from), says when they enrolled and,
optionally, in which programme. Rows are matched in batches with a few set-based queries; a row
that finds no customer, or more than one, is rejected with its line and the reason.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import IO, Any

from django.db import connection
from django.db.models import CharField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Lower
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext, ngettext

from breachcomms.recipients.contacts import InvalidValue, normalize_country, normalize_email, normalize_phone
from breachcomms.recipients.models import Customer, CustomerKey, Enrolment
from breachcomms.recipients.readers import RawRow, detect_format, read_rows

BATCH = 5000
_HEADER_KEY = re.compile(r"[\s\-._]+")
# Columns the customer import does not know, by the header spellings that mean them.
ENROLMENT_ALIASES: dict[str, tuple[str, ...]] = {
    "enrolled_at": (
        "enrolledat",
        "enrolled",
        "enrolledon",
        "enrolleddate",
        "enrolmentdate",
        "enrollmentdate",
        "enrolmentat",
        "date",
        "since",
        "startdate",
        "startedat",
        "anmald",
        "anmäld",
        "datum",
        "data",
        "tanggal",
    ),
    "program": ("program", "programme", "service", "product", "plan", "tjanst", "tjänst", "usluga", "layanan"),
}
_ALIAS_TO_FIELD = {alias: name for name, aliases in ENROLMENT_ALIASES.items() for alias in aliases}
_PROGRAM_KEY = re.compile(r"[\s\-._]+")


@dataclass(frozen=True)
class EnrolmentRow:
    """A readable row: the keys that may find its customer, the programme and the enrolment time."""

    line: int
    emails: tuple[str, ...]  # lower-cased, as customer lookups compare them
    phones: tuple[str, ...]  # E.164
    references: tuple[str, ...]
    program: str
    enrolled_at: datetime


@dataclass(frozen=True)
class Rejection:
    line: int
    reason: str


@dataclass
class Matched:
    """The rows of a batch that found exactly one customer (customer id per row) and the rejections."""

    rows: list[tuple[EnrolmentRow, int]] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _extra(attributes: dict[str, Any]) -> dict[str, str]:
    """The enrolment columns among a row's custom attributes, by canonical name (the first wins)."""
    found: dict[str, str] = {}
    for header, value in attributes.items():
        name = _ALIAS_TO_FIELD.get(_HEADER_KEY.sub("", header.strip().lower()))
        if name and not found.get(name):
            found[name] = _text(value)
    return found


def parse_enrolled_at(raw: str, *, now: datetime) -> datetime:
    """An enrolment time: ISO 8601 (date or date and time), YYYY/MM/DD or DD.MM.YYYY; empty means now.

    A date without a time is its midnight in the project's time zone; so is a time without a zone.
    """
    if not raw:
        return now
    value = raw.strip()
    try:
        moment = parse_datetime(value.replace(" ", "T", 1)) if len(value) > 10 else None
        day = None if moment else parse_date(value.replace("/", "-"))
    except ValueError:
        moment, day = None, None
    if moment is None and day is None:
        day = _dotted_date(value)
    if moment is None and day is not None:
        moment = datetime.combine(day, time(0, 0))
    if moment is None:
        raise InvalidValue(
            gettext("enrolment date %(value)s is not a date (write it as 2025-06-30 or 2025-06-30T14:05:00Z)")
            % {"value": value[:40]}
        )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment


def _dotted_date(value: str) -> date | None:
    parts = value.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or len(parts[2]) != 4:
        return None
    try:
        return date(int(parts[2]), int(parts[1]), int(parts[0]))
    except ValueError:
        return None


def parse_program(raw: str, *, default: str) -> str:
    """A programme code from its code or its English label in any case and spacing; empty: the default."""
    if not raw:
        return default
    key = _PROGRAM_KEY.sub("", raw.lower())
    for program in Enrolment.Program:
        if key in (_PROGRAM_KEY.sub("", program.value), _PROGRAM_KEY.sub("", str(program.label).lower())):
            return program.value
    raise InvalidValue(
        gettext("unknown programme %(value)s (known: %(programs)s)")
        % {"value": raw[:40], "programs": ", ".join(p.value for p in Enrolment.Program)}
    )


def _email(raw: str) -> tuple[str, ...]:
    try:
        return (normalize_email(raw).lower(),) if raw else ()
    except InvalidValue:
        return ()


def _phone(raw: str, country: str) -> tuple[str, ...]:
    if not raw:
        return ()
    try:
        region = normalize_country(country) if country else None
    except InvalidValue:
        region = None
    try:
        return (normalize_phone(raw, region).e164,)
    except InvalidValue:
        return ()


def _keys(values: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """The row's valid emails, phones and references; invalid ones are left out."""
    reference = _text(values.get("external_ref"))
    return (
        _email(_text(values.get("email"))),
        _phone(_text(values.get("phone")), _text(values.get("country"))),
        (reference,) if reference else (),
    )


def parse_row(raw: RawRow, *, now: datetime, default_program: str) -> EnrolmentRow | Rejection:
    """One record of the file as a row to match, or why it cannot be used."""
    if raw.values is None:
        return Rejection(raw.line, raw.error)
    extra = _extra(raw.values.get("attributes") or {})
    emails, phones, references = _keys(raw.values)
    if not (emails or phones or references):
        return Rejection(raw.line, gettext("no valid email, phone or customer reference to find the customer by"))
    try:
        program = parse_program(extra.get("program", ""), default=default_program)
        enrolled_at = parse_enrolled_at(extra.get("enrolled_at", ""), now=now)
    except InvalidValue as exc:
        return Rejection(raw.line, str(exc))
    return EnrolmentRow(raw.line, emails, phones, references, program, enrolled_at)


def read_enrolments(
    stream: IO[bytes], *, name: str, now: datetime, default_program: str = Enrolment.Program.CREDIT_MONITORING
) -> Iterator[EnrolmentRow | Rejection]:
    """Every record of a CSV (any common dialect, BOM or not) or JSON Lines file, parsed."""
    head = stream.read(4096)
    stream.seek(0)
    for raw in read_rows(stream, detect_format(name, head)):
        yield parse_row(raw, now=now, default_program=default_program)


def _found_by(incident_id: int, rows: list[EnrolmentRow]) -> dict[tuple[str, str], set[int]]:
    """(kind, value) → ids of the incident's customers found by it, in six queries for the batch."""
    emails = {e for row in rows for e in row.emails}
    phones = {p for row in rows for p in row.phones}
    refs = {r for row in rows for r in row.references}
    customers = Customer.objects.filter(incident_id=incident_id)
    found: dict[tuple[str, str], set[int]] = defaultdict(set)
    lookups: list[tuple[str, Iterable[tuple[Any, int]]]] = []
    if emails:
        own = customers.exclude(email="").annotate(key=Lower("email")).filter(key__in=emails)
        lookups.append((CustomerKey.Kind.EMAIL, own.values_list("key", "id")))
    if phones:
        lookups.append((CustomerKey.Kind.PHONE, customers.filter(phone__in=phones).values_list("phone", "id")))
    if refs:
        key: Any = KeyTextTransform("0", "external_refs")
        if connection.vendor == "sqlite":
            key = Cast(key, CharField())  # SQLite's JSON "IN" would read the values as JSON
        first = customers.annotate(key=key).filter(key__in=refs)
        lookups.append((CustomerKey.Kind.REFERENCE, first.values_list("key", "id")))
    for kind, values in ((CustomerKey.Kind.EMAIL, emails), (CustomerKey.Kind.PHONE, phones)):
        if values:
            keys = CustomerKey.objects.filter(incident_id=incident_id, kind=kind, value__in=values)
            lookups.append((kind, keys.values_list("value", "customer_id")))
    if refs:
        keys = CustomerKey.objects.filter(incident_id=incident_id, kind=CustomerKey.Kind.REFERENCE, value__in=refs)
        lookups.append((CustomerKey.Kind.REFERENCE, keys.values_list("value", "customer_id")))
    for found_kind, pairs in lookups:
        for value, customer_id in pairs:
            found[(str(found_kind), str(value))].add(customer_id)
    return found


def match_customers(*, incident_id: int, rows: list[EnrolmentRow]) -> Matched:
    """Each row's one customer, or its rejection: no customer found, or several."""
    found = _found_by(incident_id, rows)
    matched = Matched()
    for row in rows:
        keys = [(str(CustomerKey.Kind.EMAIL), v) for v in row.emails]
        keys += [(str(CustomerKey.Kind.PHONE), v) for v in row.phones]
        keys += [(str(CustomerKey.Kind.REFERENCE), v) for v in row.references]
        candidates: set[int] = set().union(*(found.get(key, set()) for key in keys))
        if len(candidates) == 1:
            matched.rows.append((row, candidates.pop()))
        elif not candidates:
            matched.rejected.append(
                Rejection(row.line, gettext("no customer of this incident has this email, phone or reference"))
            )
        else:
            matched.rejected.append(Rejection(row.line, _ambiguous(len(candidates))))
    return matched


def _ambiguous(count: int) -> str:
    return ngettext(
        "ambiguous: %(count)s customer matches this row's email, phone or reference",
        "ambiguous: %(count)s customers match this row's email, phone or reference",
        count,
    ) % {"count": count}
