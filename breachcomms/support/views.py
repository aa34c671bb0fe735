"""The support desk's pages: search, and one customer. Login and the support-desk permission required.

Read only: the search is a POST (so what was searched for stays out of URLs and server logs, and carries
a CSRF token), everything else is GET. Every customer shown is recorded in the audit trail.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import admin
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from breachcomms.support.forms import SearchForm
from breachcomms.support.search import customer_search
from breachcomms.support.selectors import customer_profile
from breachcomms.support.services import support_lookup_record
from breachcomms.support.talking_points import talking_points

PERMISSION = "support.use_supportdesk"
KIND_LABELS = {
    "email": gettext_lazy("email"),
    "phone": gettext_lazy("phone"),
    "ref": gettext_lazy("customer reference"),
    "code": gettext_lazy("reference code"),
}
View = Callable[..., HttpResponse]


def support_view(view: View) -> View:
    """Logged in (else to the login page) and allowed to use the desk (else 403)."""
    guarded = permission_required(PERMISSION, raise_exception=True)(view)
    return wraps(view)(login_required(guarded, login_url=reverse_lazy("admin:login")))


def page_context(request: HttpRequest) -> dict[str, Any]:
    """What the admin's base template needs, without the nav sidebar's app list (a permission check per
    registered model on every page; these pages have their own navigation)."""
    site = admin.site
    return {
        "site_title": site.site_title,
        "site_header": site.site_header,
        "site_url": site.site_url,
        "has_permission": site.has_permission(request),
        "is_nav_sidebar_enabled": False,
        "is_popup": False,
    }


def _page(request: HttpRequest, template: str, title: str, **context: Any) -> HttpResponse:
    response = TemplateResponse(request, template, {**page_context(request), "title": title, **context})
    # Customer data: never kept by a browser or proxy cache.
    response["Cache-Control"] = "no-store, private"
    return response


@support_view
@require_http_methods(["GET", "POST"])
def search(request: HttpRequest) -> HttpResponse:
    """Find a customer by email, phone, reference code or customer reference."""
    form = SearchForm(request.POST or None)
    rows = None
    if request.method == "POST" and form.is_valid():
        incident = form.cleaned_data["incident"]
        keys, hits = customer_search(
            text=form.cleaned_data["query"],
            region=form.cleaned_data["region"],
            incident_ids=[incident] if incident else None,
        )
        support_lookup_record(user=request.user, customers=[h.customer for h in hits], view="search", kinds=keys.kinds)
        rows = [{"customer": h.customer, "matched": ", ".join(str(KIND_LABELS[k]) for k in h.matched)} for h in hits]
    return _page(request, "support/search.html", _("Support desk"), form=form, hits=rows)


@support_view
@require_GET
def customer(request: HttpRequest, customer_id: int) -> HttpResponse:
    """One customer: the incident, what was exposed, every notice with its timeline and verified content."""
    profile = customer_profile(customer_id=customer_id)
    if profile is None:
        raise Http404
    support_lookup_record(user=request.user, customers=[profile.customer], view="customer")
    points = talking_points(
        incident=profile.incident,
        exposed=profile.exposed,
        codes=[view.delivery.reference_code for view in profile.deliveries if view.delivery.sent_at],
    )
    title = profile.customer.name or _("Customer %(id)s") % {"id": profile.customer.id}
    return _page(request, "support/customer.html", title, profile=profile, points=points)
