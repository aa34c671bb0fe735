"""A follow-up wave's audience: who it reaches, by what happened to an earlier campaign's notices.

``Wave.audience`` is a small dict (``{}`` = everyone the wave's segments select)::

    {"kind": "notified", "campaign": 12}        a delivery of campaign 12 was sent or delivered (any channel)
    {"kind": "not_delivered", "campaign": 12}   no delivery of campaign 12 reached "delivered" on any channel
    {"kind": "other_channel", "campaign": 12, "channel": "email"}
                                                their email of campaign 12 bounced, failed or was stopped by a
                                                suppression, and no SMS of it was delivered: the wave sends SMS only
    {"kind": "not_enrolled", "program": "credit_monitoring"}   no enrolment in that programme

The audience is always intersected with the segments. ``audience_filter`` gives it as SQL on the
customer alias ``c`` (PostgreSQL and SQLite); ``ledger`` uses it for the plan and the launch alike,
and a scheduled wave evaluates it when it launches, so "not delivered" means not delivered by then.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from breachcomms.delivery.models import Channel, ChannelPlan, Delivery, DeliveryStatus, Wave
from breachcomms.notices.models import Campaign
from breachcomms.recipients.models import Enrolment

DELIVERY = Delivery._meta.db_table
ENROLMENT = Enrolment._meta.db_table

NOTIFIED = "notified"
NOT_DELIVERED = "not_delivered"
OTHER_CHANNEL = "other_channel"
NOT_ENROLLED = "not_enrolled"
KIND_LABELS = {
    NOTIFIED: _("Notified by an earlier campaign"),
    NOT_DELIVERED: _("Not delivered in an earlier campaign"),
    OTHER_CHANNEL: _("Not reached on one channel in an earlier campaign: use the other"),
    NOT_ENROLLED: _("Not enrolled in a programme"),
}
CAMPAIGN_KINDS = (NOTIFIED, NOT_DELIVERED, OTHER_CHANNEL)
KEYS = {
    NOTIFIED: {"kind", "campaign"},
    NOT_DELIVERED: {"kind", "campaign"},
    OTHER_CHANNEL: {"kind", "campaign", "channel"},
    NOT_ENROLLED: {"kind", "program"},
}
OTHER = {Channel.EMAIL: Channel.SMS, Channel.SMS: Channel.EMAIL}
# The only channel plan an "other channel" audience may use.
OTHER_PLAN = {Channel.EMAIL: ChannelPlan.SMS, Channel.SMS: ChannelPlan.EMAIL}
REACHED = (DeliveryStatus.SENT, DeliveryStatus.DELIVERED)
NOT_REACHED = (DeliveryStatus.BOUNCED, DeliveryStatus.FAILED, DeliveryStatus.SUPPRESSED)


class AudienceError(ValueError):
    """A wave's audience is not one of the documented shapes (``validate_audience`` says why in words)."""


def _campaign_id(audience: dict[str, Any]) -> int:
    value = audience.get("campaign")
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise AudienceError(f"the audience needs a campaign id: {audience!r}")
    return int(value)


def _check_shape(audience: Any) -> str:
    """The audience's kind, or "" for none; raises AudienceError if it is malformed."""
    if not isinstance(audience, dict):
        raise AudienceError("the audience must be an object")
    if not audience:
        return ""
    kind = audience.get("kind")
    if kind not in KEYS:
        raise AudienceError(f"unknown audience kind: {kind!r}")
    if set(audience) != KEYS[kind]:
        raise AudienceError(f"a {kind} audience has the keys {', '.join(sorted(KEYS[kind]))}: {audience!r}")
    if kind in CAMPAIGN_KINDS:
        _campaign_id(audience)
    if kind == OTHER_CHANNEL and audience["channel"] not in OTHER:
        raise AudienceError(f"an other_channel audience names email or sms: {audience!r}")
    if kind == NOT_ENROLLED and (not isinstance(audience["program"], str) or not audience["program"]):
        raise AudienceError(f"a not_enrolled audience names a programme: {audience!r}")
    return str(kind)


def _deliveries(campaign_id: int, statuses: tuple[str, ...], channel: str | None = None) -> tuple[str, list[Any]]:
    """SQL for "the customer has a delivery of the campaign in one of these statuses (on this channel)"."""
    marks = ", ".join(["%s"] * len(statuses))
    on_channel = " AND a.channel = %s" if channel else ""
    sql = (
        f"EXISTS (SELECT 1 FROM {DELIVERY} a WHERE a.customer_id = c.id AND a.campaign_id = %s"  # noqa: S608
        f"{on_channel} AND a.status IN ({marks}))"
    )
    return sql, [campaign_id, *([channel] if channel else []), *statuses]


def audience_filter(audience: dict[str, Any], *, incident_id: int) -> tuple[str, list[Any]]:
    """SQL (customer alias ``c``) and parameters for "the customer is in the audience"."""
    kind = _check_shape(audience)
    if not kind:
        return "1 = 1", []
    if kind == NOT_ENROLLED:
        sql = f"NOT EXISTS (SELECT 1 FROM {ENROLMENT} e WHERE e.customer_id = c.id AND e.program = %s)"  # noqa: S608
        return sql, [audience["program"]]
    campaign_id = _campaign_id(audience)
    if not Campaign.objects.filter(id=campaign_id, incident_id=incident_id).exists():
        raise AudienceError(f"campaign {campaign_id} is not a campaign of incident {incident_id}")
    if kind == NOTIFIED:
        return _deliveries(campaign_id, REACHED)
    if kind == NOT_DELIVERED:
        sql, params = _deliveries(campaign_id, (DeliveryStatus.DELIVERED,))
        return f"NOT {sql}", params
    channel = audience["channel"]
    failed, failed_params = _deliveries(campaign_id, NOT_REACHED, channel)
    delivered, delivered_params = _deliveries(campaign_id, (DeliveryStatus.DELIVERED,), OTHER[channel])
    return f"({failed} AND NOT {delivered})", [*failed_params, *delivered_params]


def audience_channel_excluded(audience: dict[str, Any]) -> str | None:
    """The channel an "other channel" audience must never use (its customers were not reached on it)."""
    if isinstance(audience, dict) and audience.get("kind") == OTHER_CHANNEL:
        return str(audience.get("channel"))
    return None


def other_channel_plan_problem(channel: str) -> str:
    """What to choose for the channels of a wave to customers not reached on ``channel``."""
    if channel == Channel.EMAIL:
        return gettext("Customers whose email could not be delivered can only be sent SMS: choose “SMS only”.")
    return gettext("Customers whose SMS could not be delivered can only be sent email: choose “Email only”.")


def validate_audience(audience: Any, *, wave: Wave) -> list[str]:
    """What is wrong with the wave's audience, one translated sentence each (empty: nothing)."""
    try:
        kind = _check_shape(audience)
    except AudienceError:
        return [gettext("The wave's audience is not one the system knows; choose it again on the wave's page.")]
    if not kind:
        return []
    if kind == NOT_ENROLLED:
        if audience["program"] not in Enrolment.Program.values:
            return [gettext("The audience names an unknown programme.")]
        return []
    problems = []
    campaign = Campaign.objects.filter(id=_campaign_id(audience)).first()
    if campaign is None or campaign.incident_id != wave.campaign.incident_id:
        problems.append(gettext("The audience must refer to another campaign of the same incident."))
    elif campaign.pk == wave.campaign_id:
        problems.append(
            gettext("The audience must refer to an earlier campaign, not the wave's own: nobody gets a notice twice.")
        )
    if kind == OTHER_CHANNEL and wave.channel_plan != OTHER_PLAN[audience["channel"]]:
        problems.append(other_channel_plan_problem(audience["channel"]))
    return problems


def _campaign_name(audience: dict[str, Any]) -> str:
    campaign = Campaign.objects.filter(id=_campaign_id(audience)).first()
    return campaign.name if campaign is not None else f"#{audience['campaign']}"


def describe_audience(audience: Any) -> str:
    """One sentence saying who the audience is, for the wave's page and the plan."""
    try:
        kind = _check_shape(audience)
    except AudienceError:
        return gettext("An audience the system does not know.")
    if not kind:
        return gettext("Everyone in the chosen segments.")
    if kind == NOT_ENROLLED:
        labels = dict(Enrolment.Program.choices)
        program = str(labels.get(audience["program"], audience["program"]))
        return gettext("Customers in the chosen segments who are not enrolled in %(program)s.") % {"program": program}
    values = {"campaign": _campaign_name(audience)}
    if kind == NOTIFIED:
        return gettext("Customers in the chosen segments who were sent a notice of “%(campaign)s”.") % values
    if kind == NOT_DELIVERED:
        return (
            gettext("Customers in the chosen segments to whom no notice of “%(campaign)s” has been delivered.") % values
        )
    if audience["channel"] == Channel.EMAIL:
        return (
            gettext(
                "Customers in the chosen segments whose email of “%(campaign)s” could not be delivered and who got no "
                "SMS of it: they are sent an SMS."
            )
            % values
        )
    return (
        gettext(
            "Customers in the chosen segments whose SMS of “%(campaign)s” could not be delivered and who got no "
            "email of it: they are sent an email."
        )
        % values
    )
