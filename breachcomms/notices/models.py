"""Campaigns, their notices per channel and locale, the notices' versions, approvals and acknowledgements.

A version's content is fixed once it leaves the draft state: ``NoticeVersion.save`` refuses to
change it, and the queryset refuses bulk updates of it, so what was approved is what is sent.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from breachcomms.incidents.models import Incident


class Campaign(models.Model):
    """One communication to an incident's customers: the initial notice, a reminder, security tips."""

    class Kind(models.TextChoices):
        INITIAL = "initial", _("Initial notice")
        FOLLOW_UP = "follow_up", _("Follow-up reminder")
        SECURITY_TIPS = "security_tips", _("Security tips")

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="campaigns")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["incident", "created_at", "id"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")

    def __str__(self) -> str:
        return self.name


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")


# The parts of a version each channel uses, in display order.
CHANNEL_PARTS: dict[str, tuple[str, ...]] = {
    Channel.EMAIL: ("subject", "html", "text"),
    Channel.SMS: ("text",),
}


def part_label(channel: str, part: str) -> str:
    """The name of a part as authors know it."""
    if channel == Channel.SMS:
        return gettext("SMS text")
    return {"subject": gettext("Subject"), "html": gettext("HTML body"), "text": gettext("Text body")}[part]


class Notice(models.Model):
    """What one campaign says through one channel in one locale; its text lives in versions."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="notices")
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    locale = models.CharField(_("locale"), max_length=35, help_text=_("BCP 47, e.g. sv or sv-FI"))

    class Meta:
        ordering = ["campaign", "channel", "locale"]
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        constraints = [models.UniqueConstraint(fields=["campaign", "channel", "locale"], name="notice_unique")]

    def __str__(self) -> str:
        return f"{self.campaign} · {self.get_channel_display()} · {self.locale}"

    @property
    def parts(self) -> tuple[str, ...]:
        return CHANNEL_PARTS[self.channel]


def content_hash(channel: str, parts: dict[str, str]) -> str:
    """SHA-256 of a canonical serialization of the parts the channel uses."""
    used = {name: parts.get(name, "") for name in CHANNEL_PARTS[channel]}
    canonical = json.dumps(
        {"format": 1, "channel": channel, "parts": used}, ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ImmutableVersionError(ValidationError):
    """Raised when something tries to change the content of a version that is no longer a draft."""


# The fields that make up what a version says; fixed once the version is submitted.
CONTENT_FIELDS = frozenset({"notice", "notice_id", "number", "subject", "html", "text", "content_hash", "based_on"})
_TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"submitted"}),
    "submitted": frozenset({"draft", "approved", "rejected"}),
    "approved": frozenset({"retired"}),
    "rejected": frozenset(),
    "retired": frozenset(),
}


class NoticeVersionQuerySet(models.QuerySet["NoticeVersion"]):
    def update(self, **kwargs: Any) -> int:
        if CONTENT_FIELDS & kwargs.keys() and self.exclude(status=NoticeVersion.Status.DRAFT).exists():
            raise ImmutableVersionError(gettext("Only drafts can be changed."), code="immutable")
        return super().update(**kwargs)

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        if CONTENT_FIELDS & set(fields):
            raise ImmutableVersionError(gettext("Versions are changed one at a time."), code="immutable")
        return super().bulk_update(objs, fields, batch_size=batch_size)


class NoticeVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted for approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        RETIRED = "retired", _("Retired")

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    subject = models.CharField(_("subject"), max_length=998, blank=True)
    html = models.TextField(_("HTML body"), blank=True)
    text = models.TextField(_("text"), blank=True, help_text=_("The plain-text email body, or the SMS."))
    content_hash = models.CharField(_("content hash"), max_length=64, editable=False)
    based_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("based on")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("author"),
        help_text=_("Empty for a version copied from the shipped templates and not yet edited."),
    )
    editors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("edited by")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last edited"), auto_now=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("submitted by"),
    )
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    review_comment = models.TextField(_("reviewer's comment"), blank=True)
    retired_at = models.DateTimeField(_("retired"), null=True, blank=True)

    objects: ClassVar[NoticeVersionQuerySet] = NoticeVersionQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["notice", "-number"]
        verbose_name = _("notice version")
        verbose_name_plural = _("notice versions")
        permissions = [
            ("approve_noticeversion", _("Can approve or reject notice versions")),
            ("acknowledge_noticeversion", _("Can acknowledge a failing check of a notice version")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["notice", "number"], name="notice_version_number_unique"),
            # What a campaign sends in a channel and locale is never ambiguous.
            models.UniqueConstraint(
                fields=["notice"], condition=models.Q(status="approved"), name="notice_one_approved_version"
            ),
            # One version under work at a time; editing an approved one starts the next.
            models.UniqueConstraint(
                fields=["notice"], condition=models.Q(status__in=["draft", "submitted"]), name="notice_one_open_version"
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(notice)s · version %(number)s") % {"notice": self.notice, "number": self.number}

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is None:
            if self.status != self.Status.DRAFT:
                raise ImmutableVersionError(gettext("A new version starts as a draft."), code="immutable")
        else:
            self._refuse_forbidden_change()
        if self.status == self.Status.DRAFT:
            self.content_hash = self.computed_hash()
            update_fields = kwargs.get("update_fields")
            if update_fields is not None and CONTENT_FIELDS & set(update_fields):
                kwargs["update_fields"] = {*update_fields, "content_hash"}
        super().save(*args, **kwargs)

    def _refuse_forbidden_change(self) -> None:
        stored = NoticeVersion.objects.filter(pk=self.pk).values(*_STORED_FIELDS).first()
        if stored is None:
            return
        if stored["status"] != self.status and self.status not in _TRANSITIONS[stored["status"]]:
            raise ImmutableVersionError(
                gettext("A version cannot go from %(old)s to %(new)s.")
                % {"old": self.Status(stored["status"]).label, "new": self.Status(self.status).label},
                code="transition",
            )
        if stored["status"] == self.Status.DRAFT:
            return
        changed = [name for name in _STORED_CONTENT if stored[name] != getattr(self, name)]
        if changed:
            raise ImmutableVersionError(
                gettext("Version %(number)s is %(status)s; its content cannot change. Edit it as a new draft.")
                % {"number": stored["number"], "status": self.Status(stored["status"]).label},
                code="immutable",
            )

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        if self.status != self.Status.DRAFT:
            raise ImmutableVersionError(gettext("Only drafts can be deleted."), code="immutable")
        return super().delete(*args, **kwargs)

    @property
    def parts(self) -> dict[str, str]:
        """The parts the notice's channel uses, by name."""
        return {name: getattr(self, name) for name in CHANNEL_PARTS[self.notice.channel]}

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    def computed_hash(self) -> str:
        return content_hash(self.notice.channel, {"subject": self.subject, "html": self.html, "text": self.text})


_STORED_CONTENT = ("notice_id", "number", "subject", "html", "text", "content_hash", "based_on_id")
_STORED_FIELDS = ("status", *_STORED_CONTENT)


class Approval(models.Model):
    """Who approved which content, when: the record that the text sent was seen by a second person."""

    version = models.OneToOneField(NoticeVersion, on_delete=models.PROTECT, related_name="approval")
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("approver")
    )
    approved_at = models.DateTimeField(_("approved"))
    content_hash = models.CharField(_("content hash"), max_length=64)

    class Meta:
        verbose_name = _("approval")
        verbose_name_plural = _("approvals")

    def __str__(self) -> str:
        return gettext("%(version)s approved by %(user)s") % {"version": self.version, "user": self.approver}


class CheckAcknowledgement(models.Model):
    """A commander's written reason to approve a version although one of its checks fails."""

    version = models.ForeignKey(NoticeVersion, on_delete=models.CASCADE, related_name="acknowledgements")
    check_code = models.CharField(_("check"), max_length=120)
    reason = models.TextField(_("reason"))
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("acknowledged by")
    )
    acknowledged_at = models.DateTimeField(_("acknowledged"))
    content_hash = models.CharField(_("content hash"), max_length=64)

    class Meta:
        ordering = ["acknowledged_at"]
        verbose_name = _("check acknowledgement")
        verbose_name_plural = _("check acknowledgements")
        constraints = [
            models.UniqueConstraint(fields=["version", "check_code"], name="check_acknowledged_once"),
        ]

    def __str__(self) -> str:
        return f"{self.check_code}: {self.reason[:60]}"
