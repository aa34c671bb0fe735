"""The jurisdiction admin's form: place codes as text, required content as indented JSON."""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.db import models

from breachcomms.jurisdictions.models import Jurisdiction

_SEPARATORS = re.compile(r"[\s,;]+")


class PlaceCodesField(forms.CharField):
    """Country or subdivision codes separated by commas, spaces or new lines, stored as a list."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 80})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return ", ".join(value)
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        codes: list[str] = []
        for item in _SEPARATORS.split(text):
            code = item.strip().upper()
            if code and code not in codes:
                codes.append(code)
        return codes


class IndentedJSONField(forms.JSONField):
    widget = forms.Textarea(attrs={"rows": 20, "cols": 100, "class": "vLargeTextField", "spellcheck": "false"})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | dict):
            return json.dumps(value, indent=2, ensure_ascii=False)
        return super().prepare_value(value)


def _model_field(name: str) -> models.Field[Any, Any]:
    field = Jurisdiction._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field


class JurisdictionAdminForm(forms.ModelForm):
    applies_to = PlaceCodesField(
        required=False, label=_model_field("applies_to").verbose_name, help_text=_model_field("applies_to").help_text
    )
    required_content = IndentedJSONField(
        required=False,
        label=_model_field("required_content").verbose_name,
        help_text=_model_field("required_content").help_text,
    )

    class Meta:
        model = Jurisdiction
        fields = [
            "code",
            "name",
            "notify",
            "applies_to",
            "by_selection",
            "deadline_amount",
            "deadline_unit",
            "clock_start",
            "deadline_text",
            "threshold",
            "threshold_min_affected",
            "individuals_required",
            "required_content",
            "source",
            "as_of",
            "needs_check",
            "notes",
        ]

    def clean_required_content(self) -> Any:
        # An emptied box means "no required content", not null (the column is not nullable).
        value = self.cleaned_data.get("required_content")
        return [] if value in (None, "") else value
