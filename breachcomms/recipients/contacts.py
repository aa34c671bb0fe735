"""Normalizing and validating emails, phones, countries, locales and time zones.

Pure functions with small caches, safe to run in worker processes. The fast paths give exactly
the answer of the full validator (tests check that against email-validator and phonenumbers);
they exist because a million-row import spends most of its time here.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.languages import get_official_languages
from email_validator import EmailNotValidError, validate_email
from phonenumbers import PhoneMetadata
from phonenumbers import timezone as phone_timezone
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX


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

_PHONE_PUNCTUATION = re.compile(r"[\s\-.()/]+")
_E164_DIGITS = re.compile(r"\+[1-9][0-9]{6,14}")


def _parse_phone(raw: str, region: str | None) -> phonenumbers.PhoneNumber:
    try:
        return phonenumbers.parse(raw, region or None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidValue(f"not a phone number ({exc._msg})") from None


@dataclass(frozen=True)
class Phone:
    e164: str
    number: phonenumbers.PhoneNumber
    number_type: int

    @property
    def region(self) -> str:
        return phonenumbers.region_code_for_number(self.number) or ""

    @property
    def time_zone(self) -> str | None:
        """The phone's time zone when its number pins down exactly one (a US area code does).

        The same answer as phonenumbers.timezone.time_zones_for_number, without computing the
        number type a second time: geographical numbers are looked up by their longest known
        prefix, the others (mobiles in most countries) by their country calling code.
        """
        geographical = phonenumbers.is_number_type_geographical(self.number_type, self.number.country_code or 0)
        digits = self.e164[1:] if geographical else str(self.number.country_code)
        for size in range(min(TIMEZONE_LONGEST_PREFIX, len(digits)), 0, -1):
            zones = TIMEZONE_DATA.get(digits[:size])
            if zones is not None:
                return zones[0] if len(zones) == 1 and zones[0] != phone_timezone.UNKNOWN_TIMEZONE else None
        return None


def normalize_phone(raw: str, region: str | None) -> Phone:
    """The valid phone number ``raw`` writes, or InvalidValue.

    ``region`` (the customer's country) reads national formats such as ``070-123 45 67``.
    """
    value = raw.strip()
    compact = _PHONE_PUNCTUATION.sub("", value)
    number = _from_e164_digits(compact) if _E164_DIGITS.fullmatch(compact) and "(0)" not in value else None
    if number is None:
        number = _parse_phone(value, region)
    # number_type() is what is_valid_number() computes; calling it once serves both needs.
    kind = phonenumbers.number_type(number)
    if kind == phonenumbers.PhoneNumberType.UNKNOWN:
        where = f" for {region}" if region and not value.startswith("+") else ""
        raise InvalidValue(f"not a valid phone number{where}")
    return Phone(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), number, kind)


def _from_e164_digits(compact: str) -> phonenumbers.PhoneNumber | None:
    """Build the number for ``+<country code><national number>`` without the general parser.

    Returns None (use the parser) where the parser does more than split digits: national numbers
    with a leading zero (Italian style), numbers that may start with the country's national prefix
    (the parser strips it: ``+1 1 201…``) and unknown country codes.
    """
    digits = compact[1:]
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            national = digits[size:]
            if not national or national[0] == "0":
                return None
            prefix = _national_prefix_for_parsing(code)
            if prefix is not None and prefix.match(national):
                return None
            return phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
    return None


@lru_cache(maxsize=512)
def _national_prefix_for_parsing(country_code: int) -> re.Pattern[str] | None:
    region = phonenumbers.region_code_for_country_code(country_code)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    pattern = metadata.national_prefix_for_parsing if metadata is not None else None
    return re.compile(pattern) if pattern else None


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


_ALL_ZONES = frozenset(zoneinfo.available_timezones())
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
    if value in _ALL_ZONES:
        return value
    raise InvalidValue("not an IANA time zone such as Europe/Stockholm")


@lru_cache(maxsize=512)
def time_zone_for_country(country: str) -> str | None:
    """The country's main IANA time zone."""
    if country in _MAIN_ZONES:
        return _MAIN_ZONES[country]
    zones = [z for z in get_global("territory_zones").get(country, ()) if z in _ALL_ZONES]
    return zones[0] if len(zones) == 1 else (sorted(zones)[0] if zones else None)
