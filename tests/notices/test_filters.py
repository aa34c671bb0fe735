"""Babel formatting in notices: dates in the customer's zone, numbers, lists and CLDR plurals in sv, ru, id, en."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from breachcomms.notices.filters import formatting
from breachcomms.notices.rendering import RenderError, compile_part, render_part

# 22:30 UTC on 1 March is still 1 March in Stockholm and Los Angeles, already 2 March in Jakarta and Vladivostok.
MOMENT = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)


def render(source: str, locale: str, time_zone: str = "UTC", **context: Any) -> str:
    with formatting(locale, time_zone):
        return render_part(compile_part("text", source), "text", context)


@pytest.mark.parametrize(
    ("locale", "zone", "day", "time", "short"),
    [
        ("en", "America/Los_Angeles", "March 1, 2026", "2:30\u202fPM", "3/1/26, 2:30\u202fPM"),
        ("sv", "Europe/Stockholm", "1 mars 2026", "23:30", "2026-03-01 23:30"),
        ("ru", "Asia/Vladivostok", "2 марта 2026\u202fг.", "08:30", "02.03.2026, 08:30"),
        ("id", "Asia/Jakarta", "2 Maret 2026", "05.30", "02/03/26 05.30"),
    ],
)
def test_dates_and_times_are_in_the_customers_zone_and_language(
    locale: str, zone: str, day: str, time: str, short: str
) -> None:
    assert render("{{ d|format_date }}", locale, zone, d=MOMENT) == day
    assert render("{{ d|format_time }}", locale, zone, d=MOMENT) == time
    assert render("{{ d|format_datetime('short') }}", locale, zone, d=MOMENT) == short


def test_a_plain_date_is_not_shifted_and_a_missing_one_is_empty() -> None:
    assert render("{{ d|format_date('long') }}", "sv", "Pacific/Kiritimati", d=date(2026, 3, 1)) == "1 mars 2026"
    assert render("[{{ d|format_date }}]", "sv", d=None) == "[]"


@pytest.mark.parametrize(
    ("locale", "number", "items", "listed"),
    [
        ("en", "1,234,567.5", ["name", "email address", "password"], "name, email address, and password"),
        ("sv", "1\xa0234\xa0567,5", ["namn", "e-postadress", "lösenord"], "namn, e-postadress och lösenord"),
        ("ru", "1\xa0234\xa0567,5", ["имя", "адрес", "пароль"], "имя, адрес и пароль"),
        ("id", "1.234.567,5", ["nama", "alamat email", "kata sandi"], "nama, alamat email, dan kata sandi"),
    ],
)
def test_numbers_and_lists_follow_the_locale(locale: str, number: str, items: list[str], listed: str) -> None:
    assert render("{{ n|format_number }}", locale, n=1234567.5) == number
    assert render("{{ items|format_list }}", locale, items=items) == listed


def test_a_list_style_the_locale_lacks_falls_back_to_its_standard_list() -> None:
    # CLDR has no "unit" list patterns for Swedish; Babel alone fails with a bare KeyError.
    assert render("{{ items|format_list('unit') }}", "sv", items=["namn", "e-post", "lösenord"]) == (
        "namn, e-post och lösenord"
    )
    assert render("{{ items|format_list('unit') }}", "en", items=["3 feet", "7 inches"]) == "3 feet, 7 inches"


RUSSIAN = "{{ n|plural(one='{n} аккаунт', few='{n} аккаунта', many='{n} аккаунтов', other='{n} аккаунта') }}"


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, "1 аккаунт"),
        (21, "21 аккаунт"),
        (2, "2 аккаунта"),
        (24, "24 аккаунта"),
        (5, "5 аккаунтов"),
        (11, "11 аккаунтов"),
        (1.5, "1,5 аккаунта"),  # other
        (1001, "1\xa0001 аккаунт"),
    ],
)
def test_russian_uses_all_four_plural_forms(n: float, expected: str) -> None:
    assert render(RUSSIAN, "ru", n=n) == expected


@pytest.mark.parametrize(
    ("locale", "counts"),
    [("en", {1: "one", 0: "other", 2: "other"}), ("sv", {1: "one", 2: "other"}), ("id", {1: "other", 5: "other"})],
)
def test_english_swedish_and_indonesian_plurals(locale: str, counts: dict[int, str]) -> None:
    for n, form in counts.items():
        assert render("{{ n|plural(one='one', other='other') }}", locale, n=n) == form


def test_plural_without_other_or_with_an_unknown_form_is_a_render_error() -> None:
    with pytest.raises(RenderError, match="other"):
        render("{{ 2|plural(one='x') }}", "en")
    with pytest.raises(RenderError, match="unknown: several"):
        render("{{ 2|plural(other='x', several='y') }}", "en")


def test_wrong_values_give_render_errors_not_crashes() -> None:
    with pytest.raises(RenderError, match="expected a number"):
        render("{{ 'ten'|format_number }}", "en")
    with pytest.raises(RenderError, match="expects a list"):
        render("{{ 'abc'|format_list }}", "en")
    with pytest.raises(RenderError, match="style"):
        render("{{ ['a']|format_list('fancy') }}", "en")
    with pytest.raises(RenderError, match="expected a date"):
        render("{{ 'yesterday'|format_datetime }}", "en")


def test_an_unknown_region_formats_in_its_language_and_a_bad_zone_in_utc() -> None:
    assert render("{{ d|format_date }}", "sv-XX", "Not/AZone", d=MOMENT) == "1 mars 2026"
