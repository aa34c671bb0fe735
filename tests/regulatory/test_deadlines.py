"""The regulatory clock of an incident: which rules its customers bring and when each runs out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from breachcomms.incidents.models import Incident
from breachcomms.recipients.models import Customer
from breachcomms.regulatory.selectors import incident_deadlines

AWARE = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
DISCOVERED = datetime(2026, 11, 1, 18, 0, tzinfo=UTC)
DETERMINED = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)


def _customers(incident: Incident, places: list[tuple[str, str]]) -> None:
    Customer.objects.bulk_create(
        Customer(
            incident=incident,
            email=f"c{i}@example.com",
            country=country,
            subdivision=subdivision,
            locale="en",
            language="en",
            time_zone="UTC",
        )
        for i, (country, subdivision) in enumerate(places)
    )


@pytest.fixture
def timed_incident(incident: Incident) -> Incident:
    incident.aware_at, incident.discovered_at, incident.determined_at = AWARE, DISCOVERED, DETERMINED
    incident.save()
    _customers(incident, [("SE", "")] * 3 + [("US", "US-CA")] * 2 + [("US", "US-TX"), ("US", ""), ("BR", "")])
    return incident


def _by_code(incident: Incident) -> dict[str, Any]:
    return {d.jurisdiction.code: d for d in incident_deadlines(incident=incident)}


@pytest.mark.django_db
def test_each_rule_counts_its_residents_and_starts_from_its_own_clock_word(timed_incident: Incident) -> None:
    deadlines = _by_code(timed_incident)
    assert set(deadlines) == {"EU-GDPR", "SE", "US-CA", "US-TX", "BR"}  # a US customer without a state: no state law
    gdpr, california, texas = deadlines["EU-GDPR"], deadlines["US-CA"], deadlines["US-TX"]
    assert (gdpr.residents, gdpr.start_field, gdpr.due) == (3, "aware_at", AWARE + timedelta(hours=72))
    assert (california.residents, california.due) == (2, DISCOVERED + timedelta(days=30))
    assert (texas.start_field, texas.due) == ("determined_at", DETERMINED + timedelta(days=60))


@pytest.mark.django_db
def test_brazil_counts_business_days_over_the_weekend(incident: Incident) -> None:
    incident.aware_at = datetime(2026, 11, 5, 10, 0, tzinfo=UTC)  # Thursday
    incident.save()
    _customers(incident, [("BR", "")])
    assert _by_code(incident)["BR"].due == datetime(2026, 11, 10, 10, 0, tzinfo=UTC)  # Fri, Mon, Tue


@pytest.mark.django_db
def test_deadlines_come_soonest_first(timed_incident: Incident) -> None:
    codes = [d.jurisdiction.code for d in incident_deadlines(incident=timed_incident)]
    assert codes.index("EU-GDPR") < codes.index("US-CA") < codes.index("US-TX")


@pytest.mark.django_db
def test_a_clock_whose_start_is_not_set_says_so_instead_of_guessing(incident: Incident) -> None:
    _customers(incident, [("US", "US-CA")])
    california = _by_code(incident)["US-CA"]
    assert california.due is None
    assert california.start_missing
    assert str(california.start_label) == "discovered at"


@pytest.mark.django_db
def test_rules_chosen_for_the_incident_cover_every_customer(timed_incident: Incident) -> None:
    timed_incident.extra_jurisdictions = ["US-HIPAA", "US-FTC"]
    timed_incident.save()
    deadlines = _by_code(timed_incident)
    assert deadlines["US-HIPAA"].residents == 8
    assert deadlines["US-HIPAA"].due == DISCOVERED + timedelta(days=60)
    assert deadlines["US-FTC"].threshold_met is False  # 8 customers, the rule starts at 500


@pytest.mark.django_db
def test_the_incident_page_shows_the_clock(timed_incident: Incident, commander: Any) -> None:
    client = Client()
    client.force_login(commander)
    response = client.get(f"/admin/incidents/incident/{timed_incident.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="regulatory-clock"' in page
    assert 'data-code="EU-GDPR"' in page
    assert f'data-due="{(AWARE + timedelta(hours=72)).isoformat()}"' in page


@pytest.mark.django_db
def test_a_chosen_rule_missing_from_the_table_is_reported_not_dropped_silently(
    timed_incident: Incident, commander: Any
) -> None:
    timed_incident.extra_jurisdictions = ["US-HIPAA", "XX-GONE"]
    timed_incident.save()
    assert "US-HIPAA" in _by_code(timed_incident)
    client = Client()
    client.force_login(commander)
    page = client.get(f"/admin/incidents/incident/{timed_incident.pk}/change/").content.decode()
    assert "no longer in the jurisdiction table: XX-GONE" in page
