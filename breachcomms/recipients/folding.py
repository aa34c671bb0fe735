"""Folding several rows (or customers) into one customer, in Python.

Used for the few customers whose rows a file lists more than once, the existing customers a
file adds to, and existing customers a file proves to be one person. Everything else is
inserted by SQL (merging.py). Folding is in line order: blanks are filled by the first row that
has a value, lists and exposures are united, attributes keep their first value.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils import timezone

from breachcomms.incidents.risk import RiskRules
from breachcomms.recipients.models import Customer, CustomerKey
from breachcomms.recipients.signals import customers_folding

BATCH = 2000
CUSTOMER = Customer._meta.db_table
FIRST_WINS = ("name", "email", "phone", "country", "subdivision", "locale", "language", "time_zone")
MERGE_FIELDS = [*FIRST_WINS, "external_refs", "accounts", "exposure_flags", "attributes"]


def _union(into: list[str], values: list[str]) -> None:
    for value in values:
        if value not in into:
            into.append(value)


def fold(customer: Customer | _NewCustomer, row: dict[str, Any]) -> None:
    """Merge one row's values into a customer: blanks are filled, lists and flags united."""
    for name in FIRST_WINS:
        if not getattr(customer, name) and row[name]:
            setattr(customer, name, row[name])
    _union(customer.external_refs, row["external_refs"])
    _union(customer.accounts, row["accounts"])
    customer.exposure_flags |= row["exposure_flags"]
    for key, value in row["attributes"].items():
        customer.attributes.setdefault(key, value)


def _snapshot(customer: Customer) -> str:
    """The merged fields' values, comparable before and after folding rows in."""
    return repr([getattr(customer, name) for name in MERGE_FIELDS])


def _decoded(value: Any) -> Any:
    # PostgreSQL returns JSON columns decoded, SQLite as text.
    return json.loads(value) if isinstance(value, str) else value


def grouped_rows(sql: str, params: list[Any]) -> Iterator[list[dict[str, Any]]]:
    """Rows of ``sql`` (customer id, new?, MERGE_FIELDS…, ordered by customer), grouped, streamed."""
    group: list[dict[str, Any]] = []
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(BATCH):
            for customer_id, new, *values in batch:
                row = dict(zip(MERGE_FIELDS, values, strict=True))
                for name in ("external_refs", "accounts", "attributes"):
                    row[name] = _decoded(row[name])
                row["customer_id"], row["new_customer"] = customer_id, bool(new)
                if group and group[0]["customer_id"] != customer_id:
                    yield group
                    group = []
                group.append(row)
    if group:
        yield group


class _NewCustomer:
    """A new group's customer while its rows are folded: the written fields only (a model instance
    costs more to make than the folding itself, for the thousands of groups of a big file)."""

    __slots__ = ("id", "incident_id", *MERGE_FIELDS, "risk_tier", "risk_basis_flags")

    def __init__(self, customer_id: int, incident_id: int) -> None:
        self.id, self.incident_id = customer_id, incident_id
        for name in FIRST_WINS:
            setattr(self, name, "")
        self.external_refs: list[str] = []
        self.accounts: list[str] = []
        self.attributes: dict[str, Any] = {}
        self.exposure_flags = 0
        self.risk_tier, self.risk_basis_flags = "", 0

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _NEW}


class GroupFolder:
    """Creates the customers of new groups and updates existing ones, in batches."""

    def __init__(self, incident_id: int, rules: RiskRules) -> None:
        self.incident_id = incident_id
        self.rules = rules
        self.created = 0
        self.new: list[_NewCustomer] = []
        self.existing: list[list[dict[str, Any]]] = []

    def add(self, group: list[dict[str, Any]]) -> None:
        if not group[0]["new_customer"]:
            self.existing.append(group)
            if len(self.existing) >= BATCH:
                self._flush_existing()
            return
        customer = _NewCustomer(group[0]["customer_id"], self.incident_id)
        for row in group:
            fold(customer, row)
        customer.risk_tier, customer.risk_basis_flags = self.rules.classify(customer.exposure_flags)
        self.new.append(customer)
        if len(self.new) >= BATCH:
            self._flush_new()

    def finish(self) -> int:
        self._flush_new()
        self._flush_existing()
        return self.created

    def _flush_new(self) -> None:
        if not self.new:
            return
        if connection.vendor == "postgresql":
            _copy_customers(CUSTOMER, self.new, _NEW)  # created_at, updated_at: the database's default
            self.created += len(self.new)
        else:
            self.created += len(Customer.objects.bulk_create(Customer(**new.values()) for new in self.new))
        self.new.clear()

    def _flush_existing(self) -> None:
        if not self.existing:
            return
        by_id = Customer.objects.in_bulk([group[0]["customer_id"] for group in self.existing])
        changed = []
        for group in self.existing:
            customer = by_id[group[0]["customer_id"]]
            before = _snapshot(customer)
            for row in group:
                fold(customer, row)
            customer.risk_tier, customer.risk_basis_flags = self.rules.classify(customer.exposure_flags)
            if _snapshot(customer) != before:
                customer.updated_at = timezone.now()
                changed.append(customer)
        _update_customers(changed)
        self.existing.clear()


_NEW = ["id", "incident_id", *MERGE_FIELDS, "risk_tier", "risk_basis_flags"]
_WRITTEN = [*_NEW, "created_at", "updated_at"]
_UPDATED = [*MERGE_FIELDS, "risk_tier", "risk_basis_flags", "updated_at"]
_CHANGED = "breachcomms_import_changed"


def _copy_customers(table: str, customers: list[Any], columns: list[str] = _WRITTEN) -> None:
    """COPY customers' ``columns`` into ``table`` (PostgreSQL): far cheaper than bulk_create."""
    json_fields = {"external_refs", "accounts", "attributes"}
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for customer in customers:
            copy.write_row(
                [
                    json.dumps(getattr(customer, name), ensure_ascii=False)
                    if name in json_fields
                    else getattr(customer, name)
                    for name in columns
                ]
            )


def _update_customers(customers: list[Customer]) -> None:
    """Write the merged fields of changed customers (PostgreSQL: COPY + one UPDATE … FROM)."""
    if not customers:
        return
    if connection.vendor != "postgresql":
        Customer.objects.bulk_update(customers, _UPDATED)
        return
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {_CHANGED} (LIKE {CUSTOMER}) ON COMMIT DROP")
        cursor.execute(f"TRUNCATE {_CHANGED}")
    _copy_customers(_CHANGED, customers)
    assignments = ", ".join(f"{name} = c.{name}" for name in _UPDATED)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {CUSTOMER} SET {assignments} FROM {_CHANGED} c WHERE {CUSTOMER}.id = c.id")  # noqa: S608


@dataclass(frozen=True)
class KeptApart:
    """Two existing customers a file links but that stay two: folding them would lose a record."""

    line: int  # the first line of the file's rows that link them
    customer_id: int
    kept_from: int  # the customer the others of the line's group were folded into


def merge_existing_customers(
    customer_ids: list[int], rules: RiskRules, *, tokens: dict[int, set[Hashable]], line: int = 0
) -> tuple[int, list[KeptApart]]:
    """Fold several existing customers into the oldest; returns how many were folded in and who was kept apart.

    A customer whose conflict ``tokens`` (signals.customers_fold_conflicts: e.g. a campaign and
    channel it was already sent) meet those gathered so far is not folded: both stay as they are.
    What identified the folded ones (their email, phone and references) stays findable: as the
    target's own values or as its other keys, and receivers of ``customers_folding`` re-point what
    refers to them before they are deleted.
    """
    customers = list(Customer.objects.filter(id__in=customer_ids).order_by("id"))
    if len(customers) < 2:
        return 0, []
    target, *candidates = customers
    taken = set(tokens.get(target.id, ()))
    others: list[Customer] = []
    kept: list[KeptApart] = []
    for other in candidates:
        mine = tokens.get(other.id, set())
        if taken & mine:
            kept.append(KeptApart(line, other.id, target.id))
            continue
        taken |= mine
        others.append(other)
    if not others:
        return 0, kept
    tokens[target.id] = taken  # the target now has what the folded ones had, for the file's later groups
    for other in others:
        fold(target, other.__dict__)
        CustomerKey.objects.filter(customer=other).exclude(
            kind=CustomerKey.Kind.REFERENCE, value__in=target.external_refs
        ).update(customer=target)
    customers_folding.send(
        sender=Customer, incident_id=target.incident_id, moves={other.id: target.id for other in others}
    )
    Customer.objects.filter(id__in=[other.id for other in others]).delete()
    target.risk_tier, target.risk_basis_flags = rules.classify(target.exposure_flags)
    target.save()
    keys = {(CustomerKey.Kind.REFERENCE, ref) for ref in target.external_refs[1:]}
    target_email = lowered(target.email)
    for other in others:
        if other.email and lowered(other.email) != target_email:
            keys.add((CustomerKey.Kind.EMAIL, lowered(other.email)))
        if other.phone and other.phone != target.phone:
            keys.add((CustomerKey.Kind.PHONE, other.phone))
    CustomerKey.objects.bulk_create(
        [CustomerKey(incident_id=target.incident_id, customer=target, kind=k, value=v) for k, v in sorted(keys)],
        ignore_conflicts=True,
    )
    return len(others), kept


def lowered(email: str) -> str:
    """An email's lookup key as the database computes it (lower()), so both sides always agree."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT lower(%s)", [email])
        return str(cursor.fetchone()[0])
