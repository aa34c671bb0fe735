"""The audit trail in the admin: read only, for the incident commander."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from breachcomms.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["seq", "at", "action", "actor_name", "incident_id", "object_type", "object_id"]
    list_filter = ["action"]
    search_fields = ["actor_name", "object_id"]
    readonly_fields = [f.name for f in AuditEntry._meta.fields]
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
