"""Fixtures for the support desk: customers loaded by the real import, and notices sent by the real send path."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, time

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from breachcomms.channels.locmem import outbox
from breachcomms.delivery.models import ChannelPlan, Delivery, Wave
from breachcomms.delivery.services import delivery_dispatch_due, delivery_send_batch, wave_launch
from breachcomms.incidents.models import Incident
from breachcomms.notices.models import Campaign, Channel, Notice, NoticeVersion
from breachcomms.notices.rendering import clear_cache
from breachcomms.recipients.models import Customer
from breachcomms.recipients.services import customer_import_create, customer_import_run

T0 = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
CUSTOMERS_CSV = (
    "customer_id,name,email,phone,country,language,exposures\n"
    "C-1001,Anna Svensson,Anna.Svensson@example.se,070-123 45 67,SE,sv,password|email\n"
    "C-1002,Budi Santoso,budi@example.co.id,+62 812-3456-7890,ID,id,national_id\n"
    "C-1003,Bo Ek,bo@example.se,,SE,sv,\n"
)
SUBJECT = "{{ organization }}: about your data"
HTML = (
    "<h1>Notice of Data Breach</h1><p>Dear {{ customer.name }},</p>"
    "<p>What was involved: {{ exposed|format_list }}.</p>"
    '<p>Code {{ reference_code }}: <a href="{{ verify_url }}">{{ verify_site }}</a>.'
    " Sent {{ sent_at|format_date }}.</p>"
)
TEXT = (
    "Dear {{ customer.name }},\nWhat was involved: {{ exposed|format_list }}.\n"
    "Code {{ reference_code }}: {{ verify_url }}\n"
)


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


@pytest.fixture
def customers(incident: Incident) -> dict[str, Customer]:
    """Three customers imported as a commander would, by name."""
    incident.data_categories = ["name", "email", "phone"]
    incident.save(update_fields=["data_categories"])
    created = customer_import_create(incident=incident, stream=io.BytesIO(CUSTOMERS_CSV.encode()), name="c.csv")
    customer_import_run(customer_import_id=created.id)
    return {c.name.split()[0]: c for c in Customer.objects.filter(incident=incident)}


def approved(campaign: Campaign, locale: str) -> NoticeVersion:
    notice = Notice.objects.create(campaign=campaign, channel=Channel.EMAIL, locale=locale)
    version = NoticeVersion.objects.create(notice=notice, number=1, subject=SUBJECT, html=HTML, text=TEXT)
    for status in (NoticeVersion.Status.SUBMITTED, NoticeVersion.Status.APPROVED):
        version.status = status
        version.save()
    return version


@pytest.fixture
def sent(incident: Incident, customers: dict[str, Customer], commander: User) -> dict[str, Delivery]:
    """The initial notice sent by email to every customer with an address, through the real send path."""
    campaign = Campaign.objects.create(incident=incident, kind=Campaign.Kind.INITIAL, name="Initial notice")
    for locale in ("en", "sv", "id"):
        approved(campaign, locale)
    wave = Wave.objects.create(
        campaign=campaign,
        name="Everyone",
        channel_plan=ChannelPlan.EMAIL,
        window_start=time(0, 0),
        window_end=time(0, 0),
        created_by=commander,
    )
    wave_launch(wave=wave, user=commander, now=T0)
    for token in delivery_dispatch_due(now=T0, enqueue=lambda token: None).tokens:
        delivery_send_batch(claim_token=token, now=T0)
    return {d.customer.name.split()[0]: d for d in Delivery.objects.select_related("customer")}
