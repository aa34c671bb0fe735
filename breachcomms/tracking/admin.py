"""Provider events in the admin: read only (they are what providers said; nobody edits them)."""

from __future__ import annotations

from django.contrib import admin

from breachcomms.core.admin import ReadOnlyAdmin
from breachcomms.tracking.models import ProviderEvent


@admin.register(ProviderEvent)
class ProviderEventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "provider", "kind", "delivery", "reason", "received_at"]
    list_filter = ["provider", "kind"]
    search_fields = ["event_id", "=delivery__id"]
    date_hierarchy = "occurred_at"
    list_select_related = ["delivery"]
    readonly_fields = ["provider", "event_id", "delivery", "kind", "occurred_at", "reason", "raw", "received_at"]
    show_full_result_count = False  # a million-event table: no COUNT(*) on every page
