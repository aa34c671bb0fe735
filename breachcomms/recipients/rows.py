"""From one raw import row to the values a customer is made of, with every problem named.

``RowNormalizer`` is built once per import (from the incident's settings) and then applied to
each row; it is picklable so worker processes can run it. It remembers what it decided about
values that repeat across rows (countries, locales, exposure lists), in bounded caches: a million
rows name a few hundred distinct ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from breachcomms.incidents.categories import category_for
from breachcomms.recipients.contacts import (
    ALL_TIME_ZONES,
    InvalidValue,
    Phone,
    locale_for_country,
    normalize_country,
    normalize_email,
    normalize_locale,
    normalize_phone,
    time_zone_for_country,
)

# Canonical field → the header spellings that mean it (compared lower-case, without spaces,
# dashes, dots and underscores).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "fullname", "customername", "namn", "nama", "imya", "fio", "displayname"),
    "first_name": ("firstname", "givenname", "fornamn", "förnamn"),
    "last_name": ("lastname", "surname", "familyname", "efternamn"),
    "email": ("email", "mail", "emailaddress", "epost", "epostadress", "courriel"),
    "phone": (
        "phone",
        "mobile",
        "mobilephone",
        "cell",
        "cellphone",
        "msisdn",
        "telephone",
        "tel",
        "phonenumber",
        "telefon",
        "mobil",
        "telefonnummer",
        "nohp",
        "hp",
    ),
    "country": ("country", "countrycode", "land", "negara", "strana", "region"),
    "subdivision": ("subdivision", "state", "province", "county", "provinsi", "lan", "län"),
    "locale": ("locale", "lang", "language", "sprak", "språk", "bahasa", "yazyk"),
    "time_zone": ("timezone", "tz", "zone", "tidszon"),
    "external_ref": (
        "ref",
        "reference",
        "customerref",
        "customerreference",
        "customerid",
        "externalid",
        "externalref",
        "clientid",
        "kundnummer",
        "id",
    ),
    "accounts": ("account", "accounts", "accountid", "accountids", "konto", "akun"),
    "exposures": ("exposures", "exposed", "exposeddata", "datacategories", "categories", "breacheddata", "exposure"),
}
_HEADER_KEY = re.compile(r"[\s\-._]+")
_ALIAS_TO_FIELD = {alias: name for name, aliases in HEADER_ALIASES.items() for alias in aliases}
_LIST_SPLIT = re.compile(r"\s*[|;,]\s*")
# The raw fields a row is normalized from, in this order (``RowNormalizer.normalize``'s ``raw``).
RAW_FIELDS = (
    "name",
    "first_name",
    "last_name",
    "email",
    "phone",
    "country",
    "subdivision",
    "locale",
    "time_zone",
    "external_ref",
    "accounts",
    "exposures",
)
CACHE_LIMIT = 20_000  # entries per cache; cleared when full, so memory stays bounded


def canonical_field(header: str) -> str | None:
    """The field a column header names, or None for a custom attribute."""
    key = _HEADER_KEY.sub("", header.strip().lower())
    return _ALIAS_TO_FIELD.get(key)


@dataclass
class Issue:
    line: int
    severity: str  # "error" or "warning"
    field: str
    message: str
    value: str = ""


@dataclass
class StagedValues:
    """A valid row, ready for the staging table (fields in the staging table's column order)."""

    line: int
    name: str
    email: str
    phone: str
    country: str
    subdivision: str
    locale: str
    language: str
    time_zone: str
    external_refs: list[str]
    accounts: list[str]
    exposure_flags: int
    attributes: dict[str, str]


@dataclass
class RowResult:
    staged: StagedValues | None
    issues: list[Issue] = field(default_factory=list)


Staged = tuple[int, str, str, str, str, str, str, str, str, list[str], list[str], int, dict[str, str]]


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value).strip()
    if not text:
        return []
    if "|" not in text and ";" not in text and "," not in text:
        return [text]
    return [v for v in _LIST_SPLIT.split(text) if v]


def _text(value: Any) -> str:
    """The value as one line of text: whitespace runs become one space, ends trimmed."""
    if value.__class__ is str:
        # str.split() and the regex \s agree on what whitespace is (both use str.isspace).
        return " ".join(value.split()) if value else ""
    if value is None or isinstance(value, (list, dict)):
        return ""
    return " ".join(str(value).split())


def unusable_text(values: Any) -> str:
    """Why a row's text cannot be stored (bytes that were not UTF-8, NUL characters), or ""."""
    for value in values:
        if isinstance(value, dict):
            problem = unusable_text([*value.keys(), *value.values()])
        elif isinstance(value, list):
            problem = unusable_text(value)
        elif isinstance(value, str):
            problem = _unusable_string(value)
        else:
            continue
        if problem:
            return problem
    return ""


def _unusable_string(value: str) -> str:
    if "\x00" in value:
        return "the row contains a NUL character, which cannot be stored; remove it and import the row again"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "the row has bytes that are not UTF-8; save the file as UTF-8 and import it again"
    return ""


def _excerpt(value: str) -> str:
    return value if len(value) <= 120 else value[:117] + "..."


def _bounded(cache: dict[Any, Any]) -> dict[Any, Any]:
    if len(cache) >= CACHE_LIMIT:
        cache.clear()
    return cache


def _country(raw: str) -> tuple[str, str]:
    try:
        return normalize_country(raw), ""
    except InvalidValue as exc:
        return "", f"country dropped: {exc}"


def _locale(raw: str) -> tuple[str, str]:
    try:
        return normalize_locale(raw), ""
    except InvalidValue as exc:
        return "", f"locale dropped: {exc}"


def _exposures(value: Any) -> tuple[int, tuple[str, ...]]:
    flags = 0
    unknown: list[str] = []
    for item in _as_list(value):
        category = category_for(item)
        if category is None:
            unknown.append(item)
        else:
            flags |= category.flag
    return flags, tuple(unknown)


class RowNormalizer:
    """Validates and normalizes rows of one import."""

    def __init__(self, default_locale: str) -> None:
        self.default_locale = default_locale
        self._countries: dict[str, tuple[str, str]] = {}
        self._locales: dict[str, tuple[str, str]] = {}
        self._defaults: dict[str, tuple[str, str]] = {}  # country → (locale, time zone)
        self._exposures: dict[str, tuple[int, tuple[str, ...]]] = {}

    def __call__(self, line: int, row: dict[str, Any]) -> RowResult:
        """Normalize a row given as {field: value, "attributes": {header: value}}."""
        problem = unusable_text([*row.values(), *row.get("attributes", {}).values()])
        if problem:
            return RowResult(None, [Issue(line, "error", "", problem)])
        staged, issues = self.normalize(line, tuple(row.get(name) for name in RAW_FIELDS), row.get("attributes"))
        return RowResult(StagedValues(*staged) if staged is not None else None, issues)

    def _country_defaults(self, country: str) -> tuple[str, str]:
        hit = self._defaults.get(country)
        if hit is None:
            locale = locale_for_country(country) or self.default_locale
            hit = _bounded(self._defaults)[country] = (locale, time_zone_for_country(country) or "UTC")
        return hit

    def normalize(self, line: int, raw: tuple[Any, ...], attributes: Any) -> tuple[Staged | None, list[Issue]]:
        """The staged values of one row (None if rejected) and its issues; ``raw`` in RAW_FIELDS order."""
        (name, first_name, last_name, raw_email, raw_phone, raw_country) = raw[:6]
        (raw_sub, raw_locale, raw_zone, refs, accounts, exposures) = raw[6:]
        issues: list[Issue] = []
        country, problem = "", ""
        raw_country = _text(raw_country)
        if raw_country:
            hit = self._countries.get(raw_country)
            if hit is None:
                hit = _bounded(self._countries)[raw_country] = _country(raw_country)
            country, problem = hit
            if problem:
                issues.append(Issue(line, "warning", "country", problem, _excerpt(raw_country)))

        email, email_error = "", ""
        raw_email = _text(raw_email)
        if raw_email:
            try:
                email = normalize_email(raw_email)
            except InvalidValue as exc:
                email_error = f"email {raw_email!r} is invalid: {exc}"

        phone, parsed, phone_error = "", None, ""
        raw_phone = _text(raw_phone)
        if raw_phone:
            try:
                parsed = normalize_phone(raw_phone, country)
            except InvalidValue as exc:
                phone_error = f"phone {raw_phone!r} is invalid: {exc}"
            else:
                phone = parsed.e164
                if not country:
                    country = parsed.region

        if not email and not phone:
            return None, [_no_contact(line, raw_email, email_error, raw_phone, phone_error)]
        if email_error:
            message = email_error + "; the row is kept with its phone"
            issues.append(Issue(line, "warning", "email", message, _excerpt(raw_email)))
        if phone_error:
            message = phone_error + "; the row is kept with its email"
            issues.append(Issue(line, "warning", "phone", message, _excerpt(raw_phone)))

        locale = self._locale(line, _text(raw_locale), issues) or self._country_defaults(country)[0]
        time_zone = self._time_zone(line, _text(raw_zone), issues, parsed, country)
        subdivision = self._subdivision(line, _text(raw_sub).upper(), country, issues)

        if exposures.__class__ is str:
            hit_flags = self._exposures.get(exposures)
            if hit_flags is None:
                hit_flags = _bounded(self._exposures)[exposures] = _exposures(exposures)
        else:
            hit_flags = _exposures(exposures)
        flags, unknown = hit_flags
        for value in unknown:
            issues.append(Issue(line, "warning", "exposures", "unknown data category ignored", _excerpt(value)))

        name = _text(name) or " ".join(p for p in (_text(first_name), _text(last_name)) if p)
        kept = {k: t for k, v in attributes.items() if (t := _text(v))} if attributes else {}
        language = locale.split("-", 1)[0]
        staged = (
            line,
            name[:200],
            email,
            phone,
            country,
            subdivision,
            locale,
            language,
            time_zone,
            _as_list(refs),
            _as_list(accounts),
            flags,
            kept,
        )
        return staged, issues

    def _locale(self, line: int, raw: str, issues: list[Issue]) -> str:
        if not raw:
            return ""
        hit = self._locales.get(raw)
        if hit is None:
            hit = _bounded(self._locales)[raw] = _locale(raw)
        if hit[1]:
            issues.append(Issue(line, "warning", "locale", hit[1], _excerpt(raw)))
        return hit[0]

    def _time_zone(self, line: int, raw: str, issues: list[Issue], phone: Phone | None, country: str) -> str:
        if raw:
            if raw in ALL_TIME_ZONES:
                return raw
            message = "time zone dropped: not an IANA time zone such as Europe/Stockholm"
            issues.append(Issue(line, "warning", "time_zone", message, _excerpt(raw)))
        zone = phone.time_zone if phone is not None else None
        if zone:
            return zone
        return self._country_defaults(country)[1] if country else "UTC"

    @staticmethod
    def _subdivision(line: int, subdivision: str, country: str, issues: list[Issue]) -> str:
        if subdivision and country and not subdivision.startswith(f"{country}-"):
            subdivision = f"{country}-{subdivision}"
        if len(subdivision) > 6:
            message = "subdivision dropped: not an ISO 3166-2 code such as US-CA"
            issues.append(Issue(line, "warning", "subdivision", message, _excerpt(subdivision)))
            return ""
        return subdivision


def _no_contact(line: int, raw_email: str, email_error: str, raw_phone: str, phone_error: str) -> Issue:
    reasons = [r for r in (email_error, phone_error) if r]
    if not raw_email:
        reasons.append("no email")
    if not raw_phone:
        reasons.append("no phone")
    return Issue(line, "error", "", "no valid contact: " + "; ".join(reasons))
