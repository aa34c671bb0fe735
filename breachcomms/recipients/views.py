"""Admin views for customer imports: upload, live progress, issues as CSV.

They are mounted by ``CustomerImportAdmin.get_urls`` through ``admin_site.admin_view`` (login and
staff status enforced, CSRF checked) and check the admin's permission hooks themselves.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from breachcomms.incidents.models import Incident
from breachcomms.recipients.encodings import EncodingError
from breachcomms.recipients.forms import CustomerImportUploadForm
from breachcomms.recipients.models import CustomerImport
from breachcomms.recipients.selectors import import_issues_csv
from breachcomms.recipients.services import customer_import_create, customer_import_run
from breachcomms.recipients.tasks import customer_import_run_task

if TYPE_CHECKING:
    from breachcomms.recipients.admin import CustomerImportAdmin

logger = logging.getLogger(__name__)

UNFINISHED = (CustomerImport.Status.PENDING, CustomerImport.Status.RUNNING)


def customer_import_upload(request: HttpRequest, *, model_admin: CustomerImportAdmin, incident_id: int) -> HttpResponse:
    """Upload a customer file for an incident, import it (here or in a worker), show its page."""
    if not model_admin.has_upload_permission(request):
        raise PermissionDenied
    incident = get_object_or_404(Incident, pk=incident_id)
    if request.method == "POST":
        form = CustomerImportUploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                customer_import = _start_import(
                    request, incident, form.cleaned_data["file"], form.cleaned_data["encoding"]
                )
            except EncodingError as exc:
                form.add_error("encoding", str(exc))
            else:
                return redirect("admin:recipients_customerimport_change", customer_import.pk)
    else:
        form = CustomerImportUploadForm()
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "incident": incident,
        "incident_opts": Incident._meta,
        "form": form,
        "title": _("Import customers into %(incident)s") % {"incident": incident.title},
        "inline_max_bytes": settings.BREACHCOMMS_IMPORT_INLINE_MAX_BYTES,
    }
    return TemplateResponse(request, "admin/recipients/customerimport/upload.html", context)


def _start_import(request: HttpRequest, incident: Incident, upload: UploadedFile, encoding: str) -> CustomerImport:
    """Small files are imported within the request; bigger ones by a worker after the commit."""
    inline = (upload.size or 0) <= settings.BREACHCOMMS_IMPORT_INLINE_MAX_BYTES
    name = PurePath(upload.name or "customers.csv").name
    with transaction.atomic():
        customer_import = customer_import_create(
            incident=incident,
            stream=upload,  # type: ignore[arg-type]
            name=name,
            uploaded_by=request.user,
            encoding=encoding,
        )
        if not inline:
            transaction.on_commit(partial(customer_import_run_task.delay, customer_import.pk))
    if not inline:
        messages.info(request, _("The file %(name)s is being imported by a worker.") % {"name": name})
        return customer_import
    try:
        customer_import_run(customer_import_id=customer_import.pk)
    except Exception:
        # The service has marked the import failed and stored the error; its page shows it.
        logger.warning("inline import %s failed", customer_import.pk)
        messages.error(request, _("The import of %(name)s failed; the error is shown below.") % {"name": name})
    return customer_import


def _own_import(request: HttpRequest, model_admin: CustomerImportAdmin, object_id: int) -> CustomerImport:
    customer_import = model_admin.get_object(request, str(object_id))
    if customer_import is None:
        raise Http404
    return customer_import


def import_progress(customer_import: CustomerImport) -> dict[str, Any]:
    """What the import page shows while it polls."""
    return {
        "status": customer_import.status,
        "status_label": str(customer_import.get_status_display()),
        "phase": customer_import.phase,
        "percent_done": customer_import.percent_done,
        "rows_read": customer_import.rows_read,
        "customers_created": customer_import.customers_created,
        "rows_merged": customer_import.rows_merged,
        "rows_rejected": customer_import.rows_rejected,
        "warnings": customer_import.warnings,
        "summary": customer_import.summary_display,
        "finished": customer_import.status not in UNFINISHED,
    }


def customer_import_progress(request: HttpRequest, *, model_admin: CustomerImportAdmin, object_id: int) -> JsonResponse:
    """The import's progress as JSON, for the page to poll."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    response = JsonResponse(import_progress(_own_import(request, model_admin, object_id)))
    response["Cache-Control"] = "no-store"
    return response


def customer_import_issues(
    request: HttpRequest, *, model_admin: CustomerImportAdmin, object_id: int
) -> StreamingHttpResponse:
    """Every rejected row and warning of an import, streamed as a CSV download."""
    if not (model_admin.has_view_permission(request) and model_admin.has_issue_view_permission(request)):
        raise PermissionDenied
    customer_import = _own_import(request, model_admin, object_id)
    response = StreamingHttpResponse(
        import_issues_csv(customer_import=customer_import), content_type="text/csv; charset=utf-8"
    )
    filename = f"{PurePath(customer_import.original_name).stem or 'import'}-issues.csv"
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response
