"""The send task's work: claim the batch, render per shape, hand it to the provider, record it.

The task starts by moving its batch from queued to sending in one conditional UPDATE (only while the
wave runs); a task that gets no batch does nothing, so a message Celery delivers twice sends nothing
twice. Its rows are the batch's ids that still carry its token and are still pending. What
happened to each row is collected in ``Outcomes`` and written by ``outcomes.record`` at the end.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from django.db import connection

from breachcomms.channels.base import ChannelError, PermanentError, TransientError
from breachcomms.core.timing import PhaseTimer
from breachcomms.delivery.conf import seconds
from breachcomms.delivery.dispatch import BATCH, DELIVERY, ids_of, rows_sql
from breachcomms.delivery.ledger import SUPPRESSION, opted_out_row_sql
from breachcomms.delivery.models import DeliveryBatch, DeliveryStatus, Suppression, Wave
from breachcomms.delivery.notice_lookup import NoticeCatalog
from breachcomms.delivery.outcomes import Outcomes, Problem
from breachcomms.delivery.references import format_reference
from breachcomms.delivery.shapes import CustomerValues
from breachcomms.incidents.models import Incident
from breachcomms.notices.context import IncidentFacts, Recipient
from breachcomms.recipients.models import Customer

logger = logging.getLogger(__name__)
CUSTOMER = Customer._meta.db_table
WAVE = Wave._meta.db_table
# Connection failures that happen before a request leaves this machine: the provider has nothing.
_NEVER_SENT = frozenset(
    {"ConnectionRefusedError", "gaierror", "NewConnectionError", "ConnectTimeoutError", "ConnectTimeout",
     "NameResolutionError"}
)  # fmt: skip


class Halt(Exception):
    """Stop the whole wave: the problem is not this batch's (credentials, a missing approved notice)."""


@dataclass(frozen=True)
class Row:
    id: int
    reference: int
    channel: str
    address: str
    attempts: int
    recipient: Recipient

    @property
    def reference_code(self) -> str:
        return format_reference(self.reference)

    @property
    def values(self) -> CustomerValues:
        return CustomerValues(self.recipient.name, self.recipient.accounts, self.reference_code)


@dataclass
class Batch:
    """A claimed batch and everything needed to render and send it."""

    claim_token: str
    queued_at: datetime  # when the dispatcher claimed it
    wave: Wave
    incident: Incident
    facts: IncidentFacts
    catalog: NoticeCatalog
    sent_at: datetime
    rows: list[Row]
    timer: PhaseTimer = field(default_factory=PhaseTimer)  # where a batch's time goes (the benchmark reads it)

    @cached_property
    def facts_key(self) -> str:
        return repr(self.facts)


_ROW_COLUMNS = (
    "d.id, d.reference, d.channel, d.address, d.attempts, d.wave_id, "
    "c.name, c.accounts, c.exposure_flags, c.locale, c.time_zone, c.country, c.subdivision"
)


@dataclass(frozen=True)
class Claimed:
    """A batch whose task has started: its wave, when it was claimed, its rows."""

    wave_id: int
    queued_at: datetime
    rows: list[Row]


def claim_rows(claim_token: str, *, now: datetime, sent_at: datetime) -> Claimed | None:
    """Start sending the token's batch while its wave runs, or None.

    The batch row goes from queued to sending, committed before the provider is called; a batch that is not
    queued, or whose wave does not run, yields nothing. Its rows are those of its ids still pending under
    its token (a row cancelled or suppressed since the claim is not).
    """
    running = f"wave_id IN (SELECT id FROM {WAVE} WHERE status = %s)"  # noqa: S608
    lease = now + seconds("BREACHCOMMS_DELIVERY_SENDING_LEASE")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {BATCH} SET status = %s, lease_until = %s, sent_at = %s "  # noqa: S608
            f"WHERE token = %s AND status = %s AND {running} RETURNING wave_id, created_at, ids",
            [DeliveryBatch.Status.SENDING, lease, sent_at, claim_token, DeliveryBatch.Status.QUEUED,
             Wave.Status.RUNNING],
        )  # fmt: skip
        flipped = cursor.fetchone()
        if flipped is None:
            return None
        mine, params = rows_sql(ids_of(flipped[2]), "d.id")
        cursor.execute(
            f"SELECT {_ROW_COLUMNS} FROM {DELIVERY} d JOIN {CUSTOMER} c ON c.id = d.customer_id "  # noqa: S608
            f"WHERE {mine} AND d.claim_token = %s AND d.status = %s ORDER BY d.id",
            [*params, claim_token, DeliveryStatus.PENDING],
        )
        return Claimed(flipped[0], flipped[1], _rows(cursor.fetchall()))


def _accounts(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = json.loads(value or "[]")
    return tuple(map(str, value)) if isinstance(value, list) else ()


def _rows(records: list[tuple[Any, ...]]) -> list[Row]:
    return [
        Row(
            id=r[0],
            reference=r[1],
            channel=r[2],
            address=r[3],
            attempts=r[4],
            recipient=Recipient(
                name=r[6],
                accounts=_accounts(r[7]),
                exposure_flags=r[8],
                locale=r[9],
                time_zone=r[10],
                country=r[11],
                subdivision=r[12],
            ),
        )
        for r in records
    ]


def mark_suppressed(
    claim_token: str, ids: list[int], *, incident_id: int, now: datetime, whole_customer: bool = False
) -> set[int]:
    """Rows (of ``ids``, the batch's) whose address was suppressed since the launch are not sent; returns their ids.

    ``whole_customer`` (every campaign but the initial notice): a do-not-contact on any of the customer's
    addresses stops their rows on every channel too — an opted-out person gets no follow-up at all.
    """
    mine, params = rows_sql(ids, f"{DELIVERY}.id")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {DELIVERY} SET status = %s, finished_at = %s, last_error = s.reason, lease_until = NULL "  # noqa: S608
            f"FROM {SUPPRESSION} s WHERE {mine} AND {DELIVERY}.claim_token = %s AND {DELIVERY}.status = %s "
            f"AND s.incident_id = %s AND s.channel = {DELIVERY}.channel AND s.address = CASE "
            f"WHEN {DELIVERY}.channel = 'email' THEN lower({DELIVERY}.address) ELSE {DELIVERY}.address END "
            f"RETURNING {DELIVERY}.id",
            [DeliveryStatus.SUPPRESSED, now, *params, claim_token, DeliveryStatus.PENDING, incident_id],
        )
        suppressed = {row[0] for row in cursor.fetchall()}
        if whole_customer:
            cursor.execute(
                f"UPDATE {DELIVERY} SET status = %s, finished_at = %s, last_error = %s, lease_until = NULL "  # noqa: S608
                f"FROM {CUSTOMER} c WHERE {mine} AND {DELIVERY}.claim_token = %s AND {DELIVERY}.status = %s "
                f"AND c.id = {DELIVERY}.customer_id AND {opted_out_row_sql()} RETURNING {DELIVERY}.id",
                [
                    DeliveryStatus.SUPPRESSED,
                    now,
                    Suppression.Reason.DO_NOT_CONTACT,
                    *params,
                    claim_token,
                    DeliveryStatus.PENDING,
                ],
            )
            suppressed |= {row[0] for row in cursor.fetchall()}
        return suppressed


def never_sent(exc: BaseException) -> bool:
    """Whether a transport error happened before the request left (so it certainly did not arrive)."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if type(current).__name__ in _NEVER_SENT:
            return True
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        stack.extend(item for item in linked if isinstance(item, BaseException))
    return False


def classify(error: ChannelError, rows: Sequence[Row], outcomes: Outcomes) -> None:
    """Record a provider error for rows: retry, fail, or in doubt when it may have been delivered."""
    if isinstance(error, PermanentError):
        if error.status in (401, 403):
            raise Halt(f"The provider refused the credentials ({error.reason}).")
        outcomes.failed += [Problem(r.id, r.attempts, error.reason, error.status) for r in rows]
    elif isinstance(error, TransientError) and error.status is None and not never_sent(error):
        outcomes.in_doubt += [Problem(r.id, r.attempts, error.reason, None) for r in rows]
    else:
        retry_after = getattr(error, "retry_after", None)
        outcomes.retry += [Problem(r.id, r.attempts, error.reason, error.status, retry_after) for r in rows]


def chunks(rows: Sequence[Row], size: int) -> Iterator[list[Row]]:
    """Batches of at most ``size`` rows with no address twice (SendGrid refuses a repeated address)."""
    waiting = list(rows)
    while waiting:
        batch: list[Row] = []
        seen: set[str] = set()
        held: list[Row] = []
        for row in waiting:
            key = row.address.lower()
            if key in seen or len(batch) == size:
                held.append(row)
            else:
                batch.append(row)
                seen.add(key)
        yield batch
        waiting = held
