"""Reads about follow-ups: when an occurrence starts, whom it reaches, which texts it starts from."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Min
from django.utils.translation import gettext

from breachcomms.delivery.models import Wave
from breachcomms.followups.models import FollowUp
from breachcomms.notices.shipped import FOLLOW_UP_FOLDERS, KIND_FOLDER_CHOICES, SECURITY_TIPS_SERIES
from breachcomms.recipients.models import Enrolment

# The shipped folders a follow-up may start from (notices/shipped/<folder>/<locale>/…).
FOLDERS: tuple[str, ...] = (*FOLLOW_UP_FOLDERS, *SECURITY_TIPS_SERIES)
# The folder a follow-up's drafts start from when it names none, by its audience.
AUDIENCE_FOLDERS: dict[str, str] = {
    FollowUp.AudienceKind.OTHER_CHANNEL: "other_channel",
    FollowUp.AudienceKind.NOT_ENROLLED: "enrolment_reminder",
}
CAMPAIGN_AUDIENCES = (
    FollowUp.AudienceKind.NOTIFIED,
    FollowUp.AudienceKind.NOT_DELIVERED,
    FollowUp.AudienceKind.OTHER_CHANNEL,
)
WAVE_FIELDS: tuple[str, ...] = (
    "channel_plan",
    "fallback_locale",
    "email_per_minute",
    "sms_segments_per_second",
    "window_start",
    "window_end",
    "region_cap_per_hour",
)


def follow_up_anchor_at(*, follow_up: FollowUp) -> datetime | None:
    """The moment the follow-up counts from, or None while it is not known yet."""
    if follow_up.anchor == FollowUp.Anchor.FIRST_LAUNCH:
        if follow_up.base_campaign_id is None:
            return None
        first = Wave.objects.filter(campaign_id=follow_up.base_campaign_id, launched_at__isnull=False)
        launched: datetime | None = first.aggregate(first=Min("launched_at"))["first"]
        return launched
    moment: datetime | None = getattr(follow_up.incident, str(follow_up.anchor))
    return moment


def occurrence_start_at(*, follow_up: FollowUp, number: int, anchor_at: datetime | None) -> datetime | None:
    """When occurrence ``number`` (from 1) starts: the anchor plus the offset, plus the interval per repeat."""
    if anchor_at is None:
        return None
    return anchor_at + timedelta(days=follow_up.offset_days + (number - 1) * follow_up.repeat_every_days)


def occurrence_folder(*, follow_up: FollowUp, number: int) -> str:
    """The shipped folder occurrence ``number`` starts from: a security-tips series moves on each time."""
    if follow_up.folder:
        return follow_up.folder
    if follow_up.kind == FollowUp.Kind.SECURITY_TIPS:
        return SECURITY_TIPS_SERIES[(number - 1) % len(SECURITY_TIPS_SERIES)]
    return AUDIENCE_FOLDERS.get(follow_up.audience_kind, "reminder")


def follow_up_audience(*, follow_up: FollowUp) -> dict[str, Any]:
    """The ``Wave.audience`` each occurrence's wave carries (see ``delivery.audiences``)."""
    kind = follow_up.audience_kind
    if not kind:
        return {}
    if kind == FollowUp.AudienceKind.NOT_ENROLLED:
        return {"kind": kind, "program": follow_up.audience_program}
    audience: dict[str, Any] = {"kind": kind, "campaign": follow_up.base_campaign_id}
    if kind == FollowUp.AudienceKind.OTHER_CHANNEL:
        audience["channel"] = follow_up.audience_channel
    return audience


def wave_defaults(*, follow_up: FollowUp) -> dict[str, Any]:
    """The wave settings every occurrence's wave starts with."""
    return {name: getattr(follow_up, name) for name in WAVE_FIELDS}


def follow_up_errors(*, follow_up: FollowUp) -> dict[str, str]:
    """What is wrong with a follow-up plan, by field (empty: nothing)."""
    errors: dict[str, str] = {}
    base = follow_up.base_campaign
    if base is not None and base.incident_id != follow_up.incident_id:
        errors["base_campaign"] = gettext("The base campaign must be a campaign of the same incident.")
    elif base is None and follow_up.anchor == FollowUp.Anchor.FIRST_LAUNCH:
        errors["base_campaign"] = gettext("Counting from the first launch needs a base campaign.")
    elif base is None and follow_up.audience_kind in CAMPAIGN_AUDIENCES:
        errors["base_campaign"] = gettext("This audience is chosen by what happened in a base campaign: name it.")
    if follow_up.audience_kind == FollowUp.AudienceKind.OTHER_CHANNEL and not follow_up.audience_channel:
        errors["audience_channel"] = gettext("Name the channel that failed; the follow-up uses the other one.")
    programs = Enrolment.Program.values
    if follow_up.audience_kind == FollowUp.AudienceKind.NOT_ENROLLED and follow_up.audience_program not in programs:
        errors["audience_program"] = gettext("Choose a programme: %(programs)s.") % {"programs": ", ".join(programs)}
    allowed = KIND_FOLDER_CHOICES.get(follow_up.kind, ())
    if follow_up.folder and follow_up.folder not in allowed:
        errors["folder"] = gettext("This kind of follow-up starts from one of these texts: %(folders)s.") % {
            "folders": ", ".join(allowed),
        }
    if not isinstance(follow_up.segments, list) or not all(isinstance(s, dict) for s in follow_up.segments):
        errors["segments"] = gettext("Segments are a list of {region, language, risk}; empty means everyone.")
    return errors
