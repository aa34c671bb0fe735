"""Set-based SQL for storing provider events and moving delivery statuses.

A batch of any size costs a fixed handful of statements: one INSERT of all events (ON CONFLICT DO
NOTHING, so repeats cost nothing), one SELECT … FOR UPDATE of the deliveries they name (in id order, so
concurrent batches cannot deadlock on them), one UPDATE … FROM of the statuses that move, and, only when
needed, the suppressions and the attempts of reconciled rows. PostgreSQL reads the rows from arrays
(``unnest``); SQLite, the demo database, from one JSON parameter (``json_each``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.db import connection

from breachcomms.delivery.models import Delivery, DeliveryStatus, Suppression
from breachcomms.recipients.models import Customer
from breachcomms.tracking.models import ProviderEvent
from breachcomms.tracking.statuses import CURRENT_RANK, FINISHING, TARGET_RANK, rank_case_sql

EVENT = ProviderEvent._meta.db_table
DELIVERY = Delivery._meta.db_table
SUPPRESSION = Suppression._meta.db_table
CUSTOMER = Customer._meta.db_table


@dataclass(slots=True)
class EventRow:
    """An event ready to be stored: its delivery resolved, its meaning known."""

    provider: str
    event_id: str
    delivery_id: int
    kind: str
    occurred_at: datetime
    reason: str
    raw: dict[str, Any]
    status: str | None
    rank: int
    message_id: str
    suppress: str | None


@dataclass(frozen=True)
class Move:
    """A delivery's status moving forward because of an event."""

    delivery_id: int
    wave_id: int
    old_status: str
    status: str
    at: datetime
    reason: str
    message_id: str


def values_source(
    alias: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]], key: str
) -> tuple[str, dict[str, Any]]:
    """A FROM item giving ``rows`` as a relation with ``columns`` (name, PostgreSQL type), from one JSON parameter.

    One JSON text is much cheaper to send than one array per column: the driver quotes arrays element by
    element in Python, while ``json.dumps`` is C; parsed once into jsonb, each field is then cheap to read.
    """
    postgresql = connection.vendor == "postgresql"
    stamps = [i for i, (_, pg_type) in enumerate(columns) if pg_type == "timestamptz"]
    encoded = [_with_stamps(row, stamps, postgresql) for row in rows] if stamps else rows
    payload = json.dumps(encoded, ensure_ascii=False, default=str)
    if "\\u0000" in payload:
        payload = _NUL.sub(r"\1", payload)
    if postgresql:
        selects = ", ".join(_pg_column(i, name, pg_type) for i, (name, pg_type) in enumerate(columns))
        # Names and types come from the fixed column lists of this module, never from input.
        sql = f"(SELECT {selects} FROM jsonb_array_elements(%({key})s::jsonb) AS r(value)) AS {alias}"  # noqa: S608
        return sql, {key: payload}
    selects = ", ".join(f"json_extract(value, '$[{i}]') AS {name}" for i, (name, _) in enumerate(columns))
    return f"(SELECT {selects} FROM json_each(%({key})s)) AS {alias}", {key: payload}  # noqa: S608


# A JSON "\u0000" escape (not one preceded by an escaped backslash): PostgreSQL cannot store NUL in text or jsonb.
_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def _pg_column(index: int, name: str, pg_type: str) -> str:
    if pg_type == "jsonb":
        return f"(value->{index}) AS {name}"
    if pg_type == "timestamptz":
        return f"to_timestamp((value->>{index})::float8) AS {name}"
    return f"(value->>{index})::{pg_type} AS {name}"


def _with_stamps(row: Sequence[Any], stamps: list[int], postgresql: bool) -> list[Any]:
    """Times as Unix seconds for PostgreSQL (``to_timestamp``), as Django stores them for SQLite."""
    values = list(row)
    for i in stamps:
        value = values[i]
        if isinstance(value, datetime):
            values[i] = value.timestamp() if postgresql else connection.ops.adapt_datetimefield_value(value)
    return values


_EVENT_COLUMNS = (
    ("provider", "text"),
    ("event_id", "text"),
    ("delivery_id", "bigint"),
    ("kind", "text"),
    ("occurred_at", "timestamptz"),
    ("reason", "text"),
    ("raw", "jsonb"),
)


def insert_events(rows: Sequence[EventRow], *, now: datetime) -> set[tuple[str, str]]:
    """Store the events whose delivery exists and that are not stored yet; returns their (provider, id)."""
    if not rows:
        return set()
    ordered = sorted(rows, key=lambda r: (r.provider, r.event_id))
    source, params = values_source(
        "i",
        _EVENT_COLUMNS,
        [(r.provider, r.event_id, r.delivery_id, r.kind, r.occurred_at, r.reason, r.raw) for r in ordered],
        "e",
    )
    # Ordered by the unique key: two batches with events in common take the index entries in one order.
    sql = (
        f"INSERT INTO {EVENT} (provider, event_id, delivery_id, kind, occurred_at, reason, raw, received_at) "  # noqa: S608
        "SELECT i.provider, i.event_id, d.id, i.kind, i.occurred_at, i.reason, i.raw, %(now)s "
        f"FROM {source} JOIN {DELIVERY} d ON d.id = i.delivery_id "
        "WHERE TRUE ORDER BY i.provider, i.event_id "
        "ON CONFLICT (provider, event_id) DO NOTHING RETURNING provider, event_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {**params, "now": _param(now)})
        return {(provider, event_id) for provider, event_id in cursor.fetchall()}


def _param(value: datetime) -> Any:
    return value if connection.vendor == "postgresql" else connection.ops.adapt_datetimefield_value(value)


def lock_deliveries(ids: Iterable[int]) -> dict[int, tuple[str, int]]:
    """The current status and wave of each delivery, locked in id order until the transaction ends."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    source, params = values_source("v", (("id", "bigint"),), [(i,) for i in wanted], "ids")
    lock = " FOR UPDATE OF d" if connection.vendor == "postgresql" else ""
    sql = f"SELECT d.id, d.status, d.wave_id FROM {DELIVERY} d JOIN {source} ON v.id = d.id ORDER BY d.id{lock}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {delivery_id: (status, wave_id) for delivery_id, status, wave_id in cursor.fetchall()}


def choose_moves(rows: Iterable[EventRow], current: dict[int, tuple[str, int]]) -> list[Move]:
    """Per delivery, the furthest status its new events bring, if that is further than where it is."""
    best: dict[int, EventRow] = {}
    for row in rows:
        if row.status is None:
            if current.get(row.delivery_id, ("", 0))[0] != DeliveryStatus.IN_DOUBT:
                continue
            # Any event of a message proves the provider has it: a row in doubt was sent after all.
            row = replace(row, status=DeliveryStatus.SENT, rank=TARGET_RANK[DeliveryStatus.SENT])
        held = best.get(row.delivery_id)
        # Furthest first; among equals the earliest (the first bounce or drop is the one that counted).
        if held is None or (row.rank, -row.occurred_at.timestamp()) > (held.rank, -held.occurred_at.timestamp()):
            best[row.delivery_id] = row
    moves = []
    for delivery_id, row in best.items():
        status, wave_id = current.get(delivery_id, ("", 0))
        if status and row.status and row.rank > CURRENT_RANK.get(status, 9):
            reason = f"{row.kind}: {row.reason}" if row.reason else row.kind
            moves.append(Move(delivery_id, wave_id, status, row.status, row.occurred_at, reason, row.message_id))
    return moves


_MOVE_COLUMNS = (
    ("id", "bigint"),
    ("status", "text"),
    ("at", "timestamptz"),
    ("reason", "text"),
    ("pid", "text"),
    ("finishing", "boolean"),
    ("failing", "boolean"),
)


def apply_moves(moves: Sequence[Move]) -> int:
    """Move the statuses in one UPDATE; the rank guard makes a stale move a no-op. Returns rows moved."""
    if not moves:
        return 0
    rows = [
        (m.delivery_id, m.status, m.at, m.reason, m.message_id, m.status in FINISHING, m.status in _FAILING)
        for m in moves
    ]
    source, params = values_source("v", _MOVE_COLUMNS, rows, "m")
    finishing = "v.finishing" if connection.vendor == "postgresql" else "v.finishing = 1"
    failing = "v.failing" if connection.vendor == "postgresql" else "v.failing = 1"
    sql = (
        f"UPDATE {DELIVERY} SET status = v.status, "  # noqa: S608
        f"last_error = CASE WHEN {failing} THEN v.reason ELSE {DELIVERY}.last_error END, "
        f"finished_at = CASE WHEN {finishing} THEN v.at ELSE {DELIVERY}.finished_at END, "
        f"sent_at = COALESCE({DELIVERY}.sent_at, v.at), lease_until = NULL, "
        f"provider_message_id = CASE WHEN {DELIVERY}.provider_message_id = '' THEN v.pid "
        f"ELSE {DELIVERY}.provider_message_id END "
        f"FROM {source} WHERE {DELIVERY}.id = v.id AND {rank_case_sql(f'{DELIVERY}.status')} < "
        f"{_target_rank_sql('v.status')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


_FAILING = frozenset({DeliveryStatus.BOUNCED, DeliveryStatus.FAILED})


def _target_rank_sql(column: str) -> str:
    whens = " ".join(f"WHEN '{status}' THEN {rank}" for status, rank in TARGET_RANK.items())
    return f"(CASE {column} {whens} ELSE 0 END)"


_SUPPRESSION_COLUMNS = (("id", "bigint"), ("reason", "text"), ("source", "text"))


def insert_suppressions(rows: Sequence[EventRow], *, now: datetime) -> int:
    """Put the addresses of hard bounces, blocks, complaints and dead numbers on their incident's list."""
    wanted = [(r.delivery_id, r.suppress, f"{r.provider} {r.kind}: {r.reason}"[:200]) for r in rows if r.suppress]
    if not wanted:
        return 0
    source, params = values_source("v", _SUPPRESSION_COLUMNS, wanted, "s")
    # Emails are compared in lower case when sending (``delivery.sending.mark_suppressed``).
    sql = (
        f"INSERT INTO {SUPPRESSION} (incident_id, channel, address, reason, source, created_at) "  # noqa: S608
        f"SELECT c.incident_id, d.channel, CASE WHEN d.channel = 'email' THEN lower(d.address) ELSE d.address END, "
        f"v.reason, v.source, %(now)s FROM {source} JOIN {DELIVERY} d ON d.id = v.id "
        f"JOIN {CUSTOMER} c ON c.id = d.customer_id WHERE d.address <> '' "
        "ON CONFLICT (incident_id, channel, address) DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {**params, "now": _param(now)})
        return max(0, int(cursor.rowcount))


def deliveries_by_message_id(message_ids: Iterable[str]) -> dict[tuple[str, str], int]:
    """Delivery ids by (provider message id, lower-case address), for events that lost their delivery id.

    A SendGrid message id covers every recipient of one request, hence the address.
    """
    wanted = sorted({m for m in message_ids if m})
    if not wanted:
        return {}
    rows = Delivery.objects.filter(provider_message_id__in=wanted).values_list("id", "provider_message_id", "address")
    return {(message_id, address.lower()): delivery_id for delivery_id, message_id, address in rows}
