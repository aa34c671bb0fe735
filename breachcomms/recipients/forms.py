"""Forms of the customer admin: uploading a customer file."""

from __future__ import annotations

from pathlib import PurePath

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from breachcomms.recipients.encodings import CHOICES

CUSTOMER_FILE_SUFFIXES = (".csv", ".tsv", ".txt", ".jsonl", ".ndjson", ".json")


class CustomerImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Customer file"),
        help_text=_("CSV (comma, semicolon or tab separated, with a header row) or JSON Lines (one object per line)."),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(CUSTOMER_FILE_SUFFIXES)}),
    )

    encoding = forms.ChoiceField(
        label=_("Encoding"),
        choices=CHOICES,
        required=False,
        help_text=_(
            "Leave it for UTF-8 files (Excel: “CSV UTF-8”) and for UTF-16 ones (Excel: “Unicode text”). "
            "A plain Excel “CSV” is in the Windows encoding of the computer that saved it: choose that one."
        ),
    )

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        suffix = PurePath(upload.name or "").suffix.lower()
        if suffix not in CUSTOMER_FILE_SUFFIXES:
            raise ValidationError(
                _("%(name)s is not a CSV or JSON Lines file; use one of %(suffixes)s."),
                code="file_type",
                params={"name": upload.name, "suffixes": ", ".join(CUSTOMER_FILE_SUFFIXES)},
            )
        return upload
