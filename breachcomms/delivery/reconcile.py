"""Settling deliveries in doubt: a worker stopped after handing them to the provider, perhaps.

Two ways settle them. A provider event that names the delivery (SendGrid's ``custom_args``, the
delivery id in Twilio's status-callback URL) proves the provider has it: the tracking app moves the
row and calls ``record_sent_content``. And this module asks the provider (``find_sent``, an optional
transport method; the SendGrid and Twilio transports search their record) which of them it has.
Found: the delivery is sent, and what the customer got is rendered again from the version approved at
the time it was sent and the ``sent_at`` the task stored before sending, so its content hash is
recorded as for any other send. Not found (the provider's record is checked only once the task that
held the row can no longer be running): pending again, or cancelled if the wave was aborted. A
transport that cannot be asked, or a provider that cannot answer now, leaves the rows in doubt; the
wave's page counts them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q

from breachcomms.channels.base import ChannelError, SentQuery
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


@dataclass
class ReconcileReport:
    found: int = 0
    requeued: int = 0
    cancelled: int = 0
    unresolvable: int = 0  # the transport cannot be asked; a commander must decide
    unanswered: int = 0  # the provider could not answer this time; asked again on the next run


def reconcile_in_doubt(*, now: datetime, limit: int) -> ReconcileReport:
    report = ReconcileReport()
    cutoff = now - seconds("BREACHCOMMS_DELIVERY_RECONCILE_AFTER")
    for channel, transport in ((Channel.EMAIL, email_transport), (Channel.SMS, sms_transport)):
        provider = transport()
        finder = getattr(provider, "find_sent", None)
        # Providers ration their search APIs (SendGrid's Email Activity: 6 requests a minute): ask no more per run.
        most = min(limit, int(getattr(provider, "find_sent_max", limit) or limit))
        rows = list(
            Delivery.objects.filter(status=DeliveryStatus.IN_DOUBT, channel=channel, lease_until__lt=cutoff)
            .select_related("wave__campaign__incident", "customer")
            .order_by("lease_until")[: most if finder is not None else limit]
        )
        if not rows:
            continue
        if finder is None:
            report.unresolvable += len(rows)
            continue
        try:
            found: dict[str, str] = finder([_query(row) for row in rows])
        except ChannelError as error:
            logger.warning("cannot reconcile %s %s deliveries in doubt yet: %s", len(rows), channel, error)
            report.unanswered += len(rows)
            continue
        _settle(rows, found, now=now, report=report)
    return report


def _query(delivery: Delivery) -> SentQuery:
    # Since the row was created: an earlier attempt of it may be the one the provider has.
    return SentQuery(str(delivery.id), delivery.address, delivery.created_at, format_reference(delivery.reference))


@transaction.atomic
def _settle(rows: list[Delivery], found: dict[str, str], *, now: datetime, report: ReconcileReport) -> None:
    for delivery in rows:
        in_doubt = Delivery.objects.filter(id=delivery.id, status=DeliveryStatus.IN_DOUBT)
        message_id = found.get(str(delivery.id))
        if message_id is not None:
            version_id, content_hash = _what_was_sent(delivery)
            if in_doubt.update(
                status=DeliveryStatus.SENT,
                provider_message_id=message_id[:128],
                lease_until=None,
                notice_version_id=version_id,
                content_hash=content_hash,
            ):
                DeliveryAttempt.objects.create(
                    delivery_id=delivery.id,
                    wave_id=delivery.wave_id,
                    at=now,
                    outcome=DeliveryAttempt.Outcome.RECONCILED,
                    provider_message_id=message_id[:128],
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


def record_sent_content(*, delivery_ids: Iterable[int]) -> int:
    """Record the version and content hash of rows in doubt that a provider event settled; returns how many.

    Call inside the transaction that moved them. Rows that have a hash (their task recorded it) are left alone.
    """
    rows = Delivery.objects.filter(
        id__in=sorted(set(delivery_ids)), content_hash="", sent_at__isnull=False
    ).select_related("wave__campaign__incident", "customer")
    recorded = 0
    for delivery in rows:
        version_id, content_hash = _what_was_sent(delivery)
        if version_id is not None:
            recorded += Delivery.objects.filter(id=delivery.id, content_hash="").update(
                notice_version_id=version_id, content_hash=content_hash
            )
    return recorded


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
