"""Fixtures for the delivery tests: a campaign with approved notices, customers, waves, the locmem outbox."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from breachcomms.channels.locmem import Outbox, outbox
from breachcomms.delivery.models import ChannelPlan, Wave
from breachcomms.incidents.categories import flags_for
from breachcomms.incidents.models import Incident
from breachcomms.notices.models import Approval, Campaign, Channel, Notice, NoticeVersion
from breachcomms.notices.rendering import clear_cache
from breachcomms.recipients.models import Customer

EMAIL_SUBJECT = "{{ organization }}: about your data, {{ customer.name or 'customer' }}"
EMAIL_HTML = (
    "<h1>Notice of Data Breach</h1>\n"
    "<p>Dear {{ customer.name }},</p>\n"
    "{% if customer.accounts %}<p>Accounts: {{ customer.accounts|format_list }}</p>{% endif %}\n"
    "<p>What was involved: {{ exposed|format_list }}.</p>\n"
    "<p>Your reference code is {{ reference_code }}. "
    '<a href="{{ verify_url }}">Check it at {{ verify_site }}</a>.</p>\n'
    "<p>Sent {{ sent_at|format_date }}.</p>\n"
)
EMAIL_TEXT = (
    "Dear {{ customer.name }},\n"
    "What was involved: {{ exposed|format_list }}.\n"
    "Your reference code is {{ reference_code }}. Check it at {{ verify_url }}\n"
)
SMS_TEXT = "{{ organization }}: your data was involved in a breach. Check: {{ verify_url }} (code {{ reference_code }})"


def approve(version: NoticeVersion) -> NoticeVersion:
    """Move a draft to approved directly (the approval flow itself is the notices app's tests' business)."""
    for status in (NoticeVersion.Status.SUBMITTED, NoticeVersion.Status.APPROVED):
        version.status = status
        version.save()
    approver, _ = User.objects.get_or_create(username="approver")
    Approval.objects.create(
        version=version,
        approver=approver,
        approved_at=datetime(2000, 1, 1, tzinfo=UTC),  # before any test's clock
        content_hash=version.content_hash,
    )
    return version


@pytest.fixture(autouse=True)
def locmem_transports() -> Iterator[Outbox]:
    clear_cache()
    outbox.clear()
    with override_settings(
        BREACHCOMMS_EMAIL_TRANSPORT="breachcomms.channels.locmem.LocmemEmailTransport",
        BREACHCOMMS_SMS_TRANSPORT="breachcomms.channels.locmem.LocmemSmsTransport",
    ):
        yield outbox
    outbox.clear()


@pytest.fixture
def campaign(incident: Incident) -> Campaign:
    return Campaign.objects.create(incident=incident, kind=Campaign.Kind.INITIAL, name="Initial notice")


@pytest.fixture
def make_notice(campaign: Campaign) -> Callable[..., NoticeVersion]:
    """An approved notice of the campaign in a channel and locale."""

    def make(locale: str = "en", channel: str = Channel.EMAIL, **parts: str) -> NoticeVersion:
        notice = Notice.objects.create(campaign=campaign, channel=channel, locale=locale)
        if channel == Channel.SMS:
            values = {"text": parts.get("text", SMS_TEXT)}
        else:
            values = {
                "subject": parts.get("subject", EMAIL_SUBJECT),
                "html": parts.get("html", EMAIL_HTML),
                "text": parts.get("text", EMAIL_TEXT),
            }
        return approve(NoticeVersion.objects.create(notice=notice, number=1, **values))

    return make


@pytest.fixture
def notices(make_notice: Callable[..., NoticeVersion]) -> list[NoticeVersion]:
    """Approved email and SMS notices in English and Swedish."""
    return [make_notice(locale, channel) for locale in ("en", "sv") for channel in (Channel.EMAIL, Channel.SMS)]


@pytest.fixture
def make_customer(incident: Incident) -> Callable[..., Customer]:
    counter = {"n": 0}

    def make(**values: Any) -> Customer:
        counter["n"] += 1
        n = counter["n"]
        defaults: dict[str, Any] = {
            "incident": incident,
            "name": f"Customer {n}",
            "email": f"customer{n}@example.org",
            "phone": f"+4470{n:08d}",
            "country": "GB",
            "locale": "en-GB",
            "language": "en",
            "time_zone": "Europe/London",
            "accounts": [f"ACC-{n}"],
            "exposure_flags": flags_for(["name", "email"]),
            "risk_tier": "low",
        }
        defaults.update(values)
        return Customer.objects.create(**defaults)

    return make


@pytest.fixture
def make_wave(campaign: Campaign, commander: User) -> Callable[..., Wave]:
    """A draft wave; by default email only, unpaced, with no quiet hours (the tests set what they test)."""

    def make(**values: Any) -> Wave:
        defaults: dict[str, Any] = {
            "campaign": campaign,
            "name": "Wave",
            "channel_plan": ChannelPlan.EMAIL,
            "window_start": time(0, 0),
            "window_end": time(0, 0),
            "created_by": commander,
        }
        defaults.update(values)
        return Wave.objects.create(**defaults)

    return make
