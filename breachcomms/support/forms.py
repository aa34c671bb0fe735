"""The support desk's search form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from breachcomms.incidents.models import Incident


class SearchForm(forms.Form):
    query = forms.CharField(
        label=_("Email, phone, reference code or customer reference"),
        max_length=254,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off", "spellcheck": "false", "size": 40}),
    )
    region = forms.CharField(
        label=_("Country of a phone number without country code"),
        max_length=2,
        required=False,
        help_text=_("Two letters, e.g. SE. Empty: the countries of the incident's customers are tried."),
        widget=forms.TextInput(attrs={"size": 3, "autocomplete": "off"}),
    )
    incident = forms.TypedChoiceField(label=_("Incident"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", _("All incidents"))] + [(i.id, i.title) for i in Incident.objects.only("id", "title")]
        self.fields["incident"].choices = choices  # type: ignore[attr-defined]

    def clean_region(self) -> str:
        region = self.cleaned_data["region"].strip().upper()
        if region and not (region.isascii() and region.isalpha() and len(region) == 2):
            raise forms.ValidationError(_("Enter a two-letter country code such as SE."), code="region")
        return region
