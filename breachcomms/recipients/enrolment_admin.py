"""Admin for enrolments: a read-only list and an upload form for a programme's list of enrolled customers."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from breachcomms.core.admin import ReadOnlyAdmin
from breachcomms.incidents.models import Incident
from breachcomms.recipients.encodings import EncodingError
from breachcomms.recipients.enrolment_services import EnrolmentImportReport, enrolment_import_run
from breachcomms.recipients.forms import CUSTOMER_FILE_SUFFIXES, CustomerImportUploadForm
from breachcomms.recipients.models import Enrolment

REJECTIONS_SHOWN = 200


class EnrolmentUploadForm(forms.Form):
    incident = forms.ModelChoiceField(label=_("Incident"), queryset=Incident.objects.all())
    file = forms.FileField(
        label=_("Enrolment file"),
        help_text=_(
            "CSV (with a header row) or JSON Lines: email, phone or customer reference to find the customer, "
            "enrolled_at (e.g. 2025-06-30) and, optionally, program (credit_monitoring)."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(CUSTOMER_FILE_SUFFIXES)}),
    )
    encoding = CustomerImportUploadForm.base_fields["encoding"]

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


@admin.register(Enrolment)
class EnrolmentAdmin(ReadOnlyAdmin):
    list_display = ["customer", "program", "enrolled_at", "incident", "source", "created_at"]
    list_filter = ["incident", "program"]
    list_select_related = ["customer", "incident"]
    raw_id_fields = ["customer"]
    show_full_result_count = False

    def has_upload_permission(self, request: HttpRequest) -> bool:
        """Uploading a list is adding enrolments, through the upload view instead of the add form."""
        codename = get_permission_codename("add", self.opts)
        return request.user.has_perm(f"{self.opts.app_label}.{codename}")

    def get_urls(self) -> list[URLPattern]:
        upload = path(
            "upload/",
            self.admin_site.admin_view(self.upload_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_upload",
        )
        return [upload, *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        context = {**(extra_context or {}), "has_upload_permission": self.has_upload_permission(request)}
        return super().changelist_view(request, extra_context=context)

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_upload_permission(request):
            raise PermissionDenied
        report: EnrolmentImportReport | None = None
        form = EnrolmentUploadForm(request.POST or None, request.FILES or None, initial=request.GET.dict())
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                report = enrolment_import_run(
                    incident=form.cleaned_data["incident"],
                    stream=upload,
                    name=PurePath(upload.name or "enrolments.csv").name,
                    user=request.user,
                    encoding=form.cleaned_data["encoding"],
                )
            except EncodingError as exc:
                form.add_error("encoding", str(exc))
            else:
                messages.success(request, report.summary)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "form": form,
            "report": report,
            "rejections": report.rejected[:REJECTIONS_SHOWN] if report else [],
            "title": gettext("Import enrolments"),
        }
        return TemplateResponse(request, "admin/recipients/enrolment/upload.html", context)
