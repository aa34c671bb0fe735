"""Admin for the breach-notification rules: commanders correct them, authors read them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from breachcomms.jurisdictions.forms import JurisdictionAdminForm
from breachcomms.jurisdictions.models import DeadlineUnit, Jurisdiction
from breachcomms.jurisdictions.services import jurisdiction_delete, jurisdiction_save

_VIEW_ONLY = {"applies_to": "place_list", "required_content": "required_content_list"}


@admin.register(Jurisdiction)
class JurisdictionAdmin(admin.ModelAdmin):
    form = JurisdictionAdminForm
    list_display = [
        "code",
        "name",
        "deadline",
        "clock_start",
        "individuals_required",
        "by_selection",
        "needs_check",
        "as_of",
    ]
    list_display_links = ["code", "name"]
    list_filter = ["by_selection", "individuals_required", "needs_check", "deadline_unit", "clock_start", "as_of"]
    search_fields = ["code", "name", "notify", "applies_to", "source", "notes"]
    readonly_fields = ["updated_at"]
    fieldsets = [
        (None, {"fields": ["code", "name", "notify", "applies_to", "by_selection"]}),
        (_("Deadline"), {"fields": ["deadline_amount", "deadline_unit", "clock_start", "deadline_text"]}),
        (_("Threshold"), {"fields": ["threshold", "threshold_min_affected", "individuals_required"]}),
        (_("Notice content"), {"fields": ["required_content"]}),
        (_("Source"), {"fields": ["source", "as_of", "needs_check", "notes", "updated_at"]}),
    ]

    def get_fieldsets(self, request: HttpRequest, obj: Jurisdiction | None = None) -> Any:
        if obj is None or self.has_change_permission(request, obj):
            return self.fieldsets
        # Those who may only view read the lists and markers formatted, not as raw JSON.
        return [
            (name, {**options, "fields": [_VIEW_ONLY.get(str(field), field) for field in options["fields"]]})
            for name, options in self.fieldsets
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Jurisdiction | None = None) -> Any:
        if obj is None:
            return self.readonly_fields
        # Incidents name the rules chosen for them by code: renaming one would silently orphan them.
        if self.has_change_permission(request, obj):
            return [*self.readonly_fields, "code"]
        return [*self.readonly_fields, "code", *_VIEW_ONLY.values()]

    # Saves and deletes go through the services, which put every change on the audit trail.
    def save_model(self, request: HttpRequest, obj: Jurisdiction, form: ModelForm, change: bool) -> None:
        jurisdiction_save(jurisdiction=obj, user=request.user)

    def delete_model(self, request: HttpRequest, obj: Jurisdiction) -> None:
        jurisdiction_delete(jurisdiction=obj, user=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Jurisdiction]) -> None:
        with transaction.atomic():
            for jurisdiction in queryset:
                jurisdiction_delete(jurisdiction=jurisdiction, user=request.user)

    @admin.display(description=_("deadline"), ordering="deadline_amount")
    def deadline(self, obj: Jurisdiction) -> str:
        if obj.deadline_amount is None:
            return obj.deadline_text
        return gettext("%(amount)s %(unit)s") % {
            "amount": obj.deadline_amount,
            "unit": DeadlineUnit(obj.deadline_unit).label,
        }

    @admin.display(description=_("applies to"))
    def place_list(self, obj: Jurisdiction) -> str:
        if obj.by_selection:
            return gettext("Chosen per incident")
        return ", ".join(obj.applies_to) or self.get_empty_value_display()

    @admin.display(description=_("required content"))
    def required_content_list(self, obj: Jurisdiction) -> str:
        if not obj.required_content:
            return self.get_empty_value_display()
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li><strong>{}</strong>: {}<br><small>{}</small></li>",
                (
                    (
                        item["element"],
                        item["description"],
                        "; ".join(
                            f"{language}: {' | '.join(patterns)}" for language, patterns in item["markers"].items()
                        ),
                    )
                    for item in obj.required_content
                ),
            ),
        )
