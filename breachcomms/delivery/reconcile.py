"""Settling deliveries in doubt: a worker stopped after handing them to the provider, perhaps.

The provider is asked (``find_sent``, an optional transport method) which of them it has. Found:
the delivery is sent, and what the customer got is rendered again from the version approved at the
time it was sent and the ``sent_at`` the task stored before sending, so its content hash is
recorded as for any other send. Not found (the provider's record is checked only once the task
that held the row can no longer be running): pending again, or cancelled if the wave was aborted.
A transport that cannot be asked leaves the rows in doubt; the wave's page counts them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from django.db import transaction
from django.db.models import Q

from breachcomms.channels.base import ChannelError
from breachcomms.channels.registry import email_transport, sms_transport
from breachcomms.delivery.conf import seconds
from breachcomms.delivery.models import Channel, Delivery, DeliveryAttempt, DeliveryStatus, Wave
from breachcomms.delivery.notice_lookup import NoticeCatalog
from breachcomms.delivery.references import format_reference
from breachcomms.delivery.shapes import CustomerValues, delivered_content_hash, render_parts
from breachcomms.notices.context import IncidentFacts, Recipient
from breachcomms.notices.models import NoticeVersion
from breachcomms.notices.rendering import RenderError

logger = logging.getLogger(__name__)


class SentFinder(Protocol):
    """Optional transport method: which of these deliveries the provider accepted (id → its message id)."""

    def find_sent(self, delivery_ids: Sequence[str]) -> dict[str, str]: ...


@dataclass
class ReconcileReport:
    found: int = 0
    requeued: int = 0
    cancelled: int = 0
    unresolvable: int = 0  # the transport cannot be asked; a commander must decide


def reconcile_in_doubt(*, now: datetime, limit: int) -> ReconcileReport:
    report = ReconcileReport()
    cutoff = now - seconds("BREACHCOMMS_DELIVERY_RECONCILE_AFTER")
    for channel, transport in ((Channel.EMAIL, email_transport), (Channel.SMS, sms_transport)):
        rows = list(
            Delivery.objects.filter(status=DeliveryStatus.IN_DOUBT, channel=channel, lease_until__lt=cutoff)
            .select_related("wave__campaign__incident", "customer")
            .order_by("lease_until")[:limit]
        )
        if not rows:
            continue
        finder = getattr(transport(), "find_sent", None)
        if finder is None:
            report.unresolvable += len(rows)
            continue
        try:
            found: dict[str, str] = finder([str(row.id) for row in rows])
        except ChannelError as error:
            logger.warning("cannot reconcile %s deliveries in doubt yet: %s", channel, error)
            continue
        _settle(rows, found, now=now, report=report)
    return report


@transaction.atomic
def _settle(rows: list[Delivery], found: dict[str, str], *, now: datetime, report: ReconcileReport) -> None:
    for delivery in rows:
        in_doubt = Delivery.objects.filter(id=delivery.id, status=DeliveryStatus.IN_DOUBT)
        message_id = found.get(str(delivery.id))
        if message_id is not None:
            version_id, content_hash = _what_was_sent(delivery)
            if in_doubt.update(
                status=DeliveryStatus.SENT,
                provider_message_id=message_id,
                lease_until=None,
                notice_version_id=version_id,
                content_hash=content_hash,
            ):
                DeliveryAttempt.objects.create(
                    delivery_id=delivery.id,
                    wave_id=delivery.wave_id,
                    at=now,
                    outcome=DeliveryAttempt.Outcome.RECONCILED,
                    provider_message_id=message_id,
                )
                report.found += 1
        elif delivery.wave.status == Wave.Status.ABORTED:
            report.cancelled += in_doubt.update(
                status=DeliveryStatus.CANCELLED, finished_at=now, last_error="Not sent; the wave was aborted."
            )
        else:
            report.requeued += in_doubt.update(
                status=DeliveryStatus.PENDING, claim_token="", lease_until=None, due_at=now
            )


def _approved_at(delivery: Delivery) -> NoticeCatalog:
    """The catalog of versions that were approved when the delivery's task rendered it."""
    at = delivery.sent_at
    versions = NoticeVersion.objects.filter(
        Q(retired_at__isnull=True) | Q(retired_at__gt=at),
        notice__campaign_id=delivery.campaign_id,
        approval__approved_at__lte=at,
    ).select_related("notice")
    by_channel: dict[str, dict[str, NoticeVersion]] = {}
    for version in versions:
        by_channel.setdefault(version.notice.channel, {})[version.notice.locale] = version
    return NoticeCatalog(delivery.wave.fallback_locale, by_channel)


def _what_was_sent(delivery: Delivery) -> tuple[int | None, str]:
    """(version id, content hash) of the notice the delivery's task rendered; (None, "") if unknown."""
    if delivery.sent_at is None:
        return None, ""
    customer = delivery.customer
    found = _approved_at(delivery).version_for(delivery.channel, customer.locale)
    if found is None:
        return None, ""
    version, notice_locale = found
    try:
        parts = render_parts(
            version=version,
            channel=delivery.channel,
            facts=IncidentFacts.from_incident(delivery.wave.campaign.incident),
            recipient=Recipient.from_customer(customer),
            notice_locale=notice_locale,
            values=CustomerValues(customer.name, tuple(customer.accounts or ()), format_reference(delivery.reference)),
            sent_at=delivery.sent_at,
        )
    except RenderError:
        return version.id, ""
    return version.id, delivered_content_hash(delivery.channel, parts)
