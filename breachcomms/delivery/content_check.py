"""The exact notice a customer got, re-rendered from the approved version and the stored values, and checked
against the hash the send task recorded of what it handed to the provider.

The support desk and the proof of notice (reports) both show this verdict.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from enum import StrEnum

from breachcomms.delivery.models import Delivery, DeliveryStatus
from breachcomms.delivery.sending import Row
from breachcomms.delivery.shapes import delivered_content_hash, render_parts
from breachcomms.notices.context import IncidentFacts, Recipient
from breachcomms.notices.rendering import RenderError

_NEVER_LEFT = frozenset(
    {DeliveryStatus.PENDING, DeliveryStatus.QUEUED, DeliveryStatus.CANCELLED, DeliveryStatus.SUPPRESSED}
)
_MAYBE_SENT = frozenset(
    {DeliveryStatus.SENDING, DeliveryStatus.IN_DOUBT, DeliveryStatus.SENT, DeliveryStatus.DELIVERED,
     DeliveryStatus.DEFERRED, DeliveryStatus.BOUNCED}
)  # fmt: skip


class Verdict(StrEnum):
    VERIFIED = "verified"  # the re-rendered text has exactly the hash recorded at sending
    MISMATCH = "mismatch"  # it does not: the stored values or the incident changed since, or the record is wrong
    NOT_SENT = "not_sent"  # nothing was handed to a provider
    UNRECORDED = "unrecorded"  # sent (or maybe sent) but no hash was recorded, e.g. a row reconciled after a crash
    FAILED = "failed"  # the version no longer renders for these values


@dataclass(frozen=True)
class SentContent:
    verdict: Verdict
    parts: dict[str, str] = field(default_factory=dict)
    recorded_hash: str = ""
    computed_hash: str = ""
    error: str = ""


def sent_content(*, delivery: Delivery, facts: IncidentFacts) -> SentContent:
    """Re-render what ``delivery`` carried (its customer and notice version loaded) and compare the hashes."""
    version = delivery.notice_version
    if delivery.sent_at is None or delivery.status in _NEVER_LEFT:
        return SentContent(Verdict.NOT_SENT)
    if version is None:
        # Without a version the send was never recorded: it either failed before the provider took it, or the
        # worker died with the outcome unknown (a provider event may since have shown it arrived).
        maybe_sent = delivery.status in _MAYBE_SENT or bool(delivery.provider_message_id)
        return SentContent(Verdict.UNRECORDED if maybe_sent else Verdict.NOT_SENT)
    # The row the send task built: the same recipient and values, so the same rendering path.
    row = Row(
        id=delivery.id,
        reference=delivery.reference,
        channel=delivery.channel,
        address=delivery.address,
        attempts=delivery.attempts,
        recipient=Recipient.from_customer(delivery.customer),
    )
    try:
        parts = render_parts(
            version=version,
            channel=delivery.channel,
            facts=facts,
            recipient=row.recipient,
            notice_locale=version.notice.locale,
            values=row.values,
            sent_at=delivery.sent_at,
        )
    except RenderError as exc:
        return SentContent(Verdict.FAILED, recorded_hash=delivery.content_hash, error=str(exc))
    computed = delivered_content_hash(delivery.channel, parts)
    if not delivery.content_hash:
        return SentContent(Verdict.UNRECORDED, parts, "", computed)
    same = hmac.compare_digest(computed, delivery.content_hash)
    return SentContent(Verdict.VERIFIED if same else Verdict.MISMATCH, parts, delivery.content_hash, computed)
