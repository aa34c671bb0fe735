"""Admin views of the notice workflow: submit, withdraw, new draft, review (preview + checks), approve,
reject, acknowledge a check, add a notice to a campaign.

Mounted by the admins' ``get_urls`` through ``admin_site.admin_view`` (staff login, CSRF); every
change is a POST that calls one service, whose refusals become messages on the page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from breachcomms.notices import services
from breachcomms.notices.checks import CheckResult, run_checks
from breachcomms.notices.forms import AcknowledgeForm, NoticeAddForm, RejectForm
from breachcomms.notices.models import NoticeVersion
from breachcomms.notices.previews import customer_previews, default_segment
from breachcomms.notices.selectors import segment_key

if TYPE_CHECKING:
    from breachcomms.notices.admin import CampaignAdmin, NoticeVersionAdmin


def _version(request: HttpRequest, model_admin: NoticeVersionAdmin, object_id: int) -> NoticeVersion:
    version = model_admin.get_object(request, str(object_id))
    if version is None:
        raise Http404
    if not model_admin.has_view_permission(request, version):
        raise PermissionDenied
    return version


def change_url(version: NoticeVersion) -> str:
    return reverse("admin:notices_noticeversion_change", args=[version.pk])


def review_url(version: NoticeVersion) -> str:
    return reverse("admin:notices_noticeversion_review", args=[version.pk])


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _run(request: HttpRequest, action: Callable[[], Any], success: str) -> bool:
    """Call a service; its refusal becomes an error message instead of an error page."""
    try:
        action()
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return False
    except PermissionDenied as exc:
        messages.error(request, str(exc) or _("You do not have the permission to do this."))
        return False
    messages.success(request, success)
    return True


@require_POST
def version_submit(request: HttpRequest, *, model_admin: NoticeVersionAdmin, object_id: int) -> HttpResponse:
    version = _version(request, model_admin, object_id)
    _run(
        request,
        lambda: services.notice_version_submit(version=version, user=_user(request)),
        _("Version %(number)s was submitted for approval.") % {"number": version.number},
    )
    return redirect(change_url(version))


@require_POST
def version_withdraw(request: HttpRequest, *, model_admin: NoticeVersionAdmin, object_id: int) -> HttpResponse:
    version = _version(request, model_admin, object_id)
    _run(
        request,
        lambda: services.notice_version_withdraw(version=version, user=_user(request)),
        _("Version %(number)s is a draft again.") % {"number": version.number},
    )
    return redirect(change_url(version))


@require_POST
def version_new_draft(request: HttpRequest, *, model_admin: NoticeVersionAdmin, object_id: int) -> HttpResponse:
    version = _version(request, model_admin, object_id)
    created: list[NoticeVersion] = []

    def action() -> None:
        created.append(
            services.notice_version_create_draft(notice=version.notice, author=_user(request), based_on=version)
        )

    if _run(request, action, _("A new draft was made from version %(number)s.") % {"number": version.number}):
        return redirect(change_url(created[0]))
    return redirect(change_url(version))


@require_POST
def version_approve(request: HttpRequest, *, model_admin: NoticeVersionAdmin, object_id: int) -> HttpResponse:
    version = _version(request, model_admin, object_id)
    _run(
        request,
        lambda: services.notice_version_approve(version=version, approver=_user(request)),
        _("Version %(number)s is approved; it is what this notice sends.") % {"number": version.number},
    )
    return redirect(review_url(version))


@require_POST
def version_reject(request: HttpRequest, *, model_admin: NoticeVersionAdmin, object_id: int) -> HttpResponse:
    version = _version(request, model_admin, object_id)
    form = RejectForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say what needs to change: the comment is required."))
        return redirect(review_url(version))
    _run(
        request,
        lambda: services.notice_version_reject(
            version=version, reviewer=_user(request), comment=form.cleaned_data["comment"]
        ),
        _("Version %(number)s was rejected; its author sees your comment.") % {"number": version.number},
    )
    return redirect(review_url(version))


@require_POST
def version_acknowledge(request: HttpRequest, *, model_admin: NoticeVersionAdmin, object_id: int) -> HttpResponse:
    version = _version(request, model_admin, object_id)
    form = AcknowledgeForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect(review_url(version))
    _run(
        request,
        lambda: services.notice_check_acknowledge(
            version=version,
            user=_user(request),
            check_code=form.cleaned_data["check_code"],
            reason=form.cleaned_data["reason"],
        ),
        _("The failing check is acknowledged; your reason is recorded."),
    )
    return redirect(review_url(version))


def _check_rows(version: NoticeVersion, results: list[CheckResult]) -> list[tuple[CheckResult, Any]]:
    acknowledgements = {ack.check_code: ack for ack in version.acknowledgements.select_related("acknowledged_by")}
    return [(result, acknowledgements.get(result.code)) for result in results]


def version_review(request: HttpRequest, *, model_admin: NoticeVersionAdmin, object_id: int) -> HttpResponse:
    """The notice rendered for real sample customers of a chosen segment, with the check results."""
    version = _version(request, model_admin, object_id)
    segments, default_key = default_segment(version=version)
    keys = {segment_key(s) for s in segments}
    chosen = request.GET.get("segment") if request.GET.get("segment") in keys else default_key
    user = _user(request)
    is_submitted = version.status == NoticeVersion.Status.SUBMITTED
    results = run_checks(version)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "original": version,
        "version": version,
        "notice": version.notice,
        "campaign": version.notice.campaign,
        "title": _("Review %(version)s") % {"version": version},
        "segments": [(segment_key(s), s) for s in segments],
        "chosen_segment": chosen,
        "previews": customer_previews(version=version, segment_key=chosen),
        "checks": _check_rows(version, results),
        "blocking_failures": sum(1 for r in results if r.state == "failed"),
        "can_review": is_submitted and user.has_perm("notices.approve_noticeversion"),
        "can_acknowledge": is_submitted and user.has_perm("notices.acknowledge_noticeversion"),
        "reject_form": RejectForm(),
        "change_url": change_url(version),
    }
    return TemplateResponse(request, "admin/notices/noticeversion/review.html", context)


@require_POST
def campaign_add_notice(request: HttpRequest, *, model_admin: CampaignAdmin, object_id: int) -> HttpResponse:
    campaign = model_admin.get_object(request, str(object_id))
    if campaign is None:
        raise Http404
    back = reverse("admin:notices_campaign_change", args=[campaign.pk])
    form = NoticeAddForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a channel and write a locale such as de or sv-FI."))
        return HttpResponseRedirect(back)
    created: list[NoticeVersion] = []

    def action() -> None:
        created.append(
            services.notice_create(
                campaign=campaign,
                channel=form.cleaned_data["channel"],
                locale=form.cleaned_data["locale"],
                author=_user(request),
            )
        )

    if _run(request, action, _("The notice was added with an empty draft.")):
        return redirect(change_url(created[0]))
    return HttpResponseRedirect(back)
