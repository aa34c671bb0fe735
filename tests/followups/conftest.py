"""Fixtures for the follow-up tests: an incident whose initial campaign went out, customers, the locmem outbox."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from breachcomms.channels.locmem import Outbox, outbox
from breachcomms.delivery.models import ChannelPlan, Wave
from breachcomms.delivery.services import delivery_dispatch_due, delivery_send_batch
from breachcomms.incidents.categories import flags_for
from breachcomms.incidents.models import Incident
from breachcomms.notices.models import Campaign, NoticeVersion
from breachcomms.notices.rendering import clear_cache
from breachcomms.notices.services import campaign_create_from_shipped
from breachcomms.recipients.models import Customer
from tests.delivery.conftest import approve

T0 = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)  # the initial campaign's launch
# Follow-up waves in these tests send at any hour: quiet hours are the delivery tests' business.
NO_QUIET_HOURS = {"window_start": time(0, 0), "window_end": time(0, 0)}


def approve_all(campaign: Campaign) -> None:
    """Approve every draft of a campaign (the four-eyes flow is the notices tests' business)."""
    for version in NoticeVersion.objects.filter(notice__campaign=campaign, status=NoticeVersion.Status.DRAFT):
        approve(version)


def send_due(now: datetime) -> None:
    """One dispatcher run and the send tasks it enqueues, in this process."""
    report = delivery_dispatch_due(now=now, enqueue=lambda token: None)
    for token in report.tokens:
        delivery_send_batch(claim_token=token, now=now)


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
def initial(incident: Incident) -> Campaign:
    """The incident's initial campaign, its shipped drafts approved."""
    campaign = campaign_create_from_shipped(incident=incident, kind=Campaign.Kind.INITIAL, name="Initial notice")
    approve_all(campaign)
    return campaign


@pytest.fixture
def initial_wave(initial: Campaign, commander: User) -> Wave:
    return Wave.objects.create(
        campaign=initial, name="Everyone", channel_plan=ChannelPlan.EMAIL, created_by=commander, **NO_QUIET_HOURS
    )


@pytest.fixture
def make_customer(incident: Incident) -> Callable[..., Customer]:
    counter = {"n": 0}

    def make(name: str, **values: Any) -> Customer:
        counter["n"] += 1
        n = counter["n"]
        defaults: dict[str, Any] = {
            "incident": incident,
            "name": name,
            "email": f"{name.lower()}@example.org",
            "phone": f"+4479111234{n:02d}",
            "country": "GB",
            "locale": "en-GB",
            "language": "en",
            "time_zone": "Europe/London",
            "exposure_flags": flags_for(["name", "email"]),
        }
        defaults.update(values)
        return Customer.objects.create(**defaults)

    return make
