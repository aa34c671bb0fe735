"""Incident admin: the facts of the incident, its risk rules, its segments and imports.

The admin is the top of the stack, so it may show what later apps know about an incident
(segments, imports) and apply risk rules through the recipients service that re-tiers customers.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from breachcomms.core.names import country_name, language_name
from breachcomms.incidents.categories import BY_CODE
from breachcomms.incidents.forms import IncidentAdminForm
from breachcomms.incidents.models import Incident
from breachcomms.incidents.risk import RiskTier
from breachcomms.recipients.models import CustomerImport
from breachcomms.recipients.selectors import SegmentRow, segment_list, segment_rows
from breachcomms.recipients.services import incident_risk_rules_update

RECENT_IMPORTS = 50
_VIEW_ONLY: dict[str, Any] = {
    "data_categories": "category_list",
    "allowed_link_domains": "link_domain_list",
    "rules": "risk_rule_list",
}


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    form = IncidentAdminForm
    list_display = ["title", "severity", "status", "customers_count", "created_at"]
    list_filter = ["status", "severity"]
    search_fields = ["title"]
    date_hierarchy = "created_at"
    fieldsets = [
        (
            _("Facts"),
            {
                "fields": [
                    "title",
                    "organization",
                    "description",
                    "severity",
                    "status",
                    "data_categories",
                    "default_locale",
                ]
            },
        ),
        (_("Timeline"), {"fields": ["occurred_at", "discovered_at", "aware_at", "determined_at"]}),
        (_("Support contacts"), {"fields": ["support_phone", "support_email", "support_website"]}),
        (_("Sender"), {"fields": ["sender_name", "sender_email"]}),
        (_("Link allow-list"), {"fields": ["allowed_link_domains"]}),
        (_("Regulations"), {"fields": ["extra_jurisdictions"]}),
        (_("Risk rules"), {"fields": ["rules"]}),
    ]

    def get_fieldsets(self, request: HttpRequest, obj: Incident | None = None) -> Any:
        if obj is None or self.has_change_permission(request, obj):
            return self.fieldsets
        # Those who may only view see the codes as labels.
        return [
            (name, {**options, "fields": [_VIEW_ONLY.get(str(field), field) for field in options["fields"]]})
            for name, options in self.fieldsets
        ]

    @admin.display(description=_("exposed data categories"))
    def category_list(self, obj: Incident) -> str:
        labels = [str(BY_CODE[code].label) for code in obj.data_categories if code in BY_CODE]
        return ", ".join(labels) or self.get_empty_value_display()

    @admin.display(description=_("allowed link domains"))
    def link_domain_list(self, obj: Incident) -> str:
        return ", ".join(obj.allowed_link_domains) or self.get_empty_value_display()

    @admin.display(description=_("risk rules"))
    def risk_rule_list(self, obj: Incident) -> str:
        rules = obj.risk_rules
        return format_html_join(
            mark_safe("<br>"),  # noqa: S308 - a constant
            "{}: {}",
            (
                (RiskTier(tier).label, ", ".join(str(BY_CODE[code].label) for code in rules.get(tier, [])))
                for tier in (RiskTier.HIGH, RiskTier.MEDIUM)
            ),
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Incident]:
        return super().get_queryset(request).annotate(customers_count=Count("customers"))

    @admin.display(description=_("customers"), ordering="customers_count")
    def customers_count(self, obj: Incident) -> int:
        return int(getattr(obj, "customers_count", 0))

    def save_model(self, request: HttpRequest, obj: Incident, form: ModelForm, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)
        assert isinstance(form, IncidentAdminForm)
        if form.risk_rules_changed:
            incident_risk_rules_update(incident=obj, rules=form.cleaned_data["rules"], actor=request.user)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = dict(extra_context or {})
        incident = self.get_object(request, object_id)
        if incident is not None:
            context.update(self._related_context(request, incident))
        return super().change_view(request, object_id, form_url, extra_context=context)

    def _related_context(self, request: HttpRequest, incident: Incident) -> dict[str, Any]:
        user = request.user
        context: dict[str, Any] = {
            "can_import": user.has_perm("recipients.add_customerimport"),
            "can_view_imports": user.has_perm("recipients.view_customerimport"),
            "can_view_segments": user.has_perm("recipients.view_customer"),
        }
        if context["can_view_segments"]:
            rows = segment_rows(segment_list(incident=incident))
            largest = max((row.customers for row in rows), default=1)
            context["segment_rows"] = [_segment_row(row, largest) for row in rows]
            context["segment_tiers"] = [RiskTier.HIGH.label, RiskTier.MEDIUM.label, RiskTier.LOW.label]
            context["segment_totals"] = [sum(r.tiers[i] for r in rows) for i in range(3)]
            context["segments_total"] = sum(context["segment_totals"])
        if context["can_view_imports"]:
            context["imports"] = CustomerImport.objects.filter(incident=incident)[:RECENT_IMPORTS]
        return context


def _segment_row(row: SegmentRow, largest: int) -> dict[str, Any]:
    """A segment row for the template: names in the reader's language, and the widths (percent of
    the largest row) of its bar's high, medium and low parts."""
    return {
        "country": row.country,
        "country_name": country_name(row.country),
        "language": row.language,
        "language_name": language_name(row.language),
        "tiers": row.tiers,
        "customers": row.customers,
        "bar": [f"{100 * n / largest:.2f}" for n in row.tiers],
    }
