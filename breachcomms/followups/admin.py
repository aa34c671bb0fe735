"""Admin for follow-ups: plan one (its occurrences are made at once), see each occurrence's campaign
and wave, and schedule the occurrences whose texts are approved."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.formats import localize
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.timezone import localtime
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from breachcomms.delivery.audiences import describe_audience
from breachcomms.followups.models import FollowUp, FollowUpOccurrence
from breachcomms.followups.selectors import FOLDERS, follow_up_audience
from breachcomms.followups.services import (
    FIXED_FIELDS,
    follow_up_create,
    follow_up_schedule_ready,
    follow_up_update,
)
from breachcomms.notices.shipped import FOLDER_LABELS
from breachcomms.recipients.models import Enrolment

SCHEDULE_PERMISSION = "delivery.launch_wave"
PLAN_FIELDS = (
    "kind",
    "anchor",
    "base_campaign",
    "offset_days",
    "repeat_count",
    "repeat_every_days",
    "audience_kind",
    "audience_channel",
    "audience_program",
    "segments",
    "folder",
    "channel_plan",
    "fallback_locale",
    "email_per_minute",
    "sms_segments_per_second",
    "window_start",
    "window_end",
    "region_cap_per_hour",
)


class FollowUpForm(forms.ModelForm):
    folder = forms.ChoiceField(
        label=capfirst(_("texts")),
        required=False,
        choices=[("", _("Chosen by the kind and the audience")), *((f, FOLDER_LABELS[f]) for f in FOLDERS)],
        help_text=_("The shipped texts the drafts start from; a security-tips series moves on to the next tip."),
    )
    audience_program = forms.ChoiceField(
        label=capfirst(_("programme")),
        required=False,
        choices=[("", "—"), *Enrolment.Program.choices],
        help_text=_("For “not yet enrolled”: the programme."),
    )

    class Meta:
        model = FollowUp
        fields = ["incident", "name", *PLAN_FIELDS]


class OccurrenceInline(admin.TabularInline):
    model = FollowUpOccurrence
    extra = 0
    can_delete = False
    fields = ("number", "texts", "campaign_link", "wave_link", "status", "start")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("followups.view_followup")

    def get_queryset(self, request: HttpRequest) -> QuerySet[FollowUpOccurrence]:
        return super().get_queryset(request).select_related("campaign", "wave")

    @admin.display(description=_("texts"))
    def texts(self, obj: FollowUpOccurrence) -> str:
        return str(FOLDER_LABELS.get(obj.folder, obj.folder))

    @admin.display(description=_("campaign"))
    def campaign_link(self, obj: FollowUpOccurrence) -> str:
        url = reverse("admin:notices_campaign_change", args=[obj.campaign_id])
        return format_html('<a href="{}">{}</a>', url, obj.campaign.name)

    @admin.display(description=_("wave"))
    def wave_link(self, obj: FollowUpOccurrence) -> str:
        url = reverse("admin:delivery_wave_change", args=[obj.wave_id])
        return format_html('<a href="{}">{}</a>', url, obj.wave.name)

    @admin.display(description=_("status"))
    def status(self, obj: FollowUpOccurrence) -> str:
        return str(obj.wave.get_status_display())

    @admin.display(description=_("start"))
    def start(self, obj: FollowUpOccurrence) -> str:
        if obj.wave.start_at is None:
            return gettext("not known yet")
        return str(localize(localtime(obj.wave.start_at)))


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
    form = FollowUpForm
    list_display = ["name", "incident", "kind", "anchor", "offset_days", "repeat_count", "audience"]
    list_filter = ["incident", "kind"]
    list_select_related = ["incident", "base_campaign"]
    inlines = [OccurrenceInline]
    actions = ["schedule_ready"]
    fieldsets = [
        (None, {"fields": ["incident", "name", "kind", "folder"]}),
        (_("When"), {"fields": ["anchor", "base_campaign", "offset_days", "repeat_count", "repeat_every_days"]}),
        (_("Who"), {"fields": ["audience_kind", "audience_channel", "audience_program", "segments"]}),
        (
            _("How (copied to each occurrence's wave)"),
            {
                "fields": [
                    "channel_plan",
                    "fallback_locale",
                    "email_per_minute",
                    "sms_segments_per_second",
                    "window_start",
                    "window_end",
                    "region_cap_per_hour",
                ]
            },
        ),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return list(FIXED_FIELDS) if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_schedule_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(SCHEDULE_PERMISSION)

    @admin.display(description=_("audience"))
    def audience(self, obj: FollowUp) -> str:
        return describe_audience(follow_up_audience(follow_up=obj))

    def save_model(self, request: HttpRequest, obj: FollowUp, form: forms.ModelForm, change: bool) -> None:
        """Through the services: a new plan gets its occurrences, a changed one moves its draft waves."""
        if change:
            changes = {name: getattr(obj, name) for name in form.changed_data if name not in FIXED_FIELDS}
            follow_up_update(follow_up=obj, user=request.user, changes=changes)
            return
        created = follow_up_create(
            incident=obj.incident,
            name=obj.name,
            user=request.user,
            **{name: getattr(obj, name) for name in PLAN_FIELDS},
        )
        obj.pk = created.pk
        obj._state.adding = False

    @admin.action(description=_("Schedule the approved occurrences"), permissions=["schedule"])
    def schedule_ready(self, request: HttpRequest, queryset: QuerySet[FollowUp]) -> None:
        for follow_up in queryset:
            try:
                report = follow_up_schedule_ready(follow_up=follow_up, user=request.user)
            except PermissionDenied as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return
            if report.scheduled:
                count = len(report.scheduled)
                message = ngettext(
                    "%(name)s: %(count)s occurrence scheduled.", "%(name)s: %(count)s occurrences scheduled.", count
                ) % {"name": follow_up.name, "count": count}
                self.message_user(request, message, messages.SUCCESS)
            for number, problems in sorted(report.waiting.items()):
                message = gettext("%(name)s, occurrence %(number)s waits: %(problems)s") % {
                    "name": follow_up.name,
                    "number": number,
                    "problems": " ".join(problems),
                }
                self.message_user(request, message, messages.WARNING)
