"""The public verification page: no login, rate-limited, the same response time for every code.

GET shows the form (prefilled with ``?code=`` from a notice's link); POST looks the code up. The page
says whether the code is ours, what the notice was about and when it was sent, and how to reach the
organisation; it never shows more personal data than the visitor typed (at most: "yes, it was sent to
the address you entered").
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.http import require_http_methods
from django_ratelimit.core import get_usage

from breachcomms.delivery.models import Channel
from breachcomms.notices.models import Campaign
from breachcomms.verification.client import rate_limit_key
from breachcomms.verification.forms import VerifyForm
from breachcomms.verification.selectors import ContactMatch, VerifiedNotice, contact_match, notice_for_reference

logger = logging.getLogger(__name__)
TEMPLATE = "verification/verify.html"
RATE_LIMIT_GROUP = "verification.lookup"


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """The form, and the answer for a submitted code."""
    language = _language(request)
    nonce = secrets.token_urlsafe(16)
    with translation.override(language):
        if request.method == "POST":
            response = _lookup(request, nonce)
        else:
            form = VerifyForm(initial={"code": request.GET.get("code", "")[:40]})
            response = _page(request, form, nonce, code=form.initial["code"])
    return _secured(response, nonce, language)


def _language(request: HttpRequest) -> str:
    """``?lang=`` (the switcher) wins over the language LocaleMiddleware chose from Accept-Language."""
    wanted = request.GET.get("lang", "")
    available = {code for code, _name in settings.LANGUAGES}
    return wanted if wanted in available else translation.get_language() or settings.LANGUAGE_CODE


def _lookup(request: HttpRequest, nonce: str) -> HttpResponse:
    usage = _rate_limit(request)
    if usage is not None and usage["should_limit"]:
        response = _page(request, VerifyForm(), nonce, status=429, limited=True)
        response["Retry-After"] = str(max(1, int(usage.get("time_left", 60))))
        return response
    with _at_least(float(settings.BREACHCOMMS_VERIFY_MIN_SECONDS)):
        form = VerifyForm(request.POST)
        result = None
        if form.is_valid():
            notice = notice_for_reference(reference=form.cleaned_data["code"])
            result = _result(notice, contact_match(notice, form.cleaned_data["contact"]) if notice else None)
        return _page(request, form, nonce, code=request.POST.get("code", "")[:40], result=result)


def _rate_limit(request: HttpRequest) -> dict[str, Any] | None:
    try:
        return get_usage(
            request,
            group=RATE_LIMIT_GROUP,
            key=rate_limit_key,
            rate=settings.BREACHCOMMS_VERIFY_RATE,
            method="POST",
            increment=True,
        )
    except Exception:
        # The cache is down: serving the page beats refusing everyone; codes are unguessable anyway.
        logger.exception("verification rate limit unavailable; answering without it")
        return None


@contextmanager
def _at_least(seconds: float) -> Iterator[None]:
    """Make the block take at least ``seconds``, so answers cannot be told apart by their timing."""
    started = time.monotonic()
    try:
        yield
    finally:
        remaining = seconds - (time.monotonic() - started)
        if remaining > 0:
            time.sleep(remaining)


def _result(notice: VerifiedNotice | None, match: ContactMatch | None) -> dict[str, Any]:
    if notice is None:
        return {"genuine": False, "contacts": _installation_contacts()}
    return {
        "genuine": True,
        "organization": notice.organization,
        "title": notice.incident_title,
        "kind": _label(Campaign.Kind, notice.campaign_kind),
        "channel": _label(Channel, notice.channel),
        "is_sms": notice.channel == Channel.SMS,
        "sent_on": _date(notice),
        "match": match.value if match else ContactMatch.NOT_GIVEN.value,
        "contacts": {
            "phone": notice.support_phone,
            "email": notice.support_email,
            "website": notice.support_website,
        },
    }


def _label(choices: Any, value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


def _date(notice: VerifiedNotice) -> str:
    """The day it was sent, in the customer's time zone, in the visitor's language."""
    try:
        zone = ZoneInfo(notice.time_zone or "UTC")
    except (ValueError, KeyError):
        zone = ZoneInfo("UTC")
    locale = Locale.parse(translation.get_language() or "en", sep="-")
    return format_date(notice.sent_at.astimezone(zone), format="long", locale=locale)


def _installation_contacts() -> dict[str, str]:
    return {
        "phone": settings.BREACHCOMMS_VERIFY_CONTACT_PHONE,
        "email": settings.BREACHCOMMS_VERIFY_CONTACT_EMAIL,
        "website": settings.BREACHCOMMS_VERIFY_CONTACT_WEBSITE,
    }


def _page(
    request: HttpRequest,
    form: VerifyForm,
    nonce: str,
    *,
    code: str = "",
    result: dict[str, Any] | None = None,
    status: int = 200,
    limited: bool = False,
) -> HttpResponse:
    current = translation.get_language()
    languages = [
        {"code": lang, "name": name, "current": lang == current, "query": urlencode(_query(lang, code))}
        for lang, name in settings.LANGUAGES
    ]
    context = {
        "form": form,
        "result": result,
        "limited": limited,
        "languages": languages,
        "action_query": urlencode({"lang": current}),
        "nonce": nonce,
    }
    return render(request, TEMPLATE, context, status=status)


def _query(language: str, code: str) -> dict[str, str]:
    return {"lang": language, "code": code} if code else {"lang": language}


def _secured(response: HttpResponse, nonce: str, language: str) -> HttpResponse:
    """A public page that loads nothing from anywhere and tells the sites it links to nothing."""
    response["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
    # The code is in the URL: no referrer to other sites. Same-origin keeps the Origin header the CSRF check needs.
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "no-store"
    response["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
    response["Cross-Origin-Opener-Policy"] = "same-origin"
    response["Content-Language"] = language
    return response
