"""A delivery's history as support staff read it: the hand-overs to the provider and what the provider said."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from breachcomms.delivery.models import Delivery
from breachcomms.delivery.selectors import attempt_history
from breachcomms.tracking.models import ProviderEvent

# What each provider event means, in words a caller understands.
EVENT_LABELS: dict[str, Promise] = {
    "processed": _("Accepted by the email provider"),
    "deferred": _("Delayed by the recipient's mail server; the provider keeps trying"),
    "delivered": _("Delivered"),
    "bounce": _("Bounced: the address does not accept mail"),
    "blocked": _("Blocked by the recipient's mail server"),
    "dropped": _("Not sent by the provider"),
    "spamreport": _("Marked as spam by the recipient"),
    "open": _("Opened"),
    "click": _("A link was clicked"),
    "unsubscribe": _("Unsubscribed"),
    "accepted": _("Accepted by the SMS provider"),
    "queued": _("Queued at the SMS provider"),
    "sending": _("Being sent to the carrier"),
    "sent": _("Handed to the mobile carrier"),
    "undelivered": _("Not delivered to the phone"),
    "failed": _("Failed"),
    "read": _("Read"),
    "canceled": _("Cancelled by the provider"),
}


@dataclass(frozen=True)
class Entry:
    at: datetime
    source: str  # "attempt" or "provider"
    what: str
    detail: str


def timelines(deliveries: Iterable[Delivery]) -> dict[int, list[Entry]]:
    """Each delivery's attempts and provider events, oldest first (two queries for all of them)."""
    deliveries = list(deliveries)
    ids = [delivery.id for delivery in deliveries]
    entries: dict[int, list[Entry]] = defaultdict(list)
    for delivery_id, attempts in attempt_history(deliveries).items():
        for attempt in attempts:
            detail = " ".join(p for p in (str(attempt.provider_status or ""), attempt.error) if p)
            entries[delivery_id].append(Entry(attempt.at, "attempt", str(attempt.get_outcome_display()), detail))
    events = ProviderEvent.objects.filter(delivery_id__in=ids).only(
        "delivery_id", "occurred_at", "kind", "reason", "provider"
    )
    for event in events.order_by("occurred_at", "id"):
        label = str(EVENT_LABELS.get(event.kind, event.kind))
        assert event.delivery_id is not None
        entries[event.delivery_id].append(Entry(event.occurred_at, event.provider, label, event.reason))
    return {key: sorted(value, key=lambda e: e.at) for key, value in entries.items()}
