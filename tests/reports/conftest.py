"""An incident whose initial notice went out by email and SMS through the real send path to customers in
Sweden, the UK, California and Texas, then met every fate a delivery can meet."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from breachcomms.channels.locmem import outbox
from breachcomms.delivery.models import ChannelPlan, Delivery, DeliveryStatus, Wave
from breachcomms.delivery.services import delivery_dispatch_due, delivery_send_batch, wave_launch
from breachcomms.incidents.models import Incident
from breachcomms.notices.models import Approval, Campaign, Channel, Notice, NoticeVersion
from breachcomms.notices.rendering import clear_cache
from breachcomms.recipients.models import Customer
from breachcomms.tracking.models import ProviderEvent

T0 = datetime(2026, 11, 4, 10, 0, tzinfo=UTC)  # when the wave went out
AWARE = T0 - timedelta(hours=80)  # GDPR's 72 hours ran out 8 hours before
DISCOVERED = T0 - timedelta(days=2)  # California's 30 days had 28 to go
SUBJECT = "{{ organization }}: about your data"
HTML = (
    '<p>Dear {{ customer.name }},</p><p>Code {{ reference_code }}: <a href="{{ verify_url }}">{{ verify_site }}</a></p>'
)
TEXT = "Dear {{ customer.name }},\nYour data was involved in a breach. Code {{ reference_code }}: {{ verify_url }}\n"
SMS = "{{ organization }}: your data was involved in a breach. Check {{ verify_url }} (code {{ reference_code }})"

# name: (country, subdivision, locale, time zone, email?, phone?)
PEOPLE = {
    "Anna": ("SE", "", "sv-SE", "Europe/Stockholm", True, True),
    "Bo": ("SE", "", "sv-SE", "Europe/Stockholm", True, False),
    "Cecilia": ("SE", "", "sv-SE", "Europe/Stockholm", True, True),
    "Dag": ("SE", "", "sv-SE", "Europe/Stockholm", False, True),
    "Emma": ("GB", "", "en-GB", "Europe/London", True, True),
    "Frank": ("US", "US-CA", "en-US", "America/Los_Angeles", True, True),
    "Grace": ("US", "US-CA", "en-US", "America/Los_Angeles", True, False),
    "Hank": ("US", "US-CA", "en-US", "America/Los_Angeles", True, False),
    "Ivy": ("US", "US-TX", "en-US", "America/Chicago", True, True),
    "Jack": ("US", "US-TX", "en-US", "America/Chicago", True, False),
}


@pytest.fixture(autouse=True)
def locmem_transports() -> Iterator[None]:
    clear_cache()
    outbox.clear()
    with override_settings(
        BREACHCOMMS_EMAIL_TRANSPORT="breachcomms.channels.locmem.LocmemEmailTransport",
        BREACHCOMMS_SMS_TRANSPORT="breachcomms.channels.locmem.LocmemSmsTransport",
    ):
        yield
    outbox.clear()


def approved(campaign: Campaign, channel: str, locale: str, approver: User) -> NoticeVersion:
    notice = Notice.objects.create(campaign=campaign, channel=channel, locale=locale)
    parts = {"text": SMS} if channel == Channel.SMS else {"subject": SUBJECT, "html": HTML, "text": TEXT}
    version = NoticeVersion.objects.create(notice=notice, number=1, **parts)
    for status in (NoticeVersion.Status.SUBMITTED, NoticeVersion.Status.APPROVED):
        version.status = status
        version.save()
    Approval.objects.create(
        version=version, approver=approver, approved_at=T0 - timedelta(hours=3), content_hash=version.content_hash
    )
    return version


@pytest.fixture
def approver(db: Any) -> User:
    return User.objects.create_user(username="approver-anna", password="pw-for-tests-only", is_staff=True)


@pytest.fixture
def sent(incident: Incident, commander: User, approver: User) -> dict[str, Customer]:
    """Everyone notified at T0 on each channel they have, then: some delivered, some bounced or failed,
    one still waiting."""
    incident.aware_at, incident.discovered_at, incident.determined_at = AWARE, DISCOVERED, DISCOVERED
    incident.save()
    customers = {}
    for n, (name, (country, subdivision, locale, zone, email, phone)) in enumerate(PEOPLE.items()):
        customers[name] = Customer.objects.create(
            incident=incident,
            name=f"{name} Example",
            email=f"{name.lower()}@example.org" if email else "",
            phone=f"+4670{n:07d}" if phone else "",
            country=country,
            subdivision=subdivision,
            locale=locale,
            language=locale[:2],
            time_zone=zone,
            accounts=[f"ACC-{n}"],
        )
    campaign = Campaign.objects.create(incident=incident, kind=Campaign.Kind.INITIAL, name="Initial notice")
    for locale in ("en", "sv"):
        for channel in (Channel.EMAIL, Channel.SMS):
            approved(campaign, channel, locale, approver)
    wave = Wave.objects.create(
        campaign=campaign,
        name="Everyone",
        channel_plan=ChannelPlan.BOTH,
        window_start=time(0, 0),
        window_end=time(0, 0),
        created_by=commander,
    )
    wave_launch(wave=wave, user=commander, now=T0)
    for token in delivery_dispatch_due(now=T0, enqueue=lambda token: None).tokens:
        delivery_send_batch(claim_token=token, now=T0)
    later = T0 + timedelta(minutes=5)

    def fate(name: str, channel: str, status: str) -> None:
        Delivery.objects.filter(customer=customers[name], channel=channel).update(status=status, finished_at=later)

    fate("Anna", "email", DeliveryStatus.DELIVERED)
    fate("Anna", "sms", DeliveryStatus.DELIVERED)
    fate("Bo", "email", DeliveryStatus.BOUNCED)  # Bo has no phone: not reached
    fate("Cecilia", "email", DeliveryStatus.FAILED)  # but her SMS went out
    fate("Frank", "email", DeliveryStatus.DELIVERED)
    fate("Frank", "sms", DeliveryStatus.FAILED)
    fate("Grace", "email", DeliveryStatus.FAILED)  # not reached
    # Hank's email waits for the next dispatch.
    Delivery.objects.filter(customer=customers["Hank"]).update(
        status=DeliveryStatus.PENDING, sent_at=None, notice_version=None, content_hash="", provider_message_id=""
    )
    anna = Delivery.objects.get(customer=customers["Anna"], channel="email")
    ProviderEvent.objects.create(
        provider="sendgrid",
        event_id="evt-anna-1",
        delivery=anna,
        kind="delivered",
        occurred_at=later,
        reason="250 OK",
        raw={"event": "delivered"},
        received_at=later,
    )
    return customers
