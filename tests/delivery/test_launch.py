"""Launching a wave: the checks, and the ledger rows it creates in SQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied

from breachcomms.delivery.models import ChannelPlan, Delivery, Suppression, Wave, WaveAction
from breachcomms.delivery.references import format_reference, parse_reference
from breachcomms.delivery.services import LaunchRefused, WaveStateError, suppression_add, wave_launch
from breachcomms.notices.models import Channel, NoticeVersion
from breachcomms.recipients.models import Customer

pytestmark = pytest.mark.django_db


def rows(wave: Wave) -> list[tuple[str, str]]:
    return sorted(Delivery.objects.filter(wave=wave).values_list("customer__name", "channel"))


def test_launch_creates_one_row_per_customer_and_channel(
    make_customer: Callable[..., Customer], make_wave: Callable[..., Wave], notices: list, commander: User
) -> None:
    alice, bob = make_customer(name="Alice"), make_customer(name="Bob", phone="")
    wave = wave_launch(wave=make_wave(channel_plan=ChannelPlan.BOTH), user=commander)
    assert wave.status == Wave.Status.RUNNING
    assert rows(wave) == [("Alice", "email"), ("Alice", "sms"), ("Bob", "email")]
    delivery = Delivery.objects.get(customer=alice, channel="email")
    assert (delivery.address, delivery.region, delivery.status) == (alice.email, "GB", "pending")
    assert parse_reference(delivery.reference_code) == delivery.reference
    assert wave.launch_summary["channels"]["sms"]["excluded"] == {"missing": 1}
    assert WaveAction.objects.get(wave=wave).kind == WaveAction.Kind.LAUNCH
    assert bob.id


def test_suppressed_addresses_are_excluded_and_counted_by_reason(
    make_customer: Callable[..., Customer], make_wave: Callable[..., Wave], notices: list, commander: User, incident
) -> None:
    make_customer(name="Kept")
    bounced = make_customer(name="Bounced", email="Bounced@Example.org")
    make_customer(name="Complained", email="complained@example.org")
    suppression_add(incident=incident, channel="email", address=bounced.email, reason="hard_bounce")
    suppression_add(incident=incident, channel="email", address="COMPLAINED@example.org", reason="complaint")
    wave = wave_launch(wave=make_wave(), user=commander)
    assert rows(wave) == [("Kept", "email")]
    assert wave.launch_summary["channels"]["email"]["excluded"] == {"hard_bounce": 1, "complaint": 1}
    assert Suppression.objects.get(address="bounced@example.org").reason == "hard_bounce"


def test_a_second_wave_of_the_campaign_adds_nobody_twice(
    make_customer: Callable[..., Customer], make_wave: Callable[..., Wave], notices: list, commander: User
) -> None:
    make_customer(name="Anna", country="SE", language="sv", locale="sv-SE", risk_tier="high")
    make_customer(name="Brian", risk_tier="low")
    first = wave_launch(wave=make_wave(name="High risk", segments=[{"risk": "high"}]), user=commander)
    second = wave_launch(wave=make_wave(name="Everyone"), user=commander)
    assert rows(first) == [("Anna", "email")]
    assert rows(second) == [("Brian", "email")]
    assert second.launch_summary["channels"]["email"]["exists"] == 1
    with pytest.raises(WaveStateError):
        wave_launch(wave=second, user=commander)
    assert Delivery.objects.count() == 2


def test_email_then_sms_texts_the_customers_without_a_usable_email(
    make_customer: Callable[..., Customer], make_wave: Callable[..., Wave], notices: list, commander: User, incident
) -> None:
    make_customer(name="Emailed")
    make_customer(name="No email", email="")
    suppressed = make_customer(name="Suppressed email")
    make_customer(name="Nothing", email="", phone="")
    suppression_add(incident=incident, channel="email", address=suppressed.email, reason="do_not_contact")
    wave = wave_launch(wave=make_wave(channel_plan=ChannelPlan.EMAIL_THEN_SMS), user=commander)
    assert rows(wave) == [("Emailed", "email"), ("No email", "sms"), ("Suppressed email", "sms")]
    summary = wave.launch_summary
    assert summary["unreached"] == 1
    assert summary["channels"]["sms"]["fallback"] == 2
    assert summary["channels"]["email"]["excluded"] == {"missing": 2, "do_not_contact": 1}


def test_segments_select_by_region_language_and_risk(
    make_customer: Callable[..., Customer], make_wave: Callable[..., Wave], notices: list, commander: User
) -> None:
    make_customer(name="SE high", country="SE", language="sv", locale="sv-SE", risk_tier="high")
    make_customer(name="SE low", country="SE", language="sv", locale="sv-SE", risk_tier="low")
    make_customer(name="GB high", risk_tier="high")
    wave = make_wave(segments=[{"region": "SE", "risk": "high"}, {"region": "GB", "language": "en"}])
    assert rows(wave_launch(wave=wave, user=commander)) == [("GB high", "email"), ("SE high", "email")]


def test_launch_is_refused_without_an_approved_notice_for_a_reached_locale(
    make_customer: Callable[..., Customer],
    make_wave: Callable[..., Wave],
    make_notice: Callable[..., NoticeVersion],
    commander: User,
) -> None:
    make_notice("en", Channel.EMAIL)
    make_customer(name="Russian", country="RU", language="ru", locale="ru-RU")
    make_customer(name="English")
    wave = make_wave()
    with pytest.raises(LaunchRefused) as refused:
        wave_launch(wave=wave, user=commander)
    assert "1 customer with locale ru-RU has no approved email notice" in refused.value.problems[0]
    assert Delivery.objects.count() == 0
    wave.fallback_locale = "en"
    wave.save()
    assert rows(wave_launch(wave=wave, user=commander)) == [("English", "email"), ("Russian", "email")]


def test_only_a_commander_may_launch(
    make_customer: Callable[..., Customer], make_wave: Callable[..., Wave], notices: list, author: User, support: User
) -> None:
    make_customer()
    wave = make_wave()
    for user in (author, support):
        with pytest.raises(PermissionDenied):
            wave_launch(wave=wave, user=user)
    assert Wave.objects.get(id=wave.id).status == Wave.Status.DRAFT


def test_nobody_is_due_outside_their_waking_hours(
    make_customer: Callable[..., Customer], make_wave: Callable[..., Wave], notices: list, commander: User
) -> None:
    make_customer(name="Jakarta", country="ID", time_zone="Asia/Jakarta")
    make_customer(name="Los Angeles", country="US", time_zone="America/Los_Angeles")
    now = datetime(2025, 6, 2, 5, 0, tzinfo=UTC)  # 12:00 in Jakarta, 22:00 in Los Angeles
    wave = make_wave(window_start=time(8, 0), window_end=time(21, 0))
    wave_launch(wave=wave, user=commander, now=now)
    due = dict(Delivery.objects.values_list("customer__name", "due_at"))
    assert due["Jakarta"] == now
    assert due["Los Angeles"] == datetime(2025, 6, 2, 15, 0, tzinfo=UTC)  # 08:00 PDT


def test_references_are_unique_and_shown_as_codes(
    make_customer: Callable[..., Customer], make_wave: Callable[..., Wave], notices: list, commander: User
) -> None:
    for _ in range(50):
        make_customer()
    wave_launch(wave=make_wave(channel_plan=ChannelPlan.BOTH), user=commander)
    references = list(Delivery.objects.values_list("reference", flat=True))
    assert len(set(references)) == 100
    assert all(len(format_reference(r)) == 14 for r in references)
