"""The context every notice sees, rendering a version for one customer, and the compiled-template cache."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from breachcomms.incidents.categories import flags_for
from breachcomms.incidents.models import Incident
from breachcomms.notices.context import IncidentFacts, Recipient, notice_context
from breachcomms.notices.locales import resolve_locale
from breachcomms.notices.models import NoticeVersion
from breachcomms.notices.rendering import compiled_for, render_version

SENT = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)


def recipient(locale: str, zone: str = "UTC", flags: int | None = None) -> Recipient:
    exposures = flags_for(["password", "name", "email"]) if flags is None else flags
    return Recipient(name="Kim", accounts=("A-1", "A-2"), exposure_flags=exposures, locale=locale, time_zone=zone)


@pytest.fixture
def facts(incident: Incident) -> IncidentFacts:
    incident.data_categories = ["payment_card"]
    incident.discovered_at = SENT
    return IncidentFacts.from_incident(incident)


@pytest.mark.parametrize(
    ("locale", "names"),
    [
        ("en", ["name", "email address", "password"]),
        ("sv-FI", ["namn", "e-postadress", "lösenord"]),
        ("ru", ["имя", "адрес электронной почты", "пароль"]),
        ("id", ["nama", "alamat email", "kata sandi"]),
    ],
)
def test_exposed_categories_are_named_in_the_notice_language_in_catalog_order(
    facts: IncidentFacts, locale: str, names: list[str]
) -> None:
    context = notice_context(
        facts=facts, recipient=recipient(locale), locale=locale, reference_code="K7QX-M4PD-9TZA", sent_at=SENT
    )
    assert context["exposed"] == names
    assert context["exposed_codes"] == ["name", "email", "password"]


def test_the_context_has_every_variable_of_the_contract(facts: IncidentFacts) -> None:
    context = notice_context(
        facts=facts, recipient=recipient("sv", "Europe/Stockholm"), locale="sv", reference_code="K7QX", sent_at=SENT
    )
    assert context["organization"] == "Example Shop"
    assert context["customer"] == {"name": "Kim", "accounts": ["A-1", "A-2"]}
    assert context["incident"]["title"] == "Customer database accessed"
    assert context["incident"]["discovered_at"] == SENT
    assert context["support"] == {
        "phone": "+46 8 123 456 00",
        "email": "help@example.com",
        "website": "https://example.com/security",
    }
    assert context["verify_url"] == "http://127.0.0.1:8000/verify/?code=K7QX"
    assert context["verify_site"] == "http://127.0.0.1:8000/verify/"
    assert (context["sent_at"], context["locale"], context["time_zone"]) == (SENT, "sv", "Europe/Stockholm")


def test_a_customer_without_recorded_exposures_hears_about_the_incidents_categories(facts: IncidentFacts) -> None:
    context = notice_context(
        facts=facts, recipient=recipient("en", flags=0), locale="en", reference_code="K", sent_at=SENT
    )
    assert context["exposed_codes"] == ["payment_card"]


@pytest.mark.django_db
def test_a_version_renders_for_a_customer_in_their_zone_and_region(
    make_notice: Callable[..., NoticeVersion], facts: IncidentFacts
) -> None:
    version = make_notice(
        locale="sv",
        subject="{{ incident.discovered_at|format_datetime('short') }}",
        text="{{ exposed|format_list }} {{ reference_code }}",
    )
    resolution = resolve_locale("sv-FI", ["sv", "en"], "en")
    rendered = render_version(
        version=version,
        recipient=recipient("sv-FI", "Europe/Helsinki"),
        facts=facts,
        reference_code="K7QX-M4PD-9TZA",
        sent_at=SENT,
        resolution=resolution,
    )
    assert rendered.subject == "2026-03-02 00:30"  # Helsinki is two hours ahead of UTC in March
    assert rendered.text == "namn, e-postadress och lösenord K7QX-M4PD-9TZA"
    assert rendered.locale == "sv-FI"
    assert rendered.resolution is not None
    assert rendered.resolution.describe() == "sv-FI → sv"


@pytest.mark.django_db
def test_a_fallback_in_another_language_is_formatted_in_that_language(
    make_notice: Callable[..., NoticeVersion], facts: IncidentFacts
) -> None:
    version = make_notice(locale="en", text="{{ exposed|format_list }}, {{ incident.discovered_at|format_date }}")
    rendered = render_version(
        version=version, recipient=recipient("ru-RU", "Europe/Moscow"), facts=facts, reference_code="K", sent_at=SENT
    )
    assert rendered.text == "name, email address, and password, March 2, 2026"
    assert rendered.locale == "en"


def test_compiled_templates_are_cached_by_content_hash() -> None:
    parts = {"text": "Hi {{ customer.name }}"}
    first = compiled_for("hash-a", "sms", parts)
    assert compiled_for("hash-a", "sms", parts) is first
    assert compiled_for("hash-b", "sms", parts) is not first
