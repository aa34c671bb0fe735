"""The variables a notice template sees (contract A in the project notes), built fast.

What is the same for every customer of an incident is built once (``IncidentFacts``); what depends
on the customer is a handful of dictionary entries, and the localized category names are cached
per (exposure bits, language).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from django.utils import translation

from breachcomms.incidents.categories import BY_CODE, CATEGORIES, codes_in, flags_for
from breachcomms.notices.locales import language_of
from breachcomms.notices.reference import reference_code_sample, verify_site, verify_url

if TYPE_CHECKING:
    from breachcomms.incidents.models import Incident
    from breachcomms.recipients.models import Customer


@dataclass(frozen=True)
class Recipient:
    """What a notice needs to know about one customer (a model instance or a row of values)."""

    name: str
    accounts: tuple[str, ...]
    exposure_flags: int
    locale: str
    time_zone: str
    country: str = ""
    subdivision: str = ""
    key: str = ""  # identifies the customer for stable preview reference codes

    @classmethod
    def from_customer(cls, customer: Customer) -> Recipient:
        return cls(
            name=customer.name,
            accounts=tuple(str(a) for a in customer.accounts or ()),
            exposure_flags=customer.exposure_flags,
            locale=customer.locale,
            time_zone=customer.time_zone,
            country=customer.country,
            subdivision=customer.subdivision,
            key=str(customer.pk),
        )


@dataclass(frozen=True)
class IncidentFacts:
    """The part of every context that comes from the incident and the installation."""

    organization: str
    incident: dict[str, Any]
    support: dict[str, str]
    verify_site: str
    default_locale: str
    incident_flags: int

    @classmethod
    def from_incident(cls, incident: Incident) -> IncidentFacts:
        return cls(
            organization=incident.organization or "",
            incident={
                "title": incident.title,
                "description": incident.description,
                "occurred_at": incident.occurred_at,
                "discovered_at": incident.discovered_at,
            },
            support={
                "phone": incident.support_phone,
                "email": incident.support_email,
                "website": incident.support_website,
            },
            verify_site=verify_site(),
            default_locale=incident.default_locale,
            incident_flags=flags_for(code for code in incident.data_categories if code in BY_CODE),
        )


@lru_cache(maxsize=64)
def category_names(language: str) -> dict[str, str]:
    """Every category's name in a language (Django's translations of the catalog labels)."""
    with translation.override(language):
        return {category.code: str(category.label) for category in CATEGORIES}


@lru_cache(maxsize=16384)
def _exposed(flags: int, language: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    codes = tuple(codes_in(flags))
    names = category_names(language)
    return tuple(names[code] for code in codes), codes


def notice_context(
    *, facts: IncidentFacts, recipient: Recipient, locale: str, reference_code: str, sent_at: datetime
) -> dict[str, Any]:
    """The template variables for one customer; ``locale`` is the one the notice is formatted in.

    A customer without recorded exposures is told about the incident's categories: the import did
    not say what was exposed for them, and an empty list would read as "nothing".
    """
    flags = recipient.exposure_flags or facts.incident_flags
    names, codes = _exposed(flags, language_of(locale))
    return {
        "organization": facts.organization,
        "customer": {"name": recipient.name, "accounts": list(recipient.accounts)},
        "exposed": list(names),
        "exposed_codes": list(codes),
        "incident": facts.incident,
        "support": facts.support,
        "reference_code": reference_code,
        "verify_url": verify_url(reference_code),
        "verify_site": facts.verify_site,
        "sent_at": sent_at,
        "locale": locale,
        "time_zone": recipient.time_zone,
    }


# Sample people for previews and checks when an incident has no customers yet (or none of a language).
_SAMPLE_PEOPLE = {
    "en": ("Alex Morgan", "Europe/London"),
    "sv": ("Kim Andersson", "Europe/Stockholm"),
    "ru": ("Алексей Смирнов", "Europe/Moscow"),
    "id": ("Budi Santoso", "Asia/Jakarta"),
}


def sample_recipient(locale: str, *, facts: IncidentFacts) -> Recipient:
    """A made-up customer in a locale, exposed to the incident's categories."""
    name, zone = _SAMPLE_PEOPLE.get(language_of(locale), ("Alex Morgan", "UTC"))
    return Recipient(
        name=name,
        accounts=("ACC-1001",),
        exposure_flags=facts.incident_flags or flags_for(["name", "email"]),
        locale=locale,
        time_zone=zone,
        key=f"sample:{locale}",
    )


def sample_reference_code(recipient: Recipient) -> str:
    return reference_code_sample(recipient.key or recipient.name)
