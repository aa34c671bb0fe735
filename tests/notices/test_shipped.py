"""The shipped templates, copied into a campaign, render for real customers of every market and pass the checks."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from breachcomms.incidents.categories import CATEGORIES, flags_for
from breachcomms.incidents.models import Incident
from breachcomms.notices.checks import run_checks
from breachcomms.notices.models import Campaign, Channel, NoticeVersion
from breachcomms.notices.services import campaign_create_from_shipped
from breachcomms.notices.shipped import KIND_FOLDERS, shipped_notices
from breachcomms.recipients.models import Customer

pytestmark = pytest.mark.django_db
LOCALES = ("en", "sv", "ru", "id")
MARKETS = [
    {"country": "SE", "locale": "sv-SE", "language": "sv", "time_zone": "Europe/Stockholm", "name": "Åsa Öberg"},
    {"country": "FI", "locale": "sv-FI", "language": "sv", "time_zone": "Europe/Helsinki", "name": ""},
    {"country": "GB", "locale": "en-GB", "language": "en", "time_zone": "Europe/London", "name": "O'Brien <b>"},
    {"country": "US", "subdivision": "US-CA", "locale": "en-US", "language": "en", "time_zone": "America/Los_Angeles"},
    {"country": "RU", "locale": "ru-RU", "language": "ru", "time_zone": "Asia/Vladivostok", "name": "Оксана Полякова"},
    {"country": "ID", "locale": "id-ID", "language": "id", "time_zone": "Asia/Jayapura", "name": "Rahayu"},
]


@pytest.fixture
def customers(incident: Incident, make_customer: Callable[..., Customer]) -> None:
    everything = flags_for(c.code for c in CATEGORIES)
    for market in MARKETS:
        make_customer(**market, exposure_flags=flags_for(["name", "email"]), risk_tier="low")
        make_customer(**market, exposure_flags=everything, risk_tier="high", accounts=["A-1", "A-2", "A-3"])
        make_customer(**market, exposure_flags=0, risk_tier="medium", accounts=[])


@pytest.mark.parametrize("kind", list(KIND_FOLDERS))
def test_every_kind_is_shipped_in_every_locale_for_email_and_sms(kind: str) -> None:
    shipped = {(n.locale, n.channel) for n in shipped_notices(kind)}
    assert shipped == {(locale, channel) for locale in LOCALES for channel in (Channel.EMAIL, Channel.SMS)}


@pytest.mark.parametrize("kind", list(KIND_FOLDERS))
@pytest.mark.usefixtures("customers")
def test_shipped_templates_render_for_every_segment_and_pass_the_safety_checks(incident: Incident, kind: str) -> None:
    campaign = campaign_create_from_shipped(incident=incident, kind=kind)
    versions = NoticeVersion.objects.filter(notice__campaign=campaign).select_related("notice")
    assert versions.count() == 8
    for version in versions:
        results = run_checks(version)
        failing = [
            f"{r.code}: {r.message} {r.details}"
            for r in results
            if not r.passed and (r.group in ("phishing", "render") or r.blocking and r.group != "coverage")
        ]
        assert failing == [], f"{kind}/{version.notice.locale}/{version.notice.channel}"


@pytest.mark.usefixtures("customers")
def test_shipped_initial_emails_meet_the_content_rules_of_their_customers_jurisdictions(incident: Incident) -> None:
    campaign = campaign_create_from_shipped(incident=incident, kind=Campaign.Kind.INITIAL)
    for version in NoticeVersion.objects.filter(notice__campaign=campaign, notice__channel=Channel.EMAIL):
        content = [r for r in run_checks(version) if r.group == "content"]
        assert content, version.notice.locale
        assert [f"{r.code}: {r.message}" for r in content if not r.passed] == [], version.notice.locale
    english = NoticeVersion.objects.get(notice__campaign=campaign, notice__channel=Channel.EMAIL, notice__locale="en")
    codes = {r.code.split(".")[1] for r in run_checks(english) if r.group == "content"}
    assert {"UK-GDPR", "US-CA"} <= codes  # the English notice reaches the British and the Californian customers
