"""The locale fallback chain, and that every fallback says so."""

from __future__ import annotations

from breachcomms.notices.locales import fallback_chain, formatting_locale, resolve_locale


def test_the_chain_goes_from_region_to_language_to_the_incident_default() -> None:
    assert fallback_chain("sv-FI", "en") == ("sv-FI", "sv", "en")
    assert fallback_chain("zh-Hant-TW", "en-GB") == ("zh-Hant-TW", "zh-Hant", "zh", "en-GB", "en")
    assert fallback_chain("en-US", "en") == ("en-US", "en")


def test_an_exact_match_is_not_a_fallback() -> None:
    resolution = resolve_locale("sv", ["en", "sv"], "en")
    assert resolution.resolved == "sv"
    assert not resolution.is_fallback
    assert resolution.describe() == "sv"


def test_a_regional_locale_falls_back_to_its_language_and_says_so() -> None:
    resolution = resolve_locale("sv-FI", ["en", "sv", "ru"], "en")
    assert resolution.resolved == "sv"
    assert resolution.is_fallback
    assert not resolution.is_other_language
    assert resolution.describe() == "sv-FI → sv"


def test_a_language_without_a_notice_falls_back_to_the_incident_default() -> None:
    resolution = resolve_locale("id-ID", ["en", "sv"], "en")
    assert resolution.resolved == "en"
    assert resolution.is_other_language
    assert resolution.steps == ("id-ID", "id", "en")
    assert resolution.describe() == "id-ID → en"


def test_matching_ignores_case_and_underscores() -> None:
    assert resolve_locale("SV_fi", ["sv-FI"], "en").resolved == "sv-FI"


def test_nothing_fits_when_even_the_default_has_no_notice() -> None:
    resolution = resolve_locale("ru-RU", ["sv"], "en")
    assert resolution.resolved is None
    assert resolution.describe() == "ru-RU → no notice"


def test_dates_use_the_customers_region_when_the_notice_is_in_their_language() -> None:
    assert formatting_locale("sv-FI", "sv") == "sv-FI"
    assert formatting_locale("ru-RU", "en") == "en"
    assert formatting_locale("", "sv") == "sv"
