"""Each check passes on a good notice and fails on the problem it exists for."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from breachcomms.incidents.models import Incident
from breachcomms.jurisdictions.selectors import ContentRequirement
from breachcomms.notices.checks import CheckResult, run_checks
from breachcomms.notices.models import Campaign, Channel, NoticeVersion
from breachcomms.recipients.models import Customer
from tests.notices.conftest import EMAIL_HTML, EMAIL_TEXT

pytestmark = pytest.mark.django_db
SAFE_TAIL = " {{ reference_code }} {{ verify_url }}"


def result(version: NoticeVersion, code: str) -> CheckResult:
    results = {r.code: r for r in run_checks(version)}
    return results[code]


def html_version(make_notice: Callable[..., NoticeVersion], body: str) -> NoticeVersion:
    return make_notice(html=EMAIL_HTML + body)


def test_the_fixture_notice_passes_every_check(make_notice: Callable[..., NoticeVersion]) -> None:
    failing = [r for r in run_checks(make_notice()) if not r.passed]
    assert failing == []


@pytest.mark.parametrize(
    "body",
    [
        '<img src="data:image/png;base64,iVBORw0KGgo=">',
        '<img src="cid:logo@example.com">',
        '<a href="https://example.com/files/notice.zip">details</a>',
        '<a href="https://example.com/letter.html">your letter</a>',
        '<a href="https://example.com/update.exe">update</a>',
        '<a href="https://example.com/security" download>save</a>',
    ],
)
def test_attachments_and_links_to_files_fail(make_notice: Callable[..., NoticeVersion], body: str) -> None:
    check = result(html_version(make_notice, body), "phishing.attachments")
    assert not check.passed
    assert check.blocking
    assert check.details


@pytest.mark.parametrize("body", ["<script>alert(1)</script>", '<form action="https://example.com/x"></form>'])
def test_scripts_and_forms_fail(make_notice: Callable[..., NoticeVersion], body: str) -> None:
    assert not result(html_version(make_notice, body), "phishing.active_content").passed


@pytest.mark.parametrize(
    "body",
    [
        '<a href="https://example.com.evil.net/login">log in</a>',
        '<a href="https://example.com@evil.net/">log in</a>',
        '<a href="javascript:alert(1)">click</a>',
        '<a href="/relative/path">here</a>',
        '<p style="background:url(https://tracker.net/p.gif)">x</p>',
        "<p>Visit evil-example.net/reset today.</p>",
        '{% if customer.name == "nobody" %}<a href="https://evil.net">hidden</a>{% endif %}',
    ],
)
def test_links_outside_the_allowed_domains_fail(make_notice: Callable[..., NoticeVersion], body: str) -> None:
    check = result(html_version(make_notice, body), "phishing.links")
    assert not check.passed
    assert "example.com" in check.message


def test_allowed_domains_subdomains_the_verification_site_mailto_and_tel_pass(
    make_notice: Callable[..., NoticeVersion],
) -> None:
    body = (
        '<a href="https://example.com/security">a</a> <a href="https://help.example.com/faq?q=1">b</a>'
        ' <a href="mailto:help@example.com">c</a> <a href="tel:+4681234">d</a> <a href="#top">e</a>'
        " <p>Or type www.example.com yourself, or write to help@elsewhere.org.</p>"
    )
    assert result(html_version(make_notice, body), "phishing.links").passed


def test_a_bare_link_in_an_sms_is_checked(make_notice: Callable[..., NoticeVersion]) -> None:
    version = make_notice(channel=Channel.SMS, text="Reset now at evil-shop.com/reset" + SAFE_TAIL)
    assert not result(version, "phishing.links").passed


def test_link_shorteners_fail_even_on_the_allow_list(
    make_notice: Callable[..., NoticeVersion], incident: Incident
) -> None:
    incident.allowed_link_domains = ["example.com", "bit.ly"]
    incident.save()
    version = make_notice(channel=Channel.SMS, text="Details: https://bit.ly/3xYz" + SAFE_TAIL)
    check = result(version, "phishing.shorteners")
    assert not check.passed
    assert check.details == ("https://bit.ly/3xYz (text)",)


REQUESTS = [
    "Please enter your password and the one-time code we sent you on the page below.",
    "Please email us your password.",
    "Reply with your card number to keep your account.",
    "Ange ditt lösenord och din engångskod på sidan nedan.",
    "Svara på detta mejl med ditt kortnummer.",
    "Введите пароль и код из СМС на странице ниже.",
    "Сообщите номер карты оператору.",
    "Silakan masukkan kata sandi dan kode OTP Anda.",
    "Kirimkan nomor kartu kredit Anda untuk verifikasi.",
]
STATEMENTS = [
    "The breach involved this information about you: name, email address, password and payment card details.",
    "We will never ask for your password, PIN, one-time codes or card number. Never share them with anyone.",
    "Vi kommer aldrig att be dig om ditt lösenord. Dela aldrig din engångskod eller ditt kortnummer med någon.",
    "Мы никогда не попросим вас сообщить пароль. Никому не сообщайте код из СМС и номер карты.",
    "Kami tidak akan pernah meminta kata sandi Anda. "
    "Jangan pernah memberikan kode OTP atau nomor kartu kepada siapa pun.",
]


@pytest.mark.parametrize("sentence", REQUESTS)
def test_requests_for_secrets_fail_in_every_language(make_notice: Callable[..., NoticeVersion], sentence: str) -> None:
    version = make_notice(text=EMAIL_TEXT + sentence + "\n")
    check = result(version, "phishing.credentials")
    assert not check.passed
    assert any(sentence in detail for detail in check.details)


@pytest.mark.parametrize("sentence", STATEMENTS)
def test_promises_never_to_ask_for_secrets_pass_in_every_language(
    make_notice: Callable[..., NoticeVersion], sentence: str
) -> None:
    version = make_notice(text=EMAIL_TEXT + sentence + "\n", html=EMAIL_HTML + f"<p>{sentence}</p>")
    assert result(version, "phishing.credentials").passed


def test_a_request_split_by_inline_html_is_still_found(make_notice: Callable[..., NoticeVersion]) -> None:
    version = html_version(make_notice, "<p>Please <strong>enter</strong> your <em>password</em> here.</p>")
    assert not result(version, "phishing.credentials").passed


def test_a_missing_reference_code_or_verification_link_fails(make_notice: Callable[..., NoticeVersion]) -> None:
    version = make_notice(channel=Channel.SMS, text="Your data was involved in a breach. Call us.")
    check = result(version, "phishing.reference_code")
    assert not check.passed
    assert len(check.details) == 2


def _requirements(
    seen: list[set[tuple[str, str]]],
) -> Callable[..., list[ContentRequirement]]:
    def requirements(*, places: Iterable[tuple[str, str]], language: str, extra: Iterable[str] = ()) -> Any:
        seen.append(set(places))
        return [
            ContentRequirement(
                "EU-GDPR", "EU GDPR", "contact", "A contact point.", "GDPR Art. 34(2)", (r"reference code",)
            ),
            ContentRequirement(
                "US-CA",
                "California",
                "what_happened",
                "Heading What Happened.",
                "Cal. Civ. Code 1798.82",
                ("What Happened",),
            ),
        ]

    return requirements


def test_required_content_names_the_rule_its_jurisdiction_and_source(
    make_notice: Callable[..., NoticeVersion], make_customer: Callable[..., Customer], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[set[tuple[str, str]]] = []
    monkeypatch.setattr("breachcomms.notices.checks.content_requirements_for", _requirements(seen))
    make_customer(country="SE", locale="sv-SE", language="sv")
    make_customer(country="US", subdivision="US-CA", locale="en-US")
    make_notice(locale="sv")
    version = make_notice(locale="en")
    gdpr = result(version, "content.EU-GDPR.contact")
    california = result(version, "content.US-CA.what_happened")
    assert gdpr.passed
    assert gdpr.source == "GDPR Art. 34(2)"
    assert not california.passed
    assert california.blocking
    assert california.source == "Cal. Civ. Code 1798.82"
    assert "Missing in Text body, HTML body" in california.message
    assert seen[-1] == {("US", "US-CA")}  # only the customers this English notice reaches


def test_rules_chosen_for_the_incident_apply_whatever_the_customers_places(
    make_notice: Callable[..., NoticeVersion], incident: Incident
) -> None:
    incident.extra_jurisdictions = ["US-HIPAA"]
    incident.save()
    results = [r for r in run_checks(make_notice()) if r.group == "content"]
    assert results
    assert {r.code.split(".")[1] for r in results} == {"US-HIPAA"}
    assert all(r.source for r in results)
    assert any(not r.passed for r in results)  # the fixture notice has none of HIPAA's elements


def test_an_unknown_chosen_rule_fails_the_content_check(
    make_notice: Callable[..., NoticeVersion], incident: Incident
) -> None:
    incident.extra_jurisdictions = ["XX-GONE"]
    incident.save()
    check = result(make_notice(), "content")
    assert not check.passed
    assert "XX-GONE" in check.message


def test_required_content_applies_to_the_initial_email_only(
    make_notice: Callable[..., NoticeVersion], campaign: Campaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("breachcomms.notices.checks.content_requirements_for", _requirements([]))
    sms = result(make_notice(channel=Channel.SMS), "content")
    assert sms.passed
    assert not sms.blocking
    campaign.kind = Campaign.Kind.FOLLOW_UP
    campaign.save()
    assert result(make_notice(locale="sv"), "content").passed


def test_coverage_fails_for_a_locale_without_an_approved_notice_and_states_fallbacks(
    make_notice: Callable[..., NoticeVersion], make_customer: Callable[..., Customer]
) -> None:
    make_customer(locale="sv-FI", language="sv", country="FI")
    make_customer(locale="ru-RU", language="ru", country="RU")
    swedish = make_notice(locale="sv")
    check = result(swedish, "coverage")
    assert not check.passed
    assert any(d.startswith("ru-RU: 1 customer has no approved notice (tried ru-RU → ru → en)") for d in check.details)
    english = make_notice(locale="en")
    NoticeVersion.objects.filter(pk=english.pk).update(status=NoticeVersion.Status.SUBMITTED)
    NoticeVersion.objects.filter(pk=english.pk).update(status=NoticeVersion.Status.APPROVED)
    check = result(NoticeVersion.objects.get(pk=swedish.pk), "coverage")
    assert check.passed
    assert "fallback: sv-FI → sv (1 customer)" in check.details
    assert "fallback: ru-RU → en (1 customer)" in check.details


def test_render_check_fails_for_a_segment_whose_customers_break_the_template(
    make_notice: Callable[..., NoticeVersion], make_customer: Callable[..., Customer]
) -> None:
    make_customer(accounts=["A-1"])
    make_customer(country="SE", locale="sv-SE", language="sv", accounts=[], risk_tier="high")
    version = make_notice(text=EMAIL_TEXT + "First account: {{ customer.accounts[0] }}\n")
    check = result(version, "render")
    assert not check.passed
    assert len(check.details) == 1
    assert check.details[0].startswith("SE/sv/high")


def test_render_check_counts_the_sample_customers(
    make_notice: Callable[..., NoticeVersion], make_customer: Callable[..., Customer]
) -> None:
    for _ in range(5):
        make_customer()
    make_customer(country="SE", locale="sv-SE", language="sv")
    check = result(make_notice(), "render")
    assert check.passed
    assert check.message == "Rendered for 4 sample customers."  # three of the first segment, one of the second


def test_a_long_sms_is_a_warning_not_a_blocker(make_notice: Callable[..., NoticeVersion]) -> None:
    version = make_notice(channel=Channel.SMS, locale="ru", text="Утечка данных. " * 20 + SAFE_TAIL)
    check = result(version, "sms.length")
    assert not check.passed
    assert not check.blocking
    assert "UCS-2" in check.message


def test_a_template_that_does_not_render_fails_every_safety_check(make_notice: Callable[..., NoticeVersion]) -> None:
    version = make_notice(text="{{ customer.nmae }}")
    results = [r for r in run_checks(version) if r.group == "phishing"]
    assert results
    assert all(not r.passed for r in results)
    assert "line 1" in results[0].message


def test_text_left_for_the_author_blocks_approval_until_it_is_written(
    make_notice: Callable[..., NoticeVersion],
) -> None:
    unfinished = make_notice(text=EMAIL_TEXT + "\nThe offer: [[who provides it,\nand until when]].")
    sms = make_notice(channel=Channel.SMS, text="Sign up by [[date]]." + SAFE_TAIL)

    check = result(unfinished, "placeholders")
    assert not check.passed
    assert check.blocking
    assert check.details == ("Text body: [[who provides it, and until when]]",)
    assert result(sms, "placeholders").details == ("SMS text: [[date]]",)
    assert result(make_notice("sv"), "placeholders").passed
