"""What providers told us about our deliveries, each report stored once."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from breachcomms.delivery.models import Delivery


class Provider(models.TextChoices):
    SENDGRID = "sendgrid", "SendGrid"
    TWILIO = "twilio", "Twilio"


class ProviderEvent(models.Model):
    """One event of a provider webhook (SendGrid event, Twilio status callback), stored once.

    ``event_id`` is the provider's id for the event (SendGrid ``sg_event_id``; for Twilio, which gives
    callbacks no id, ``MessageSid:MessageStatus``): a webhook delivered three times stores one row.
    """

    provider = models.CharField(_("provider"), max_length=16, choices=Provider.choices)
    event_id = models.CharField(_("event id"), max_length=128)
    # No database constraint: ingestion joins to the ledger by id anyway, and a webhook burst should not
    # take a key-share lock on every delivery row it mentions.
    delivery = models.ForeignKey(
        Delivery,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        db_constraint=False,
        db_index=False,
        related_name="provider_events",
        verbose_name=_("delivery"),
    )
    kind = models.CharField(_("event"), max_length=32)
    occurred_at = models.DateTimeField(_("occurred"))
    reason = models.TextField(_("reason"), blank=True)
    raw = models.JSONField(_("as received"), default=dict)
    received_at = models.DateTimeField(_("received"))

    class Meta:
        ordering = ["occurred_at", "id"]
        verbose_name = _("provider event")
        verbose_name_plural = _("provider events")
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="provider_event_once")]
        # A delivery's timeline.
        indexes = [models.Index(fields=["delivery", "occurred_at"], name="provider_event_timeline_idx")]

    def __str__(self) -> str:
        return f"{self.provider} {self.kind} {self.event_id}"


class Dashboard(models.Model):
    """No table: carries the permission to see the delivery dashboard."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_dashboard", _("Can see the delivery dashboard"))]

    def __str__(self) -> str:
        return str(self._meta.verbose_name)
