"""Provider events in the admin: read only (they are what providers said; nobody edits them)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from breachcomms.tracking.models import ProviderEvent


@admin.register(ProviderEvent)
class ProviderEventAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "provider", "kind", "delivery", "reason", "received_at"]
    list_filter = ["provider", "kind"]
    search_fields = ["event_id", "=delivery__id"]
    date_hierarchy = "occurred_at"
    list_select_related = ["delivery"]
    readonly_fields = ["provider", "event_id", "delivery", "kind", "occurred_at", "reason", "raw", "received_at"]
    show_full_result_count = False  # a million-event table: no COUNT(*) on every page

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
