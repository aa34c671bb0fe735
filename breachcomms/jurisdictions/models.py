"""Breach-notification rules per jurisdiction, kept as data so users can review and correct them.

Laws change; every row carries its source and the date it was last checked (``as_of``), and rows that
rest on a single secondary source are flagged ``needs_check``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from breachcomms.jurisdictions.validation import validate_place_codes, validate_required_content


class DeadlineUnit(models.TextChoices):
    HOURS = "hours", _("hours")
    DAYS = "days", _("calendar days")
    BUSINESS_DAYS = "business_days", _("business days (Mon–Fri)")


class ClockStart(models.TextChoices):
    # The clock-start words of breach laws differ, and the difference is days.
    AWARENESS = "awareness", _("awareness (the organisation learnt of it)")
    DISCOVERY = "discovery", _("discovery")
    DETERMINATION = "determination", _("determination (it concluded a breach occurred)")
    ASSESSMENT = "assessment", _("assessment (it assessed it as notifiable)")
    DETECTION = "detection", _("detection")


class Jurisdiction(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True, help_text=_("e.g. EU-GDPR, US-CA, US-HIPAA"))
    name = models.CharField(_("name"), max_length=200)
    notify = models.TextField(_("who must be notified"))
    applies_to = models.JSONField(
        _("applies to"),
        default=list,
        blank=True,
        help_text=_("ISO 3166-1 country codes (SE) and/or ISO 3166-2 subdivision codes (US-CA)."),
    )
    by_selection = models.BooleanField(
        _("applies by kind of organisation"),
        default=False,
        help_text=_("Chosen per incident (e.g. HIPAA for health-care entities) instead of by the customer's place."),
    )
    deadline_amount = models.PositiveIntegerField(_("deadline"), null=True, blank=True)
    deadline_unit = models.CharField(_("deadline unit"), max_length=16, choices=DeadlineUnit.choices, blank=True)
    deadline_text = models.TextField(
        _("deadline in words"), help_text=_("The full rule, e.g. 'without undue delay' when there is no fixed time.")
    )
    clock_start = models.CharField(
        _("clock starts at"), max_length=16, choices=ClockStart.choices, blank=True, help_text=_("Blank: not stated.")
    )
    threshold = models.TextField(_("threshold"), blank=True)
    threshold_min_affected = models.PositiveIntegerField(
        _("minimum people affected"),
        null=True,
        blank=True,
        help_text=_("A number of affected people from which notification is required whatever the other criteria."),
    )
    individuals_required = models.BooleanField(_("individuals must be notified"), default=True)
    required_content = models.JSONField(
        _("required content"),
        default=list,
        blank=True,
        help_text=_(
            "What a notice to individuals must contain: a list of {element, description, markers}; markers "
            "maps a language code to case-insensitive regular expressions, any of which satisfies the element."
        ),
    )
    notes = models.TextField(_("notes"), blank=True)
    source = models.CharField(_("source"), max_length=300)
    as_of = models.DateField(_("as of"), help_text=_("The date this row was last checked against its source."))
    needs_check = models.BooleanField(_("needs checking"), default=False, help_text=_("Rests on one secondary source."))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("jurisdiction")
        verbose_name_plural = _("jurisdictions")
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(deadline_amount__isnull=True, deadline_unit="")
                    | models.Q(deadline_amount__gt=0, deadline_unit__in=DeadlineUnit.values)
                ),
                name="jurisdiction_deadline_amount_with_unit",
                violation_error_message=_("A deadline needs both a number greater than zero and a unit, or neither."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"

    def clean(self) -> None:
        super().clean()
        errors: dict[str, ValidationError] = {}
        for field, validate in (("applies_to", validate_place_codes), ("required_content", validate_required_content)):
            try:
                validate(getattr(self, field))
            except ValidationError as exc:
                errors[field] = exc
        if not self.by_selection and not self.applies_to and "applies_to" not in errors:
            errors["applies_to"] = ValidationError(
                _("List the places the rule applies to, or mark it as applying by kind of organisation."),
                code="no_places",
            )
        if errors:
            raise ValidationError(errors)

    def applies_to_place(self, country: str, subdivision: str) -> bool:
        """True when a customer at this place falls under the rule (rules chosen per incident never do)."""
        if self.by_selection:
            return False
        places = set(self.applies_to)
        return bool(country and country.upper() in places) or bool(subdivision and subdivision.upper() in places)
