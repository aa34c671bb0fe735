"""Fixtures for the notices tests: small templates, campaigns, notices, customers and users per role."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User

from breachcomms.core import roles
from breachcomms.incidents.categories import flags_for
from breachcomms.incidents.models import Incident
from breachcomms.notices.models import Campaign, Channel, Notice, NoticeVersion
from breachcomms.notices.rendering import clear_cache
from breachcomms.recipients.models import Customer

EMAIL_SUBJECT = "{{ organization }}: about your data"
EMAIL_HTML = (
    "<h1>Notice of Data Breach</h1>\n"
    "<p>Dear {{ customer.name }},</p>\n"
    "<p>What was involved: {{ exposed|format_list }}.</p>\n"
    "<p>Your reference code is {{ reference_code }}.\n"
    '  Check it at <a href="{{ verify_url }}">{{ verify_site }}</a>.</p>\n'
    "<p>We will never ask for your password, PIN, one-time codes or card numbers.</p>\n"
)
EMAIL_TEXT = (
    "Dear {{ customer.name }},\n"
    "What was involved: {{ exposed|format_list }}.\n"
    "Your reference code is {{ reference_code }}. Check it at {{ verify_url }}\n"
    "We will never ask for your password, PIN, one-time codes or card numbers.\n"
)
SMS_TEXT = "{{ organization }}: your data was involved in a breach. Check: {{ verify_url }} (code {{ reference_code }})"


@pytest.fixture(autouse=True)
def _fresh_template_cache() -> None:
    clear_cache()


@pytest.fixture
def shipped_root(tmp_path: Path) -> Path:
    """A small shipped-templates tree (contract A layout) in two locales."""
    for locale, greeting in (("en", "Dear"), ("sv", "Hej")):
        folder = tmp_path / "initial" / locale
        folder.mkdir(parents=True)
        (folder / "subject.txt").write_text(EMAIL_SUBJECT + "\n", encoding="utf-8")
        (folder / "body.html").write_text(EMAIL_HTML.replace("Dear", greeting), encoding="utf-8")
        (folder / "body.txt").write_text(EMAIL_TEXT.replace("Dear", greeting), encoding="utf-8")
        (folder / "sms.txt").write_text(SMS_TEXT + "\n", encoding="utf-8")
    return tmp_path


@pytest.fixture
def campaign(incident: Incident) -> Campaign:
    return Campaign.objects.create(incident=incident, kind=Campaign.Kind.INITIAL, name="Initial notice")


@pytest.fixture
def make_notice(campaign: Campaign) -> Callable[..., NoticeVersion]:
    """A notice with a first draft (author None, as copied from the shipped templates)."""

    def make(
        locale: str = "en",
        channel: str = Channel.EMAIL,
        *,
        subject: str = EMAIL_SUBJECT,
        html: str = EMAIL_HTML,
        text: str | None = None,
        author: User | None = None,
    ) -> NoticeVersion:
        notice = Notice.objects.create(campaign=campaign, channel=channel, locale=locale)
        if channel == Channel.SMS:
            return NoticeVersion.objects.create(notice=notice, number=1, text=text or SMS_TEXT, author=author)
        return NoticeVersion.objects.create(
            notice=notice, number=1, subject=subject, html=html, text=text or EMAIL_TEXT, author=author
        )

    return make


@pytest.fixture
def make_customer(incident: Incident) -> Callable[..., Customer]:
    counter = {"n": 0}

    def make(**values: Any) -> Customer:
        counter["n"] += 1
        n = counter["n"]
        defaults: dict[str, Any] = {
            "incident": incident,
            "name": f"Customer {n}",
            "email": f"customer{n}@example.org",
            "country": "GB",
            "locale": "en-GB",
            "language": "en",
            "time_zone": "Europe/London",
            "accounts": [f"ACC-{n}"],
            "exposure_flags": flags_for(["name", "email"]),
        }
        defaults.update(values)
        return Customer.objects.create(**defaults)

    return make


@pytest.fixture
def second_commander(make_user: Callable[..., User]) -> User:
    return make_user("commander2", roles.INCIDENT_COMMANDER)


@pytest.fixture
def author_commander(make_user: Callable[..., User]) -> User:
    """Someone who holds both roles: a commander who also writes notices."""
    user = make_user("writer-commander", roles.NOTICE_AUTHOR)
    user.groups.add(Group.objects.get(name=roles.INCIDENT_COMMANDER))
    return user
