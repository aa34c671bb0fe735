"""The shipped templates, copied into a campaign, render for real customers of every market and pass the checks."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from breachcomms.incidents.categories import CATEGORIES, flags_for
from breachcomms.incidents.models import Incident
from breachcomms.notices.checks import run_checks
from breachcomms.notices.models import Campaign, Channel, NoticeVersion
from breachcomms.notices.services import campaign_create_from_shipped
from breachcomms.notices.shipped import (
    FOLLOW_UP_FOLDERS,
    KIND_FOLDER_CHOICES,
    KIND_FOLDERS,
    SECURITY_TIPS_SERIES,
    shipped_notices,
)
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
FOLDERS = [(kind, folder) for kind, folders in KIND_FOLDER_CHOICES.items() for folder in folders]
# Folders whose drafts hold text only the author can write for the incident (marked [[…]]).
PLACEHOLDER_FOLDERS = {"enrolment_reminder"}


@pytest.fixture
def customers(incident: Incident, make_customer: Callable[..., Customer]) -> None:
    everything = flags_for(c.code for c in CATEGORIES)
    for market in MARKETS:
        make_customer(**market, exposure_flags=flags_for(["name", "email"]), risk_tier="low")
        make_customer(**market, exposure_flags=everything, risk_tier="high", accounts=["A-1", "A-2", "A-3"])
        make_customer(**market, exposure_flags=0, risk_tier="medium", accounts=[])


@pytest.mark.parametrize(("kind", "folder"), FOLDERS)
def test_every_folder_is_shipped_in_every_locale_for_email_and_sms(kind: str, folder: str) -> None:
    shipped = {(n.locale, n.channel) for n in shipped_notices(kind, folder=folder)}
    assert shipped == {(locale, channel) for locale in LOCALES for channel in (Channel.EMAIL, Channel.SMS)}
    assert {n.folder for n in shipped_notices(kind, folder=folder)} == {folder}


def test_each_kind_defaults_to_its_first_folder_and_the_series_are_as_agreed() -> None:
    assert SECURITY_TIPS_SERIES == ("security_tips", "security_tips_2", "security_tips_3")
    assert FOLLOW_UP_FOLDERS == ("reminder", "enrolment_reminder", "other_channel")
    for kind, folders in KIND_FOLDER_CHOICES.items():
        assert KIND_FOLDERS[kind] == folders[0]
        assert shipped_notices(kind) == shipped_notices(kind, folder=folders[0])


def test_a_folder_of_another_kind_is_refused(incident: Incident) -> None:
    with pytest.raises(ValueError, match="security_tips_2"):
        shipped_notices(Campaign.Kind.FOLLOW_UP, folder="security_tips_2")
    with pytest.raises(ValueError, match="security_tips_2"):
        campaign_create_from_shipped(incident=incident, kind=Campaign.Kind.FOLLOW_UP, folder="security_tips_2")
    assert not Campaign.objects.filter(incident=incident).exists()


def test_a_campaign_from_a_folder_gets_that_folders_texts_and_name(incident: Incident) -> None:
    campaign = campaign_create_from_shipped(
        incident=incident, kind=Campaign.Kind.SECURITY_TIPS, folder="security_tips_3"
    )
    english = NoticeVersion.objects.get(notice__campaign=campaign, notice__channel=Channel.EMAIL, notice__locale="en")
    expected = next(
        n for n in shipped_notices(Campaign.Kind.SECURITY_TIPS, folder="security_tips_3") if n.locale == "en"
    )
    assert english.subject == expected.parts["subject"]
    assert campaign.kind == Campaign.Kind.SECURITY_TIPS
    assert campaign.name == "Security tips 3: watching for misuse"


@pytest.mark.parametrize(("kind", "folder"), FOLDERS)
@pytest.mark.usefixtures("customers")
def test_shipped_templates_render_for_every_segment_and_pass_the_safety_checks(
    incident: Incident, kind: str, folder: str
) -> None:
    campaign = campaign_create_from_shipped(incident=incident, kind=kind, folder=folder)
    versions = NoticeVersion.objects.filter(notice__campaign=campaign).select_related("notice")
    assert versions.count() == 8
    for version in versions:
        results = run_checks(version)
        failing = [
            f"{r.code}: {r.message} {r.details}"
            for r in results
            if not r.passed
            and r.group != "placeholders"
            and (r.group in ("phishing", "render") or r.blocking and r.group != "coverage")
        ]
        assert failing == [], f"{folder}/{version.notice.locale}/{version.notice.channel}"
        placeholders = next(r for r in results if r.group == "placeholders")
        expect_placeholders = folder in PLACEHOLDER_FOLDERS and version.notice.channel == Channel.EMAIL
        assert placeholders.passed is not expect_placeholders, f"{folder}/{version.notice.locale}"
        if expect_placeholders:
            assert placeholders.blocking
            assert all(detail.startswith(("Text body: [[", "HTML body: [[")) for detail in placeholders.details)


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
