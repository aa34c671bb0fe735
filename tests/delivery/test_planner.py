"""The plan shown before launch: who is reached and when the wave finishes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

import pytest
from django.contrib.auth.models import User

from breachcomms.delivery.ledger import ReachGroup
from breachcomms.delivery.models import ChannelPlan, Delivery, Wave
from breachcomms.delivery.planner import reach, simulate
from breachcomms.delivery.selectors import wave_plan
from breachcomms.delivery.services import wave_launch
from breachcomms.delivery.windows import Window
from breachcomms.recipients.models import Customer

START = datetime(2025, 6, 2, 0, 0, tzinfo=UTC)
ALWAYS = Window(time(0, 0), time(0, 0))


def test_an_unhindered_wave_takes_its_count_divided_by_its_rate() -> None:
    estimate = simulate(
        start=START, window=ALWAYS, backlog={("email", "UTC", "GB"): 9000}, per_hour={"email": 6000}, region_cap=None
    )
    assert estimate.finish_at == START + timedelta(hours=1, minutes=30)


def test_quiet_hours_push_the_finish_into_the_next_morning() -> None:
    daytime = Window(time(8, 0), time(21, 0))
    backlog = {("email", "Europe/London", "GB"): 14 * 1000}  # 13 open hours a day at 1,000 an hour
    estimate = simulate(start=START, window=daytime, backlog=backlog, per_hour={"email": 1000}, region_cap=None)
    # London is UTC+1 in June: open 07:00-20:00 UTC; 13 hours on the first day, one more the next.
    assert estimate.finish_at == datetime(2025, 6, 3, 8, 0, tzinfo=UTC)


def test_a_region_cap_slows_that_region_only() -> None:
    backlog = {("email", "UTC", "GB"): 300, ("email", "UTC", "SE"): 100}
    estimate = simulate(start=START, window=ALWAYS, backlog=backlog, per_hour={"email": 10_000}, region_cap=100)
    assert estimate.finish_at == START + timedelta(hours=3)


def test_never_finishing_is_said_plainly() -> None:
    estimate = simulate(
        start=START, window=ALWAYS, backlog={("sms", "UTC", "GB"): 10**9}, per_hour={"sms": 1}, region_cap=None
    )
    assert estimate.finish_at is None


def test_reach_counts_fallbacks_and_exclusions() -> None:
    groups = [
        ReachGroup("GB", "en", "high", "en-GB", "UTC", "ok", "ok", False, False, 5),
        ReachGroup("GB", "en", "high", "en-GB", "UTC", "missing", "ok", False, False, 2),
        ReachGroup("GB", "en", "low", "en-GB", "UTC", "hard_bounce", "missing", False, False, 1),
        ReachGroup("SE", "sv", "low", "sv-SE", "UTC", "ok", "ok", True, False, 3),
    ]
    result = reach(ChannelPlan.EMAIL_THEN_SMS, groups)
    email, sms = result.channels["email"], result.channels["sms"]
    assert (email.send, email.exists, email.excluded) == (5, 3, {"missing": 2, "hard_bounce": 1})
    assert (sms.send, sms.fallback, sms.excluded) == (2, 2, {"missing": 1})
    assert result.unreached == 1
    assert result.segments[("GB", "en", "high")] == {"customers": 7, "email": 5, "sms": 2}


@pytest.mark.django_db
def test_the_plan_matches_what_the_launch_creates(
    make_customer: Callable[..., Customer], make_wave: Callable[..., Wave], notices: list, commander: User
) -> None:
    for i in range(12):
        make_customer(email="" if i % 4 == 0 else f"p{i}@example.org", phone="" if i % 3 == 0 else f"+4670{i:07d}")
    wave = make_wave(channel_plan=ChannelPlan.SMS_THEN_EMAIL, sms_segments_per_second=1)
    plan = wave_plan(wave=wave)
    planned = {channel: counts.send for channel, counts in plan.reach.channels.items()}
    wave_launch(wave=wave, user=commander)
    created = {c: Delivery.objects.filter(channel=c).count() for c in ("email", "sms")}
    assert planned == created == {"sms": 8, "email": 3}
    assert plan.estimate.finish_at is not None
    assert any("segment" in note for note in plan.notes)  # SMS pacing explains its segment count
