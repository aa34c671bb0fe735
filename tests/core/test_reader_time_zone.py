"""Staff pages show times in the reader's time zone, which the browser reports in a cookie."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from breachcomms.incidents.models import Incident
from breachcomms.recipients.models import CustomerImport

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

UPLOADED = dt.datetime(2026, 11, 21, 20, 30, tzinfo=dt.UTC)


@pytest.fixture
def page_url(incident: Incident, commander: User, client: Client) -> str:
    customer_import = CustomerImport.objects.create(incident=incident, original_name="c.csv", format="csv")
    CustomerImport.objects.filter(id=customer_import.id).update(created_at=UPLOADED)
    client.force_login(commander)
    return reverse("admin:recipients_customerimport_change", args=[customer_import.id])


def shown(zone: str) -> str:
    return date_format(timezone.localtime(UPLOADED, ZoneInfo(zone)), "DATETIME_FORMAT")


def test_times_are_shown_in_the_zone_the_browser_reported(client: Client, page_url: str) -> None:
    client.cookies["bc_tz"] = "Asia/Jakarta"

    page = client.get(page_url).content.decode()

    assert "Times in Asia/Jakarta" in page
    assert shown("Asia/Jakarta") in page  # 03:30 the next morning in Jakarta
    assert shown("UTC") not in page


@pytest.mark.parametrize("cookie", ["", "Mars/Olympus_Mons", "Europe/Stockholm; path=/", "x" * 200])
def test_without_a_real_zone_times_stay_in_the_servers_and_the_page_says_so(
    client: Client, page_url: str, cookie: str
) -> None:
    if cookie:
        client.cookies["bc_tz"] = cookie

    page = client.get(page_url).content.decode()

    assert "Times in UTC" in page
    assert shown("UTC") in page


def test_the_zone_does_not_leak_into_the_next_request(client: Client, page_url: str) -> None:
    client.cookies["bc_tz"] = "Asia/Jakarta"
    client.get(page_url)

    assert timezone.get_current_timezone_name() == "UTC"
