"""Labels for the wave pages: exclusion reasons, channels, statuses."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext

from breachcomms.delivery.models import Channel, DeliveryStatus, Suppression

register = template.Library()


@register.filter
def exclusion_label(reason: str) -> str:
    if reason == "missing":
        return gettext("no address")
    if reason in Suppression.Reason.values:
        return gettext("suppressed: %(reason)s") % {"reason": Suppression.Reason(reason).label}
    return reason


@register.filter
def channel_label(channel: str) -> str:
    return str(Channel(channel).label) if channel in Channel.values else channel


@register.filter
def delivery_status_label(status: str) -> str:
    return str(DeliveryStatus(status).label) if status in DeliveryStatus.values else status


@register.filter
def get_item(mapping: dict, key: str) -> object:
    return mapping.get(key, 0) if hasattr(mapping, "get") else ""
