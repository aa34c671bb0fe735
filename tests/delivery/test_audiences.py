"""Follow-up audiences: who a follow-up reaches, by what happened to the initial notice.

The SQL runs on PostgreSQL and SQLite (``make test`` runs these again on SQLite): the plan the
commander sees and the rows the launch creates must agree for every kind of audience.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth.models import User

from breachcomms.delivery import audiences, ledger
from breachcomms.delivery.models import ChannelPlan, Delivery, DeliveryStatus, Wave
from breachcomms.delivery.selectors import wave_plan
from breachcomms.delivery.services import LaunchRefused, suppression_add, wave_launch
from breachcomms.incidents.models import Incident
from breachcomms.notices.models import Campaign, Channel, Notice, NoticeVersion
from breachcomms.recipients.models import Customer, CustomerKey, Enrolment
from tests.delivery.conftest import EMAIL_HTML, EMAIL_SUBJECT, EMAIL_TEXT, SMS_TEXT, approve

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


@pytest.fixture
def follow_up(incident: Incident) -> Campaign:
    """A follow-up campaign with approved English email and SMS notices."""
    campaign = Campaign.objects.create(incident=incident, kind=Campaign.Kind.FOLLOW_UP, name="Reminder")
    for channel, parts in (
        (Channel.EMAIL, {"subject": EMAIL_SUBJECT, "html": EMAIL_HTML, "text": EMAIL_TEXT}),
        (Channel.SMS, {"text": SMS_TEXT}),
    ):
        notice = Notice.objects.create(campaign=campaign, channel=channel, locale="en")
        approve(NoticeVersion.objects.create(notice=notice, number=1, **parts))
    return campaign


@pytest.fixture
def initial_sent(
    make_wave: Callable[..., Wave], notices: list, commander: User
) -> Callable[[dict[tuple[Customer, str], str]], Wave]:
    """Launch the initial notice by email and SMS, then give its rows the statuses a test names."""

    def send(statuses: dict[tuple[Customer, str], str]) -> Wave:
        wave = wave_launch(wave=make_wave(name="Initial", channel_plan=ChannelPlan.BOTH), user=commander)
        for (customer, channel), status in statuses.items():
            Delivery.objects.filter(wave=wave, customer=customer, channel=channel).update(status=status)
        return wave

    return send


@pytest.fixture
def follow_up_wave(follow_up: Campaign, make_wave: Callable[..., Wave]) -> Callable[..., Wave]:
    def make(audience: dict[str, Any], **values: Any) -> Wave:
        return make_wave(campaign=follow_up, name="Follow-up", audience=audience, **values)

    return make


def reached(wave: Wave) -> list[tuple[str, str]]:
    return sorted(Delivery.objects.filter(wave=wave).values_list("customer__name", "channel"))


def test_a_customer_whose_email_bounced_gets_only_an_sms_follow_up(
    make_customer: Callable[..., Customer],
    initial_sent: Callable[..., Wave],
    follow_up_wave: Callable[..., Wave],
    campaign: Campaign,
    commander: User,
) -> None:
    bounced, both_failed = make_customer(name="Bounced"), make_customer(name="Both failed")
    texted, emailed = make_customer(name="Texted"), make_customer(name="Emailed")
    initial_sent(
        {
            (bounced, "email"): DeliveryStatus.BOUNCED,
            (bounced, "sms"): DeliveryStatus.SENT,  # sent, never confirmed: still worth another try
            (both_failed, "email"): DeliveryStatus.FAILED,
            (both_failed, "sms"): DeliveryStatus.FAILED,
            (texted, "email"): DeliveryStatus.BOUNCED,
            (texted, "sms"): DeliveryStatus.DELIVERED,
            (emailed, "email"): DeliveryStatus.DELIVERED,
        }
    )
    audience = {"kind": "other_channel", "campaign": campaign.pk, "channel": "email"}
    refused = follow_up_wave(audience, channel_plan=ChannelPlan.EMAIL_THEN_SMS)
    with pytest.raises(LaunchRefused) as error:
        wave_launch(wave=refused, user=commander)
    assert "can only be sent SMS" in error.value.problems[0]
    wave = wave_launch(wave=follow_up_wave(audience, channel_plan=ChannelPlan.SMS), user=commander)
    assert reached(wave) == [("Both failed", "sms"), ("Bounced", "sms")]


def test_a_do_not_contact_on_any_address_keeps_the_customer_out_of_follow_ups_on_every_channel(
    make_customer: Callable[..., Customer],
    initial_sent: Callable[..., Wave],
    follow_up_wave: Callable[..., Wave],
    incident: Incident,
    commander: User,
) -> None:
    make_customer(name="Kept")
    by_phone = make_customer(name="Opted out by SMS")
    by_old_email = make_customer(name="Opted out by an old email")
    CustomerKey.objects.create(incident=incident, customer=by_old_email, kind="email", value="old@example.org")
    bounced = make_customer(name="Email bounced")
    suppression_add(incident=incident, channel="sms", address=by_phone.phone, reason="do_not_contact")
    suppression_add(incident=incident, channel="email", address="OLD@example.org", reason="do_not_contact")
    suppression_add(incident=incident, channel="email", address=bounced.email, reason="hard_bounce")
    initial = initial_sent({})
    # The initial notice is still owed to everyone: its suppressions count per address.
    assert ("Opted out by SMS", "email") in reached(initial)
    assert ("Opted out by an old email", "sms") in reached(initial)
    wave = wave_launch(wave=follow_up_wave({}, channel_plan=ChannelPlan.BOTH), user=commander)
    assert reached(wave) == [("Email bounced", "sms"), ("Kept", "email"), ("Kept", "sms")]
    excluded = {channel: counts["excluded"] for channel, counts in wave.launch_summary["channels"].items()}
    assert excluded == {"email": {"do_not_contact": 2, "hard_bounce": 1}, "sms": {"do_not_contact": 2}}


def test_a_follow_up_fallback_skips_a_customer_who_opted_out_since_the_launch(
    make_customer: Callable[..., Customer], follow_up_wave: Callable[..., Wave], incident: Incident, commander: User
) -> None:
    opted_out, bounced = make_customer(name="Opted out since"), make_customer(name="Bounced since")
    wave = wave_launch(wave=follow_up_wave({}, channel_plan=ChannelPlan.EMAIL_THEN_SMS), user=commander)
    suppression_add(incident=incident, channel="email", address=opted_out.email, reason="do_not_contact")
    suppression_add(incident=incident, channel="email", address=bounced.email, reason="hard_bounce")
    failed = Delivery.objects.filter(wave=wave, channel="email").values_list("id", flat=True)
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert ledger.insert_fallbacks(wave=wave, failed_ids=list(failed), due_at=now, now=now) == 1
    assert reached(wave) == [("Bounced since", "email"), ("Bounced since", "sms"), ("Opted out since", "email")]


def test_notified_means_sent_or_delivered_and_never_the_customers_not_sent(
    make_customer: Callable[..., Customer],
    initial_sent: Callable[..., Wave],
    follow_up_wave: Callable[..., Wave],
    campaign: Campaign,
    commander: User,
) -> None:
    sent, delivered, pending = (
        make_customer(name="Sent"),
        make_customer(name="Delivered"),
        make_customer(name="Pending"),
    )
    failed = make_customer(name="Failed")
    initial_sent(
        {
            (sent, "email"): DeliveryStatus.SENT,
            (delivered, "sms"): DeliveryStatus.DELIVERED,
            (failed, "email"): DeliveryStatus.FAILED,
            (failed, "sms"): DeliveryStatus.BOUNCED,
        }
    )
    make_customer(name="Imported later")  # never in the initial campaign
    assert pending.pk
    wave = follow_up_wave({"kind": "notified", "campaign": campaign.pk}, channel_plan=ChannelPlan.EMAIL)
    assert reached(wave_launch(wave=wave, user=commander)) == [("Delivered", "email"), ("Sent", "email")]


def test_not_delivered_excludes_customers_delivered_on_any_channel(
    make_customer: Callable[..., Customer],
    initial_sent: Callable[..., Wave],
    follow_up_wave: Callable[..., Wave],
    campaign: Campaign,
    commander: User,
) -> None:
    by_email, by_sms = make_customer(name="Delivered by email"), make_customer(name="Delivered by SMS")
    sent, bounced = make_customer(name="Sent only"), make_customer(name="Bounced")
    initial_sent(
        {
            (by_email, "email"): DeliveryStatus.DELIVERED,
            (by_sms, "sms"): DeliveryStatus.DELIVERED,
            (by_sms, "email"): DeliveryStatus.BOUNCED,
            (sent, "email"): DeliveryStatus.SENT,
            (bounced, "email"): DeliveryStatus.BOUNCED,
        }
    )
    make_customer(name="Imported later")
    wave = follow_up_wave({"kind": "not_delivered", "campaign": campaign.pk}, channel_plan=ChannelPlan.EMAIL)
    assert reached(wave_launch(wave=wave, user=commander)) == [
        ("Bounced", "email"),
        ("Imported later", "email"),
        ("Sent only", "email"),
    ]


def test_not_enrolled_excludes_enrolled_customers(
    make_customer: Callable[..., Customer], follow_up_wave: Callable[..., Wave], incident: Incident, commander: User
) -> None:
    enrolled, _ = make_customer(name="Enrolled"), make_customer(name="Not enrolled")
    protected = make_customer(name="Enrolled in another programme")
    at = datetime(2030, 1, 1, tzinfo=UTC)
    Enrolment.objects.create(incident=incident, customer=enrolled, program="credit_monitoring", enrolled_at=at)
    Enrolment.objects.create(incident=incident, customer=protected, program="identity_protection", enrolled_at=at)
    wave = follow_up_wave({"kind": "not_enrolled", "program": "credit_monitoring"})
    assert reached(wave_launch(wave=wave, user=commander)) == [
        ("Enrolled in another programme", "email"),
        ("Not enrolled", "email"),
    ]


@pytest.fixture
def history(
    make_customer: Callable[..., Customer], initial_sent: Callable[..., Wave], incident: Incident
) -> list[Customer]:
    """Twelve customers with every kind of outcome of the initial notice, two of them opted out."""
    statuses = [
        DeliveryStatus.DELIVERED,
        DeliveryStatus.SENT,
        DeliveryStatus.BOUNCED,
        DeliveryStatus.FAILED,
        DeliveryStatus.PENDING,
        DeliveryStatus.SUPPRESSED,
    ]
    customers, outcomes = [], {}
    for n in range(12):
        customer = make_customer(
            name=f"C{n}",
            risk_tier="high" if n % 3 == 0 else "low",
            email="" if n == 11 else f"c{n}@example.org",
            phone="" if n == 10 else f"+4470{n:08d}",
        )
        customers.append(customer)
        outcomes[(customer, "email")] = statuses[n % 6]
        outcomes[(customer, "sms")] = statuses[(n // 2) % 6]
    initial_sent(outcomes)
    suppression_add(incident=incident, channel="sms", address=customers[2].phone, reason="do_not_contact")
    suppression_add(incident=incident, channel="email", address=customers[7].email, reason="hard_bounce")
    Enrolment.objects.create(
        incident=incident, customer=customers[4], program="credit_monitoring", enrolled_at=datetime.now(UTC)
    )
    return customers


@pytest.mark.parametrize(
    ("audience", "plan"),
    [
        ({}, ChannelPlan.EMAIL_THEN_SMS),
        ({"kind": "notified"}, ChannelPlan.BOTH),
        ({"kind": "not_delivered"}, ChannelPlan.EMAIL_THEN_SMS),
        ({"kind": "not_delivered"}, ChannelPlan.SMS_THEN_EMAIL),
        ({"kind": "other_channel", "channel": "email"}, ChannelPlan.SMS),
        ({"kind": "other_channel", "channel": "sms"}, ChannelPlan.EMAIL),
        ({"kind": "not_enrolled", "program": "credit_monitoring"}, ChannelPlan.BOTH),
    ],
)
def test_the_plan_and_the_launch_agree_for_every_audience(
    history: list[Customer],
    follow_up_wave: Callable[..., Wave],
    campaign: Campaign,
    commander: User,
    audience: dict[str, Any],
    plan: str,
) -> None:
    if "kind" in audience and audience["kind"] != "not_enrolled":
        audience = {**audience, "campaign": campaign.pk}
    wave = follow_up_wave(audience, channel_plan=plan, segments=[{"risk": "low"}])
    planned = wave_plan(wave=wave)
    assert planned.total_send > 0
    launched = wave_launch(wave=wave, user=commander)
    for channel, counts in launched.launch_summary["channels"].items():
        assert counts["created"] == counts["planned"] == planned.reach.channels[channel].send
        assert Delivery.objects.filter(wave=wave, channel=channel).count() == counts["created"]
    assert launched.launch_summary["customers"] == planned.reach.customers
    assert not Delivery.objects.filter(wave=wave, customer__risk_tier="high").exists()


def test_another_wave_of_the_same_follow_up_adds_nobody_twice(
    history: list[Customer], follow_up_wave: Callable[..., Wave], campaign: Campaign, commander: User
) -> None:
    audience = {"kind": "not_delivered", "campaign": campaign.pk}
    first = wave_launch(wave=follow_up_wave(audience, segments=[{"risk": "high"}]), user=commander)
    second = wave_launch(wave=follow_up_wave(audience), user=commander)
    assert reached(first)
    assert not {name for name, _ in reached(first)} & {name for name, _ in reached(second)}
    assert second.launch_summary["channels"]["email"]["exists"] == len(reached(first))
    with pytest.raises(LaunchRefused) as refused:
        wave_launch(wave=follow_up_wave(audience), user=commander)
    assert "reaches nobody new" in refused.value.problems[-1]
    rows = Delivery.objects.filter(campaign_id=first.campaign_id)
    assert rows.count() == rows.values("customer_id", "channel").distinct().count()


@pytest.mark.parametrize(
    ("audience", "problem"),
    [
        ({"kind": "someday"}, "not one the system knows"),
        ({"kind": "notified", "campaign": "x"}, "not one the system knows"),
        ({"kind": "notified"}, "not one the system knows"),
        ({"kind": "not_enrolled", "program": "lottery"}, "unknown programme"),
        ({"kind": "notified", "campaign": "own"}, "not the wave's own"),
        ({"kind": "notified", "campaign": "elsewhere"}, "same incident"),
    ],
)
def test_a_launch_with_an_unusable_audience_is_refused_with_the_reason(
    follow_up_wave: Callable[..., Wave],
    follow_up: Campaign,
    make_customer: Callable[..., Customer],
    commander: User,
    audience: dict[str, Any],
    problem: str,
) -> None:
    make_customer()
    if audience.get("campaign") == "own":
        audience = {**audience, "campaign": follow_up.pk}
    elif audience.get("campaign") == "elsewhere":
        other = Incident.objects.create(title="Another", organization="Other", default_locale="en")
        audience = {**audience, "campaign": Campaign.objects.create(incident=other, kind="initial", name="x").pk}
    wave = follow_up_wave(audience)
    with pytest.raises(LaunchRefused) as refused:
        wave_launch(wave=wave, user=commander)
    assert problem in refused.value.problems[0]
    assert Delivery.objects.count() == 0


def test_the_audience_is_described_in_a_sentence(campaign: Campaign) -> None:
    assert audiences.describe_audience({}) == "Everyone in the chosen segments."
    other = audiences.describe_audience({"kind": "other_channel", "campaign": campaign.pk, "channel": "email"})
    assert "email of “Initial notice” could not be delivered" in other
    assert "they are sent an SMS" in other
    enrolled = audiences.describe_audience({"kind": "not_enrolled", "program": "credit_monitoring"})
    assert enrolled == "Customers in the chosen segments who are not enrolled in Credit monitoring."
