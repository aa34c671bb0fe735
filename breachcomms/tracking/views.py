"""The commander's dashboard: every incident's waves at a glance, refreshing itself while waves run."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from breachcomms.delivery.models import DeliveryStatus
from breachcomms.incidents.models import Incident
from breachcomms.tracking.charts import Series, line_chart
from breachcomms.tracking.selectors import STATUS_ORDER, IncidentDashboard, incident_dashboard

PERMISSION = "tracking.view_dashboard"
View = Callable[..., HttpResponse]
COLORS = {"sent": "#4a6fa5", "delivered": "#2e7d32", "bounced": "#c77700", "failed": "#b00020"}
UNITS = {"minute": gettext_lazy("per minute"), "hour": gettext_lazy("per hour"), "day": gettext_lazy("per day")}


def dashboard_view(view: View) -> View:
    guarded = permission_required(PERMISSION, raise_exception=True)(view)
    return wraps(view)(login_required(guarded, login_url=reverse_lazy("admin:login")))


@dashboard_view
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """The incidents, newest first."""
    context = {
        **admin.site.each_context(request),
        "title": _("Delivery dashboard"),
        "incidents": Incident.objects.all(),
    }
    return TemplateResponse(request, "tracking/index.html", context)


@dashboard_view
@require_GET
def incident(request: HttpRequest, incident_id: int) -> HttpResponse:
    """One incident's waves, charts and legal deadlines."""
    found = get_object_or_404(Incident, pk=incident_id)
    context = {
        **admin.site.each_context(request),
        "title": _("Dashboard: %(incident)s") % {"incident": found.title},
        "incident": found,
        "refresh_seconds": settings.BREACHCOMMS_DASHBOARD_REFRESH_SECONDS,
        **_body_context(incident_dashboard(incident=found)),
    }
    return TemplateResponse(request, "tracking/dashboard.html", context)


@dashboard_view
@require_GET
def incident_data(request: HttpRequest, incident_id: int) -> JsonResponse:
    """What the page polls: the refreshed body, and whether to keep polling."""
    found = get_object_or_404(Incident, pk=incident_id)
    dashboard = incident_dashboard(incident=found)
    html = render_to_string("tracking/_body.html", _body_context(dashboard), request=request)
    return JsonResponse({"html": html, "running": dashboard.running, "generated_at": dashboard.generated_at})


def _body_context(dashboard: IncidentDashboard) -> dict[str, Any]:
    timeline = dashboard.timeline
    unit = str(UNITS[timeline.unit])
    counts = line_chart(
        title=_("Notices %(unit)s") % {"unit": unit},
        buckets=timeline.buckets,
        series=[Series(str(DeliveryStatus(o).label), timeline.counts[o], COLORS[o]) for o in COLORS],
    )
    rates = line_chart(
        title=_("Share of finished notices that bounced or failed, so far"),
        buckets=timeline.buckets,
        series=[
            Series(str(DeliveryStatus(o).label), timeline.cumulative_rate(o), COLORS[o]) for o in ("bounced", "failed")
        ],
        unit="%",
    )
    return {
        "dashboard": dashboard,
        "statuses": [DeliveryStatus(s).label for s in STATUS_ORDER],
        "counts_chart": counts,
        "rates_chart": rates,
    }
