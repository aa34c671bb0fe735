"""A re-import that folds customers who were already notified keeps every row of the delivery ledger."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import time

import pytest
from django.contrib.auth.models import User

from breachcomms.delivery.models import ChannelPlan, Delivery, Wave
from breachcomms.delivery.services import wave_launch
from breachcomms.incidents.models import Incident
from breachcomms.notices.models import Campaign, Channel, Notice, NoticeVersion
from breachcomms.recipients.models import Customer, CustomerImport
from breachcomms.recipients.selectors import customer_search
from breachcomms.recipients.services import customer_import_create, customer_import_run
from tests.delivery.conftest import EMAIL_HTML, EMAIL_SUBJECT, EMAIL_TEXT, SMS_TEXT, approve

pytestmark = pytest.mark.django_db

Importer = Callable[[str], CustomerImport]


@pytest.fixture
def run_import(incident: Incident) -> Importer:
    def run(content: str) -> CustomerImport:
        created = customer_import_create(incident=incident, stream=io.BytesIO(content.encode()), name="c.csv")
        customer_import_run(customer_import_id=created.id, processes=0)
        return CustomerImport.objects.get(id=created.id)

    return run


@pytest.fixture
def launch(incident: Incident, commander: User) -> Callable[[str], Wave]:
    """Launch a wave of a new campaign with approved English notices, through ``plan``."""
    campaign = Campaign.objects.create(incident=incident, kind=Campaign.Kind.INITIAL, name="Initial notice")
    for channel, parts in (
        (Channel.EMAIL, {"subject": EMAIL_SUBJECT, "html": EMAIL_HTML, "text": EMAIL_TEXT}),
        (Channel.SMS, {"text": SMS_TEXT}),
    ):
        notice = Notice.objects.create(campaign=campaign, channel=channel, locale="en")
        approve(NoticeVersion.objects.create(notice=notice, number=1, **parts))

    def run(plan: str) -> Wave:
        wave = Wave.objects.create(
            campaign=campaign,
            name="Everyone",
            channel_plan=plan,
            window_start=time(0, 0),
            window_end=time(0, 0),
            created_by=commander,
        )
        return wave_launch(wave=wave, user=commander)

    return run


def ledger() -> list[tuple[int, int, str, str]]:
    return sorted(Delivery.objects.values_list("id", "customer_id", "channel", "address"))


def test_folding_notified_customers_moves_their_deliveries_to_the_survivor(
    run_import: Importer, launch: Callable[[str], Wave]
) -> None:
    run_import("name,email,phone,country\nA,a@example.com,,GB\nB,,+447911123456,GB\n")
    first, second = Customer.objects.order_by("id")
    launch(ChannelPlan.BOTH)
    before = ledger()
    assert [(customer, channel) for _, customer, channel, _ in before] == [(first.id, "email"), (second.id, "sms")]

    result = run_import("name,email,phone,country\nAB,a@example.com,+447911123456,GB\n")

    assert result.warnings == 0
    assert list(Customer.objects.all()) == [first]
    # Every ledger row is still there, with what was sent and where; all now belong to the survivor.
    assert ledger() == [(id_, first.id, channel, address) for id_, _, channel, address in before]


def test_customers_both_sent_the_same_notice_are_kept_apart_with_a_warning(
    run_import: Importer, launch: Callable[[str], Wave]
) -> None:
    run_import("name,email,phone,country\nA,a@example.com,,GB\nB,b@example.com,+447911123456,GB\n")
    first, second = Customer.objects.order_by("id")
    launch(ChannelPlan.EMAIL)
    before = ledger()
    assert len(before) == 2

    linking = "name,email,phone,country\nAB,a@example.com,+447911123456,GB\n"
    result = run_import(linking)

    assert ledger() == before
    assert list(Customer.objects.order_by("id")) == [first, second]
    [(line, severity, message, value)] = result.issues.values_list("line", "severity", "message", "value")
    assert (line, severity, value) == (2, "warning", str(second.id))
    assert "kept apart" in message
    assert result.warnings == 1
    # Both stay findable by their own addresses; importing the same file again changes nothing more.
    assert list(customer_search(queryset=Customer.objects.all(), term="b@example.com")) == [second]
    again = run_import(linking)
    assert again.customers_created == 0
    assert ledger() == before
    assert Customer.objects.count() == 2


def test_a_third_customer_without_that_notice_still_folds_in(
    run_import: Importer, launch: Callable[[str], Wave]
) -> None:
    run_import("name,email,phone,country\nA,a@example.com,,GB\nB,b@example.com,,GB\n")
    first, second = Customer.objects.order_by("id")
    launch(ChannelPlan.EMAIL)
    run_import("name,email,phone,country\nC,,+447911123456,GB\n")
    third = Customer.objects.latest("id")
    before = ledger()

    # One person by the file: A, B and C; A and B were both emailed, C was not in the wave.
    result = run_import(
        "name,email,phone,country\nA,a@example.com,+447911123456,GB\nB,b@example.com,+447911123456,GB\n"
    )

    assert ledger() == before
    assert sorted(Customer.objects.values_list("id", flat=True)) == [first.id, second.id]
    assert not Customer.objects.filter(id=third.id).exists()
    assert result.warnings == 1
