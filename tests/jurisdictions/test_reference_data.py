"""The breach-notification rules of reference/regulations.md are in the database after migrate."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from breachcomms.jurisdictions.models import ClockStart, DeadlineUnit, Jurisdiction
from breachcomms.jurisdictions.services import jurisdictions_load_reference, reference_rows

pytestmark = pytest.mark.django_db

# The rows of the reference table, one code per row, and the grouped rows one code per state.
SINGLE_ROWS = {
    "EU-GDPR", "UK-GDPR", "SE", "RU", "ID", "SG", "AU", "CA", "BR", "IN", "JP", "KR", "CN",
    "US-HIPAA", "US-SEC", "US-FTC", "US-NY-DFS",
    "US-CA", "US-CO", "US-FL", "US-WA", "US-ME", "US-NY", "US-TX", "US-MA", "US-PR",
}  # fmt: skip
FORTY_FIVE_DAY_STATES = {
    "US-AL", "US-AZ", "US-IN", "US-MD", "US-NM", "US-OH", "US-OR", "US-RI", "US-TN", "US-VT", "US-WI",
}  # fmt: skip
SIXTY_DAY_STATES = {"US-CT", "US-DE", "US-LA", "US-SD"}
EU_AND_EEA = {
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU",
    "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
}  # fmt: skip


def test_migrate_loads_one_row_per_jurisdiction_of_the_reference_table() -> None:
    codes = set(Jurisdiction.objects.values_list("code", flat=True))

    assert codes == SINGLE_ROWS | FORTY_FIVE_DAY_STATES | SIXTY_DAY_STATES
    assert len(codes) == 41


@pytest.mark.parametrize(("states", "days"), [(FORTY_FIVE_DAY_STATES, 45), (SIXTY_DAY_STATES, 60)])
def test_each_state_of_a_grouped_row_applies_to_itself_with_the_groups_deadline(states: set[str], days: int) -> None:
    for rule in Jurisdiction.objects.filter(code__in=states):
        assert rule.applies_to == [rule.code]
        assert (rule.deadline_amount, rule.deadline_unit) == (days, DeadlineUnit.DAYS)
        assert rule.individuals_required


def test_every_shipped_row_passes_the_validation_the_admin_applies() -> None:
    for rule in Jurisdiction.objects.all():
        rule.full_clean()


def test_rows_marked_check_in_the_reference_are_flagged_and_only_those() -> None:
    flagged = set(Jurisdiction.objects.filter(needs_check=True).values_list("code", flat=True))

    assert flagged == {"US-ME", "US-DE"}


def test_every_row_names_its_source_and_review_date() -> None:
    for rule in Jurisdiction.objects.all():
        assert rule.source.strip(), rule.code
        assert rule.as_of is not None, rule.code
        assert rule.deadline_text.strip(), rule.code


def test_eu_gdpr_reaches_every_eu_and_eea_country() -> None:
    assert set(Jurisdiction.objects.get(code="EU-GDPR").applies_to) == EU_AND_EEA


def test_rules_chosen_by_kind_of_organisation_have_no_places() -> None:
    chosen = Jurisdiction.objects.filter(by_selection=True)

    assert set(chosen.values_list("code", flat=True)) == {"US-HIPAA", "US-SEC", "US-FTC", "US-NY-DFS"}
    assert all(rule.applies_to == [] for rule in chosen)


@pytest.mark.parametrize(
    ("code", "amount", "unit", "clock"),
    [
        ("EU-GDPR", 72, DeadlineUnit.HOURS, ClockStart.AWARENESS),
        ("RU", 24, DeadlineUnit.HOURS, ClockStart.DETECTION),
        ("BR", 3, DeadlineUnit.BUSINESS_DAYS, ClockStart.AWARENESS),
        ("US-SEC", 4, DeadlineUnit.BUSINESS_DAYS, ClockStart.DETERMINATION),
        ("US-HIPAA", 60, DeadlineUnit.DAYS, ClockStart.DISCOVERY),
        ("SG", 3, DeadlineUnit.DAYS, ClockStart.ASSESSMENT),
        ("US-PR", 10, DeadlineUnit.DAYS, ClockStart.DETECTION),
    ],
)
def test_deadlines_and_clock_starts_follow_the_reference(
    code: str, amount: int, unit: DeadlineUnit, clock: ClockStart
) -> None:
    rule = Jurisdiction.objects.get(code=code)

    assert (rule.deadline_amount, rule.deadline_unit, rule.clock_start) == (amount, unit, clock)


@pytest.mark.parametrize("code", ["CA", "CN", "US-MA"])
def test_rules_without_a_fixed_time_have_no_deadline_but_say_so_in_words(code: str) -> None:
    rule = Jurisdiction.objects.get(code=code)

    assert rule.deadline_amount is None
    assert rule.deadline_unit == ""
    assert rule.deadline_text


def test_loading_the_reference_again_keeps_a_users_corrections_and_restores_a_deleted_row() -> None:
    Jurisdiction.objects.filter(code="US-TX").update(deadline_amount=45, notes="Corrected by legal.")
    Jurisdiction.objects.filter(code="US-WA").delete()

    created = jurisdictions_load_reference()

    assert created == 1
    texas = Jurisdiction.objects.get(code="US-TX")
    assert (texas.deadline_amount, texas.notes) == (45, "Corrected by legal.")
    assert Jurisdiction.objects.filter(code="US-WA").exists()
    assert Jurisdiction.objects.count() == len(reference_rows())


def test_a_rule_that_applies_nowhere_is_refused() -> None:
    rule = Jurisdiction.objects.get(code="US-TX")
    rule.applies_to = []

    with pytest.raises(ValidationError) as error:
        rule.full_clean()

    assert "applies_to" in error.value.message_dict


def test_a_deadline_without_a_unit_is_refused() -> None:
    rule = Jurisdiction.objects.get(code="US-TX")
    rule.deadline_unit = ""

    with pytest.raises(ValidationError, match="both a number greater than zero and a unit"):
        rule.full_clean()
