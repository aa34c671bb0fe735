"""Delivery admin: plan and run waves (commanders), read the ledger and the suppression list (everyone)."""

from __future__ import annotations

import contextlib
from typing import Any

from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from breachcomms.core.admin import ReadOnlyAdmin
from breachcomms.delivery import admin_views
from breachcomms.delivery.audiences import describe_audience, validate_audience
from breachcomms.delivery.forms import SuppressionForm, WaveForm
from breachcomms.delivery.models import Delivery, DeliveryAttempt, Suppression, Wave, WaveAction
from breachcomms.delivery.references import InvalidReference, parse_reference
from breachcomms.delivery.selectors import wave_plan, wave_progress
from breachcomms.delivery.services import suppression_remove
from breachcomms.delivery.services.waves import LAUNCH_PERMISSION

RECENT_ACTIONS = 50
AUDIENCE_FIELDS = ("audience_kind", "audience_campaign", "audience_channel", "audience_program")


@admin.register(Wave)
class WaveAdmin(admin.ModelAdmin):
    form = WaveForm
    list_display = ["name", "campaign", "status_label", "channel_plan", "launched_at", "finished_at"]
    list_filter = ["status", "campaign__incident", "campaign"]
    list_select_related = ["campaign"]
    search_fields = ["name", "campaign__name"]
    fieldsets = [
        (None, {"fields": ["campaign", "name"]}),
        (_("Who"), {"fields": ["regions", "languages", "risk_tiers", "channel_plan", "fallback_locale"]}),
        (
            _("Follow-up audience"),
            {"fields": ["audience_kind", "audience_campaign", "audience_channel", "audience_program"]},
        ),
        (_("When and how fast"), {"fields": ["start_at", "email_per_minute", "sms_segments_per_second"]}),
        (_("Quiet hours (customer's local time)"), {"fields": ["window_start", "window_end", "region_cap_per_hour"]}),
        (_("Auto-halt"), {"fields": ["halt_window", "max_hard_bounce_rate", "max_failure_rate"]}),
    ]

    def has_delete_permission(self, request: HttpRequest, obj: Wave | None = None) -> bool:
        return obj is not None and obj.status == Wave.Status.DRAFT and super().has_delete_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Wave | None = None) -> bool:
        # Once launched a wave changes only through its actions (pause, resume, abort).
        if obj is not None and obj.status != Wave.Status.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    def get_fieldsets(self, request: HttpRequest, obj: Wave | None = None) -> Any:
        if obj is None or obj.status == Wave.Status.DRAFT and self.has_change_permission(request, obj):
            return self.fieldsets
        names = [field for _, options in self.fieldsets for field in options["fields"]]
        shown = [name for name in names if name not in ("regions", "languages", "risk_tiers", *AUDIENCE_FIELDS)]
        fields = ["status", "halt_reason", "segment_list", "audience_description", *shown, "launched_at", "finished_at"]
        return [(None, {"fields": fields})]

    def get_readonly_fields(self, request: HttpRequest, obj: Wave | None = None) -> Any:
        if obj is None or obj.status == Wave.Status.DRAFT and self.has_change_permission(request, obj):
            return []
        return [field for _, options in self.get_fieldsets(request, obj) for field in options["fields"]]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        campaign = str(request.GET.get("campaign", ""))
        if campaign.isdigit():
            initial["campaign"] = campaign
        return initial

    def save_model(self, request: HttpRequest, obj: Wave, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)

    @admin.display(description=_("status"), ordering="status")
    def status_label(self, obj: Wave) -> str:
        if obj.is_halted:
            return format_html('<strong class="wave-halted">{}</strong>', _("Halted"))
        if obj.status == Wave.Status.SCHEDULED and obj.start_at is not None:
            start = formats.date_format(timezone.localtime(obj.start_at), "SHORT_DATETIME_FORMAT")
            return gettext("Scheduled for %(start)s") % {"start": start}
        return str(obj.get_status_display())

    @admin.display(description=_("audience"))
    def audience_description(self, obj: Wave) -> str:
        return describe_audience(obj.audience)

    @admin.display(description=_("segments"))
    def segment_list(self, obj: Wave) -> str:
        if not obj.segments:
            return str(_("all customers"))
        return "; ".join(" · ".join(f"{k}={v}" for k, v in segment.items()) for segment in obj.segments)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        own = [
            path(
                f"<int:object_id>/{action}/", wrap(self.action_view), {"action": action}, name=f"delivery_wave_{action}"
            )
            for action in admin_views.ACTIONS
        ]
        return own + super().get_urls()

    def action_view(self, request: HttpRequest, object_id: int, action: str) -> HttpResponse:
        return admin_views.wave_action(request, model_admin=self, object_id=object_id, action=action)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = dict(extra_context or {})
        wave = self.get_object(request, object_id)
        if wave is not None:
            context.update(self.wave_context(request, wave))
        return super().change_view(request, object_id, form_url, extra_context=context)

    def wave_context(self, request: HttpRequest, wave: Wave) -> dict[str, Any]:
        can_act = request.user.has_perm(LAUNCH_PERMISSION)
        context: dict[str, Any] = {
            "wave": wave,
            "can_act": can_act,
            "audience_text": describe_audience(wave.audience),
            "audience_problems": validate_audience(wave.audience, wave=wave) if wave.audience else [],
            "actions": wave.actions.select_related("by")[:RECENT_ACTIONS],
            "action_urls": {a: reverse(f"admin:delivery_wave_{a}", args=[wave.pk]) for a in admin_views.ACTIONS},
            "deliveries_url": reverse("admin:delivery_delivery_changelist") + f"?wave__id__exact={wave.pk}",
        }
        # Paused before it ever ran: its scheduled launch was refused, it still has a plan and no rows.
        refused = wave.status == Wave.Status.PAUSED and wave.launched_at is None
        if wave.status in (Wave.Status.DRAFT, Wave.Status.SCHEDULED) or refused:
            # A malformed audience has no plan; its problems are shown instead.
            context["plan"] = None if context["audience_problems"] else wave_plan(wave=wave)
        else:
            context["progress"] = wave_progress(wave=wave)
        return context


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ["at", "outcome", "provider_status", "error", "provider_message_id"]
    readonly_fields = ["at", "outcome", "provider_status", "error", "provider_message_id"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "reference_code",
        "customer",
        "channel",
        "status",
        "address",
        "wave",
        "due_at",
        "sent_at",
        "attempts",
    ]
    list_filter = ["status", "channel", "wave__campaign", "wave"]
    list_select_related = ["customer", "wave"]
    search_fields = ["address"]
    search_help_text = _("A reference code (e.g. K7QX-M4PD-9TZA) or an exact address.")
    show_full_result_count = False
    inlines = [AttemptInline]
    fields = [
        "reference_code",
        "customer",
        "campaign",
        "wave",
        "channel",
        "address",
        "status",
        "due_at",
        "queued_at",
        "sent_at",
        "finished_at",
        "attempts",
        "last_error",
        "notice_version",
        "content_hash",
        "provider_message_id",
        "fallback_for",
    ]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Delivery], search_term: str
    ) -> tuple[QuerySet[Delivery], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        with contextlib.suppress(InvalidReference):
            return queryset.filter(reference=parse_reference(term)), False
        return queryset.filter(address__in={term, term.lower()}), False

    @admin.display(description=_("reference code"), ordering="reference")
    def reference_code(self, obj: Delivery) -> str:
        return obj.reference_code


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    form = SuppressionForm
    list_display = ["address", "channel", "reason", "incident", "source", "created_at"]
    list_filter = ["reason", "channel", "incident"]
    search_fields = ["address"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Suppression, form: Any, change: bool) -> None:
        obj.created_by = request.user  # type: ignore[assignment]
        obj.source = obj.source or f"admin: {request.user}"
        super().save_model(request, obj, form, change)

    # Lifting a suppression (the delete permission) goes through the service, so it is on the audit trail.
    def delete_model(self, request: HttpRequest, obj: Suppression) -> None:
        suppression_remove(suppression=obj, user=request.user, reason=gettext("Deleted in the admin."))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Suppression]) -> None:
        with transaction.atomic():
            for suppression in queryset:
                suppression_remove(suppression=suppression, user=request.user, reason=gettext("Deleted in the admin."))


@admin.register(WaveAction)
class WaveActionAdmin(ReadOnlyAdmin):
    list_display = ["wave", "kind", "by", "at", "reason"]
    list_filter = ["kind"]
    list_select_related = ["wave", "by"]
