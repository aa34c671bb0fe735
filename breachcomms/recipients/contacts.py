"""Normalizing and validating emails, phones, countries, locales and time zones.

Pure functions with small caches, safe to run in worker processes. The fast paths give exactly
the answer of the full validator (tests check that against email-validator and phonenumbers);
they exist because a million-row import spends most of its time here.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

import phonenumbers
from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.languages import get_official_languages
from email_validator import EmailNotValidError, validate_email
from phonenumbers import REGION_CODE_FOR_NON_GEO_ENTITY
from phonenumbers import timezone as phone_timezone

from breachcomms.core.zones import ALL_TIME_ZONES
from breachcomms.recipients.phones import classify, parse_international, parse_national
from breachcomms.recipients.phones import time_zones as phone_time_zones


class InvalidValue(ValueError):
    """A value that cannot be used; the message says why, in words an importer understands."""


# --- email -------------------------------------------------------------------------------------

# A dot-atom local part of plain ASCII letters, digits and the common punctuation: for these,
# email-validator's verdict depends only on the domain and the lengths checked below.
_SIMPLE_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


@lru_cache(maxsize=65536)
def _domain(domain: str) -> str:
    """The normalized domain, or InvalidValue. Cached: a million customers share few domains."""
    try:
        return validate_email(f"a@{domain}", check_deliverability=False).domain
    except EmailNotValidError as exc:
        raise InvalidValue(str(exc)) from None


def normalize_email(raw: str) -> str:
    """Validate an email address (syntax only, no DNS) and return its normalized form."""
    value = raw.strip()
    local, at, domain = value.rpartition("@")
    if at and _SIMPLE_LOCAL.fullmatch(local) and len(local) <= 64:
        normalized = f"{local}@{_domain(domain)}"
        if len(normalized) <= 254:
            return normalized
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidValue(str(exc)) from None


def email_key(email: str) -> str:
    """The key two spellings of one address share (case-insensitive)."""
    return email.casefold()


# --- phone -------------------------------------------------------------------------------------


def _parse_phone(raw: str, region: str | None) -> phonenumbers.PhoneNumber:
    try:
        return phonenumbers.parse(raw, region or None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidValue(f"not a phone number ({exc._msg})") from None


class Phone(NamedTuple):
    """A valid phone number: +<country_code><nsn>, its type and the region it belongs to."""

    e164: str
    country_code: int
    nsn: str
    number_type: int
    region: str  # ISO 3166-1 code; "" for non-geographic numbers (+800 …)

    @property
    def number(self) -> phonenumbers.PhoneNumber:
        return phonenumbers.parse(self.e164, None)

    @property
    def time_zone(self) -> str | None:
        """The phone's time zone when its number pins down exactly one (a US area code does).

        phonenumbers.timezone.time_zones_for_number, without computing the number type again.
        """
        zones = phone_time_zones(self.e164, self.country_code, self.number_type)
        return zones[0] if len(zones) == 1 and zones[0] != phone_timezone.UNKNOWN_TIMEZONE else None


_UNKNOWN = phonenumbers.PhoneNumberType.UNKNOWN


def normalize_phone(raw: str, region: str | None) -> Phone:
    """The valid phone number ``raw`` writes, or InvalidValue.

    ``region`` (the customer's country) reads national formats such as ``070-123 45 67``.
    """
    value = raw.strip()
    international = value.startswith("+")
    parts = parse_international(value) if international else (parse_national(value, region) if region else None)
    if parts is None:
        number = _parse_phone(value, region)
        parts = (number.country_code or 0, phonenumbers.national_significant_number(number))
    country_code, nsn = parts
    kind, number_region = classify(country_code, nsn)
    if kind == _UNKNOWN:
        where = f" for {region}" if region and not international else ""
        raise InvalidValue(f"not a valid phone number{where}")
    region_code = number_region if number_region and number_region != REGION_CODE_FOR_NON_GEO_ENTITY else ""
    return Phone(f"+{country_code}{nsn}", country_code, nsn, kind, region_code)


# --- country, locale, time zone ------------------------------------------------------------------

_TERRITORIES = {str(code) for code in Locale("en").territories if len(str(code)) == 2 and str(code).isalpha()}
_TERRITORY_NAMES = {name.casefold(): code for code, name in Locale("en").territories.items() if code in _TERRITORIES}
_ALPHA3 = {
    "SWE": "SE",
    "GBR": "GB",
    "USA": "US",
    "RUS": "RU",
    "IDN": "ID",
    "FIN": "FI",
    "NOR": "NO",
    "DNK": "DK",
    "DEU": "DE",
    "FRA": "FR",
    "NLD": "NL",
    "ESP": "ES",
    "ITA": "IT",
    "POL": "PL",
    "CAN": "CA",
    "AUS": "AU",
    "BRA": "BR",
    "IND": "IN",
    "JPN": "JP",
    "KOR": "KR",
    "CHN": "CN",
    "SGP": "SG",
    "MYS": "MY",
    "UKR": "UA",
}
_COUNTRY_ALIASES = {"UK": "GB", "EL": "GR"}


def normalize_country(raw: str) -> str:
    """ISO 3166-1 alpha-2 code for a code or an English country name."""
    value = raw.strip()
    upper = value.upper()
    upper = _COUNTRY_ALIASES.get(upper, upper)
    if upper in _TERRITORIES:
        return upper
    if upper in _ALPHA3:
        return _ALPHA3[upper]
    code = _TERRITORY_NAMES.get(value.casefold())
    if code:
        return code
    raise InvalidValue("not an ISO 3166-1 country code or English country name")


@lru_cache(maxsize=4096)
def normalize_locale(raw: str) -> str:
    """BCP 47 tag for a locale written any common way (``sv_SE``, ``SV-se`` → ``sv-SE``)."""
    value = raw.strip().replace("_", "-")
    if not value:
        raise InvalidValue("empty locale")
    try:
        locale = Locale.parse(value, sep="-")
    except (UnknownLocaleError, ValueError):
        raise InvalidValue("unknown locale") from None
    parts = [locale.language]
    if locale.script:
        parts.append(locale.script)
    if locale.territory:
        parts.append(locale.territory)
    return "-".join(parts)


@lru_cache(maxsize=512)
def locale_for_country(country: str) -> str | None:
    """The country's main language (SE → sv, RU → ru, ID → id, GB/US → en), from CLDR."""
    languages = get_official_languages(country, de_facto=True) if country else ()
    return languages[0].replace("_", "-") if languages else None


# Countries with several zones: the one most of their people live in.
_MAIN_ZONES = {
    "US": "America/New_York",
    "RU": "Europe/Moscow",
    "ID": "Asia/Jakarta",
    "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
    "AU": "Australia/Sydney",
    "MX": "America/Mexico_City",
    "CN": "Asia/Shanghai",
    "KZ": "Asia/Almaty",
    "AR": "America/Argentina/Buenos_Aires",
    "CL": "America/Santiago",
    "ES": "Europe/Madrid",
    "PT": "Europe/Lisbon",
    "DE": "Europe/Berlin",
    "UA": "Europe/Kyiv",
    "MY": "Asia/Kuala_Lumpur",
    "NZ": "Pacific/Auckland",
    "FR": "Europe/Paris",
    "GB": "Europe/London",
}


def normalize_time_zone(raw: str) -> str:
    value = raw.strip()
    if value in ALL_TIME_ZONES:
        return value
    raise InvalidValue("not an IANA time zone such as Europe/Stockholm")


@lru_cache(maxsize=512)
def time_zone_for_country(country: str) -> str | None:
    """The country's main IANA time zone."""
    if country in _MAIN_ZONES:
        return _MAIN_ZONES[country]
    zones = [z for z in get_global("territory_zones").get(country, ()) if z in ALL_TIME_ZONES]
    return zones[0] if len(zones) == 1 else (sorted(zones)[0] if zones else None)
