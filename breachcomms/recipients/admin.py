"""Read-only admin for customers and customer imports; uploads go through a custom admin view."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_permission_codename
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template.defaultfilters import filesizeformat
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from breachcomms.core.admin import ReadOnlyAdmin
from breachcomms.incidents.categories import BY_CODE
from breachcomms.incidents.risk import RiskTier
from breachcomms.recipients import (
    incident_admin,  # noqa: F401 - registers the Incident admin
    views,
)
from breachcomms.recipients.models import Customer, CustomerImport, CustomerKey, ImportIssue
from breachcomms.recipients.selectors import customer_known_as, customer_search

ISSUES_SHOWN = 100


@admin.register(CustomerImport)
class CustomerImportAdmin(ReadOnlyAdmin):
    list_display = ["original_name", "incident", "status", "progress", "summary", "created_at"]
    list_filter = ["status", "incident"]
    list_select_related = ["incident"]
    fieldsets = [
        (None, {"fields": ["incident", "original_name", "format", "encoding", "size", "uploaded_by"]}),
        (_("Timeline"), {"fields": ["created_at", "started_at", "finished_at", "error"]}),
    ]
    readonly_fields = ["size", "progress", "summary"]

    def has_upload_permission(self, request: HttpRequest) -> bool:
        """Uploading a file is adding an import, through the upload view instead of the add form."""
        codename = get_permission_codename("add", self.opts)
        return request.user.has_perm(f"{self.opts.app_label}.{codename}")

    def has_issue_view_permission(self, request: HttpRequest) -> bool:
        opts = ImportIssue._meta
        return request.user.has_perm(f"{opts.app_label}.{get_permission_codename('view', opts)}")

    @admin.display(description=_("size"))
    def size(self, obj: CustomerImport) -> str:
        return filesizeformat(obj.size_bytes)

    @admin.display(description=_("progress"))
    def progress(self, obj: CustomerImport) -> str:
        return format_html(
            '<progress max="100" value="{}">{}%</progress> {}%', obj.percent_done, obj.percent_done, obj.percent_done
        )

    @admin.display(description=_("summary"))
    def summary(self, obj: CustomerImport) -> str:
        return obj.summary_display

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        info = (self.opts.app_label, self.opts.model_name)
        own: list[URLPattern] = [
            path(
                "upload/<int:incident_id>/",
                wrap(self.upload_view),
                name="{}_{}_upload".format(*info),
            ),
            path("<int:object_id>/progress/", wrap(self.progress_view), name="{}_{}_progress".format(*info)),
            path("<int:object_id>/issues.csv", wrap(self.issues_view), name="{}_{}_issues".format(*info)),
        ]
        return own + super().get_urls()

    def upload_view(self, request: HttpRequest, incident_id: int) -> HttpResponse:
        return views.customer_import_upload(request, model_admin=self, incident_id=incident_id)

    def progress_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        return views.customer_import_progress(request, model_admin=self, object_id=object_id)

    def issues_view(self, request: HttpRequest, object_id: int) -> HttpResponseBase:
        return views.customer_import_issues(request, model_admin=self, object_id=object_id)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = dict(extra_context or {})
        customer_import = self.get_object(request, object_id)
        if customer_import is not None:
            context.update(self._import_context(request, customer_import))
        return super().change_view(request, object_id, form_url, extra_context=context)

    def _import_context(self, request: HttpRequest, customer_import: CustomerImport) -> dict[str, Any]:
        pk = customer_import.pk
        context: dict[str, Any] = {
            "progress_url": reverse("admin:recipients_customerimport_progress", args=[pk]),
            "polling": customer_import.status in views.UNFINISHED,
            "can_view_issues": self.has_issue_view_permission(request),
        }
        if context["can_view_issues"]:
            issues = ImportIssue.objects.filter(customer_import=customer_import)
            context["issues"] = issues.order_by("line", "id")[:ISSUES_SHOWN]
            context["issues_total"] = issues.count()
            context["issues_shown"] = ISSUES_SHOWN
            context["issues_csv_url"] = reverse("admin:recipients_customerimport_issues", args=[pk])
        return context


def category_labels(codes: list[str]) -> str:
    return ", ".join(str(BY_CODE[code].label) for code in codes)


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "email", "phone", "country", "language", "risk_tier", "incident"]
    list_filter = ["incident", "risk_tier", "country", "language"]
    list_select_related = ["incident"]
    search_fields = ["name", "email", "phone"]
    search_help_text = _("Email, phone (any format), customer reference or part of the name.")
    show_full_result_count = False
    fieldsets = [
        (None, {"fields": ["incident", "name", "email", "phone", "known_keys", "external_refs", "accounts"]}),
        (_("Locale"), {"fields": ["country", "subdivision", "locale", "language", "time_zone"]}),
        (_("Exposure and risk"), {"fields": ["exposure_list", "risk_tier", "risk_reason"]}),
        (_("Other"), {"fields": ["attributes", "created_at", "updated_at"]}),
    ]
    readonly_fields = ["known_keys", "exposure_list", "risk_reason"]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Customer], search_term: str
    ) -> tuple[QuerySet[Customer], bool]:
        return customer_search(queryset=queryset, term=search_term), False

    @admin.display(description=_("exposed data"))
    def exposure_list(self, obj: Customer) -> str:
        return category_labels(obj.exposures) or gettext("none recorded")

    @admin.display(description=_("why this risk tier"))
    def risk_reason(self, obj: Customer) -> str:
        tier = RiskTier(obj.risk_tier).label
        if obj.risk_tier == RiskTier.LOW:
            return gettext("%(tier)s: no exposed category is in the high or medium rules") % {"tier": tier}
        return gettext("%(tier)s, because of: %(categories)s") % {
            "tier": tier,
            "categories": category_labels(obj.risk_basis),
        }

    @admin.display(description=_("known as"))
    def known_keys(self, obj: Customer) -> str:
        kinds = dict(CustomerKey.Kind.choices)
        return ", ".join(f"{kinds[kind]}: {value}" for kind, value in customer_known_as(customer=obj))


from breachcomms.recipients import enrolment_admin  # noqa: E402, F401 - registers the Enrolment admin
