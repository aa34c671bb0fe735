"""Regulator reports (per incident, by jurisdiction) and proof of notice (per customer), as printable pages and
downloads. Login required; regulator reports need ``reports.view_regulatorreport`` (commanders), proof of
notice ``reports.view_proofofnotice`` (commanders and support staff). Every export is on the audit trail.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from functools import wraps
from typing import Any, TypeVar

from django.contrib import admin
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from breachcomms.incidents.models import Incident
from breachcomms.jurisdictions.models import Jurisdiction
from breachcomms.notices.models import Campaign
from breachcomms.reports.proof import customer_proof, proof_as_json
from breachcomms.reports.selectors import (
    NOT_REACHED_REASONS,
    STATUS_COLUMNS,
    jurisdiction_deliveries,
    regulator_csv_rows,
    regulator_report,
    report_campaigns,
)
from breachcomms.reports.services import proof_export_record, report_export_record

REPORT_PERMISSION = "reports.view_regulatorreport"
PROOF_PERMISSION = "reports.view_proofofnotice"
View = Callable[..., Any]
R = TypeVar("R", HttpResponse, StreamingHttpResponse)


def _guarded(permission: str) -> Callable[[View], View]:
    """Logged in (else to the login page) and holding the permission (else 403)."""

    def decorate(view: View) -> View:
        guarded = permission_required(permission, raise_exception=True)(view)
        return wraps(view)(login_required(guarded, login_url=reverse_lazy("admin:login")))

    return decorate


def _private(response: R) -> R:
    # Personal data: never kept by a browser or proxy cache.
    response["Cache-Control"] = "no-store, private"
    return response


def _page(request: HttpRequest, template: str, title: str, **context: Any) -> HttpResponse:
    site = admin.site
    base = {"site_title": site.site_title, "site_header": site.site_header, "title": title}
    return _private(TemplateResponse(request, template, {**base, **context}))


def _campaigns(request: HttpRequest, incident: Incident) -> list[Campaign]:
    raw = request.GET.get("campaign", "")
    if not raw:
        return report_campaigns(incident=incident)
    if not raw.isdigit():
        raise Http404
    campaigns = report_campaigns(incident=incident, campaign_id=int(raw))
    if not campaigns:
        raise Http404
    return campaigns


class _Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


# A cell a spreadsheet would run as a formula: = @ tab CR first, or + - not followed by a plain number
# (a phone number such as +46701234567 stays as it is).
_FORMULA = re.compile(r"^(?:[=@\t\r]|[+-](?![\d .()/-]*$))")


def _safe_cell(value: str) -> str:
    return "'" + value if _FORMULA.match(value) else value


def _csv_lines(rows: Iterable[list[str]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow([_safe_cell(cell) for cell in row])


def _filename(stem: str, extension: str) -> str:
    return f'attachment; filename="{stem}-{timezone.now():%Y%m%d-%H%M}.{extension}"'


@_guarded(REPORT_PERMISSION)
@require_GET
def regulator(request: HttpRequest, incident_id: int) -> HttpResponse:
    """The printable regulator report of an incident."""
    incident = get_object_or_404(Incident, pk=incident_id)
    campaigns = _campaigns(request, incident)
    data = regulator_report(incident=incident, campaigns=campaigns)
    report_export_record(user=request.user, incident=incident, campaigns=campaigns, export_format="html")
    return _page(
        request,
        "reports/regulator.html",
        _("Regulator report: %(incident)s") % {"incident": incident.title},
        data=data,
        reasons=NOT_REACHED_REASONS,
        statuses=STATUS_COLUMNS,
        all_campaigns=Campaign.objects.filter(incident=incident),
        campaign_query=request.GET.get("campaign", ""),
    )


@_guarded(REPORT_PERMISSION)
@require_GET
def regulator_csv(request: HttpRequest, incident_id: int) -> StreamingHttpResponse:
    """The regulator report as CSV: one row per jurisdiction × channel × notice version."""
    incident = get_object_or_404(Incident, pk=incident_id)
    campaigns = _campaigns(request, incident)
    data = regulator_report(incident=incident, campaigns=campaigns)
    report_export_record(user=request.user, incident=incident, campaigns=campaigns, export_format="csv")
    response = StreamingHttpResponse(_csv_lines(regulator_csv_rows(data)), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = _filename(f"regulator-report-{incident.id}", "csv")
    return _private(response)


@_guarded(REPORT_PERMISSION)
@require_GET
def jurisdiction_csv(request: HttpRequest, incident_id: int, code: str) -> StreamingHttpResponse:
    """Every delivery of one jurisdiction's residents, streamed (a million rows in constant memory)."""
    incident = get_object_or_404(Incident, pk=incident_id)
    jurisdiction = get_object_or_404(Jurisdiction, code=code)
    campaigns = _campaigns(request, incident)
    report_export_record(
        user=request.user,
        incident=incident,
        campaigns=campaigns,
        export_format="deliveries_csv",
        jurisdiction=jurisdiction.code,
    )
    rows = jurisdiction_deliveries(incident=incident, jurisdiction=jurisdiction, campaigns=campaigns)
    response = StreamingHttpResponse(_csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = _filename(f"deliveries-{incident.id}-{jurisdiction.code}", "csv")
    return _private(response)


@_guarded(PROOF_PERMISSION)
@require_GET
def proof(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The printable proof of notice of one customer."""
    found = customer_proof(customer_id=customer_id)
    if found is None:
        raise Http404
    proof_export_record(
        user=request.user, customer=found.customer, export_format="html", deliveries=len(found.deliveries)
    )
    name = found.customer.name or _("Customer %(id)s") % {"id": found.customer.id}
    return _page(request, "reports/proof.html", _("Proof of notice: %(name)s") % {"name": name}, proof=found)


@_guarded(PROOF_PERMISSION)
@require_GET
def proof_json(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The proof of notice of one customer as JSON."""
    found = customer_proof(customer_id=customer_id)
    if found is None:
        raise Http404
    proof_export_record(
        user=request.user, customer=found.customer, export_format="json", deliveries=len(found.deliveries)
    )
    response = JsonResponse(proof_as_json(found), json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = _filename(f"proof-of-notice-{found.customer.id}", "json")
    return _private(response)
