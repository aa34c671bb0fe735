"""The delivery ledger: waves of a campaign, one row per (campaign, customer, channel), attempts,
the suppression list and what the commander did to each wave.

The ledger in the database is the record of what was sent; Redis and Celery only carry work.
Statuses change only in ``services`` (and the set-based SQL in ``ledger``/``dispatch``).
"""

from __future__ import annotations

from datetime import time
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from breachcomms.delivery.references import format_reference
from breachcomms.incidents.models import Incident
from breachcomms.recipients.models import Customer


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")


class ChannelPlan(models.TextChoices):
    EMAIL = "email", _("Email only")
    SMS = "sms", _("SMS only")
    EMAIL_THEN_SMS = "email_then_sms", _("Email; SMS when there is no usable email or it fails")
    SMS_THEN_EMAIL = "sms_then_email", _("SMS; email when there is no usable phone or it fails")
    BOTH = "both", _("Both email and SMS")


def _rate_field(label: Any, help_text: Any) -> models.PositiveIntegerField:
    return models.PositiveIntegerField(label, default=0, help_text=help_text)


class Wave(models.Model):
    """Which customers of a campaign are notified when, how fast, and through which channels."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        RUNNING = "running", _("Running")
        PAUSED = "paused", _("Paused")
        COMPLETED = "completed", _("Completed")
        ABORTED = "aborted", _("Aborted")

    campaign = models.ForeignKey(
        "notices.Campaign", on_delete=models.CASCADE, related_name="waves", verbose_name=_("campaign")
    )
    name = models.CharField(_("name"), max_length=200)
    segments = models.JSONField(
        _("segments"),
        default=list,
        blank=True,
        help_text=_("Which customers: a list of {region, language, risk}; a missing key means all. Empty: everyone."),
    )
    # Follow-ups: who, by what happened to an earlier campaign ({} = everyone the segments select).
    # Its kinds and their SQL are in ``audiences``.
    audience = models.JSONField(_("audience"), default=dict, blank=True)
    channel_plan = models.CharField(
        _("channels"), max_length=16, choices=ChannelPlan.choices, default=ChannelPlan.EMAIL_THEN_SMS
    )
    fallback_locale = models.CharField(
        _("fallback language"),
        max_length=8,
        blank=True,
        help_text=_("Customers whose language has no approved notice get the notice in this language."),
    )
    start_at = models.DateTimeField(_("start"), null=True, blank=True, help_text=_("Empty: when launched."))
    email_per_minute = _rate_field(_("emails per minute"), _("0 = as fast as the workers go."))
    sms_segments_per_second = _rate_field(_("SMS segments per second"), _("0 = as fast as the workers go."))
    window_start = models.TimeField(
        _("sending window opens"), default=time(8, 0), help_text=_("In each customer's local time.")
    )
    window_end = models.TimeField(
        _("sending window closes"),
        default=time(21, 0),
        help_text=_("In each customer's local time. Equal to the opening time: no quiet hours."),
    )
    region_cap_per_hour = models.PositiveIntegerField(
        _("cap per region and hour"),
        null=True,
        blank=True,
        help_text=_("At most this many notices per region in a clock hour, so the support desk is not swamped."),
    )
    halt_window = models.PositiveIntegerField(
        _("auto-halt window"),
        default=1000,
        validators=[MinValueValidator(10)],
        help_text=_("The auto-halt looks at this many of the latest sends."),
    )
    max_hard_bounce_rate = models.FloatField(
        _("maximum hard-bounce rate"),
        default=0.05,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=_("Share of the latest sends; above it the wave pauses itself. 0.05 = 5%."),
    )
    max_failure_rate = models.FloatField(
        _("maximum failure rate"),
        default=0.10,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=_("Share of the latest sends that failed; above it the wave pauses itself."),
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    halt_reason = models.TextField(_("halt reason"), blank=True)
    # Pacing: a token bucket per channel, refilled by the dispatcher with a conditional UPDATE.
    email_tokens = models.FloatField(default=0.0, editable=False)
    sms_tokens = models.FloatField(default=0.0, editable=False)
    tokens_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set at launch: each SMS is paced at this many segments (the longest approved SMS).
    sms_segments_estimate = models.PositiveSmallIntegerField(default=1, editable=False)
    time_zones = models.JSONField(default=list, editable=False)
    launch_summary = models.JSONField(default=dict, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    launched_at = models.DateTimeField(_("launched"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("wave")
        verbose_name_plural = _("waves")
        permissions = [("launch_wave", _("Can launch, pause, resume and abort waves"))]

    def __str__(self) -> str:
        return self.name

    @property
    def channels(self) -> tuple[str, ...]:
        return PLAN_CHANNELS[ChannelPlan(self.channel_plan)]

    @property
    def is_halted(self) -> bool:
        return self.status == self.Status.PAUSED and bool(self.halt_reason)


PLAN_CHANNELS: dict[ChannelPlan, tuple[str, ...]] = {
    ChannelPlan.EMAIL: (Channel.EMAIL,),
    ChannelPlan.SMS: (Channel.SMS,),
    ChannelPlan.EMAIL_THEN_SMS: (Channel.EMAIL, Channel.SMS),
    ChannelPlan.SMS_THEN_EMAIL: (Channel.SMS, Channel.EMAIL),
    ChannelPlan.BOTH: (Channel.EMAIL, Channel.SMS),
}


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    # A claimed row stays pending: its DeliveryBatch says whether it is queued or being sent. Rows no longer
    # take these two statuses (migration 0006 moved the last ones back); they stay for old exports.
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    IN_DOUBT = "in_doubt", _("In doubt")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    DEFERRED = "deferred", _("Deferred by the recipient's server")
    BOUNCED = "bounced", _("Bounced")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    SUPPRESSED = "suppressed", _("Suppressed")


# Rows the dispatcher or a worker still has to act on; a wave is complete when none is left.
UNFINISHED = (DeliveryStatus.PENDING, DeliveryStatus.QUEUED, DeliveryStatus.SENDING, DeliveryStatus.IN_DOUBT)
# Rows whose last hand-over to the provider has an outcome: accepted (and what became of it) or refused.
HANDED_OVER = (
    DeliveryStatus.SENT,
    DeliveryStatus.DELIVERED,
    DeliveryStatus.DEFERRED,
    DeliveryStatus.BOUNCED,
    DeliveryStatus.FAILED,
)


class Delivery(models.Model):
    """One notice of a campaign to one customer through one channel: the ledger row."""

    # No constraint on campaign: the wave's own foreign key implies it, and a million-row launch
    # should not pay for a second check per row.
    campaign = models.ForeignKey(
        "notices.Campaign", on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    wave = models.ForeignKey(Wave, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    # Indexed by the unique constraint, which starts with the customer.
    # PROTECT: the ledger is the record of what was sent; a customer folded into another by a re-import
    # has its deliveries moved first (delivery.receivers), and nothing else deletes notified customers.
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="deliveries", db_index=False)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=16, choices=DeliveryStatus.choices, default="pending")
    address = models.CharField(_("sent to"), max_length=254, help_text=_("The email address or E.164 phone."))
    region = models.CharField(_("region"), max_length=2, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    # Rows that render alike share this key, so a claimed batch goes out in few provider requests.
    shape = models.BigIntegerField(default=0, editable=False)
    due_at = models.DateTimeField(_("due"))
    reference = models.BigIntegerField(_("reference code"), unique=True)
    # Without a database constraint: recording a sent batch would otherwise check each row's version
    # (and lock it KEY SHARE) at commit. PROTECT still refuses to delete a version that was sent.
    notice_version = models.ForeignKey(
        "notices.NoticeVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
        verbose_name=_("notice version"),
    )
    content_hash = models.CharField(_("SHA-256 of the content sent"), max_length=64, blank=True)
    provider_message_id = models.CharField(_("provider message id"), max_length=128, blank=True)
    # Informational, and without a constraint: deleting a million rows must not check each against the rest.
    fallback_for = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False, db_constraint=False
    )
    claim_token = models.CharField(max_length=48, blank=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    queued_at = models.DateTimeField(_("queued"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(fields=["customer", "channel", "campaign"], name="delivery_once_per_channel"),
        ]
        indexes = [
            # The dispatcher's claim: due rows of a wave, channel and time zone, alike rows together.
            models.Index(
                fields=["wave", "channel", "time_zone", "due_at", "shape"],
                condition=Q(status="pending"),
                name="delivery_claim_idx",
            ),
            # No index names claim_token, lease_until or (in a key or a condition) anything else a claim
            # writes: a claim is then a HOT update, which writes no index at all (the table keeps half of
            # each page free for it, migration 0006). Send tasks find their rows through their batch's
            # ids. (Every index costs each non-HOT status change an insertion: keep them few.)
            # Progress and back-pressure counts per wave, channel and status, index-only.
            models.Index(fields=["wave", "status", "channel"], name="delivery_progress_idx"),
            # The auto-halt reads the rows of a wave's latest claimed batches among those handed over to the
            # provider (a row enters this index once, when its send is recorded).
            models.Index(
                fields=["wave", "-queued_at"],
                condition=Q(status__in=HANDED_OVER, queued_at__isnull=False),
                name="delivery_sent_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.reference_code

    @property
    def reference_code(self) -> str:
        return format_reference(self.reference)


class DeliveryAttempt(models.Model):
    """One hand-over of a delivery to a provider that did not simply succeed, and what the provider said.

    A hand-over the provider accepted has no row: the delivery's ``sent_at`` and
    ``provider_message_id`` record it (a row and its checks for each of a million sends cost the
    database a fifth of its work per message). ``selectors.attempt_history`` gives the whole history.
    """

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted by the provider")
        TRANSIENT = "transient", _("Temporary error, retried")
        REJECTED = "rejected", _("Rejected by the provider")
        IN_DOUBT = "in_doubt", _("No answer; may have been sent")
        RECONCILED = "reconciled", _("Found at the provider")

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_set")
    wave = models.ForeignKey(Wave, on_delete=models.CASCADE, related_name="+", db_index=False)
    at = models.DateTimeField(_("at"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    provider_status = models.IntegerField(_("provider status"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    provider_message_id = models.CharField(_("provider message id"), max_length=128, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.outcome}"


class Suppression(models.Model):
    """An address of an incident that must not be contacted on a channel."""

    class Reason(models.TextChoices):
        HARD_BOUNCE = "hard_bounce", _("Hard bounce")
        COMPLAINT = "complaint", _("Spam complaint")
        DO_NOT_CONTACT = "do_not_contact", _("Do not contact")
        INVALID = "invalid", _("Invalid address")

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+", verbose_name=_("incident"))
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    address = models.CharField(
        _("address"), max_length=254, help_text=_("Email in lower case, or a phone number in E.164 form.")
    )
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    source = models.CharField(_("source"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("suppressed address")
        verbose_name_plural = _("suppressed addresses")
        constraints = [
            models.UniqueConstraint(fields=["incident", "channel", "address"], name="suppression_once"),
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.address}"


class WaveAction(models.Model):
    """What someone (or the auto-halt) did to a wave, when and why."""

    class Kind(models.TextChoices):
        SCHEDULE = "schedule", _("Scheduled")
        UNSCHEDULE = "unschedule", _("Unscheduled")
        LAUNCH = "launch", _("Launched")
        PAUSE = "pause", _("Paused")
        RESUME = "resume", _("Resumed")
        ABORT = "abort", _("Aborted")
        HALT = "halt", _("Halted automatically")
        COMPLETE = "complete", _("Completed")
        REOPEN = "reopen", _("Reopened for fallbacks")

    wave = models.ForeignKey(Wave, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(_("action"), max_length=16, choices=Kind.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("wave action")
        verbose_name_plural = _("wave actions")

    def __str__(self) -> str:
        return f"{self.wave_id} {self.kind}"


class RegionHour(models.Model):
    """Notices of a wave claimed per region in a clock hour: what the region cap counts."""

    wave = models.ForeignKey(Wave, on_delete=models.CASCADE, related_name="+")
    region = models.CharField(max_length=2)
    hour = models.DateTimeField()
    claimed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["wave", "region", "hour"], name="region_hour_once")]

    def __str__(self) -> str:
        return f"{self.wave_id} {self.region} {self.hour:%Y-%m-%d %H}"


class DeliveryBatch(models.Model):
    """The rows one send task sends, claimed together by the dispatcher.

    A claimed row stays ``pending`` and only gets the batch's token (a HOT update: no index changes), so
    the batch row is where a claim is: ``ids`` lists its rows, and its status says whether their task has
    started. A task starts by moving its batch from queued to sending (one row, committed before the
    provider is called) instead of every delivery row. A batch whose lease runs out while queued never
    reached the provider, so its rows go back to pending; one that was sending may have, so its rows
    become in doubt.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        SENDING = "sending", "sending"
        DONE = "done", "done"
        RELEASED = "released", "released"  # never started: lost, or the wave stopped first
        IN_DOUBT = "in_doubt", "in doubt"  # its task stopped answering while sending

    token = models.CharField(max_length=48, primary_key=True)
    wave = models.ForeignKey(Wave, on_delete=models.CASCADE, related_name="+", db_index=False)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    rows = models.PositiveIntegerField(default=0)
    ids = models.JSONField(default=list)  # the ids of its delivery rows
    lease_until = models.DateTimeField()
    # The minute the task rendered into the notices; copied to rows that end in doubt.
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(
                fields=["lease_until"], condition=Q(status__in=["queued", "sending"]), name="delivery_batch_lease_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.token} {self.status}"
