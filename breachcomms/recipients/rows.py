"""From one raw import row to the values a customer is made of, with every problem named.

``RowNormalizer`` is built once per import (from the header and the incident's settings) and
then applied to each row; it is picklable so worker processes can run it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from breachcomms.incidents.categories import category_for
from breachcomms.recipients.contacts import (
    InvalidValue,
    email_key,
    locale_for_country,
    normalize_country,
    normalize_email,
    normalize_locale,
    normalize_phone,
    normalize_time_zone,
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
_SPACES = re.compile(r"\s+")


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
    """A valid row, ready for the staging table."""

    line: int
    name: str
    email: str
    email_key: str
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


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value).strip()
    return [v for v in _LIST_SPLIT.split(text) if v] if text else []


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return ""
    return _SPACES.sub(" ", str(value)).strip()


def _is_clean_text(row: dict[str, Any]) -> bool:
    """False when a value holds bytes that were not UTF-8 (kept as surrogates by the reader)."""
    values = [*row.values(), *row.get("attributes", {}).values()]
    for value in values:
        if isinstance(value, str) and not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True


def _excerpt(value: str) -> str:
    return value if len(value) <= 120 else value[:117] + "..."


class RowNormalizer:
    """Validates and normalizes rows of one import."""

    def __init__(self, default_locale: str) -> None:
        self.default_locale = default_locale

    def __call__(self, line: int, row: dict[str, Any]) -> RowResult:
        issues: list[Issue] = []

        def warn(field_name: str, message: str, value: str = "") -> None:
            issues.append(Issue(line, "warning", field_name, message, _excerpt(value)))

        if not _is_clean_text(row):
            return RowResult(
                None,
                [
                    Issue(
                        line,
                        "error",
                        "",
                        "the row has bytes that are not UTF-8; save the file as UTF-8 and import it again",
                    )
                ],
            )

        country = ""
        raw_country = _text(row.get("country"))
        if raw_country:
            try:
                country = normalize_country(raw_country)
            except InvalidValue as exc:
                warn("country", f"country dropped: {exc}", raw_country)

        email = ""
        raw_email = _text(row.get("email"))
        email_error = ""
        if raw_email:
            try:
                email = normalize_email(raw_email)
            except InvalidValue as exc:
                email_error = f"email {raw_email!r} is invalid: {exc}"

        phone = ""
        phone_zone: str | None = None
        raw_phone = _text(row.get("phone"))
        phone_error = ""
        if raw_phone:
            try:
                parsed = normalize_phone(raw_phone, country)
            except InvalidValue as exc:
                phone_error = f"phone {raw_phone!r} is invalid: {exc}"
            else:
                phone = parsed.e164
                if not country:
                    country = parsed.region
                phone_zone = parsed.time_zone

        if not email and not phone:
            reasons = [r for r in (email_error, phone_error) if r]
            if not raw_email:
                reasons.append("no email")
            if not raw_phone:
                reasons.append("no phone")
            return RowResult(None, [Issue(line, "error", "", "no valid contact: " + "; ".join(reasons))])
        if email_error:
            warn("email", email_error + "; the row is kept with its phone", raw_email)
        if phone_error:
            warn("phone", phone_error + "; the row is kept with its email", raw_phone)

        locale = ""
        raw_locale = _text(row.get("locale"))
        if raw_locale:
            try:
                locale = normalize_locale(raw_locale)
            except InvalidValue as exc:
                warn("locale", f"locale dropped: {exc}", raw_locale)
        if not locale:
            locale = locale_for_country(country) or self.default_locale

        time_zone = ""
        raw_zone = _text(row.get("time_zone"))
        if raw_zone:
            try:
                time_zone = normalize_time_zone(raw_zone)
            except InvalidValue as exc:
                warn("time_zone", f"time zone dropped: {exc}", raw_zone)
        if not time_zone:
            time_zone = phone_zone or time_zone_for_country(country) or "UTC"

        subdivision = _text(row.get("subdivision")).upper()
        if subdivision and country and not subdivision.startswith(f"{country}-"):
            subdivision = f"{country}-{subdivision}"
        if len(subdivision) > 6:
            warn("subdivision", "subdivision dropped: not an ISO 3166-2 code such as US-CA", subdivision)
            subdivision = ""

        flags = 0
        for value in _as_list(row.get("exposures")):
            category = category_for(value)
            if category is None:
                warn("exposures", "unknown data category ignored", value)
            else:
                flags |= category.flag

        name = _text(row.get("name")) or " ".join(
            p for p in (_text(row.get("first_name")), _text(row.get("last_name"))) if p
        )
        attributes = {k: _text(v) for k, v in row.get("attributes", {}).items() if _text(v)}
        staged = StagedValues(
            line=line,
            name=name[:200],
            email=email,
            email_key=email_key(email) if email else "",
            phone=phone,
            country=country,
            subdivision=subdivision,
            locale=locale,
            language=locale.split("-", 1)[0],
            time_zone=time_zone,
            external_refs=_as_list(row.get("external_ref")),
            accounts=_as_list(row.get("accounts")),
            exposure_flags=flags,
            attributes=attributes,
        )
        return RowResult(staged, issues)
