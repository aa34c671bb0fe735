"""The planner warns when a wave would reach a jurisdiction's residents after its legal deadline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from breachcomms.delivery.models import Wave
from breachcomms.delivery.planner import simulate
from breachcomms.delivery.selectors import wave_plan
from breachcomms.delivery.windows import Window
from breachcomms.incidents.models import Incident
from breachcomms.recipients.models import Customer

AWARE = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
START = datetime(2025, 6, 2, 0, 0, tzinfo=UTC)


def _residents(incident: Incident, n: int, *, country: str, zone: str, subdivision: str = "", first: int = 0) -> None:
    Customer.objects.bulk_create(
        Customer(
            incident=incident,
            name=f"Person {i}",
            email=f"p{i}@example.org",
            country=country,
            subdivision=subdivision,
            locale="en",
            language="en",
            time_zone=zone,
        )
        for i in range(first, first + n)
    )


def _checks(wave: Wave, now: datetime) -> dict[str, str]:
    return {check.code: check.state for check in wave_plan(wave=wave, now=now).deadline_checks}


def _warned(wave: Wave, now: datetime) -> set[str]:
    return {check.code for check in wave_plan(wave=wave, now=now).deadline_warnings}


def test_the_simulation_says_when_each_region_finishes() -> None:
    always = Window(time(0, 0), time(0, 0))
    backlog = {("email", "UTC", "GB"): 300, ("email", "UTC", "SE"): 100}
    estimate = simulate(start=START, window=always, backlog=backlog, per_hour={"email": 10_000}, region_cap=100)
    assert estimate.region_finish() == {"GB": START + timedelta(hours=3), "SE": START + timedelta(hours=1)}
    assert estimate.cell_finish[("email", "UTC", "GB")] == estimate.finish_at


@pytest.fixture
def swedes(incident: Incident) -> Incident:
    incident.aware_at = AWARE
    incident.save()
    _residents(incident, 100, country="SE", zone="Europe/Stockholm")  # 100 minutes at one email a minute
    return incident


@pytest.mark.sqlite
@pytest.mark.django_db
def test_a_wave_finishing_after_gdprs_72_hours_for_swedish_customers_warns(
    swedes: Incident, make_wave: Callable[..., Wave], notices: list
) -> None:
    wave = make_wave(email_per_minute=1, start_at=AWARE + timedelta(hours=71))
    assert _warned(wave, now=AWARE) == {"EU-GDPR", "SE"}
    check = next(c for c in wave_plan(wave=wave, now=AWARE).deadline_warnings if c.code == "EU-GDPR")
    assert check.customers == 100
    assert check.finish_at is not None
    assert check.finish_at > check.deadline.due == AWARE + timedelta(hours=72)


@pytest.mark.django_db
def test_a_wave_finishing_before_the_72_hours_does_not_warn(
    swedes: Incident, make_wave: Callable[..., Wave], notices: list
) -> None:
    wave = make_wave(email_per_minute=1, start_at=AWARE + timedelta(hours=1))
    assert _checks(wave, now=AWARE) == {"EU-GDPR": "in_time", "SE": "in_time"}
    assert _warned(wave, now=AWARE) == set()


@pytest.mark.django_db
def test_a_deadline_passed_before_the_wave_starts_warns(
    swedes: Incident, make_wave: Callable[..., Wave], notices: list
) -> None:
    wave = make_wave(start_at=AWARE + timedelta(days=4))
    assert _checks(wave, now=AWARE) == {"EU-GDPR": "overdue", "SE": "overdue"}


@pytest.mark.django_db
def test_a_clock_that_has_not_started_is_reported_not_guessed(
    incident: Incident, make_wave: Callable[..., Wave], notices: list
) -> None:
    _residents(incident, 3, country="SE", zone="Europe/Stockholm")
    wave = make_wave()
    assert _checks(wave, now=AWARE) == {"EU-GDPR": "start_missing", "SE": "start_missing"}
    assert _warned(wave, now=AWARE) == set()


@pytest.fixture
def americans(incident: Incident) -> Incident:
    incident.discovered_at = incident.determined_at = AWARE  # California: 30 days from discovery; Texas: 60
    incident.save()
    _residents(incident, 120, country="US", subdivision="US-CA", zone="America/Los_Angeles")
    _residents(incident, 60, country="US", subdivision="US-TX", zone="America/Chicago", first=1000)
    return incident


@pytest.mark.sqlite
@pytest.mark.django_db
def test_a_us_states_30_day_rule_warns_for_that_state_only(
    americans: Incident, make_wave: Callable[..., Wave], notices: list
) -> None:
    wave = make_wave(email_per_minute=1, start_at=AWARE + timedelta(days=29, hours=23))
    assert _checks(wave, now=AWARE) == {"US-CA": "late", "US-TX": "in_time"}
    checks = {c.code: c for c in wave_plan(wave=wave, now=AWARE).deadline_checks}
    assert (checks["US-CA"].customers, checks["US-TX"].customers) == (120, 60)
    # Sharing the hour: Texas empties after two hours, California's last 60 take the third.
    assert checks["US-CA"].finish_at == AWARE + timedelta(days=29, hours=26)
    assert checks["US-TX"].finish_at == AWARE + timedelta(days=29, hours=25)


@pytest.mark.django_db
def test_a_us_wave_started_early_is_in_time_everywhere(
    americans: Incident, make_wave: Callable[..., Wave], notices: list
) -> None:
    wave = make_wave(email_per_minute=1, start_at=AWARE + timedelta(days=1))
    assert _warned(wave, now=AWARE) == set()


@pytest.mark.django_db
def test_only_the_rules_of_residents_the_wave_reaches_are_checked(
    americans: Incident, make_wave: Callable[..., Wave], notices: list
) -> None:
    americans.aware_at = AWARE
    americans.save()
    _residents(americans, 5, country="SE", zone="Europe/Stockholm", first=5000)
    wave = make_wave(segments=[{"region": "SE"}], start_at=AWARE + timedelta(days=10))
    assert _checks(wave, now=AWARE) == {"EU-GDPR": "overdue", "SE": "overdue"}


@pytest.mark.django_db
def test_the_plan_page_shows_the_warning(
    incident: Incident, make_wave: Callable[..., Wave], notices: list, commander: User
) -> None:
    now = timezone.now()
    incident.aware_at = now - timedelta(hours=71)
    incident.save()
    _residents(incident, 100, country="SE", zone="Europe/Stockholm")
    wave = make_wave(email_per_minute=1)
    client = Client()
    client.force_login(commander)
    page = client.get(f"/admin/delivery/wave/{wave.pk}/change/").content.decode()
    assert 'id="wave-plan-deadline-warnings"' in page
    assert '<li data-code="EU-GDPR">' in page
    assert 'data-code="SE" data-state="late"' in page
