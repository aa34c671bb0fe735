"""Celery tasks for follow-ups: thin wrappers around services; running one twice is harmless."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from breachcomms.delivery.services import waves_launch_due
from breachcomms.followups.services import follow_ups_refresh


# Run by Celery beat every BREACHCOMMS_FOLLOWUPS_TICK_INTERVAL seconds; an expired run is dropped, not piled up.
@shared_task(soft_time_limit=50, time_limit=60, ignore_result=True)
def followups_tick_task() -> None:
    """Move draft occurrences' starts with their anchors, then launch the scheduled waves that are due."""
    follow_ups_refresh()
    waves_launch_due(now=timezone.now())
