"""Normalizing contacts: the fast paths must agree with the full validators."""

from __future__ import annotations

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import timezone as phone_timezone

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


def _reference_phone(value: str, region: str | None) -> tuple[str, str, str | None] | None:
    """phonenumbers' own answer: E.164, region and the single time zone, or None if invalid."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    number_region = phonenumbers.region_code_for_number(number) or ""
    zones = phone_timezone.time_zones_for_number(number)
    zone = zones[0] if len(zones) == 1 and zones[0] != phone_timezone.UNKNOWN_TIMEZONE else None
    return (
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        "" if number_region == "001" else number_region,
        zone,
    )


def _ours_phone(value: str, region: str | None) -> tuple[str, str, str | None] | None:
    try:
        phone = normalize_phone(value, region)
    except InvalidValue:
        return None
    return phone.e164, phone.region, phone.time_zone


REGIONS = ["SE", "GB", "US", "RU", "ID", "IT", "AR", "MX", "BR", "CA", "KZ", "DE", "FI", "AU", "IN", "CN", "JP"]


@settings(max_examples=4000, deadline=None)
@given(
    prefix=st.sampled_from(["+", "+ ", "00", "", "(", "0", "8", "1"]),
    digits=st.text(alphabet="0123456789", min_size=2, max_size=16),
    punctuation=st.sampled_from(["", " ", "-", "(0)", ".", ") ", "/"]),
    region=st.sampled_from([*REGIONS, None]),
)
def test_phone_fast_path_agrees_with_phonenumbers(
    prefix: str, digits: str, punctuation: str, region: str | None
) -> None:
    value = prefix + digits[:3] + punctuation + digits[3:]
    assert _ours_phone(value, region) == _reference_phone(value, region)


def _valid_numbers() -> list[phonenumbers.PhoneNumber]:
    numbers = []
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                numbers.append(example)
    return numbers


VALID_NUMBERS = _valid_numbers()
FORMATS = [
    phonenumbers.PhoneNumberFormat.NATIONAL,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.E164,
]


@settings(max_examples=6000, deadline=None)
@given(
    example=st.sampled_from(VALID_NUMBERS),
    tail=st.text(alphabet="0123456789", min_size=0, max_size=4),
    written=st.sampled_from(FORMATS),
    separator=st.sampled_from([None, "", " ", "-", "."]),
    plus=st.sampled_from(["keep", "drop", "trunk zero"]),
    region=st.sampled_from([*REGIONS, "same", None]),
)
def test_valid_numbers_in_every_format_agree_with_phonenumbers(
    example: phonenumbers.PhoneNumber,
    tail: str,
    written: int,
    separator: str | None,
    plus: str,
    region: str | None,
) -> None:
    # Real numbering plans: the region's example numbers with their last digits changed.
    national = phonenumbers.national_significant_number(example)
    digits = national[: max(len(national) - len(tail), 1)] + tail
    number = phonenumbers.parse(f"+{example.country_code}{digits}", None)
    value = phonenumbers.format_number(number, written)
    if value.startswith("+") and plus == "drop":
        value = value[1:]  # the country code typed without "+", as in 1-646-950-4502 or 6281…
    elif value.startswith("+") and plus == "trunk zero":
        code = str(number.country_code)
        value = f"+{code} (0){value[1 + len(code) :]}"  # +44 (0)20 …
    if separator is not None:
        value = value.replace(" ", separator)
    hint = phonenumbers.region_code_for_number(number) if region == "same" else region
    assert _ours_phone(value, hint) == _reference_phone(value, hint)


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
