"""From one raw import row to the values a customer is made of, with every problem named.

``RowNormalizer`` is built once per import (from the incident's settings) and then applied to
each row; it is picklable so worker processes can run it. It remembers what it decided about
values that repeat across rows (the combination of country, locale, time zone and subdivision
columns; exposure lists), in bounded caches: a million rows name a few hundred distinct ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from breachcomms.core.zones import ALL_TIME_ZONES
from breachcomms.incidents.categories import category_for
from breachcomms.recipients.contacts import (
    InvalidValue,
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
    "name": ("name", "fullname", "customername", "namn", "nama", "namalengkap", "imya", "fio", "фио", "displayname"),
    "first_name": ("firstname", "givenname", "fornamn", "förnamn", "имя", "namadepan"),
    "last_name": ("lastname", "surname", "familyname", "efternamn", "фамилия", "namabelakang"),
    "email": (
        "email",
        "mail",
        "emailaddress",
        "epost",
        "epostadress",
        "courriel",
        "surel",
        "почта",
        "электроннаяпочта",
        "эпочта",
        "емейл",
    ),
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
        "telepon",
        "nomortelepon",
        "телефон",
        "мобильный",
        "мобильныйтелефон",
        "номертелефона",
    ),
    "country": ("country", "countrycode", "land", "negara", "strana", "страна", "region"),
    "subdivision": ("subdivision", "state", "province", "county", "provinsi", "lan", "län"),
    "locale": ("locale", "lang", "language", "sprak", "språk", "bahasa", "yazyk", "язык"),
    "time_zone": ("timezone", "tz", "zone", "tidszon", "zonawaktu", "часовойпояс"),
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
        "nomorpelanggan",
        "номерклиента",
        "id",
    ),
    "accounts": ("account", "accounts", "accountid", "accountids", "konto", "akun", "счет", "счёт", "аккаунт"),
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
            return (
                "the row has bytes that are not UTF-8; save the file as UTF-8 (Excel: “CSV UTF-8”) and import "
                "it again, or import it again naming its encoding (a plain Excel CSV: Windows-1252, or "
                "Windows-1251 for Cyrillic)"
            )
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


@dataclass(frozen=True)
class _Place:
    """What a row's country, locale, time zone and subdivision columns decide.

    Rows repeat a few hundred combinations of these four columns, so each combination is
    decided once (``RowNormalizer._place``) and the warnings it gives are kept without a line.
    """

    country: str
    locale: str
    language: str
    zone: str  # the file's own time zone if valid, else ""
    default_zone: str  # when neither the file nor the phone says: the country's main zone, else UTC
    subdivision: str
    country_warning: tuple[str, str, str] | None  # (field, message, value)
    warnings: tuple[tuple[str, str, str], ...]  # locale, time zone, subdivision, in that order


class RowNormalizer:
    """Validates and normalizes rows of one import."""

    def __init__(self, default_locale: str) -> None:
        self.default_locale = default_locale
        self._places: dict[tuple[Any, ...], _Place] = {}
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

    def _place(self, key: tuple[Any, ...]) -> _Place:
        """The _Place of (country, locale, time zone, subdivision, the phone's region) as read."""
        try:
            return self._places[key]
        except KeyError:
            place = _bounded(self._places)[key] = self._decide_place(*key)
            return place
        except TypeError:  # a JSON list or object as a value: not a key, and rare
            return self._decide_place(*key)

    def _decide_place(self, raw_country: Any, raw_locale: Any, raw_zone: Any, raw_sub: Any, region: str) -> _Place:
        country, country_warning = "", None
        raw_country = _text(raw_country)
        if raw_country:
            country, problem = _country(raw_country)
            if problem:
                country_warning = ("country", problem, _excerpt(raw_country))
        country = country or region
        warnings: list[tuple[str, str, str]] = []
        locale, raw_locale = "", _text(raw_locale)
        if raw_locale:
            locale, problem = _locale(raw_locale)
            if problem:
                warnings.append(("locale", problem, _excerpt(raw_locale)))
        locale = locale or self._country_defaults(country)[0]
        zone, raw_zone = "", _text(raw_zone)
        if raw_zone in ALL_TIME_ZONES:
            zone = raw_zone
        elif raw_zone:
            message = "time zone dropped: not an IANA time zone such as Europe/Stockholm"
            warnings.append(("time_zone", message, _excerpt(raw_zone)))
        default_zone = self._country_defaults(country)[1] if country else "UTC"
        subdivision = _text(raw_sub).upper()
        if subdivision and country and not subdivision.startswith(f"{country}-"):
            subdivision = f"{country}-{subdivision}"
        if len(subdivision) > 6:
            message = "subdivision dropped: not an ISO 3166-2 code such as US-CA"
            warnings.append(("subdivision", message, _excerpt(subdivision)))
            subdivision = ""
        language = locale.split("-", 1)[0]
        return _Place(country, locale, language, zone, default_zone, subdivision, country_warning, tuple(warnings))

    def normalize(self, line: int, raw: tuple[Any, ...], attributes: Any) -> tuple[Staged | None, list[Issue]]:
        """The staged values of one row (None if rejected) and its issues; ``raw`` in RAW_FIELDS order."""
        (
            name,
            first_name,
            last_name,
            raw_email,
            raw_phone,
            raw_country,
            raw_sub,
            raw_locale,
            raw_zone,
            refs,
            accounts,
            exposures,
        ) = raw
        issues: list[Issue] = []
        place = self._place((raw_country, raw_locale, raw_zone, raw_sub, ""))
        if place.country_warning is not None:
            issues.append(Issue(line, "warning", *place.country_warning))

        email, email_error = "", ""
        # _text, inline for the common case: this runs for every row.
        raw_email = " ".join(raw_email.split()) if raw_email.__class__ is str else _text(raw_email)
        if raw_email:
            try:
                email = normalize_email(raw_email)
            except InvalidValue as exc:
                email_error = f"email {raw_email!r} is invalid: {exc}"

        phone, parsed, phone_error = "", None, ""
        raw_phone = " ".join(raw_phone.split()) if raw_phone.__class__ is str else _text(raw_phone)
        if raw_phone:
            try:
                parsed = normalize_phone(raw_phone, place.country)
            except InvalidValue as exc:
                phone_error = f"phone {raw_phone!r} is invalid: {exc}"
            else:
                phone = parsed.e164
                if not place.country and parsed.region:
                    place = self._place((raw_country, raw_locale, raw_zone, raw_sub, parsed.region))

        if not email and not phone:
            return None, [_no_contact(line, raw_email, email_error, raw_phone, phone_error)]
        if email_error:
            message = email_error + "; the row is kept with its phone"
            issues.append(Issue(line, "warning", "email", message, _excerpt(raw_email)))
        if phone_error:
            message = phone_error + "; the row is kept with its email"
            issues.append(Issue(line, "warning", "phone", message, _excerpt(raw_phone)))
        for warning in place.warnings:
            issues.append(Issue(line, "warning", *warning))
        time_zone = place.zone
        if not time_zone:
            time_zone = (parsed.time_zone if parsed is not None else None) or place.default_zone

        if exposures.__class__ is str:
            hit_flags = self._exposures.get(exposures)
            if hit_flags is None:
                hit_flags = _bounded(self._exposures)[exposures] = _exposures(exposures)
        else:
            hit_flags = _exposures(exposures)
        flags, unknown = hit_flags
        for value in unknown:
            issues.append(Issue(line, "warning", "exposures", "unknown data category ignored", _excerpt(value)))

        name = " ".join(name.split()) if name.__class__ is str else _text(name)
        if not name:
            name = " ".join(p for p in (_text(first_name), _text(last_name)) if p)
        kept = {k: t for k, v in attributes.items() if (t := _text(v))} if attributes else {}
        staged = (
            line,
            name[:200],
            email,
            phone,
            place.country,
            place.subdivision,
            place.locale,
            place.language,
            time_zone,
            _as_list(refs),
            _as_list(accounts),
            flags,
            kept,
        )
        return staged, issues


def _no_contact(line: int, raw_email: str, email_error: str, raw_phone: str, phone_error: str) -> Issue:
    reasons = [r for r in (email_error, phone_error) if r]
    if not raw_email:
        reasons.append("no email")
    if not raw_phone:
        reasons.append("no phone")
    return Issue(line, "error", "", "no valid contact: " + "; ".join(reasons))
