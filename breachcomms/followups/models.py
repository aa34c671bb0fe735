"""Follow-up plans: reminders and security tips days or weeks after the incident or the first notice.

A ``FollowUp`` plans one or more occurrences (a security-tips series: one a month for three months).
Each occurrence is its own campaign, with drafts from a shipped folder that are approved like any
notice, and one draft wave that carries the audience and a start computed from the plan's anchor.
The ledger's uniqueness per campaign means nobody gets the same occurrence twice.
"""

from __future__ import annotations

from datetime import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from breachcomms.delivery.audiences import OTHER_PLAN
from breachcomms.delivery.models import Channel, ChannelPlan, Wave
from breachcomms.incidents.models import Incident
from breachcomms.notices.models import Campaign
from breachcomms.recipients.models import Enrolment


class FollowUp(models.Model):
    """What to send again, to whom, and when relative to the incident or the first notice."""

    class Kind(models.TextChoices):
        FOLLOW_UP = Campaign.Kind.FOLLOW_UP.value, Campaign.Kind.FOLLOW_UP.label
        SECURITY_TIPS = Campaign.Kind.SECURITY_TIPS.value, Campaign.Kind.SECURITY_TIPS.label

    class Anchor(models.TextChoices):
        AWARE_AT = "aware_at", _("When the organisation became aware of the breach")
        DISCOVERED_AT = "discovered_at", _("When the breach was discovered")
        DETERMINED_AT = "determined_at", _("When the breach was determined")
        FIRST_LAUNCH = "first_launch", _("When the base campaign's first wave was launched")

    class AudienceKind(models.TextChoices):
        EVERYONE = "", _("Everyone in the chosen segments")
        NOTIFIED = "notified", _("Everyone the base campaign notified")
        NOT_DELIVERED = "not_delivered", _("Those the base campaign has not reached")
        OTHER_CHANNEL = "other_channel", _("Those not reached on one channel: use the other")
        NOT_ENROLLED = "not_enrolled", _("Those not yet enrolled in the offered programme")

    class AudienceChannel(models.TextChoices):
        NONE = "", "—"
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="follow_ups", verbose_name=_("incident")
    )
    name = models.CharField(_("name"), max_length=150)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.FOLLOW_UP)
    anchor = models.CharField(_("counted from"), max_length=16, choices=Anchor.choices, default=Anchor.FIRST_LAUNCH)
    base_campaign = models.ForeignKey(
        Campaign,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("base campaign"),
        help_text=_("The earlier campaign the audience and the anchor refer to, usually the initial notice."),
    )
    offset_days = models.PositiveIntegerField(
        _("days after"), default=7, validators=[MaxValueValidator(3650)], help_text=_("E.g. 7 or 30.")
    )
    repeat_count = models.PositiveSmallIntegerField(
        _("occurrences"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(24)],
        help_text=_("How many times, e.g. 3 for monthly security tips over three months."),
    )
    repeat_every_days = models.PositiveIntegerField(
        _("days between occurrences"), default=30, validators=[MinValueValidator(1), MaxValueValidator(3650)]
    )
    audience_kind = models.CharField(
        _("audience"), max_length=16, choices=AudienceKind.choices, default=AudienceKind.EVERYONE, blank=True
    )
    audience_channel = models.CharField(
        _("channel that failed"),
        max_length=8,
        choices=AudienceChannel.choices,
        blank=True,
        help_text=_("For “not reached on one channel”: the channel that failed; the follow-up uses the other."),
    )
    audience_program = models.CharField(
        _("programme"),
        max_length=32,
        blank=True,
        help_text=_("For “not yet enrolled”: the programme, e.g. credit_monitoring."),
    )
    segments = models.JSONField(
        _("segments"),
        default=list,
        blank=True,
        help_text=_("Which customers: a list of {region, language, risk}; a missing key means all. Empty: everyone."),
    )
    folder = models.CharField(
        _("texts"),
        max_length=32,
        blank=True,
        help_text=_("The shipped texts the drafts start from. Empty: chosen by the kind and the audience."),
    )
    # Wave defaults, copied to each occurrence's wave (which the commander may still change).
    channel_plan = models.CharField(
        _("channels"), max_length=16, choices=ChannelPlan.choices, default=ChannelPlan.EMAIL_THEN_SMS
    )
    fallback_locale = models.CharField(_("fallback language"), max_length=8, blank=True)
    email_per_minute = models.PositiveIntegerField(_("emails per minute"), default=0)
    sms_segments_per_second = models.PositiveIntegerField(_("SMS segments per second"), default=0)
    window_start = models.TimeField(_("sending window opens"), default=time(8, 0))
    window_end = models.TimeField(_("sending window closes"), default=time(21, 0))
    region_cap_per_hour = models.PositiveIntegerField(_("cap per region and hour"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["incident", "created_at", "id"]
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from breachcomms.followups.selectors import follow_up_errors  # noqa: PLC0415 - selectors import this module

        self._drop_unused_audience_details()
        errors = follow_up_errors(follow_up=self)
        if errors:
            raise ValidationError(errors)

    def _drop_unused_audience_details(self) -> None:
        """Keep only what the chosen audience uses; an "other channel" audience sends on the other channel only."""
        if self.audience_kind != self.AudienceKind.OTHER_CHANNEL:
            self.audience_channel = ""
        elif self.audience_channel in OTHER_PLAN:
            self.channel_plan = OTHER_PLAN[Channel(self.audience_channel)]
        if self.audience_kind != self.AudienceKind.NOT_ENROLLED:
            self.audience_program = ""
        elif not self.audience_program:
            self.audience_program = Enrolment.Program.CREDIT_MONITORING


class FollowUpOccurrence(models.Model):
    """One sending of a follow-up: its own campaign and wave."""

    follow_up = models.ForeignKey(
        FollowUp, on_delete=models.CASCADE, related_name="occurrences", verbose_name=_("follow-up")
    )
    number = models.PositiveSmallIntegerField(_("number"))
    folder = models.CharField(_("texts"), max_length=32, blank=True)
    campaign = models.OneToOneField(
        Campaign, on_delete=models.CASCADE, related_name="follow_up_occurrence", verbose_name=_("campaign")
    )
    wave = models.OneToOneField(
        Wave, on_delete=models.CASCADE, related_name="follow_up_occurrence", verbose_name=_("wave")
    )
    # The start last computed from the anchor: a refresh moves the wave's start only while it still
    # equals this, so a start the commander set by hand stays.
    planned_start_at = models.DateTimeField(_("planned start"), null=True, blank=True)

    class Meta:
        ordering = ["follow_up", "number"]
        verbose_name = _("occurrence")
        verbose_name_plural = _("occurrences")
        constraints = [models.UniqueConstraint(fields=["follow_up", "number"], name="follow_up_occurrence_once")]

    def __str__(self) -> str:
        return f"{self.follow_up} #{self.number}"
