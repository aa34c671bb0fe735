"""The public verification page tells a genuine notice from a fake one and leaks nothing it was not given."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django.test import Client

from breachcomms.delivery.models import Delivery, DeliveryStatus
from breachcomms.delivery.references import format_reference
from breachcomms.incidents.models import Incident
from tests.tracking.ledger import make_deliveries, make_wave

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]
URL = "/verify/"
# A well-formed code (right check character) that no delivery carries.
UNKNOWN_CODE = format_reference(12345678901234)


@pytest.fixture
def email_notice(incident: Incident) -> Delivery:
    [delivery] = make_deliveries(
        make_wave(incident), 1, name="Anna Svensson", email="Anna.Svensson@Example.se", time_zone="Europe/Stockholm"
    )
    return delivery


@pytest.fixture
def sms_notice(incident: Incident) -> Delivery:
    [delivery] = make_deliveries(make_wave(incident), 1, channel="sms", phone="+46701234567", first=7)
    return delivery


def check(client: Client, code: str, contact: str = "", **headers: Any) -> Any:
    return client.post(URL, {"code": code, "contact": contact}, **headers)


def outcome(response: Any) -> str:
    match = re.search(r'id="verify-result" data-outcome="(\w+)"', response.content.decode())
    return match.group(1) if match else ""


def contact_verdict(response: Any) -> str:
    match = re.search(r'id="verify-match" data-match="(\w+)"', response.content.decode())
    return match.group(1) if match else ""


def test_the_link_in_a_notice_prefills_the_code(client: Client) -> None:
    response = client.get(URL, {"code": "K7QX-M4PD-9TZA"})
    assert response.status_code == 200
    assert 'value="K7QX-M4PD-9TZA"' in response.content.decode()
    assert outcome(response) == ""  # nothing is looked up until the visitor asks


def test_a_genuine_code_says_what_the_notice_was_about_and_when_it_was_sent(
    client: Client, email_notice: Delivery
) -> None:
    response = check(client, email_notice.reference_code)
    page = response.content.decode()
    assert outcome(response) == "genuine"
    summary = re.search(r'<p id="verify-summary">(.*?)</p>', page, re.S)
    assert summary is not None
    text = " ".join(summary.group(1).split())
    assert (
        text
        == "Example Shop sent this notice (Initial notice) about “Customer database accessed” by Email on June 2, 2025."
    )
    for contact in ("+46 8 123 456 00", "help@example.com", "https://example.com/security"):
        assert contact in page
    assert "anna" not in page.lower()  # neither the name nor the address it went to


def test_codes_are_read_whatever_their_case_spacing_and_look_alike_characters(
    client: Client, email_notice: Delivery
) -> None:
    code = email_notice.reference_code.replace("-", "").lower()
    typed = " ".join([code[:4], code[4:8], code[8:]]).replace("1", "l").replace("0", "o")
    assert outcome(check(client, typed)) == "genuine"


def test_a_matching_email_is_confirmed_without_showing_it(client: Client, email_notice: Delivery) -> None:
    response = check(client, email_notice.reference_code, " anna.svensson@example.SE ")
    assert contact_verdict(response) == "match"
    assert "Yes, it was sent to the email address you entered." in response.content.decode()


def test_a_different_email_is_told_apart_without_revealing_the_right_one(
    client: Client, email_notice: Delivery
) -> None:
    response = check(client, email_notice.reference_code, "someone.else@example.se")
    page = response.content.decode()
    assert contact_verdict(response) == "no_match"
    assert "svensson" not in page.lower()


def test_the_last_four_digits_of_the_phone_confirm_a_text_message(client: Client, sms_notice: Delivery) -> None:
    assert contact_verdict(check(client, sms_notice.reference_code, "45-67")) == "match"
    assert contact_verdict(check(client, sms_notice.reference_code, "4568")) == "no_match"
    assert contact_verdict(check(client, sms_notice.reference_code, "+46 70 123 45 67")) == "match"
    assert contact_verdict(check(client, sms_notice.reference_code, "someone@example.se")) == "other_channel"
    assert "+4670" not in check(client, sms_notice.reference_code, "4567").content.decode()


def test_an_unknown_code_is_called_out_and_reveals_nothing(client: Client, email_notice: Delivery) -> None:
    response = check(client, UNKNOWN_CODE, "anna.svensson@example.se")
    page = response.content.decode()
    assert response.status_code == 200
    assert outcome(response) == "unknown"
    assert contact_verdict(response) == ""
    for secret in ("Example Shop", "Customer database accessed", "help@example.com", "Initial notice"):
        assert secret not in page


def test_a_code_of_a_notice_never_sent_is_unknown(client: Client, incident: Incident) -> None:
    pending, cancelled = make_deliveries(make_wave(incident), 2, status=DeliveryStatus.PENDING)
    Delivery.objects.filter(id=cancelled.id).update(status=DeliveryStatus.CANCELLED)
    assert outcome(check(client, pending.reference_code)) == "unknown"
    assert outcome(check(client, cancelled.reference_code)) == "unknown"


def test_a_mistyped_code_is_reported_as_a_typo(client: Client, email_notice: Delivery) -> None:
    code = email_notice.reference_code
    typo = code[:-1] + ("X" if code[-1] != "X" else "Y")
    response = check(client, typo)
    assert outcome(response) == ""
    assert "Check it for typos" in response.content.decode()


def test_an_unusable_contact_gets_a_clear_error(client: Client, email_notice: Delivery) -> None:
    response = check(client, email_notice.reference_code, "12")
    assert outcome(response) == ""
    assert "last four digits" in response.content.decode()


def test_lookups_are_rate_limited_per_client_address(client: Client, email_notice: Delivery, settings: Any) -> None:
    settings.BREACHCOMMS_VERIFY_RATE = "3/m"
    for _ in range(3):
        assert check(client, UNKNOWN_CODE, REMOTE_ADDR="203.0.113.7").status_code == 200
    limited = check(client, email_notice.reference_code, REMOTE_ADDR="203.0.113.7")
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) >= 1
    assert outcome(limited) == "limited"
    # A forged X-Forwarded-For does not get around it; another client is not affected.
    spoofed = check(client, UNKNOWN_CODE, REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert spoofed.status_code == 429
    assert check(client, email_notice.reference_code, REMOTE_ADDR="203.0.113.8").status_code == 200
    assert client.get(URL, REMOTE_ADDR="203.0.113.7").status_code == 200  # reading the page is not a lookup


def test_behind_trusted_proxies_the_forwarded_address_is_the_client(
    client: Client, email_notice: Delivery, settings: Any
) -> None:
    settings.BREACHCOMMS_VERIFY_RATE = "1/m"
    settings.BREACHCOMMS_TRUSTED_PROXIES = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    assert check(client, UNKNOWN_CODE, HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy).status_code == 200
    assert check(client, UNKNOWN_CODE, HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy).status_code == 429
    assert check(client, UNKNOWN_CODE, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9", **proxy).status_code == 200


def test_genuine_and_unknown_codes_take_the_same_minimum_time(
    client: Client, email_notice: Delivery, settings: Any
) -> None:
    settings.BREACHCOMMS_VERIFY_MIN_SECONDS = 0.3
    for code in (email_notice.reference_code, UNKNOWN_CODE):
        started = time.monotonic()
        check(client, code)
        assert time.monotonic() - started >= 0.3


def test_the_form_is_protected_against_cross_site_posts(email_notice: Delivery) -> None:
    client = Client(enforce_csrf_checks=True)
    assert check(client, email_notice.reference_code).status_code == 403


def test_the_page_loads_nothing_from_elsewhere_and_tells_other_sites_nothing(client: Client) -> None:
    response = client.get(URL)
    page = response.content.decode()
    csp = response["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cache-Control"] == "no-store"
    assert response["X-Frame-Options"] == "DENY"
    assert not re.search(r"<(script|img|link|iframe)\b", page)
    assert "admin" not in page.lower()


def test_the_language_follows_accept_language_and_the_switcher(client: Client, email_notice: Delivery) -> None:
    swedish = check(client, email_notice.reference_code, HTTP_ACCEPT_LANGUAGE="sv-SE,sv;q=0.9,en;q=0.5")
    assert '<html lang="sv">' in swedish.content.decode()
    assert swedish["Content-Language"] == "sv"
    assert "2 juni 2025" in swedish.content.decode()  # the date in the visitor's language
    russian = client.post(f"{URL}?lang=ru", {"code": email_notice.reference_code}, HTTP_ACCEPT_LANGUAGE="sv")
    assert '<html lang="ru">' in russian.content.decode()
    assert "2 июня 2025" in russian.content.decode()
    switcher = client.get(URL, {"code": "K7QX-M4PD-9TZA"}, HTTP_ACCEPT_LANGUAGE="id").content.decode()
    assert 'href="?lang=sv&amp;code=K7QX-M4PD-9TZA"' in switcher
    assert '<html lang="id">' in switcher


@pytest.mark.parametrize(
    ("language", "heading", "button"),
    [
        ("sv", "Är det här meddelandet äkta?", "Kontrollera"),
        ("ru", "Это сообщение настоящее?", "Проверить"),
        ("id", "Apakah pemberitahuan ini asli?", "Periksa"),
    ],
)
def test_the_page_speaks_the_visitors_language(client: Client, language: str, heading: str, button: str) -> None:
    page = client.get(URL, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert f"<h1>{heading}</h1>" in page
    assert f'<button type="submit">{button}</button>' in page
    assert "Is this notice genuine?" not in page
