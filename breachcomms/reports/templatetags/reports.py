"""Links to the reports from pages of other apps, and labels and times for the report pages.

``{% load reports %}``, then on the incident page ``{% incident_report_links original %}`` (inside the
object tools' ``<ul>``: it renders ``<li>`` items, only for users allowed to see the reports), and on the
support desk's customer page ``{% proof_of_notice_link profile.customer %}``. A tag rather than an import
keeps the dependency one way: the incident admin and the support desk do not import this app.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import template
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext

from breachcomms.incidents.models import Incident
from breachcomms.recipients.models import Customer

register = template.Library()

REPORT_PERMISSION = "reports.view_regulatorreport"
PROOF_PERMISSION = "reports.view_proofofnotice"


def _user(context: template.Context) -> Any:
    request = context.get("request")
    return getattr(request, "user", None) or context.get("user")


@register.simple_tag(takes_context=True)
def incident_report_links(context: template.Context, incident: Incident) -> SafeString:
    """``<li>`` links to the incident's regulator report (page and CSV), for users allowed to see it."""
    user = _user(context)
    if incident is None or user is None or not user.has_perm(REPORT_PERMISSION):
        return SafeString("")
    links = [
        (
            reverse("reports:regulator", args=[incident.pk]),
            "incident-regulator-report-link",
            gettext("Regulator report"),
        ),
        (
            reverse("reports:regulator-csv", args=[incident.pk]),
            "incident-regulator-csv-link",
            gettext("Regulator report (CSV)"),
        ),
    ]
    return format_html_join("", '<li><a href="{}" id="{}">{}</a></li>', links)


@register.simple_tag(takes_context=True)
def proof_of_notice_link(context: template.Context, customer: Customer) -> SafeString:
    """Links to the customer's proof of notice (page and JSON), for users allowed to see it."""
    user = _user(context)
    if customer is None or user is None or not user.has_perm(PROOF_PERMISSION):
        return SafeString("")
    return format_html(
        '<p class="proof-of-notice-links"><a href="{}" id="proof-of-notice-link">{}</a> · <a href="{}">{}</a></p>',
        reverse("reports:proof", args=[customer.pk]),
        gettext("Proof of notice (printable)"),
        reverse("reports:proof-json", args=[customer.pk]),
        gettext("Proof of notice (JSON)"),
    )


@register.simple_tag
def local_time(value: datetime | None) -> SafeString:
    """A time the page's script shows in the reader's own time zone and locale; UTC until it runs."""
    if value is None:
        return SafeString("—")
    utc = value.astimezone(UTC)
    return format_html(
        '<time datetime="{}" class="local-time">{} UTC</time>', utc.isoformat(), date_format(utc, "DATETIME_FORMAT")
    )


@register.filter
def not_reached_label(reason: str) -> str:
    labels = {
        "in_progress": gettext("still being sent"),
        "bounced": gettext("bounced"),
        "failed": gettext("failed"),
        "suppressed": gettext("address suppressed"),
        "cancelled": gettext("cancelled (wave aborted)"),
        "no_delivery": gettext("no notice planned (not in a wave yet, or no usable address)"),
    }
    return labels.get(reason, reason)


@register.filter
def verdict_label(verdict: str) -> str:
    labels = {
        "verified": gettext("Verified: re-rendered from the approved version, it has the hash recorded at sending."),
        "mismatch": gettext(
            "DOES NOT MATCH: re-rendered today, the content differs from the hash recorded at sending."
        ),
        "not_sent": gettext("Not sent."),
        "unrecorded": gettext("Sent or possibly sent, but the content sent was not recorded."),
        "failed": gettext("The approved version no longer renders for this customer."),
    }
    return labels.get(verdict, verdict)


@register.filter
def lookup(mapping: Any, key: Any) -> Any:
    """``mapping[key]``, or 0 when it has none."""
    return mapping.get(key, 0) if hasattr(mapping, "get") else 0
