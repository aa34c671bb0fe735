"""The incident admin's form: categories from the catalog, link domains as text, risk rules as JSON."""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import DomainNameValidator
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from breachcomms.incidents.categories import CATEGORIES
from breachcomms.incidents.models import Incident
from breachcomms.incidents.risk import validate_risk_rules
from breachcomms.jurisdictions.models import Jurisdiction

_DOMAIN_SEPARATORS = re.compile(r"[\s,]+")
_validate_domain = DomainNameValidator(accept_idna=False)


class DomainListField(forms.CharField):
    """Domain names, one per line or separated by commas, stored as a list."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        domains: list[str] = []
        for item in _DOMAIN_SEPARATORS.split(text):
            domain = item.strip().lower().rstrip(".")
            if domain and domain not in domains:
                domains.append(domain)
        return domains

    def validate(self, value: Any) -> None:
        super().validate(value)
        for domain in value:
            if "/" in domain or ":" in domain:
                raise ValidationError(
                    _("%(value)s is not a domain name: write example.com, not a URL."),
                    code="url",
                    params={"value": domain},
                )
            try:
                _validate_domain(domain)
            except ValidationError:
                raise ValidationError(
                    _("%(value)s is not a valid domain name."), code="invalid", params={"value": domain}
                ) from None


class RiskRulesField(forms.JSONField):
    """The rules as indented JSON, checked by ``validate_risk_rules``."""

    widget = forms.Textarea(attrs={"rows": 12, "cols": 80, "class": "vLargeTextField"})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return json.dumps(value, indent=2, ensure_ascii=False)
        return super().prepare_value(value)

    def validate(self, value: Any) -> None:
        super().validate(value)
        try:
            validate_risk_rules(value)
        except ValueError as exc:
            raise ValidationError(
                _("These risk rules cannot be used: %(reason)s"), code="invalid_rules", params={"reason": str(exc)}
            ) from None


def category_choices() -> list[tuple[str, str]]:
    return [(category.code, str(category.label)) for category in CATEGORIES]


def selectable_jurisdiction_choices() -> list[tuple[str, str]]:
    """Rules that apply by kind of organisation (HIPAA, SEC, …): the commander says whether they apply."""
    return [(j.code, f"{j.code} — {j.name}") for j in Jurisdiction.objects.filter(by_selection=True).order_by("code")]


class IncidentAdminForm(forms.ModelForm):
    """``rules`` is not a model field: the admin applies it through a service that re-tiers every
    customer of the incident."""

    data_categories = forms.MultipleChoiceField(
        label=capfirst(_("exposed data categories")),
        choices=category_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    allowed_link_domains = DomainListField(
        label=capfirst(_("allowed link domains")),
        required=False,
        help_text=_("One domain per line or separated by commas. Notices may link only to these and their subdomains."),
    )
    support_website = forms.URLField(label=capfirst(_("support website")), required=False, assume_scheme="https")
    extra_jurisdictions = forms.MultipleChoiceField(
        label=capfirst(_("rules chosen for this incident")),
        choices=selectable_jurisdiction_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Rules that apply by the kind of organisation rather than where customers live."),
    )
    rules = RiskRulesField(
        label=capfirst(_("risk rules")),
        help_text=_(
            'Which exposed categories put a customer in a tier, e.g. {"high": ["password"], "medium": ["phone"]}. '
            "Changing them re-tiers every customer of the incident."
        ),
    )

    class Meta:
        model = Incident
        fields = [
            "title",
            "organization",
            "description",
            "severity",
            "status",
            "data_categories",
            "default_locale",
            "occurred_at",
            "discovered_at",
            "aware_at",
            "determined_at",
            "support_phone",
            "support_email",
            "support_website",
            "sender_name",
            "sender_email",
            "allowed_link_domains",
            "extra_jurisdictions",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rules"].initial = self.instance.risk_rules

    def clean_data_categories(self) -> list[str]:
        chosen = set(self.cleaned_data["data_categories"])
        return [category.code for category in CATEGORIES if category.code in chosen]

    @property
    def risk_rules_changed(self) -> bool:
        return bool(self.cleaned_data.get("rules") != self.instance.risk_rules)
