"""Writes of the tracking app: provider events in, delivery statuses, suppressions and fallbacks out."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from django.conf import settings
from django.db import OperationalError, transaction
from django.utils import timezone

from breachcomms.channels.base import ProviderEvent as IncomingEvent
from breachcomms.delivery.models import DeliveryAttempt, DeliveryStatus
from breachcomms.delivery.reconcile import record_sent_content
from breachcomms.delivery.services import delivery_fallback_create, wave_check_auto_halt
from breachcomms.tracking import ingestion
from breachcomms.tracking.ingestion import EventRow, Move
from breachcomms.tracking.statuses import ENGAGEMENT, FALLBACK_AFTER, meaning

logger = logging.getLogger(__name__)

MAX_EVENT_ID = 128
MAX_KIND = 32
MAX_BIGINT = (1 << 63) - 1
# PostgreSQL: deadlock detected, serialization failure. Both mean "run the transaction again".
_RETRYABLE: Final = frozenset({"40P01", "40001"})


@dataclass
class IngestReport:
    received: int = 0
    stored: int = 0
    moved: int = 0
    suppressed: int = 0
    fallbacks: int = 0
    halted: list[int] = field(default_factory=list)  # waves that paused themselves on their bounce rate

    @property
    def ignored(self) -> int:
        """Repeats, events of unknown deliveries, and opens/clicks while tracking is off."""
        return self.received - self.stored


def provider_events_record(*, events: Sequence[IncomingEvent], now: datetime | None = None) -> IngestReport:
    """Store a webhook's events once each and move their deliveries' statuses forward, set-based."""
    now = now or timezone.now()
    rows = event_rows(events)
    for attempt in range(3):
        try:
            return _record(rows, len(events), now)
        except OperationalError as exc:
            if attempt == 2 or getattr(exc.__cause__, "sqlstate", None) not in _RETRYABLE:
                raise
            logger.info("provider events: %s; running the batch again", exc)
    raise AssertionError("unreachable")


@transaction.atomic
def _record(rows: list[EventRow], received: int, now: datetime) -> IngestReport:
    report = IngestReport(received=received)
    stored = ingestion.insert_events(rows, now=now)
    new = [row for row in rows if (row.provider, row.event_id) in stored]
    report.stored = len(new)
    # Events that bring no status still settle a row in doubt (``choose_moves``), so every new event's row is read.
    current = ingestion.lock_deliveries(row.delivery_id for row in new)
    moves = ingestion.choose_moves(new, current)
    report.moved = ingestion.apply_moves(moves)
    _record_reconciled(moves, now)
    report.suppressed = ingestion.insert_suppressions(new, now=now)
    failed = [move.delivery_id for move in moves if move.status in FALLBACK_AFTER]
    if failed:
        report.fallbacks = delivery_fallback_create(delivery_ids=failed, now=now)
    # Hard bounces are known only from webhooks: this is where a wave's bounce rate can cross its limit.
    for wave_id in sorted({move.wave_id for move in moves if move.status == DeliveryStatus.BOUNCED}):
        if wave_check_auto_halt(wave_id=wave_id):
            report.halted.append(wave_id)
    return report


def _record_reconciled(moves: Sequence[Move], now: datetime) -> None:
    """A row in doubt that a provider reports on was sent after all: say so in its attempts, record what it got."""
    settled = [move.delivery_id for move in moves if move.old_status == DeliveryStatus.IN_DOUBT]
    if settled:
        record_sent_content(delivery_ids=settled)
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(
            delivery_id=move.delivery_id,
            wave_id=move.wave_id,
            at=now,
            outcome=DeliveryAttempt.Outcome.RECONCILED,
            provider_message_id=move.message_id[:128],
        )
        for move in moves
        if move.old_status == DeliveryStatus.IN_DOUBT
    )


def event_rows(events: Sequence[IncomingEvent]) -> list[EventRow]:
    """The events worth storing, each once, with its delivery id resolved and its meaning attached."""
    track_engagement = bool(getattr(settings, "BREACHCOMMS_TRACK_ENGAGEMENT", False))
    seen: set[tuple[str, str]] = set()
    wanted: list[IncomingEvent] = []
    for event in events:
        key = (event.provider, event.event_id)
        if key in seen or (event.kind in ENGAGEMENT and not track_engagement):
            continue
        if not event.event_id or len(event.event_id) > MAX_EVENT_ID:
            logger.warning("%s event with an unusable id skipped: %.200r", event.provider, event.event_id)
            continue
        seen.add(key)
        wanted.append(event)
    ids = [_delivery_id(event.delivery_id) for event in wanted]
    lost = [event for event, delivery_id in zip(wanted, ids, strict=True) if delivery_id is None]
    by_message = ingestion.deliveries_by_message_id(_message_id(event) for event in lost) if lost else {}
    rows = []
    for event, known in zip(wanted, ids, strict=True):
        message_id = _message_id(event)
        delivery_id = known or by_message.get((message_id, _address(event)))
        if delivery_id is not None:
            rows.append(_row(event, delivery_id, message_id))
    return rows


def _row(event: IncomingEvent, delivery_id: int, message_id: str) -> EventRow:
    reason = _clean(event.reason)[:1000]
    means = meaning(event.provider, event.kind, reason)
    return EventRow(
        provider=event.provider,
        event_id=event.event_id,
        delivery_id=delivery_id,
        kind=_clean(event.kind)[:MAX_KIND],
        occurred_at=event.occurred_at,
        reason=reason,
        raw=dict(event.raw),
        status=means.status,
        rank=means.rank,
        message_id=message_id,
        suppress=means.suppress,
    )


def _delivery_id(value: str) -> int | None:
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    number = int(text)
    return number if 0 < number <= MAX_BIGINT else None


def _message_id(event: IncomingEvent) -> str:
    # SendGrid's sg_message_id starts with the X-Message-Id the send returned, then ".filter…".
    message_id = event.provider_message_id
    return message_id.split(".", 1)[0] if event.provider == "sendgrid" else message_id


def _address(event: IncomingEvent) -> str:
    value = event.raw.get("email") or event.raw.get("To") or ""
    return str(value).strip().lower()


def _clean(text: str) -> str:
    # PostgreSQL text cannot hold NUL characters.
    return text.replace("\x00", "")
