"""Reads of the verification page: the notice a reference code belongs to, and whether a contact matches."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from breachcomms.delivery.models import Delivery, DeliveryStatus

# A row in these states never left us: its code is on no notice anyone holds.
_NOT_SENT = (DeliveryStatus.PENDING, DeliveryStatus.QUEUED, DeliveryStatus.CANCELLED, DeliveryStatus.SUPPRESSED)


@dataclass(frozen=True)
class VerifiedNotice:
    """What the page may say about a genuine code, plus the address it was sent to (compared, never shown)."""

    organization: str
    incident_title: str
    campaign_kind: str
    channel: str
    sent_at: datetime
    time_zone: str
    support_phone: str
    support_email: str
    support_website: str
    address: str


def notice_for_reference(*, reference: int) -> VerifiedNotice | None:
    """The sent notice carrying this reference, or None (one indexed lookup on the unique reference)."""
    row = (
        Delivery.objects.filter(reference=reference, sent_at__isnull=False)
        .exclude(status__in=_NOT_SENT)
        .values_list(
            "campaign__incident__organization",
            "campaign__incident__title",
            "campaign__kind",
            "channel",
            "sent_at",
            "time_zone",
            "campaign__incident__support_phone",
            "campaign__incident__support_email",
            "campaign__incident__support_website",
            "address",
        )
        .first()
    )
    if row is None:
        return None
    organization, title, kind, channel, sent_at, zone, phone, email, website, address = row
    if sent_at is None:  # excluded by the query; says so to the type checker
        return None
    return VerifiedNotice(organization, title, kind, channel, sent_at, zone, phone, email, website, address)


class ContactMatch(Enum):
    NOT_GIVEN = "not_given"
    MATCH = "match"
    NO_MATCH = "no_match"
    OTHER_CHANNEL = "other_channel"  # an email for a text message, or phone digits for an email


@dataclass(frozen=True)
class Contact:
    """What the visitor typed: an email address (lower case) or phone digits (the last four or a full number)."""

    email: str = ""
    phone_digits: str = ""


def contact_match(notice: VerifiedNotice, contact: Contact | None) -> ContactMatch:
    """Whether the notice went to the contact the visitor gave, compared in constant time."""
    if contact is None or not (contact.email or contact.phone_digits):
        return ContactMatch.NOT_GIVEN
    if contact.email:
        if notice.channel != "email":
            return ContactMatch.OTHER_CHANNEL
        return _verdict(contact.email, notice.address.casefold())
    if notice.channel != "sms":
        return ContactMatch.OTHER_CHANNEL
    digits = "".join(ch for ch in notice.address if ch.isdigit())
    expected = digits[-4:] if len(contact.phone_digits) == 4 else digits
    return _verdict(contact.phone_digits, expected)


def _verdict(given: str, expected: str) -> ContactMatch:
    same = hmac.compare_digest(given.encode(), expected.encode())
    return ContactMatch.MATCH if same else ContactMatch.NO_MATCH
