"""Forms of the notices admin: editing a draft, adding a notice or a campaign, rejecting, acknowledging."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

from breachcomms.notices.models import Campaign, Channel, NoticeVersion
from breachcomms.notices.rendering import MAX_SOURCE_CHARS
from breachcomms.notices.services import MIN_REASON_CHARS

_MONO = {"class": "vLargeTextField notice-source", "spellcheck": "true"}


class NoticeVersionForm(forms.ModelForm):
    """The parts of a draft; the channel decides which ones are shown."""

    expected_hash = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = NoticeVersion
        fields = ["subject", "html", "text"]
        widgets = {
            "subject": forms.TextInput(attrs={"class": "vLargeTextField notice-source", "size": 100}),
            "html": forms.Textarea(attrs={**_MONO, "rows": 24}),
            "text": forms.Textarea(attrs={**_MONO, "rows": 16}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["expected_hash"].initial = self.instance.content_hash
        channel = self.instance.notice.channel if self.instance.pk else Channel.EMAIL
        text = self.fields.get("text")  # absent when the version is shown read-only
        if channel == Channel.SMS:
            for name in ("subject", "html"):
                self.fields.pop(name, None)
            if text is not None:
                text.label = _("SMS text")
                text.widget.attrs.update({"rows": 6, "data-sms-source": "1"})
                text.help_text = _("Plain text. The counter shows the length with sample values.")
        elif text is not None:
            text.label = _("Text body")
            text.help_text = _("The plain-text version of the email, for clients that show no HTML.")
        for name, field in self.fields.items():
            if name in MAX_SOURCE_CHARS:
                field.validators.append(MaxLengthValidator(MAX_SOURCE_CHARS[name]))
                field.widget.attrs["maxlength"] = MAX_SOURCE_CHARS[name]


class CampaignAddForm(forms.ModelForm):
    from_shipped = forms.BooleanField(
        label=_("Start from the shipped templates"),
        required=False,
        initial=True,
        help_text=_("Drafts of the project's templates in English, Swedish, Russian and Indonesian."),
    )

    class Meta:
        model = Campaign
        fields = ["incident", "kind", "name"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].required = False
        self.fields["name"].help_text = _("Leave empty to name it after its kind.")


class NoticeAddForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    locale = forms.CharField(label=_("Locale"), max_length=35, help_text=_("BCP 47, e.g. de or sv-FI"))


class RejectForm(forms.Form):
    comment = forms.CharField(
        label=_("What needs to change"), widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), max_length=4000
    )


class AcknowledgeForm(forms.Form):
    check_code = forms.CharField(widget=forms.HiddenInput, max_length=120)
    reason = forms.CharField(
        label=_("Reason"),
        min_length=MIN_REASON_CHARS,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text=_("Kept as the record of why this was approved despite the failing check."),
    )
