"""Writes of follow-ups: planning the occurrences, keeping their starts in step with the anchor,
and scheduling the occurrences whose texts are approved."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from breachcomms.audit.models import Action
from breachcomms.audit.services import audit_record
from breachcomms.delivery.audiences import validate_audience
from breachcomms.delivery.models import Wave
from breachcomms.delivery.notice_lookup import approved_versions
from breachcomms.delivery.services import LaunchRefused, WaveStateError, wave_schedule
from breachcomms.followups.models import FollowUp, FollowUpOccurrence
from breachcomms.followups.selectors import (
    WAVE_FIELDS,
    follow_up_anchor_at,
    follow_up_audience,
    occurrence_folder,
    occurrence_start_at,
    wave_defaults,
)
from breachcomms.incidents.models import Incident
from breachcomms.notices.services import campaign_create_from_shipped

ADD_PERMISSION = "followups.add_followup"
CHANGE_PERMISSION = "followups.change_followup"
# What may change once the occurrences exist: not their number, kind or texts (their drafts are made).
FIXED_FIELDS = ("incident", "kind", "folder", "repeat_count", "repeat_every_days")


def _require(user: Any, permission: str) -> None:
    if user is not None and not user.has_perm(permission):
        raise PermissionDenied(gettext("Only an incident commander may plan or change follow-ups."))


def _occurrence_name(follow_up: FollowUp, number: int) -> str:
    if follow_up.repeat_count == 1:
        return follow_up.name
    return gettext("%(name)s (%(number)s of %(count)s)") % {
        "name": follow_up.name,
        "number": number,
        "count": follow_up.repeat_count,
    }


def _occurrence_create(follow_up: FollowUp, number: int, anchor_at: datetime | None, user: Any) -> FollowUpOccurrence:
    folder = occurrence_folder(follow_up=follow_up, number=number)
    name = _occurrence_name(follow_up, number)
    campaign = campaign_create_from_shipped(
        incident=follow_up.incident, kind=follow_up.kind, created_by=user, name=name, folder=folder
    )
    start_at = occurrence_start_at(follow_up=follow_up, number=number, anchor_at=anchor_at)
    wave = Wave.objects.create(
        campaign=campaign,
        name=name,
        segments=follow_up.segments,
        audience=follow_up_audience(follow_up=follow_up),
        start_at=start_at,
        created_by=user,
        **wave_defaults(follow_up=follow_up),
    )
    problems = validate_audience(wave.audience, wave=wave)
    if problems:
        raise ValidationError(problems)
    return FollowUpOccurrence.objects.create(
        follow_up=follow_up, number=number, folder=folder, campaign=campaign, wave=wave, planned_start_at=start_at
    )


def _occurrences_data(follow_up: FollowUp) -> list[dict[str, Any]]:
    return [
        {"number": o.number, "campaign": o.campaign_id, "wave": o.wave_id, "start_at": o.planned_start_at}
        for o in follow_up.occurrences.order_by("number")
    ]


@transaction.atomic
def follow_up_create(*, incident: Incident, name: str, user: Any = None, **plan: Any) -> FollowUp:
    """Plan a follow-up: one campaign (drafts from the shipped texts) and one draft wave per occurrence.

    ``plan`` takes the other ``FollowUp`` fields (kind, anchor, base_campaign, offset_days, repeat_count,
    repeat_every_days, audience_kind/channel/program, segments, folder and the wave defaults).
    """
    _require(user, ADD_PERMISSION)
    follow_up = FollowUp(incident=incident, name=name, created_by=user if _is_user(user) else None, **plan)
    follow_up.full_clean()
    follow_up.save()
    anchor_at = follow_up_anchor_at(follow_up=follow_up)
    for number in range(1, follow_up.repeat_count + 1):
        _occurrence_create(follow_up, number, anchor_at, _user_or_none(user))
    audit_record(
        action=Action.FOLLOW_UP_PLANNED,
        actor=user,
        incident_id=incident.pk,
        obj=follow_up,
        data={
            "name": follow_up.name,
            "kind": follow_up.kind,
            "anchor": follow_up.anchor,
            "offset_days": follow_up.offset_days,
            "audience": follow_up_audience(follow_up=follow_up),
            "occurrences": _occurrences_data(follow_up),
        },
    )
    return follow_up


def _is_user(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def _user_or_none(user: Any) -> Any:
    return user if _is_user(user) else None


def _sync_draft_waves(follow_up: FollowUp, *, settings_too: bool) -> list[int]:
    """Bring the still-draft waves in step with the plan; the numbers of the occurrences whose start moved."""
    anchor_at = follow_up_anchor_at(follow_up=follow_up)
    moved = []
    for occurrence in follow_up.occurrences.order_by("number"):
        wave = Wave.objects.select_for_update().get(pk=occurrence.wave_id)
        if wave.status != Wave.Status.DRAFT:
            continue
        fields: list[str] = []
        start_at = occurrence_start_at(follow_up=follow_up, number=occurrence.number, anchor_at=anchor_at)
        # A start the commander set by hand (different from the last planned one) stays.
        if start_at != occurrence.planned_start_at and wave.start_at == occurrence.planned_start_at:
            wave.start_at = start_at
            fields.append("start_at")
            moved.append(occurrence.number)
        if start_at != occurrence.planned_start_at:
            occurrence.planned_start_at = start_at
            occurrence.save(update_fields=["planned_start_at"])
        if settings_too:
            wave.segments = follow_up.segments
            wave.audience = follow_up_audience(follow_up=follow_up)
            for name, value in wave_defaults(follow_up=follow_up).items():
                setattr(wave, name, value)
            fields += ["segments", "audience", *WAVE_FIELDS]
            problems = validate_audience(wave.audience, wave=wave)
            if problems:
                raise ValidationError(problems)
        if fields:
            wave.save(update_fields=fields)
    return moved


@transaction.atomic
def follow_up_update(*, follow_up: FollowUp, user: Any, changes: dict[str, Any]) -> FollowUp:
    """Change a plan; its still-draft waves follow (start, audience, segments, pacing)."""
    _require(user, CHANGE_PERMISSION)
    follow_up = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
    fixed = sorted(set(changes) & set(FIXED_FIELDS))
    if fixed:
        raise ValidationError(
            gettext("These cannot change once the occurrences are planned: %(fields)s.") % {"fields": ", ".join(fixed)}
        )
    changed = {name: value for name, value in changes.items() if getattr(follow_up, name) != value}
    for name, value in changed.items():
        setattr(follow_up, name, value)
    follow_up.full_clean()
    follow_up.save()
    moved = _sync_draft_waves(follow_up, settings_too=True)
    audit_record(
        action=Action.FOLLOW_UP_CHANGED,
        actor=user,
        incident_id=follow_up.incident_id,
        obj=follow_up,
        data={"changed": sorted(changed), "moved": moved, "occurrences": _occurrences_data(follow_up)},
    )
    return follow_up


@transaction.atomic
def follow_up_refresh(*, follow_up: FollowUp) -> list[int]:
    """Recompute the starts of the still-draft occurrences (the anchor may have become known or moved).

    Returns the numbers of the occurrences whose start moved; each move is on the audit trail.
    """
    follow_up = FollowUp.objects.select_for_update().select_related("incident").get(pk=follow_up.pk)
    moved = _sync_draft_waves(follow_up, settings_too=False)
    if moved:
        audit_record(
            action=Action.FOLLOW_UP_CHANGED,
            incident_id=follow_up.incident_id,
            obj=follow_up,
            data={"changed": ["start_at"], "moved": moved, "occurrences": _occurrences_data(follow_up)},
        )
    return moved


def follow_ups_refresh() -> int:
    """Refresh every follow-up with a draft occurrence; the number of occurrences whose start moved."""
    pending = FollowUp.objects.filter(occurrences__wave__status=Wave.Status.DRAFT).distinct()
    return sum(len(follow_up_refresh(follow_up=follow_up)) for follow_up in pending.select_related("incident"))


@dataclass
class ScheduleReport:
    scheduled: list[int] = field(default_factory=list)  # occurrence numbers
    waiting: dict[int, list[str]] = field(default_factory=dict)  # number → why not (translated)


def _not_ready(occurrence: FollowUpOccurrence, now: datetime) -> list[str]:
    wave = occurrence.wave
    if wave.start_at is None:
        return [gettext("Its start is not known yet: the moment it counts from has not happened.")]
    if wave.start_at <= now:
        return [gettext("Its start has passed; change the start on the wave, or launch the wave itself.")]
    if not approved_versions(campaign=occurrence.campaign):
        return [gettext("Its notices are not approved yet.")]
    return []


def follow_up_schedule_ready(*, follow_up: FollowUp, user: Any, now: datetime | None = None) -> ScheduleReport:
    """Schedule every draft occurrence whose start is known and whose notices are approved.

    Each wave is scheduled on its own (``wave_schedule`` checks the commander and the launch checks);
    the report says which were scheduled and why the others wait.
    """
    now = now or timezone.now()
    follow_up_refresh(follow_up=follow_up)  # the anchor may be known by now even where no beat runs the tick
    report = ScheduleReport()
    occurrences = follow_up.occurrences.select_related("wave", "campaign").order_by("number")
    for occurrence in occurrences:
        if occurrence.wave.status != Wave.Status.DRAFT:
            continue
        problems = _not_ready(occurrence, now)
        if not problems:
            try:
                wave_schedule(wave=occurrence.wave, user=user, now=now)
            except LaunchRefused as refused:
                problems = list(refused.problems)
            except (WaveStateError, ValidationError) as exc:
                problems = [_message(exc)]
        if problems:
            report.waiting[occurrence.number] = problems
        else:
            report.scheduled.append(occurrence.number)
    return report


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)
