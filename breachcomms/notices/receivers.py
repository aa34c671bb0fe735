"""Signal receivers: every new incident gets an initial-notice campaign with the shipped templates as drafts.

The incidents app does not know about notices (dependencies flow incidents ← recipients ← notices),
so the notices app listens for new incidents instead of being called.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from breachcomms.incidents.models import Incident
from breachcomms.notices.services import campaign_ensure_initial


@receiver(post_save, sender=Incident, dispatch_uid="notices_initial_campaign")
def incident_created(
    sender: type[Incident], instance: Incident, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    if not created or raw:
        return
    # After the commit, so the incident is visible and a template problem can never undo its creation.
    transaction.on_commit(partial(campaign_ensure_initial, incident_id=instance.pk), robust=True)
