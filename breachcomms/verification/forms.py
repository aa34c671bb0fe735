"""The verification form: a reference code, and optionally the contact the notice was sent to."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from breachcomms.delivery.references import InvalidReference, parse_reference
from breachcomms.recipients.contacts import InvalidValue, normalize_email, normalize_phone
from breachcomms.verification.selectors import Contact

_PHONE_PUNCTUATION = re.compile(r"[\s\-.()/]+")


class VerifyForm(forms.Form):
    code = forms.CharField(
        label=_("Reference code"),
        max_length=40,
        help_text=_("As printed in the notice, for example K7QX-M4PD-9TZA. Capitals, spaces and dashes do not matter."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )
    contact = forms.CharField(
        label=_("Your email address or the last four digits of your phone number (optional)"),
        max_length=254,
        required=False,
        help_text=_("Only to confirm that the notice was sent to you. This page never shows the address we used."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def clean_code(self) -> int:
        try:
            return parse_reference(self.cleaned_data["code"])
        except InvalidReference:
            raise forms.ValidationError(
                _("This is not a reference code we could have sent. Check it for typos."), code="invalid_reference"
            ) from None

    def clean_contact(self) -> Contact | None:
        raw = self.cleaned_data["contact"].strip()
        if not raw:
            return None
        if "@" in raw:
            try:
                return Contact(email=normalize_email(raw).casefold())
            except InvalidValue:
                raise _contact_error() from None
        compact = _PHONE_PUNCTUATION.sub("", raw)
        if compact.isascii() and compact.isdigit() and len(compact) == 4:
            return Contact(phone_digits=compact)
        if compact.startswith(("+", "00")):
            try:
                phone = normalize_phone("+" + compact[2:] if compact.startswith("00") else compact, None)
            except InvalidValue:
                raise _contact_error() from None
            return Contact(phone_digits=phone.e164[1:])
        raise _contact_error()


def _contact_error() -> forms.ValidationError:
    return forms.ValidationError(
        _("Enter an email address, the last four digits of your phone number, or the full number starting with +."),
        code="invalid_contact",
    )
