"""Admin for campaigns and notice versions. Drafts are edited here; everything else is read-only and
changes only through the workflow buttons, which call the services."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from breachcomms.channels.segments import WARN_ABOVE_SEGMENTS, sms_info
from breachcomms.notices import views
from breachcomms.notices.checks import CheckSubject, check_subject
from breachcomms.notices.context import sample_recipient, sample_reference_code
from breachcomms.notices.forms import CampaignAddForm, NoticeAddForm, NoticeVersionForm
from breachcomms.notices.models import Approval, Campaign, Channel, NoticeVersion
from breachcomms.notices.reference import verify_url
from breachcomms.notices.selectors import campaign_coverage, campaign_notice_rows, version_writer_ids
from breachcomms.notices.services import (
    campaign_create,
    campaign_create_from_shipped,
    campaign_rename,
    notice_version_update_draft,
)

Status = NoticeVersion.Status


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "incident", "kind", "created_at"]
    list_filter = ["kind", "incident"]
    list_select_related = ["incident"]
    search_fields = ["name", "incident__title"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = CampaignAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["incident", "kind", "name", "from_shipped"]
        return ["incident", "kind", "name", "created_by", "created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["incident", "kind", "created_by", "created_at"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Campaign, form: ModelForm, change: bool) -> None:
        if change:
            campaign_rename(campaign=obj, name=obj.name, user=_user(request))
            return
        create = campaign_create_from_shipped if form.cleaned_data.get("from_shipped") else campaign_create
        created = create(incident=obj.incident, kind=obj.kind, name=obj.name, created_by=_user(request))
        obj.pk, obj.created_at, obj.name = created.pk, created.created_at, created.name

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        own = [
            path(
                "<int:object_id>/add-notice/",
                wrap(partial(views.campaign_add_notice, model_admin=self)),
                name="notices_campaign_add_notice",
            )
        ]
        return own + super().get_urls()

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = dict(extra_context or {})
        campaign = self.get_object(request, object_id)
        if campaign is not None:
            context["notice_rows"] = campaign_notice_rows(campaign=campaign)
            context["coverage"] = [
                (Channel(channel).label, campaign_coverage(campaign=campaign, channel=channel)) for channel in Channel
            ]
            context["can_add_notice"] = request.user.has_perm("notices.add_noticeversion")
            context["notice_add_form"] = NoticeAddForm()
        return super().change_view(request, object_id, form_url, extra_context=context)


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@admin.register(NoticeVersion)
class NoticeVersionAdmin(admin.ModelAdmin):
    form = NoticeVersionForm
    list_display = ["__str__", "status", "author", "updated_at"]
    list_filter = ["status", "notice__channel", "notice__campaign__incident"]
    list_select_related = ["notice__campaign", "author"]
    search_fields = ["notice__locale", "notice__campaign__name"]
    readonly_fields = [
        "campaign_link",
        "notice_channel",
        "notice_locale",
        "number",
        "status",
        "author",
        "editors_list",
        "based_on",
        "submitted_by",
        "submitted_at",
        "reviewed_by",
        "reviewed_at",
        "review_comment",
        "content_hash",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # drafts start from a notice ("New draft") or a campaign ("Add notice")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.status != Status.DRAFT:
            return False  # what was submitted or approved is never edited; it is copied into a new draft
        return super().has_change_permission(request, obj)

    def get_queryset(self, request: HttpRequest) -> QuerySet[NoticeVersion]:
        return super().get_queryset(request).select_related("notice__campaign__incident")

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        channel = obj.notice.channel if obj is not None else Channel.EMAIL
        parts = ["text"] if channel == Channel.SMS else ["subject", "html", "text"]
        if obj is not None and self.has_change_permission(request, obj):
            parts = [*parts, "expected_hash"]
        return [
            (None, {"fields": [("campaign_link", "notice_channel", "notice_locale"), ("number", "status")]}),
            (_("Content"), {"fields": parts}),
            (
                _("History"),
                {
                    "fields": [
                        ("author", "editors_list"),
                        "based_on",
                        ("submitted_by", "submitted_at"),
                        ("reviewed_by", "reviewed_at"),
                        "review_comment",
                        "content_hash",
                    ]
                },
            ),
        ]

    @admin.display(description=_("campaign"))
    def campaign_link(self, obj: NoticeVersion) -> str:
        return str(obj.notice.campaign)

    @admin.display(description=_("channel"))
    def notice_channel(self, obj: NoticeVersion) -> str:
        return str(obj.notice.get_channel_display())

    @admin.display(description=_("locale"))
    def notice_locale(self, obj: NoticeVersion) -> str:
        return obj.notice.locale

    @admin.display(description=_("edited by"))
    def editors_list(self, obj: NoticeVersion) -> str:
        return ", ".join(user.get_username() for user in obj.editors.all()) or "-"

    def save_model(self, request: HttpRequest, obj: NoticeVersion, form: ModelForm, change: bool) -> None:
        data = form.cleaned_data
        try:
            notice_version_update_draft(
                version=obj,
                editor=_user(request),
                subject=data.get("subject", ""),
                html=data.get("html", ""),
                text=data.get("text", ""),
                expected_hash=data.get("expected_hash") or None,
            )
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
            request._notice_save_failed = True  # type: ignore[attr-defined]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The version's relations are written by the services only."""

    def response_change(self, request: HttpRequest, obj: NoticeVersion) -> HttpResponse:
        if getattr(request, "_notice_save_failed", False):
            return HttpResponseRedirect(request.path)
        messages.success(request, gettext("The draft was saved."))
        return HttpResponseRedirect(request.path)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        if getattr(request, "_notice_save_failed", False):
            return None
        return super().log_change(request, obj, message)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        routes = {
            "submit": views.version_submit,
            "withdraw": views.version_withdraw,
            "new-draft": views.version_new_draft,
            "approve": views.version_approve,
            "reject": views.version_reject,
            "acknowledge": views.version_acknowledge,
            "review": views.version_review,
        }
        own = [
            path(
                f"<int:object_id>/{name}/",
                wrap(partial(view, model_admin=self)),
                name=f"notices_noticeversion_{name.replace('-', '_')}",
            )
            for name, view in routes.items()
        ]
        return own + super().get_urls()

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = dict(extra_context or {})
        version = self.get_object(request, object_id)
        if version is not None and self.has_view_permission(request, version):
            context.update(self._workflow_context(request, version))
        return super().change_view(request, object_id, form_url, extra_context=context)

    def _workflow_context(self, request: HttpRequest, version: NoticeVersion) -> dict[str, Any]:
        user = request.user
        status = version.status
        has_open = version.notice.versions.filter(status__in=[Status.DRAFT, Status.SUBMITTED]).exists()
        subject = check_subject(version)
        context: dict[str, Any] = {
            "version": version,
            "can_submit": status == Status.DRAFT and user.has_perm("notices.change_noticeversion"),
            "can_withdraw": status == Status.SUBMITTED and user.pk in version_writer_ids(version=version),
            "can_new_draft": not has_open and user.has_perm("notices.add_noticeversion"),
            "review_url": views.review_url(version),
            "problems": list(subject.compiled.errors.values())
            or ([subject.sample_error] if subject.sample_error else []),
            "sibling_versions": version.notice.versions.order_by("-number").select_related("author"),
            "approval": Approval.objects.filter(version=version).select_related("approver").first(),
            "acknowledgements": version.acknowledgements.select_related("acknowledged_by"),
        }
        if version.notice.channel == Channel.SMS:
            context["sms"] = sms_info(subject.sample.text) if subject.sample else None
            context["sms_warn_above"] = WARN_ABOVE_SEGMENTS
            context["sms_samples"] = self._sample_values(version, subject)
        return context

    def _sample_values(self, version: NoticeVersion, subject: CheckSubject) -> dict[str, str]:
        """Values the browser substitutes for placeholders while counting SMS characters."""
        facts = subject.facts
        recipient = sample_recipient(version.notice.locale, facts=facts)
        code = sample_reference_code(recipient)
        return {
            "organization": facts.organization,
            "customer.name": recipient.name,
            "reference_code": code,
            "verify_url": verify_url(code),
            "verify_site": facts.verify_site,
            "support.phone": facts.support["phone"],
            "support.email": facts.support["email"],
            "support.website": facts.support["website"],
        }
