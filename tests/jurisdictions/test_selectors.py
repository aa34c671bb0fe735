"""Which rules reach a notice's customers, what the notice must contain, and when the deadline runs out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from breachcomms.jurisdictions.models import Jurisdiction
from breachcomms.jurisdictions.selectors import (
    ContentRequirement,
    UnknownJurisdiction,
    content_requirements_for,
    deadline_for,
    jurisdictions_for_places,
)

pytestmark = pytest.mark.django_db
STOCKHOLM = ZoneInfo("Europe/Stockholm")
NEW_YORK = ZoneInfo("America/New_York")
SAO_PAULO = ZoneInfo("America/Sao_Paulo")


def codes(places: list[tuple[str, str]], extra: tuple[str, ...] = ()) -> set[str]:
    return {rule.code for rule in jurisdictions_for_places(places=places, extra=extra)}


def test_a_swedish_customer_falls_under_the_gdpr_and_the_swedish_authority() -> None:
    assert codes([("SE", "")]) == {"EU-GDPR", "SE"}


def test_a_californian_customer_falls_under_californias_rule_and_no_other_state() -> None:
    assert codes([("US", "US-CA")]) == {"US-CA"}


def test_a_us_customer_without_a_state_falls_under_no_state_rule() -> None:
    assert codes([("US", "")]) == set()


def test_canada_and_california_are_not_confused() -> None:
    assert codes([("CA", "")]) == {"CA"}
    assert codes([("CA", "CA-QC")]) == {"CA"}


def test_puerto_rico_is_reached_as_a_country_or_as_a_us_subdivision() -> None:
    assert codes([("PR", "")]) == {"US-PR"}
    assert codes([("US", "US-PR")]) == {"US-PR"}


def test_places_are_matched_whatever_their_case_and_spacing() -> None:
    assert codes([(" se", ""), ("us", "us-ny ")]) == {"EU-GDPR", "SE", "US-NY"}


def test_hipaa_applies_only_when_chosen_for_the_incident() -> None:
    assert "US-HIPAA" not in codes([("US", "US-CA"), ("US", "")])
    assert codes([("US", "US-CA")], extra=("US-HIPAA",)) == {"US-CA", "US-HIPAA"}


def test_a_chosen_rule_applies_even_without_customers() -> None:
    assert codes([], extra=("us-sec",)) == {"US-SEC"}


def test_an_unknown_chosen_rule_is_refused_with_its_code() -> None:
    with pytest.raises(UnknownJurisdiction, match="US-GLBA"):
        jurisdictions_for_places(places=[("SE", "")], extra=("US-HIPAA", "US-GLBA"))


def test_a_notice_reaching_several_places_gets_each_rule_once() -> None:
    rules = jurisdictions_for_places(places=[("SE", ""), ("DK", ""), ("SE", "")])

    assert [rule.code for rule in rules] == ["EU-GDPR", "SE"]


def test_gdpr_content_requirements_in_swedish_use_swedish_markers() -> None:
    requirements = content_requirements_for(places=[("DE", "")], language="sv")

    assert [(r.jurisdiction, r.element) for r in requirements] == [
        ("EU-GDPR", "nature"),
        ("EU-GDPR", "contact"),
        ("EU-GDPR", "consequences"),
        ("EU-GDPR", "measures"),
    ]
    nature = requirements[0]
    assert nature.markers == ("vad har hänt",)
    assert nature.source == "Regulation (EU) 2016/679 (GDPR), Art. 33 and 34"
    assert nature.satisfied_by("<h2>Vad har hänt?</h2>")
    assert not nature.satisfied_by("<h2>What happened</h2>")


def test_a_regional_locale_uses_its_languages_markers() -> None:
    [nature, *_rest] = content_requirements_for(places=[("SE", "")], language="sv-SE")

    assert nature.markers == ("vad har hänt",)


def test_a_language_without_markers_falls_back_to_english() -> None:
    requirements = content_requirements_for(places=[("US", "US-CA")], language="de")

    title = next(r for r in requirements if r.element == "title")
    assert title.markers == ("notice of data breach",)
    assert title.satisfied_by("NOTICE OF DATA BREACH")


def test_an_element_edited_to_have_only_english_markers_falls_back_to_english() -> None:
    rule = Jurisdiction.objects.get(code="US-MA")
    rule.required_content = [
        {"element": "police_report", "description": "Police report.", "markers": {"en": ["police report"]}}
    ]
    rule.save()

    [requirement] = content_requirements_for(places=[("US", "US-MA")], language="ru")

    assert requirement.markers == ("police report",)


def test_rules_without_a_notice_to_individuals_add_no_content_requirements() -> None:
    assert content_requirements_for(places=[("RU", "")], language="ru") == []
    assert content_requirements_for(places=[], language="en", extra=("US-SEC", "US-FTC", "US-NY-DFS")) == []


def test_hipaa_requires_the_dates_of_breach_and_discovery() -> None:
    requirements = content_requirements_for(places=[], language="en", extra=("US-HIPAA",))

    elements = {r.element: r for r in requirements}
    assert {"date_of_breach", "date_of_discovery", "what_happened", "contact"} <= set(elements)
    text = "On March 5, 2026 we discovered that … the breach took place on March 2, 2026."
    assert elements["date_of_discovery"].satisfied_by(text)
    assert elements["date_of_breach"].satisfied_by(text)
    assert not elements["date_of_breach"].satisfied_by("We discovered it recently.")


def test_a_requirement_without_markers_is_never_satisfied() -> None:
    requirement = ContentRequirement("X", "X", "contact", "Contact.", "law", markers=())

    assert not requirement.satisfied_by("For more information")


# --- deadlines --------------------------------------------------------------------------------


def rule(code: str) -> Jurisdiction:
    return Jurisdiction.objects.get(code=code)


def test_gdpr_deadline_is_72_elapsed_hours_even_over_a_clock_change() -> None:
    # Sweden moves its clocks forward on 29 March 2026: 72 hours later reads one hour later on the wall.
    aware = datetime(2026, 3, 27, 10, 0, tzinfo=STOCKHOLM)

    deadline = deadline_for(rule("EU-GDPR"), aware)

    assert deadline == datetime(2026, 3, 30, 11, 0, tzinfo=STOCKHOLM)
    assert deadline is not None
    assert deadline.astimezone(UTC) - aware.astimezone(UTC) == timedelta(hours=72)


def test_a_30_day_state_deadline_is_30_calendar_days_later_at_the_same_local_time() -> None:
    discovered = datetime(2026, 10, 20, 9, 30, tzinfo=NEW_YORK)

    assert deadline_for(rule("US-CA"), discovered) == datetime(2026, 11, 19, 9, 30, tzinfo=NEW_YORK)


def test_a_45_day_state_deadline_is_45_calendar_days_later() -> None:
    discovered = datetime(2026, 1, 30, 16, 0, tzinfo=NEW_YORK)

    assert deadline_for(rule("US-OH"), discovered) == datetime(2026, 3, 16, 16, 0, tzinfo=NEW_YORK)


def test_brazils_three_business_days_skip_the_weekend() -> None:
    friday = datetime(2026, 11, 20, 15, 0, tzinfo=SAO_PAULO)

    assert deadline_for(rule("BR"), friday) == datetime(2026, 11, 25, 15, 0, tzinfo=SAO_PAULO)  # Wednesday


def test_business_days_started_on_a_weekend_count_from_monday() -> None:
    saturday = datetime(2026, 11, 21, 11, 0, tzinfo=SAO_PAULO)

    assert deadline_for(rule("BR"), saturday) == datetime(2026, 11, 25, 11, 0, tzinfo=SAO_PAULO)


def test_secs_four_business_days_from_a_thursday_end_on_wednesday() -> None:
    thursday = datetime(2026, 12, 3, 17, 0, tzinfo=NEW_YORK)

    assert deadline_for(rule("US-SEC"), thursday) == datetime(2026, 12, 9, 17, 0, tzinfo=NEW_YORK)


def test_a_rule_without_a_fixed_time_has_no_deadline() -> None:
    assert deadline_for(rule("US-MA"), datetime(2026, 5, 1, tzinfo=UTC)) is None


def test_a_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        deadline_for(rule("EU-GDPR"), datetime(2026, 5, 1))  # noqa: DTZ001 - the point of the test
