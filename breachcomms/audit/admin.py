"""The audit trail in the admin: read only, for the incident commander."""

from __future__ import annotations

from django.contrib import admin

from breachcomms.audit.models import AuditEntry
from breachcomms.core.admin import ReadOnlyAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["seq", "at", "action", "actor_name", "incident_id", "object_type", "object_id"]
    list_filter = ["action"]
    search_fields = ["actor_name", "object_id"]
    readonly_fields = [f.name for f in AuditEntry._meta.fields]
    date_hierarchy = "at"
