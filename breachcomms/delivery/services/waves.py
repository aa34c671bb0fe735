"""A wave's life: schedule, launch (creates the ledger), pause, resume, abort, auto-halt, completion.

A scheduled wave is launched by ``waves_launch_due`` (every dispatcher tick) once its start has come,
as the commander who scheduled it: its rows are created then, so an audience such as "not delivered"
is judged at send time. A launch refused then pauses the wave with the reason; resuming it launches.
"""

from __future__ import annotations

import copy
import functools
import logging
import operator
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, ngettext

from breachcomms.audit.models import Action
from breachcomms.audit.services import audit_record
from breachcomms.core.numbers import grouped
from breachcomms.delivery import ledger
from breachcomms.delivery.audiences import validate_audience
from breachcomms.delivery.conf import setting
from breachcomms.delivery.dispatch import DELIVERY, bucket_capacity, cancel_unstarted, messages_per_second
from breachcomms.delivery.models import HANDED_OVER, Channel, Delivery, DeliveryStatus, Suppression, Wave, WaveAction
from breachcomms.delivery.notice_lookup import approved_versions
from breachcomms.delivery.selectors import WavePlan, wave_plan
from breachcomms.delivery.shapes import template_use
from breachcomms.delivery.template_use import ACCOUNTS, EXPOSED
from breachcomms.delivery.windows import Window
from breachcomms.incidents.models import Incident
from breachcomms.notices.context import IncidentFacts
from breachcomms.recipients.contacts import InvalidValue, email_key, normalize_email, normalize_phone

LAUNCH_PERMISSION = "delivery.launch_wave"
SUPPRESSION_REMOVE_PERMISSION = "delivery.delete_suppression"
logger = logging.getLogger(__name__)


START_NOT_IN_THE_FUTURE = gettext_lazy(
    "To schedule the wave, set its start to a time in the future (or launch it now)."
)


class WaveStateError(Exception):
    """The wave is not in a state that allows this (e.g. resuming a running wave)."""


class LaunchRefused(Exception):
    """The launch checks failed; ``problems`` says what to fix, one sentence each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


_AUDITED = {
    WaveAction.Kind.SCHEDULE: Action.WAVE_SCHEDULED,
    WaveAction.Kind.UNSCHEDULE: Action.WAVE_UNSCHEDULED,
    WaveAction.Kind.LAUNCH: Action.WAVE_LAUNCHED,
    WaveAction.Kind.PAUSE: Action.WAVE_PAUSED,
    WaveAction.Kind.RESUME: Action.WAVE_RESUMED,
    WaveAction.Kind.ABORT: Action.WAVE_ABORTED,
    WaveAction.Kind.HALT: Action.WAVE_HALTED,
    WaveAction.Kind.COMPLETE: Action.WAVE_COMPLETED,
    WaveAction.Kind.REOPEN: Action.WAVE_REOPENED,
}


def _act(wave: Wave, kind: WaveAction.Kind, by: Any = None, reason: str = "", **data: Any) -> None:
    """Record what happened to a wave on the wave and on the audit trail."""
    WaveAction.objects.create(
        wave=wave, kind=kind, by=by if getattr(by, "is_authenticated", False) else None, reason=reason
    )
    audit_record(
        action=_AUDITED[kind],
        actor=by,
        incident_id=wave.campaign.incident_id,
        obj=wave,
        data={"campaign": wave.campaign_id, "status": wave.status, "reason": reason, **data},
    )


def _require(user: Any) -> None:
    if not getattr(user, "has_perm", None) or not user.has_perm(LAUNCH_PERMISSION):
        raise PermissionDenied(gettext("Only an incident commander may launch, pause, resume or abort a wave."))


def _locked(wave: Wave) -> Wave:
    return Wave.objects.select_for_update().select_related("campaign__incident").get(id=wave.id)


def _transition(wave: Wave, allowed: tuple[str, ...], refusal: str) -> None:
    """Refuse unless the wave is in an allowed status; ``refusal`` is a whole sentence with %(status)s."""
    if wave.status not in allowed:
        raise WaveStateError(refusal % {"status": Wave.Status(wave.status).label})


@transaction.atomic
def wave_launch(*, wave: Wave, user: Any, now: datetime | None = None) -> Wave:
    """Check the plan and create the wave's delivery rows in SQL; the dispatcher takes it from there."""
    _require(user)
    now = now or timezone.now()
    wave = _locked(wave)
    _transition(
        wave,
        (Wave.Status.DRAFT,),
        gettext("This wave cannot be launched: its status is %(status)s, and only a draft can be launched."),
    )
    _create_ledger(wave, user, now=now)
    return wave


def _launch_checks(wave: Wave, *, now: datetime) -> WavePlan:
    """The wave's plan, if its audience is sound and the plan has no problem; else LaunchRefused."""
    problems = validate_audience(wave.audience, wave=wave)
    if problems:
        raise LaunchRefused(problems)
    plan = wave_plan(wave=wave, now=now)
    if plan.problems:
        raise LaunchRefused(plan.problems)
    return plan


def _create_ledger(wave: Wave, user: Any, *, now: datetime) -> None:
    """Check the (locked) wave and create its rows; the wave is running afterwards."""
    plan = _launch_checks(wave, now=now)
    start = max(now, wave.start_at or now)
    window = Window(wave.window_start, wave.window_end)
    due = {zone: window.next_opening(zone, start) for zone in plan.zones}
    hint = shape_hint(wave)
    created = {
        channel: ledger.insert_rows(wave=wave, channel=channel, due_by_zone=due, default_due=start, now=now, hint=hint)
        for channel in wave.channels
    }
    if connection.vendor == "postgresql" and sum(created.values()) > 10_000:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {DELIVERY}")  # the claim query's plan depends on fresh statistics
    _start(wave, plan, created, now=now)
    _act(wave, WaveAction.Kind.LAUNCH, user, summary=wave.launch_summary)


def shape_hint(wave: Wave) -> ledger.ShapeHint:
    """What the campaign's approved notices ask about customers, combined over all of them."""
    uses = [template_use(version) for version in approved_versions(campaign=wave.campaign)]
    masks = [use.code_mask for use in uses]
    return ledger.ShapeHint(
        code_mask=None if None in masks else functools.reduce(operator.or_, masks, 0),  # type: ignore[arg-type]
        exposed_count=any(use.list_style(EXPOSED) is None for use in uses),
        accounts_count=any(use.list_style(ACCOUNTS) is None for use in uses),
        incident_flags=IncidentFacts.from_incident(wave.campaign.incident).incident_flags,
    )


def _start(wave: Wave, plan: WavePlan, created: dict[str, int], *, now: datetime) -> None:
    wave.status = Wave.Status.RUNNING
    wave.launched_at = now
    wave.halt_reason = ""
    wave.sms_segments_estimate = plan.sms_segments
    wave.time_zones = [{"zone": zone, "regions": regions} for zone, regions in sorted(plan.zones.items())]
    wave.tokens_at = now
    for channel, field in ((Channel.EMAIL, "email_tokens"), (Channel.SMS, "sms_tokens")):
        rate = messages_per_second(wave, channel)
        setattr(wave, field, bucket_capacity(rate) if rate else 0.0)
    wave.launch_summary = plan.summary(created)
    wave.save()


@transaction.atomic
def wave_schedule(*, wave: Wave, user: Any, now: datetime | None = None) -> Wave:
    """Have the wave launch by itself at its start time; checked now as a launch would be."""
    _require(user)
    now = now or timezone.now()
    wave = _locked(wave)
    _transition(
        wave,
        (Wave.Status.DRAFT,),
        gettext("This wave cannot be scheduled: its status is %(status)s, and only a draft can be scheduled."),
    )
    if wave.start_at is None or wave.start_at <= now:
        raise LaunchRefused([str(START_NOT_IN_THE_FUTURE)])
    problems = validate_audience(wave.audience, wave=wave) or schedule_plan(wave, now=now).problems
    if problems:
        raise LaunchRefused(problems)
    wave.status = Wave.Status.SCHEDULED
    wave.halt_reason = ""
    wave.save(update_fields=["status", "halt_reason"])
    _act(wave, WaveAction.Kind.SCHEDULE, user, start_at=wave.start_at.isoformat())
    return wave


def schedule_plan(wave: Wave, *, now: datetime | None = None) -> WavePlan:
    """The plan scheduling checks: who an audience holds is decided at the launch, so the notices must
    cover anyone it may hold by then, and the checks run on everyone the segments select."""
    if not wave.audience:
        return wave_plan(wave=wave, now=now)
    everyone = copy.copy(wave)
    everyone.audience = {}
    return wave_plan(wave=everyone, now=now)


@transaction.atomic
def wave_unschedule(*, wave: Wave, user: Any, reason: str = "") -> Wave:
    """Back to draft: a scheduled wave, or one whose scheduled launch was refused (so it can be edited)."""
    _require(user)
    wave = _locked(wave)
    if not (wave.status == Wave.Status.PAUSED and wave.launched_at is None):
        _transition(
            wave,
            (Wave.Status.SCHEDULED,),
            gettext(
                "This wave cannot be unscheduled: its status is %(status)s, "
                "and only a scheduled wave can be unscheduled."
            ),
        )
    wave.status = Wave.Status.DRAFT
    wave.halt_reason = ""
    wave.save(update_fields=["status", "halt_reason"])
    _act(wave, WaveAction.Kind.UNSCHEDULE, user, reason)
    return wave


def waves_launch_due(*, now: datetime | None = None) -> list[int]:
    """Launch every scheduled wave whose start has come; returns the ids launched (refused ones pause)."""
    now = now or timezone.now()
    due = Wave.objects.filter(status=Wave.Status.SCHEDULED, start_at__lte=now).order_by("start_at", "id")
    return [wave_id for wave_id in list(due.values_list("id", flat=True)) if _launch_scheduled(wave_id, now=now)]


def _scheduler(wave: Wave) -> Any:
    action = wave.actions.filter(kind=WaveAction.Kind.SCHEDULE).select_related("by").order_by("-at", "-id").first()
    return action.by if action is not None else None


@transaction.atomic
def _launch_scheduled(wave_id: int, *, now: datetime) -> bool:
    """Launch one due wave as the commander who scheduled it; False if another run has it or it was refused."""
    wave = (
        Wave.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("campaign__incident")
        .filter(id=wave_id, status=Wave.Status.SCHEDULED, start_at__lte=now)
        .first()
    )
    if wave is None:
        return False
    user = _scheduler(wave)
    try:
        with transaction.atomic():
            if user is None:
                raise PermissionDenied(gettext("The commander who scheduled the wave no longer exists."))
            _require(user)
            _create_ledger(wave, user, now=now)
    except LaunchRefused as refused:
        _refuse_scheduled(wave, " ".join(refused.problems))
        return False
    except PermissionDenied as denied:
        _refuse_scheduled(wave, str(denied))
        return False
    logger.info("launched scheduled wave %s", wave.id)
    return True


def _refuse_scheduled(wave: Wave, problems: str) -> None:
    wave.status = Wave.Status.PAUSED
    wave.halt_reason = gettext(
        "The scheduled launch was refused: %(problems)s Resume the wave to launch it once this is fixed, or "
        "unschedule it to change it."
    ) % {"problems": problems}
    wave.save(update_fields=["status", "halt_reason"])
    _act(wave, WaveAction.Kind.HALT, reason=wave.halt_reason)


@transaction.atomic
def wave_pause(*, wave: Wave, user: Any, reason: str = "") -> Wave:
    """Stop new claims at once; batches already at a worker finish."""
    _require(user)
    wave = _locked(wave)
    _transition(
        wave,
        (Wave.Status.RUNNING,),
        gettext("This wave cannot be paused: its status is %(status)s, and only a running wave can be paused."),
    )
    wave.status = Wave.Status.PAUSED
    wave.halt_reason = ""
    wave.save(update_fields=["status", "halt_reason"])
    _act(wave, WaveAction.Kind.PAUSE, user, reason)
    return wave


@transaction.atomic
def wave_resume(*, wave: Wave, user: Any, now: datetime | None = None) -> Wave:
    """Continue a paused (or auto-halted) wave where it stopped; launch one whose scheduled launch was refused."""
    _require(user)
    wave = _locked(wave)
    _transition(
        wave,
        (Wave.Status.PAUSED,),
        gettext("This wave cannot be resumed: its status is %(status)s, and only a paused wave can be resumed."),
    )
    if wave.launched_at is None:  # a scheduled launch was refused: resuming launches it now
        _create_ledger(wave, user, now=now or timezone.now())
        return wave
    wave.status = Wave.Status.RUNNING
    wave.halt_reason = ""
    wave.tokens_at = now or timezone.now()
    wave.save(update_fields=["status", "halt_reason", "tokens_at"])
    _act(wave, WaveAction.Kind.RESUME, user)
    return wave


@transaction.atomic
def wave_abort(*, wave: Wave, user: Any, reason: str, now: datetime | None = None) -> int:
    """Cancel every row not yet handed to the provider; returns how many were cancelled."""
    _require(user)
    now = now or timezone.now()
    wave = _locked(wave)
    _transition(
        wave,
        (Wave.Status.RUNNING, Wave.Status.PAUSED),
        gettext(
            "This wave cannot be aborted: its status is %(status)s, and only a running or paused wave can be aborted."
        ),
    )
    reason = reason.strip() or gettext("Aborted by %(user)s.") % {"user": user}
    wave.status = Wave.Status.ABORTED
    wave.finished_at = now
    wave.save(update_fields=["status", "finished_at"])
    # Rows nobody claimed; the rows of batches not started are cancelled with their batch, and those of a batch
    # being sent (pending under its token) are left to its task, which cancels nothing it sent.
    unclaimed = Delivery.objects.filter(wave=wave, status=DeliveryStatus.PENDING, claim_token="")
    cancelled = unclaimed.update(
        status=DeliveryStatus.CANCELLED, last_error=reason, finished_at=now, claim_token="", lease_until=None
    )
    cancelled += cancel_unstarted(wave_id=wave.id, reason=reason, now=now)
    _act(wave, WaveAction.Kind.ABORT, user, reason)
    return cancelled


@transaction.atomic
def wave_halt(*, wave_id: int, reason: str) -> bool:
    """Pause a running wave on the system's own judgement, saying why; False if it was not running."""
    wave = Wave.objects.select_for_update().get(id=wave_id)
    if wave.status != Wave.Status.RUNNING:
        return False
    wave.status = Wave.Status.PAUSED
    wave.halt_reason = reason
    wave.save(update_fields=["status", "halt_reason"])
    _act(wave, WaveAction.Kind.HALT, reason=reason)
    return True


@transaction.atomic
def wave_complete(*, wave_id: int, now: datetime | None = None) -> bool:
    """Mark a running wave completed once no row of it is left to send or to settle."""
    wave = Wave.objects.select_for_update().get(id=wave_id)
    if wave.status != Wave.Status.RUNNING:
        return False
    unfinished = [DeliveryStatus.PENDING, DeliveryStatus.QUEUED, DeliveryStatus.SENDING, DeliveryStatus.IN_DOUBT]
    if Delivery.objects.filter(wave=wave, status__in=unfinished).exists():
        return False
    wave.status = Wave.Status.COMPLETED
    wave.finished_at = now or timezone.now()
    wave.save(update_fields=["status", "finished_at"])
    _act(wave, WaveAction.Kind.COMPLETE)
    return True


def wave_reopen_for_fallbacks(*, wave: Wave, created: int) -> None:
    """A completed wave whose late hard bounces (or undelivered texts) created rows on the other channel
    runs again until they are sent; call with the wave locked, in the transaction that created them."""
    wave.status = Wave.Status.RUNNING
    wave.finished_at = None
    wave.save(update_fields=["status", "finished_at"])
    reason = ngettext(
        "%(count)s customer's first notice failed after the wave completed; it goes out on the other channel.",
        "%(count)s customers' first notices failed after the wave completed; they go out on the other channel.",
        created,
    ) % {"count": grouped(created)}
    _act(wave, WaveAction.Kind.REOPEN, reason=reason, fallbacks=created)


def _latest_sends(wave: Wave) -> dict[str, int]:
    """How many of the wave's latest sends ended in each status: the rows handed over to the provider by the
    latest batches that together hold at least ``halt_window`` of them (a batch is counted whole: its rows
    were sent together, so none of them is later than another)."""
    handed_over = ", ".join(f"'{status}'" for status in HANDED_OVER)
    rows = f"wave_id = %s AND status IN ({handed_over}) AND queued_at IS NOT NULL"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT status, COUNT(*) FROM {DELIVERY} WHERE {rows} AND queued_at >= ("  # noqa: S608 - fixed names
            f"SELECT MIN(queued_at) FROM (SELECT queued_at FROM {DELIVERY} WHERE {rows} "
            "ORDER BY queued_at DESC LIMIT %s) AS latest) GROUP BY status",
            [wave.id, wave.id, wave.halt_window],
        )
        return {status: count for status, count in cursor.fetchall()}


def wave_check_auto_halt(*, wave_id: int) -> str:
    """Halt the wave if too many of its latest sends failed or hard-bounced; returns the reason or ""."""
    wave = Wave.objects.get(id=wave_id)
    if wave.status != Wave.Status.RUNNING:
        return ""
    by_status = _latest_sends(wave)
    sends = sum(by_status.values())
    if sends < min(int(setting("BREACHCOMMS_DELIVERY_HALT_MIN_SENDS")), wave.halt_window):
        return ""
    failed = by_status.get(DeliveryStatus.FAILED, 0)
    bounced = by_status.get(DeliveryStatus.BOUNCED, 0)
    reason = ""
    for count, limit, sentence in (
        (
            failed,
            wave.max_failure_rate,
            gettext(
                "Halted automatically: %(count)s of the last %(sends)s sends failed (%(rate).1f%%; the limit is "
                "%(limit).1f%%). Check the provider and the addresses, then resume or abort."
            ),
        ),
        (
            bounced,
            wave.max_hard_bounce_rate,
            gettext(
                "Halted automatically: %(count)s of the last %(sends)s sends hard-bounced (%(rate).1f%%; the limit "
                "is %(limit).1f%%). Check the provider and the addresses, then resume or abort."
            ),
        ),
    ):
        if count / sends > limit:
            rate, cap = 100 * count / sends, 100 * limit
            reason = sentence % {"count": count, "sends": sends, "rate": rate, "limit": cap}
            break
    if reason and wave_halt(wave_id=wave.id, reason=reason):
        return reason
    return ""


def normalized_address(channel: str, address: str) -> str:
    """The form suppressions store: lower-case email, E.164 phone. Raises InvalidValue."""
    if channel == Channel.EMAIL:
        return email_key(normalize_email(address))
    return normalize_phone(address, None).e164


@transaction.atomic
def suppression_add(
    *, incident: Incident, channel: str, address: str, reason: str, source: str = "", user: Any = None
) -> Suppression:
    """Put an address on the incident's suppression list (idempotent); later sends to it are skipped."""
    try:
        normalized = normalized_address(channel, address)
    except InvalidValue as exc:
        raise ValueError(str(exc)) from None
    suppression, created = Suppression.objects.get_or_create(
        incident=incident,
        channel=channel,
        address=normalized,
        defaults={
            "reason": reason,
            "source": source[:200],
            "created_by": user if getattr(user, "is_authenticated", False) else None,
        },
    )
    if created:
        audit_record(
            action=Action.SUPPRESSION_ADDED,
            actor=user,
            incident_id=incident.pk,
            obj=suppression,
            data={"channel": channel, "reason": reason, "source": source[:200]},
        )
    return suppression


@transaction.atomic
def suppression_remove(*, suppression: Suppression, user: Any, reason: str = "") -> None:
    """Lift a suppression (later waves may contact the address again), on the audit trail."""
    if not getattr(user, "has_perm", None) or not user.has_perm(SUPPRESSION_REMOVE_PERMISSION):
        raise PermissionDenied(gettext("You may not lift suppressions."))
    audit_record(
        action=Action.SUPPRESSION_REMOVED,
        actor=user,
        incident_id=suppression.incident_id,
        obj=suppression,
        data={
            "channel": suppression.channel,
            "address": suppression.address,
            "reason": suppression.reason,
            "source": suppression.source,
            "why": reason,
        },
    )
    suppression.delete()
