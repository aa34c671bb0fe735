"""Merge staged rows into customers, set-based.

1. Cluster: rows sharing a normalized email or an E.164 phone, transitively, get the smallest
   line number among them as ``cluster`` (label propagation in SQL, only over duplicated keys).
2. Resolve: a cluster that shares an email or phone with existing customers belongs to the
   oldest of them (several existing customers linked by the file are merged into it).
3. Create: each remaining cluster becomes a new customer. Single-row clusters, nearly all rows
   of a first import, are inserted with one INSERT … SELECT; the rest are merged in Python,
   streamed in batches.
4. Keys: every email, phone and external reference is recorded once per customer.

The SQL runs on PostgreSQL and on SQLite (≥ 3.33, for UPDATE … FROM).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils import timezone

from breachcomms.core.timing import PhaseTimer
from breachcomms.incidents.risk import RiskRules
from breachcomms.recipients.models import Customer, CustomerKey, StagedRow

STAGED = StagedRow._meta.db_table
CUSTOMER = Customer._meta.db_table
KEY = CustomerKey._meta.db_table
BATCH = 2000
logger = logging.getLogger(__name__)


@dataclass
class MergeResult:
    customers_created: int
    customers_linked: int  # existing customers merged together because the file linked them
    timings: dict[str, float] = field(default_factory=dict)


def _execute(sql: str, params: list[Any]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def cluster_rows(import_id: int) -> int:
    """Give rows linked by email or phone one cluster label; returns the passes it took."""
    passes = 0
    while True:
        passes += 1
        changed = 0
        for column in ("email_key", "phone"):
            changed += _execute(
                f"""UPDATE {STAGED} SET cluster = g.c
                FROM (SELECT {column} AS k, MIN(cluster) AS c FROM {STAGED}
                      WHERE customer_import_id = %s AND {column} <> ''
                      GROUP BY {column} HAVING COUNT(*) > 1) AS g
                WHERE {STAGED}.customer_import_id = %s AND {STAGED}.{column} = g.k
                  AND {STAGED}.cluster > g.c""",  # noqa: S608 - fixed identifiers
                [import_id, import_id],
            )
        if not changed:
            return passes


def _links_sql() -> str:
    return f"""SELECT s.cluster AS cluster, k.customer_id AS customer_id
        FROM {STAGED} s JOIN {KEY} k ON k.incident_id = %s AND k.kind = 'email' AND k.value = s.email_key
        WHERE s.customer_import_id = %s AND s.email_key <> ''
        UNION
        SELECT s.cluster, k.customer_id
        FROM {STAGED} s JOIN {KEY} k ON k.incident_id = %s AND k.kind = 'phone' AND k.value = s.phone
        WHERE s.customer_import_id = %s AND s.phone <> ''"""  # noqa: S608


def resolve_existing(import_id: int, incident_id: int, rules: RiskRules) -> int:
    """Point clusters at the existing customers they match; returns how many customers merged."""
    link_params = [incident_id, import_id, incident_id, import_id]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT cluster, customer_id FROM ({_links_sql()}) AS l
            WHERE cluster IN (SELECT cluster FROM ({_links_sql()}) AS m
                              GROUP BY cluster HAVING COUNT(DISTINCT customer_id) > 1)
            ORDER BY cluster, customer_id""",  # noqa: S608
            link_params + link_params,
        )
        conflicts: dict[int, list[int]] = {}
        for cluster, customer_id in cursor.fetchall():
            conflicts.setdefault(cluster, []).append(customer_id)
    linked = 0
    for customer_ids in conflicts.values():
        linked += merge_existing_customers(customer_ids, rules)
    _execute(
        f"""UPDATE {STAGED} SET customer_id = m.customer_id
        FROM (SELECT cluster, MIN(customer_id) AS customer_id FROM ({_links_sql()}) AS l GROUP BY cluster) AS m
        WHERE {STAGED}.customer_import_id = %s AND {STAGED}.cluster = m.cluster""",  # noqa: S608
        [*link_params, import_id],
    )
    return linked


def merge_existing_customers(customer_ids: list[int], rules: RiskRules) -> int:
    """Fold several existing customers into the oldest; returns how many were folded in."""
    customers = list(Customer.objects.filter(id__in=customer_ids).order_by("id"))
    if len(customers) < 2:
        return 0
    target, *others = customers
    for other in others:
        _fold(target, other.__dict__)
        CustomerKey.objects.filter(customer=other).exclude(
            kind=CustomerKey.Kind.REFERENCE, value__in=target.external_refs
        ).update(customer=target)
        other.delete()
    target.risk_tier, target.risk_basis_flags = rules.classify(target.exposure_flags)
    target.save()
    return len(others)


def reserve_customer_ids(import_id: int) -> int:
    """Reserve a block of customer ids and return its base: a new cluster's id is base + cluster.

    Clusters are line numbers, so no row needs an UPDATE to learn its customer's id. Unused ids
    (rejected or merged lines) leave gaps, which cost nothing.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(line), 0) FROM {STAGED} WHERE customer_import_id = %s", [import_id])  # noqa: S608
        (max_line,) = cursor.fetchone()
        if connection.vendor == "postgresql":
            # The lock keeps other merges from taking ids between nextval and setval.
            cursor.execute(f"LOCK TABLE {CUSTOMER} IN SHARE ROW EXCLUSIVE MODE")
            cursor.execute(f"SELECT nextval(pg_get_serial_sequence('{CUSTOMER}', 'id'))")
            (base,) = cursor.fetchone()
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{CUSTOMER}', 'id'), %s)", [base + max_line])
        else:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {CUSTOMER}")  # noqa: S608
            (base,) = cursor.fetchone()
    return int(base)


def _customer_id_sql(base: int) -> str:
    return f"COALESCE(s.customer_id, {int(base)} + s.cluster)"


_SINGLE = f"""NOT EXISTS (SELECT 1 FROM {STAGED} t
    WHERE t.customer_import_id = s.customer_import_id AND t.cluster = s.cluster AND t.line <> s.line)"""  # noqa: S608


def tier_sql(rules: RiskRules) -> tuple[str, str, list[int]]:
    """SQL expressions for (risk_tier, risk_basis_flags) of ``exposure_flags`` under ``rules``."""
    tier = (
        "CASE WHEN (exposure_flags & %s) <> 0 THEN 'high' WHEN (exposure_flags & %s) <> 0 THEN 'medium' ELSE 'low' END"
    )
    basis = (
        "CASE WHEN (exposure_flags & %s) <> 0 THEN (exposure_flags & %s) "
        "WHEN (exposure_flags & %s) <> 0 THEN (exposure_flags & %s) ELSE exposure_flags END"
    )
    return tier, basis, [rules.high, rules.medium, rules.high, rules.high, rules.medium, rules.medium]


def insert_single_row_customers(import_id: int, incident_id: int, rules: RiskRules, base: int) -> int:
    """Create the customers of single-row new clusters with one INSERT … SELECT."""
    tier, basis, params = tier_sql(rules)
    now = timezone.now()
    columns = "name, email, phone, country, subdivision, locale, language, time_zone, external_refs, accounts"
    return _execute(
        f"""INSERT INTO {CUSTOMER} (id, incident_id, {columns}, exposure_flags, risk_tier, risk_basis_flags,
                attributes, created_at, updated_at)
        SELECT {int(base)} + s.cluster, %s, {columns}, exposure_flags, {tier}, {basis}, attributes, %s, %s
        FROM {STAGED} s WHERE s.customer_import_id = %s AND s.customer_id IS NULL AND {_SINGLE}""",  # noqa: S608
        [incident_id, *params, now, now, import_id],
    )


def _union(into: list[str], values: list[str]) -> None:
    for value in values:
        if value not in into:
            into.append(value)


_FIRST_WINS = ("name", "email", "phone", "country", "subdivision", "locale", "language", "time_zone")


def _fold(customer: Customer, row: dict[str, Any]) -> None:
    """Merge one row's values into a customer: blanks are filled, lists and flags united."""
    for name in _FIRST_WINS:
        if not getattr(customer, name) and row[name]:
            setattr(customer, name, row[name])
    _union(customer.external_refs, row["external_refs"])
    _union(customer.accounts, row["accounts"])
    customer.exposure_flags |= row["exposure_flags"]
    for key, value in row["attributes"].items():
        customer.attributes.setdefault(key, value)


_MERGE_FIELDS = [*_FIRST_WINS, "external_refs", "accounts", "exposure_flags", "attributes"]


def _snapshot(customer: Customer) -> str:
    """The merged fields' values, comparable before and after folding rows in."""
    return repr([getattr(customer, name) for name in _MERGE_FIELDS])


def _decoded(value: Any) -> Any:
    # PostgreSQL returns JSON columns decoded, SQLite as text.
    return json.loads(value) if isinstance(value, str) else value


def _grouped_rows(import_id: int, base: int) -> Iterator[list[dict[str, Any]]]:
    """Rows of multi-row or existing clusters, grouped by customer, streamed."""
    fields = ", ".join(f"s.{name}" for name in _MERGE_FIELDS)
    sql = f"""SELECT {_customer_id_sql(base)}, s.customer_id IS NULL, {fields} FROM {STAGED} s
        WHERE s.customer_import_id = %s AND (s.customer_id IS NOT NULL OR NOT {_SINGLE})
        ORDER BY 1, s.line"""  # noqa: S608
    group: list[dict[str, Any]] = []
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, [import_id])
        while batch := cursor.fetchmany(BATCH):
            for customer_id, new, *values in batch:
                row = dict(zip(_MERGE_FIELDS, values, strict=True))
                for name in ("external_refs", "accounts", "attributes"):
                    row[name] = _decoded(row[name])
                row["customer_id"], row["new_customer"] = customer_id, bool(new)
                if group and group[0]["customer_id"] != customer_id:
                    yield group
                    group = []
                group.append(row)
    if group:
        yield group


def merge_grouped_rows(import_id: int, incident_id: int, rules: RiskRules, base: int) -> int:
    """Create or update the customers of multi-row and existing clusters; returns how many new."""
    created = 0
    new: list[Customer] = []
    existing_groups: list[list[dict[str, Any]]] = []

    def flush_existing() -> None:
        by_id = Customer.objects.in_bulk([g[0]["customer_id"] for g in existing_groups])
        changed = []
        for group in existing_groups:
            customer = by_id[group[0]["customer_id"]]
            before = _snapshot(customer)
            for row in group:
                _fold(customer, row)
            customer.risk_tier, customer.risk_basis_flags = rules.classify(customer.exposure_flags)
            after = _snapshot(customer)
            if before != after:
                customer.updated_at = timezone.now()
                changed.append(customer)
        Customer.objects.bulk_update(changed, [*_MERGE_FIELDS, "risk_tier", "risk_basis_flags", "updated_at"])
        existing_groups.clear()

    for group in _grouped_rows(import_id, base):
        if group[0]["new_customer"]:
            customer = Customer(
                id=group[0]["customer_id"], incident_id=incident_id, external_refs=[], accounts=[], attributes={}
            )
            for row in group:
                _fold(customer, row)
            customer.risk_tier, customer.risk_basis_flags = rules.classify(customer.exposure_flags)
            new.append(customer)
            if len(new) >= BATCH:
                created += len(Customer.objects.bulk_create(new))
                new.clear()
        else:
            existing_groups.append(group)
            if len(existing_groups) >= BATCH:
                flush_existing()
    if new:
        created += len(Customer.objects.bulk_create(new))
    if existing_groups:
        flush_existing()
    return created


def record_keys(import_id: int, incident_id: int, base: int) -> None:
    """Record each row's email, phone and references as keys of its customer (once each).

    Keys of new customers cannot exist yet (their cluster matched no key, and merges are serialized
    by the lock taken in reserve_customer_ids), so they skip the cost of ON CONFLICT.
    """
    customer_id = _customer_id_sql(base)
    unnest = (
        "jsonb_array_elements_text(s.external_refs) AS r(value)"
        if connection.vendor == "postgresql"
        else "json_each(s.external_refs) AS r"
    )
    sources = [
        ("'email'", "s.email_key", "", "s.email_key <> ''"),
        ("'phone'", "s.phone", "", "s.phone <> ''"),
        ("'ref'", "r.value", f", {unnest}", "TRUE"),
    ]
    for kind, value, join, condition in sources:
        for existing, conflict in (("IS NULL", ""), ("IS NOT NULL", "ON CONFLICT DO NOTHING")):
            _execute(
                f"""INSERT INTO {KEY} (incident_id, customer_id, kind, value)
                SELECT DISTINCT %s, {customer_id}, {kind}, {value} FROM {STAGED} s{join}
                WHERE s.customer_import_id = %s AND s.customer_id {existing} AND {condition} {conflict}""",  # noqa: S608
                [incident_id, import_id],
            )


def merge_staged(import_id: int, incident_id: int, rules: RiskRules) -> MergeResult:
    """Run the whole merge for one import (call inside a transaction)."""
    timer = PhaseTimer()
    with timer("cluster"):
        cluster_rows(import_id)
    with timer("resolve existing"):
        linked = resolve_existing(import_id, incident_id, rules)
    with timer("reserve ids"):
        base = reserve_customer_ids(import_id)
    with timer("insert single-row customers"):
        created = insert_single_row_customers(import_id, incident_id, rules, base)
    with timer("merge groups"):
        created += merge_grouped_rows(import_id, incident_id, rules, base)
    with timer("record keys"):
        record_keys(import_id, incident_id, base)
    logger.info("import %s merged: %s", import_id, timer)
    return MergeResult(customers_created=created, customers_linked=linked, timings=timer.seconds)
