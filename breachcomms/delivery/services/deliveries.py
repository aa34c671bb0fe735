"""The dispatcher, the send task and the reconciliation of rows in doubt."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from django.db import connection, transaction
from django.utils import timezone

from breachcomms.core.timing import PhaseTimer
from breachcomms.delivery import dispatch, ledger
from breachcomms.delivery.conf import setting
from breachcomms.delivery.delivering import send_emails, send_sms
from breachcomms.delivery.models import Channel, Delivery, DeliveryBatch, DeliveryStatus, Suppression, Wave
from breachcomms.delivery.notice_lookup import NoticeCatalog
from breachcomms.delivery.outcomes import Outcomes, record
from breachcomms.delivery.reconcile import ReconcileReport, reconcile_in_doubt
from breachcomms.delivery.sending import (
    WAVE,
    Batch,
    Claimed,
    Halt,
    claim_rows,
    mark_suppressed,
)
from breachcomms.delivery.services.waves import (
    wave_check_auto_halt,
    wave_complete,
    wave_halt,
    wave_reopen_for_fallbacks,
)
from breachcomms.notices.context import IncidentFacts

logger = logging.getLogger(__name__)
Enqueue = Callable[[str], object]


def _enqueue_send(claim_token: str) -> None:
    from breachcomms.delivery.tasks import delivery_send_batch_task

    delivery_send_batch_task.delay(claim_token)


@dataclass
class DispatchReport:
    requeued: int = 0  # queued rows whose task never came, back to pending
    in_doubt: int = 0  # rows of a batch being sent whose worker went silent
    moved: int = 0  # rows moved to the next opening of their sending window
    claimed: dict[int, dict[str, int]] = field(default_factory=dict)  # wave → channel → rows
    tokens: list[str] = field(default_factory=list)
    completed: list[int] = field(default_factory=list)
    halted: list[int] = field(default_factory=list)

    @property
    def claimed_total(self) -> int:
        return sum(sum(by_channel.values()) for by_channel in self.claimed.values())


def _claim_wave(
    wave: Wave, grants: dict[str, int], now: datetime, report: DispatchReport
) -> tuple[list[str], dict[str, int]]:
    """Claim the wave's due rows within its grants; returns (claim tokens, unused grant per channel)."""
    cells, moved = dispatch.open_cells(wave, now=now)
    report.moved += moved
    allowances = dispatch.region_allowances(wave, now=now)
    tokens: list[str] = []
    unused: dict[str, int] = {}
    room = int(setting("BREACHCOMMS_DELIVERY_MAX_IN_FLIGHT"))
    for channel, grant in grants.items():
        limit = min(grant, room - dispatch.in_flight(wave, channel))
        if dispatch.messages_per_second(wave, channel) is None and limit < dispatch.batch_size(channel):
            limit = 0  # unpaced: wait until a whole batch fits rather than hand out slivers
        claimed, regions = dispatch.claim_channel(
            wave, channel=channel, cells=cells, limit=limit, allowances=allowances, now=now
        )
        count = sum(claimed.values())
        unused[channel] = grant - count
        if regions:
            dispatch.count_region_claims(wave, regions, now=now)
            if allowances is not None:
                for region, n in regions.items():
                    allowances[region] -= n
        if count:
            report.claimed.setdefault(wave.id, {})[channel] = count
        tokens += list(claimed)
    return tokens, unused


def _dispatch_wave(wave: Wave, now: datetime, report: DispatchReport, enqueue: Enqueue) -> list[str]:
    # The bucket is refilled in a statement of its own: the wave's row is locked only for that moment,
    # not while the rows are claimed (send tasks and the commander's buttons need it too).
    grants = dispatch.reserve(wave, now=now)
    if grants is None:
        return []
    with transaction.atomic():
        tokens, unused = _claim_wave(wave, grants, now, report)
        for token in tokens:
            transaction.on_commit(partial(enqueue, token))
    for channel, n in unused.items():
        dispatch.refund(wave, channel, n)
    return tokens


# Failures are judged by the send task that sees them; the dispatcher looks again now and then for
# bounces that webhooks reported since.
HALT_CHECK_EVERY = 10.0
_halt_checked: dict[int, float] = {}


def _halt_check_due(wave_id: int) -> bool:
    clock = time.monotonic()
    if clock - _halt_checked.get(wave_id, 0.0) < HALT_CHECK_EVERY:
        return False
    _halt_checked[wave_id] = clock
    return True


def delivery_dispatch_due(*, now: datetime | None = None, enqueue: Enqueue | None = None) -> DispatchReport:
    """One dispatcher run: recover leases, then claim each running wave's due rows and enqueue send tasks."""
    now = now or timezone.now()
    enqueue = enqueue or _enqueue_send
    report = DispatchReport()
    report.requeued, report.in_doubt = dispatch.recover_leases(now=now)
    for wave in Wave.objects.filter(status=Wave.Status.RUNNING).order_by("launched_at", "id"):
        tokens = _dispatch_wave(wave, now, report, enqueue)
        report.tokens += tokens
        if not tokens and wave_complete(wave_id=wave.id, now=now):
            report.completed.append(wave.id)
        elif _halt_check_due(wave.id) and wave_check_auto_halt(wave_id=wave.id):
            report.halted.append(wave.id)
    return report


@dataclass(frozen=True)
class SendReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    in_doubt: int = 0
    suppressed: int = 0
    fallbacks: int = 0
    halted: str = ""
    seconds: dict[str, float] = field(default_factory=dict)  # claim, render, send, record


def _lock_wave_status(wave_id: int) -> str:
    """The wave's status, locked so that an abort (which locks the row for update) waits for this task's
    records and then cancels what is left. KEY SHARE does not hold up the dispatcher's bucket updates."""
    lock = " FOR KEY SHARE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT status FROM {WAVE} WHERE id = %s{lock}", [wave_id])  # noqa: S608
        return str(cursor.fetchone()[0])


def _load_batch(
    claim_token: str, claimed: Claimed, *, now: datetime, sent_at: datetime, timer: PhaseTimer
) -> tuple[Batch, set[int]]:
    wave = Wave.objects.select_related("campaign__incident").get(id=claimed.wave_id)
    incident = wave.campaign.incident
    suppressed: set[int] = set()
    if Suppression.objects.filter(incident=incident).exists():
        suppressed = mark_suppressed(
            claim_token,
            [row.id for row in claimed.rows],
            incident_id=incident.id,
            now=now,
            whole_customer=ledger.opt_out_applies(wave),
        )
    batch = Batch(
        claim_token=claim_token,
        queued_at=claimed.queued_at,
        wave=wave,
        incident=incident,
        facts=IncidentFacts.from_incident(incident),
        catalog=NoticeCatalog.load(campaign=wave.campaign, fallback_locale=wave.fallback_locale),
        sent_at=sent_at,
        rows=[row for row in claimed.rows if row.id not in suppressed],
        timer=timer,
    )
    return batch, suppressed


def _send(batch: Batch) -> Outcomes:
    outcomes = Outcomes()
    try:
        send_emails(batch, [row for row in batch.rows if row.channel == Channel.EMAIL], outcomes)
        send_sms(batch, [row for row in batch.rows if row.channel == Channel.SMS], outcomes)
    except Halt as halt:
        outcomes.halt_reason = str(halt)
        done = {s.delivery_id for s in outcomes.sent} | {
            p.delivery_id for p in (*outcomes.retry, *outcomes.failed, *outcomes.in_doubt)
        }
        outcomes.release = [row.id for row in batch.rows if row.id not in done]
    return outcomes


def delivery_send_batch(*, claim_token: str, now: datetime | None = None) -> SendReport:
    """Send the rows claimed under a token, once: a second call (a repeated task) finds none."""
    now = now or timezone.now()
    sent_at = now.replace(second=0, microsecond=0)  # the minute the notice says it was sent in
    timer = PhaseTimer()
    with timer("claim"):
        claimed = claim_rows(claim_token, now=now, sent_at=sent_at)
        if claimed is None:
            # Its wave stopped before the task started: the rows go back to pending (paused) or are cancelled.
            dispatch.release_batch(claim_token, now=now)
            return SendReport()
        batch, suppressed = _load_batch(claim_token, claimed, now=now, sent_at=sent_at, timer=timer)
    started = time.perf_counter()
    outcomes = _send(batch)
    # Rendering is what the batch spent outside the provider calls.
    timer.seconds["render"] = time.perf_counter() - started - timer.seconds.get("send", 0.0)
    with timer("record"):
        fallbacks = _record(batch, outcomes, suppressed, now=now, sent_at=sent_at)
    if outcomes.halt_reason:
        wave_halt(wave_id=batch.wave.id, reason=outcomes.halt_reason)
    elif outcomes.failed:
        wave_check_auto_halt(wave_id=batch.wave.id)
    return SendReport(
        claimed=len(batch.rows) + len(suppressed),
        sent=len(outcomes.sent),
        retried=len(outcomes.retry),
        failed=len(outcomes.failed),
        in_doubt=len(outcomes.in_doubt),
        suppressed=len(suppressed),
        fallbacks=fallbacks,
        halted=outcomes.halt_reason,
        seconds=dict(timer.seconds),
    )


@transaction.atomic
def _record(batch: Batch, outcomes: Outcomes, suppressed: set[int], *, now: datetime, sent_at: datetime) -> int:
    if connection.vendor == "postgresql":
        # The batch's move to "sending" was committed durably before the provider was called;
        # if a crash loses this record, the rows are found in doubt and settled from the provider's
        # record, never sent again. So this commit need not wait for the disk.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
    status = _lock_wave_status(batch.wave.id)
    record(
        outcomes,
        claim_token=batch.claim_token,
        wave_id=batch.wave.id,
        now=now,
        sent_at=sent_at,
        queued_at=batch.queued_at,
    )
    DeliveryBatch.objects.filter(token=batch.claim_token).update(status=DeliveryBatch.Status.DONE)
    if status == Wave.Status.ABORTED:
        _cancel_pending(batch.wave.id, now=now)
        return 0
    ids = [*outcomes.failed_ids, *suppressed]
    return ledger.insert_fallbacks(wave=batch.wave, failed_ids=ids, due_at=now, now=now)


def _cancel_pending(wave_id: int, *, now: datetime) -> None:
    """After an abort: rows this task put back to pending (retries) are cancelled; rows of other batches being
    sent (pending under their token) are left to their tasks."""
    Delivery.objects.filter(wave_id=wave_id, status=DeliveryStatus.PENDING, claim_token="").update(
        status=DeliveryStatus.CANCELLED, finished_at=now, last_error="The wave was aborted."
    )


@transaction.atomic
def delivery_fallback_create(*, delivery_ids: list[int], now: datetime | None = None) -> int:
    """The other channel's row for deliveries that hard-failed (e.g. a bounce reported by a webhook).

    Bounces arrive after the send, often after the wave completed: a completed wave is reopened (running
    again) for its new rows. An aborted wave gets none. The wave is locked first, so its completion
    (which locks it too) either comes before and is undone, or sees the new rows and waits for them."""
    now = now or timezone.now()
    created = 0
    by_wave: dict[int, list[int]] = {}
    for delivery_id, wave_id in Delivery.objects.filter(id__in=delivery_ids).values_list("id", "wave_id"):
        by_wave.setdefault(wave_id, []).append(delivery_id)
    open_statuses = [Wave.Status.RUNNING, Wave.Status.PAUSED, Wave.Status.COMPLETED]
    waves = Wave.objects.select_for_update().filter(id__in=by_wave, status__in=open_statuses).order_by("id")
    for wave in waves:
        inserted = ledger.insert_fallbacks(wave=wave, failed_ids=by_wave[wave.id], due_at=now, now=now)
        if inserted and wave.status == Wave.Status.COMPLETED:
            wave_reopen_for_fallbacks(wave=wave, created=inserted)
        created += inserted
    return created


def delivery_reconcile_in_doubt(*, now: datetime | None = None, limit: int = 1000) -> ReconcileReport:
    """Ask the provider about rows in doubt: found → sent; provably absent → pending (cancelled if aborted)."""
    return reconcile_in_doubt(now=now or timezone.now(), limit=limit)
