"""The incident: what happened, when the organisation learnt of it, and how customers reach it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from breachcomms.incidents.risk import default_risk_rules


class Incident(models.Model):
    class Severity(models.TextChoices):
        LOW = "low", _("Low")
        MEDIUM = "medium", _("Medium")
        HIGH = "high", _("High")
        CRITICAL = "critical", _("Critical")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        NOTIFYING = "notifying", _("Notifying")
        CLOSED = "closed", _("Closed")

    title = models.CharField(_("title"), max_length=200)
    organization = models.CharField(
        _("organization"), max_length=200, blank=True, help_text=_("The name customers know you by, used in notices.")
    )
    description = models.TextField(_("description"), blank=True)
    severity = models.CharField(_("severity"), max_length=16, choices=Severity.choices, default=Severity.HIGH)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    occurred_at = models.DateTimeField(_("breach occurred at"), null=True, blank=True)
    # The three clock-start words of breach laws: discovery, awareness, determination.
    discovered_at = models.DateTimeField(_("discovered at"), null=True, blank=True)
    aware_at = models.DateTimeField(_("aware at"), null=True, blank=True)
    determined_at = models.DateTimeField(_("breach determined at"), null=True, blank=True)
    data_categories = models.JSONField(
        _("exposed data categories"), default=list, blank=True, help_text=_("Category codes from the catalog.")
    )
    default_locale = models.CharField(_("default locale"), max_length=35, default="en")
    support_phone = models.CharField(_("support phone"), max_length=32, blank=True)
    support_email = models.EmailField(_("support email"), blank=True)
    support_website = models.URLField(_("support website"), blank=True)
    sender_name = models.CharField(_("sender name"), max_length=100, blank=True)
    sender_email = models.EmailField(_("sender email"), blank=True)
    allowed_link_domains = models.JSONField(
        _("allowed link domains"),
        default=list,
        blank=True,
        help_text=_("Notices may link only to these domains (and their subdomains)."),
    )
    extra_jurisdictions = models.JSONField(
        _("rules chosen for this incident"),
        default=list,
        blank=True,
        help_text=_(
            "Codes of rules that apply by kind of organisation rather than by the customers' place, e.g. US-HIPAA."
        ),
    )
    risk_rules = models.JSONField(_("risk rules"), default=default_risk_rules)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")

    def __str__(self) -> str:
        return self.title
