"""Writes for campaigns and notice versions: drafting, submitting, four-eyes approval, acknowledgements.

Every status change happens here, under a row lock on the version, after checking who asks:
authors draft, submit and withdraw; someone else with the approver permission approves or rejects;
a commander may acknowledge a failing check with a written reason. Approving re-runs the checks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from breachcomms.audit.models import Action
from breachcomms.audit.services import audit_record
from breachcomms.incidents.models import Incident
from breachcomms.notices.checks import blocking_failures, check_subject, run_checks
from breachcomms.notices.models import (
    Approval,
    Campaign,
    CheckAcknowledgement,
    Notice,
    NoticeVersion,
    part_label,
)
from breachcomms.notices.rendering import MAX_SOURCE_CHARS
from breachcomms.notices.selectors import version_writer_ids
from breachcomms.notices.shipped import FOLDER_LABELS, shipped_notices

Status = NoticeVersion.Status
MIN_REASON_CHARS = 10


def _audit(action: Action, user: User, version: NoticeVersion, **data: Any) -> None:
    """Every step of a version's life goes on the audit trail with the hash of the content it concerned."""
    notice = version.notice
    audit_record(
        action=action,
        actor=user,
        incident_id=notice.campaign.incident_id,
        obj=version,
        data={
            "campaign": notice.campaign_id,
            "channel": notice.channel,
            "locale": notice.locale,
            "version": version.number,
            "content_hash": version.content_hash,
            **data,
        },
    )


def _require(user: User, permission: str) -> None:
    if not user.has_perm(permission):
        raise PermissionDenied(_("You do not have the permission to do this."))


def _lock(version: NoticeVersion) -> NoticeVersion:
    query = NoticeVersion.objects.select_for_update(of=("self",)).select_related("notice__campaign__incident")
    return query.get(pk=version.pk)


def _require_status(version: NoticeVersion, *allowed: str) -> None:
    if version.status not in allowed:
        raise ValidationError(
            _("Version %(number)s is %(status)s; this is not possible now.")
            % {"number": version.number, "status": Status(version.status).label},
            code="status",
        )


# --- campaigns ---------------------------------------------------------------------------------


@transaction.atomic
def campaign_create(*, incident: Incident, kind: str, name: str = "", created_by: User | None = None) -> Campaign:
    """Start a campaign of an incident (without notices)."""
    if created_by is not None:
        _require(created_by, "notices.add_campaign")
    label = str(Campaign.Kind(kind).label)
    return Campaign.objects.create(incident=incident, kind=kind, name=name or label, created_by=created_by)


@transaction.atomic
def campaign_rename(*, campaign: Campaign, name: str, user: User) -> Campaign:
    """Change a campaign's name (what the commander calls it; customers never see it)."""
    _require(user, "notices.change_campaign")
    name = name.strip()
    if not name:
        raise ValidationError(_("A campaign needs a name."), code="name")
    campaign.name = name
    campaign.save(update_fields=["name"])
    return campaign


@transaction.atomic
def campaign_create_from_shipped(
    *,
    incident: Incident,
    kind: str,
    created_by: User | None = None,
    name: str = "",
    root: Path | None = None,
    folder: str | None = None,
) -> Campaign:
    """A campaign with a draft of every shipped template of its kind (or of ``folder``, one of the kind's
    shipped folders), email and SMS, in every shipped locale."""
    shipped_all = shipped_notices(kind, folder=folder, root=root)  # an unknown folder fails before anything is created
    if folder and not name:
        name = str(FOLDER_LABELS[folder])
    campaign = campaign_create(incident=incident, kind=kind, name=name, created_by=created_by)
    for shipped in shipped_all:
        notice = Notice.objects.create(campaign=campaign, channel=shipped.channel, locale=shipped.locale)
        NoticeVersion.objects.create(notice=notice, number=1, **_clean_parts(notice, shipped.parts))
    return campaign


@transaction.atomic
def campaign_ensure_initial(*, incident_id: int) -> Campaign | None:
    """Give an incident its initial-notice campaign from the shipped templates, unless it has one."""
    incident = Incident.objects.select_for_update().filter(pk=incident_id).first()
    if incident is None or Campaign.objects.filter(incident=incident, kind=Campaign.Kind.INITIAL).exists():
        return None
    return campaign_create_from_shipped(incident=incident, kind=Campaign.Kind.INITIAL)


@transaction.atomic
def notice_create(*, campaign: Campaign, channel: str, locale: str, author: User) -> NoticeVersion:
    """Add a channel × locale to a campaign, with an empty first draft."""
    _require(author, "notices.add_noticeversion")
    locale = locale.strip().replace("_", "-")
    if not locale:
        raise ValidationError(_("Name the locale, e.g. sv or sv-FI."), code="locale")
    if Notice.objects.filter(campaign=campaign, channel=channel, locale__iexact=locale).exists():
        raise ValidationError(_("This campaign already has a notice for %(locale)s.") % {"locale": locale})
    notice = Notice.objects.create(campaign=campaign, channel=channel, locale=locale)
    version = NoticeVersion.objects.create(notice=notice, number=1, author=author)
    version.editors.add(author)
    _audit(Action.NOTICE_VERSION_CREATED, author, version)
    return version


# --- versions ----------------------------------------------------------------------------------


def _clean_parts(notice: Notice, parts: dict[str, str]) -> dict[str, str]:
    """Line endings as \\n, a one-line subject, within the size limits; only the channel's parts."""
    cleaned = {"subject": "", "html": "", "text": ""}
    for part in notice.parts:
        value = (parts.get(part) or "").replace("\r\n", "\n").replace("\r", "\n")
        if part == "subject":
            value = " ".join(value.split("\n")).strip()
        if len(value) > MAX_SOURCE_CHARS[part]:
            raise ValidationError(
                _("%(part)s is %(length)s characters long; the limit is %(limit)s.")
                % {"part": part_label(notice.channel, part), "length": len(value), "limit": MAX_SOURCE_CHARS[part]},
                code="too_long",
            )
        cleaned[part] = value
    return cleaned


@transaction.atomic
def notice_version_create_draft(
    *, notice: Notice, author: User, based_on: NoticeVersion | None = None
) -> NoticeVersion:
    """A new draft of a notice, copying ``based_on`` (or the newest version); approved versions stay as they are."""
    _require(author, "notices.add_noticeversion")
    notice = Notice.objects.select_for_update().get(pk=notice.pk)
    open_version = notice.versions.filter(status__in=[Status.DRAFT, Status.SUBMITTED]).first()
    if open_version is not None:
        raise ValidationError(
            _("Version %(number)s of this notice is still %(status)s; edit or finish it first.")
            % {"number": open_version.number, "status": Status(open_version.status).label},
            code="open_version",
        )
    source = based_on or notice.versions.order_by("-number").first()
    if source is not None and source.notice_id != notice.pk:
        raise ValidationError(_("A draft can only copy a version of the same notice."), code="other_notice")
    number = (notice.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    parts = source.parts if source is not None else {}
    version = NoticeVersion.objects.create(
        notice=notice, number=number, based_on=source, author=author, **_clean_parts(notice, parts)
    )
    version.editors.add(author)
    _audit(Action.NOTICE_VERSION_CREATED, author, version, based_on=source.number if source else None)
    return version


@transaction.atomic
def notice_version_update_draft(
    *,
    version: NoticeVersion,
    editor: User,
    subject: str = "",
    html: str = "",
    text: str = "",
    expected_hash: str | None = None,
) -> NoticeVersion:
    """Save new text into a draft (template errors are shown, not refused: nothing the author wrote is lost)."""
    _require(editor, "notices.change_noticeversion")
    version = _lock(version)
    _require_status(version, Status.DRAFT)
    if expected_hash is not None and expected_hash != version.content_hash:
        raise ValidationError(
            _("Someone else saved this draft after you opened it. Copy your text, reload and apply it again."),
            code="stale",
        )
    for name, value in _clean_parts(version.notice, {"subject": subject, "html": html, "text": text}).items():
        setattr(version, name, value)
    if version.author_id is None:
        version.author = editor
    version.save()
    version.editors.add(editor)
    _audit(Action.NOTICE_VERSION_EDITED, editor, version)
    return version


@transaction.atomic
def notice_version_submit(*, version: NoticeVersion, user: User) -> NoticeVersion:
    """Hand a draft over for approval; it must render, and its content is fixed from now on."""
    _require(user, "notices.change_noticeversion")
    version = _lock(version)
    _require_status(version, Status.DRAFT)
    empty = [part_label(version.notice.channel, p) for p, value in version.parts.items() if not value.strip()]
    if empty:
        raise ValidationError(_("Fill in: %(parts)s.") % {"parts": ", ".join(empty)}, code="empty")
    subject = check_subject(version)
    problem = subject.compiled.first_error() or subject.sample_error
    if problem is not None:
        raise ValidationError(_("Fix the template first: %(error)s") % {"error": problem}, code="render")
    version.status = Status.SUBMITTED
    version.submitted_by = user
    version.submitted_at = timezone.now()
    if version.author_id is None:
        version.author = user
    version.save(update_fields=["status", "submitted_by", "submitted_at", "author", "updated_at"])
    _audit(Action.NOTICE_VERSION_SUBMITTED, user, version)
    return version


@transaction.atomic
def notice_version_withdraw(*, version: NoticeVersion, user: User) -> NoticeVersion:
    """Take a submitted version back to draft (its author or submitter only)."""
    _require(user, "notices.change_noticeversion")
    version = _lock(version)
    _require_status(version, Status.SUBMITTED)
    if user.pk not in version_writer_ids(version=version):
        raise PermissionDenied(_("Only the author of a version can withdraw it; a reviewer rejects it."))
    # Acknowledgements were for the submitted text; the author is about to change it.
    version.acknowledgements.all().delete()
    version.status = Status.DRAFT
    version.submitted_by = None
    version.submitted_at = None
    version.save(update_fields=["status", "submitted_by", "submitted_at", "updated_at"])
    _audit(Action.NOTICE_VERSION_WITHDRAWN, user, version)
    return version


def _require_reviewer(version: NoticeVersion, user: User, refusal: str) -> None:
    """Only someone who holds the approver permission and did not write the version may review it."""
    _require(user, "notices.approve_noticeversion")
    if user.pk in version_writer_ids(version=version):
        raise PermissionDenied(refusal)


@transaction.atomic
def notice_version_approve(*, version: NoticeVersion, approver: User) -> Approval:
    """Approve a submitted version after re-running its checks; the previous approved version retires."""
    version = _lock(version)
    _require_status(version, Status.SUBMITTED)
    _require_reviewer(
        version, approver, _("You wrote, edited or submitted this version, so someone else must approve it.")
    )
    if version.computed_hash() != version.content_hash:
        raise ValidationError(_("The stored content does not match its hash; it cannot be approved."), code="hash")
    acknowledged = set(
        version.acknowledgements.filter(content_hash=version.content_hash).values_list("check_code", flat=True)
    )
    open_failures = [r for r in blocking_failures(run_checks(version)) if r.code not in acknowledged]
    if open_failures:
        raise ValidationError(
            _("These checks fail and are not acknowledged: %(checks)s.")
            % {"checks": "; ".join(f"{r.title} ({r.message})" for r in open_failures)},
            code="checks",
        )
    now = timezone.now()
    previous = NoticeVersion.objects.select_for_update(of=("self",)).filter(
        notice=version.notice, status=Status.APPROVED
    )
    for old in previous:
        old.status = Status.RETIRED
        old.retired_at = now
        old.save(update_fields=["status", "retired_at", "updated_at"])
    version.status = Status.APPROVED
    version.reviewed_by = approver
    version.reviewed_at = now
    version.save(update_fields=["status", "reviewed_by", "reviewed_at", "updated_at"])
    _audit(Action.NOTICE_VERSION_APPROVED, approver, version, acknowledged=sorted(acknowledged))
    return Approval.objects.create(
        version=version, approver=approver, approved_at=now, content_hash=version.content_hash
    )


@transaction.atomic
def notice_version_reject(*, version: NoticeVersion, reviewer: User, comment: str) -> NoticeVersion:
    """Send a submitted version back with a comment; the author starts a new draft from it."""
    version = _lock(version)
    _require_status(version, Status.SUBMITTED)
    _require_reviewer(
        version, reviewer, _("You wrote, edited or submitted this version, so someone else must reject it.")
    )
    comment = comment.strip()
    if not comment:
        raise ValidationError(_("Say what needs to change: the comment is required."), code="comment")
    version.status = Status.REJECTED
    version.reviewed_by = reviewer
    version.reviewed_at = timezone.now()
    version.review_comment = comment
    version.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_comment", "updated_at"])
    _audit(Action.NOTICE_VERSION_REJECTED, reviewer, version, comment=comment)
    return version


@transaction.atomic
def notice_check_acknowledge(
    *, version: NoticeVersion, user: User, check_code: str, reason: str
) -> CheckAcknowledgement:
    """Record a commander's reason to approve a submitted version although one of its checks fails."""
    _require(user, "notices.acknowledge_noticeversion")
    version = _lock(version)
    _require_status(version, Status.SUBMITTED)
    if user.pk in version_writer_ids(version=version):
        raise PermissionDenied(_("You wrote this version; someone else must acknowledge its checks."))
    reason = reason.strip()
    if len(reason) < MIN_REASON_CHARS:
        raise ValidationError(
            _("Write the reason (at least %(n)s characters): it is kept as the record of this decision.")
            % {"n": MIN_REASON_CHARS},
            code="reason",
        )
    failing = {r.code for r in blocking_failures(run_checks(version))}
    if check_code not in failing:
        raise ValidationError(_("This check does not fail (any more); there is nothing to acknowledge."), code="passed")
    if version.acknowledgements.filter(check_code=check_code).exists():
        raise ValidationError(_("This check is already acknowledged."), code="duplicate")
    _audit(Action.NOTICE_CHECK_ACKNOWLEDGED, user, version, check=check_code, reason=reason)
    return CheckAcknowledgement.objects.create(
        version=version,
        check_code=check_code,
        reason=reason,
        acknowledged_by=user,
        acknowledged_at=timezone.now(),
        content_hash=version.content_hash,
    )
