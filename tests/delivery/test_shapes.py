"""Rendering once per shape with substitutions equals rendering each customer in full.

Checked for every shipped template and locale with generated customers whose names and accounts
contain markup, quotes, non-Latin scripts and look-alike template syntax.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from breachcomms.channels.substitutions import apply_substitutions
from breachcomms.core.references import REFERENCE_MAX, format_reference
from breachcomms.delivery.shapes import (
    CustomerValues,
    delivered_content_hash,
    exposed_names,
    formatted_list,
    render_parts,
    render_shape,
    shape_key,
)
from breachcomms.incidents.models import Incident
from breachcomms.notices.context import IncidentFacts, Recipient
from breachcomms.notices.filters import babel_locale, list_text
from breachcomms.notices.models import Notice, NoticeVersion
from breachcomms.notices.shipped import KIND_FOLDER_CHOICES, shipped_notices

INCIDENT = Incident(
    title="Customer database accessed",
    organization="Exämple & Co <Shop>",
    description="Someone used a stolen support account.",
    occurred_at=datetime(2025, 5, 30, 22, 15, tzinfo=UTC),
    discovered_at=datetime(2025, 6, 1, 9, 0, tzinfo=UTC),
    support_phone="+46 8 123 456 00",
    support_email="help@example.com",
    support_website="https://example.com/security",
    data_categories=["name", "email", "password"],
)
SHIPPED = [n for kind, folders in KIND_FOLDER_CHOICES.items() for f in folders for n in shipped_notices(kind, folder=f)]
ZONES = ["Europe/Stockholm", "Asia/Jakarta", "America/Los_Angeles", "Europe/Moscow", "Asia/Kolkata", ""]
nasty_text = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=60).map(str.strip)
tricky = st.sampled_from(["O'Brien & <b>Sons</b>", '"{{ x }}" {% if %}', "Ёлкина-Щукина", "a\\b$1", "&amp;", "-"])


def version_of(shipped: object) -> NoticeVersion:
    notice = Notice(channel=shipped.channel, locale=shipped.locale)  # type: ignore[attr-defined]
    version = NoticeVersion(notice=notice, id=1, **{"subject": "", "html": "", "text": "", **shipped.parts})  # type: ignore[attr-defined]
    version.content_hash = version.computed_hash()
    return version


def test_every_shipped_kind_and_locale_is_covered() -> None:
    assert {(n.kind, n.locale, n.channel) for n in SHIPPED} >= {
        ("initial", "en", "email"),
        ("initial", "en", "sms"),
        ("initial", "sv", "email"),
    }


@pytest.mark.parametrize("shipped", SHIPPED, ids=lambda n: f"{n.folder}-{n.locale}-{n.channel}")
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.one_of(nasty_text, tricky, st.just("")),
    accounts=st.lists(st.one_of(nasty_text.filter(bool), tricky), max_size=3),
    flags=st.integers(min_value=0, max_value=(1 << 16) - 1),
    region=st.sampled_from(["", "-SE", "-FI", "-US", "-RU", "-ID"]),
    zone=st.sampled_from(ZONES),
    reference=st.integers(min_value=0, max_value=REFERENCE_MAX),
)
def test_substituted_shape_equals_full_render(
    shipped: object, name: str, accounts: list[str], flags: int, region: str, zone: str, reference: int
) -> None:
    version = version_of(shipped)
    channel, notice_locale = shipped.channel, shipped.locale  # type: ignore[attr-defined]
    facts = IncidentFacts.from_incident(INCIDENT)
    recipient = Recipient(
        name=name, accounts=tuple(accounts), exposure_flags=flags, locale=notice_locale + region, time_zone=zone
    )
    sent_at = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
    key = shape_key(version=version, notice_locale=notice_locale, facts=facts, recipient=recipient, sent_at=sent_at)
    assert key is not None
    shape = render_shape(
        version=version,
        channel=channel,
        facts=facts,
        key=key,
        recipient=recipient,
        notice_locale=notice_locale,
        sent_at=sent_at,
    )
    assert shape.substitutable, "a shipped template must be sendable in batches"
    flags = flags or facts.incident_flags
    exposed = exposed_names(flags, key.locale)
    substitutions = shape.substitutions(CustomerValues(name, tuple(accounts), format_reference(reference), exposed))
    values = CustomerValues(name, tuple(accounts), format_reference(reference))  # names as the notice context has them
    full = render_parts(
        version=version,
        channel=channel,
        facts=facts,
        recipient=recipient,
        notice_locale=notice_locale,
        values=values,
        sent_at=sent_at,
    )
    # Exactly what SendGrid (and the sandbox) make of the batch, part by part.
    assert {part: apply_substitutions(text, substitutions) for part, text in shape.parts.items()} == full
    assert shape.content_hash(substitutions) == delivered_content_hash(channel, full)


def test_a_template_that_transforms_a_value_is_rendered_per_customer() -> None:
    notice = Notice(channel="email", locale="en")
    version = NoticeVersion(
        notice=notice,
        id=2,
        subject="For {{ customer.name|upper }}",
        html="<p>{{ reference_code }}</p>",
        text="{{ customer.name[:3] }} {{ customer.accounts|sort|join(',') }}",
    )
    version.content_hash = version.computed_hash()
    facts = IncidentFacts.from_incident(INCIDENT)
    recipient = Recipient(name="Zoë", accounts=("b", "a"), exposure_flags=3, locale="en", time_zone="UTC")
    key = shape_key(
        version=version, notice_locale="en", facts=facts, recipient=recipient, sent_at=datetime(2025, 6, 2, tzinfo=UTC)
    )
    assert key is not None
    shape = render_shape(
        version=version,
        channel="email",
        facts=facts,
        key=key,
        recipient=recipient,
        notice_locale="en",
        sent_at=datetime(2025, 6, 2, tzinfo=UTC),
    )
    assert not shape.substitutable


@pytest.mark.parametrize("locale", ["en", "sv", "ru", "id", "de", "ar"])
@pytest.mark.parametrize("style", ["standard", "standard-short", "or", "unit", "unit-narrow"])
def test_a_listed_value_is_formatted_exactly_as_the_notice_filter_formats_the_list(locale: str, style: str) -> None:
    # The list frame is worked out once per length and filled per customer: items with braces, control
    # characters and other scripts must come out as the filter gives them.
    items = ("Konto {1} {}", "a\x01b", "Ωmega & <x>", "4444-2", "five", "6")
    for count in range(1, len(items) + 1):
        listed = items[:count]
        expected = listed[0] if count == 1 else list_text(list(listed), style, babel_locale(locale))
        assert formatted_list(listed, style, locale) == expected
