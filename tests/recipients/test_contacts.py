"""Normalizing contacts: the fast paths must agree with the full validators."""

from __future__ import annotations

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from breachcomms.recipients.contacts import (
    InvalidValue,
    normalize_country,
    normalize_email,
    normalize_locale,
    normalize_phone,
    time_zone_for_country,
)

LOCAL_CHARS = "abcXYZ019.+-_!#$%&'*/=?^`{|}~\"@ é"
DOMAINS = [
    "example.com",
    "EXAMPLE.se",
    "mail.ru",
    "xn--80ak6aa92e.com",
    "bad_domain.com",
    "a..b.com",
    "localhost",
    "пример.рф",
    "x.y",
    "-a.com",
    "gmail.com.",
]


def _reference_email(value: str) -> str | None:
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def _ours_email(value: str) -> str | None:
    try:
        return normalize_email(value)
    except InvalidValue:
        return None


@settings(max_examples=600, deadline=None)
@given(local=st.text(alphabet=LOCAL_CHARS, min_size=0, max_size=70), domain=st.sampled_from(DOMAINS))
def test_email_fast_path_agrees_with_email_validator(local: str, domain: str) -> None:
    address = f"{local}@{domain}"
    assert _ours_email(address) == _reference_email(address)


def test_email_domain_is_lower_cased_and_local_part_kept() -> None:
    assert normalize_email("  Anna.Svensson@Example.SE ") == "Anna.Svensson@example.se"


@pytest.mark.parametrize("bad", ["anna", "anna@", "@example.com", "an na@example.com", "a@b", "a@@b.com"])
def test_invalid_emails_are_refused_with_a_reason(bad: str) -> None:
    with pytest.raises(InvalidValue) as info:
        normalize_email(bad)
    assert str(info.value)


def _reference_phone(value: str, region: str | None) -> str | None:
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _ours_phone(value: str, region: str | None) -> str | None:
    try:
        return normalize_phone(value, region).e164
    except InvalidValue:
        return None


@settings(max_examples=4000, deadline=None)
@given(
    prefix=st.sampled_from(["+", "+ ", "00", ""]),
    digits=st.text(alphabet="0123456789", min_size=4, max_size=16),
    punctuation=st.sampled_from(["", " ", "-", "(0)", "."]),
    region=st.sampled_from(["SE", "GB", "US", "RU", "ID", "IT", "AR", "MX", "BR", None]),
)
def test_phone_fast_path_agrees_with_phonenumbers(
    prefix: str, digits: str, punctuation: str, region: str | None
) -> None:
    value = prefix + digits[:3] + punctuation + digits[3:]
    assert _ours_phone(value, region) == _reference_phone(value, region)


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("070-123 45 67", "SE", "+46701234567"),
        ("+46 70 123 45 67", None, "+46701234567"),
        ("(201) 555-0123", "US", "+12015550123"),
        ("8 (912) 345-67-89", "RU", "+79123456789"),
        ("0812-3456-7890", "ID", "+6281234567890"),
        ("+44 (0)20 7946 0018", "SE", "+442079460018"),
        ("+39 06 6982 1234", None, "+390669821234"),
    ],
)
def test_phones_in_national_and_international_formats_become_e164(raw: str, region: str | None, e164: str) -> None:
    assert normalize_phone(raw, region).e164 == e164


def test_a_us_area_code_pins_the_time_zone_but_a_swedish_mobile_uses_the_country() -> None:
    assert normalize_phone("+1 415 555 2671", None).time_zone == "America/Los_Angeles"
    assert normalize_phone("+46 70 123 45 67", None).time_zone == "Europe/Stockholm"


@pytest.mark.parametrize(
    ("raw", "tag"), [("sv_SE", "sv-SE"), ("SV-se", "sv-SE"), ("ru", "ru"), ("id_ID", "id-ID"), ("en-gb", "en-GB")]
)
def test_locales_are_normalized_to_bcp47(raw: str, tag: str) -> None:
    assert normalize_locale(raw) == tag


def test_an_unknown_locale_is_refused() -> None:
    with pytest.raises(InvalidValue):
        normalize_locale("xx-QQ")


@pytest.mark.parametrize(("raw", "code"), [("se", "SE"), ("Sweden", "SE"), ("UK", "GB"), ("USA", "US"), ("id", "ID")])
def test_countries_by_code_or_english_name(raw: str, code: str) -> None:
    assert normalize_country(raw) == code


def test_main_time_zone_of_a_country() -> None:
    assert time_zone_for_country("SE") == "Europe/Stockholm"
    assert time_zone_for_country("US") == "America/New_York"
    assert time_zone_for_country("ID") == "Asia/Jakarta"
