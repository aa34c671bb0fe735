"""Celery tasks for delivery: thin wrappers around services. The database is the record; a task
delivered twice or lost is harmless (see ``services``)."""

from __future__ import annotations

import json

from celery import shared_task
from django.conf import settings

from breachcomms.delivery.conf import setting
from breachcomms.delivery.services import delivery_dispatch_due, delivery_reconcile_in_doubt, delivery_send_batch

# A send task is killed well before its rows' sending lease runs out, so a row is never declared in
# doubt (and perhaps found absent and sent again) while the task that holds it could still send it.
_LEASE = int(setting("BREACHCOMMS_DELIVERY_SENDING_LEASE"))


# Run by Celery beat every few seconds; an expired run is dropped rather than piling up.
@shared_task(soft_time_limit=50, time_limit=60, ignore_result=True)
def delivery_dispatch_due_task() -> None:
    delivery_dispatch_due()


@shared_task(soft_time_limit=_LEASE // 2, time_limit=_LEASE * 3 // 5, acks_late=True, ignore_result=True)
def delivery_send_batch_task(claim_token: str) -> None:
    report = delivery_send_batch(claim_token=claim_token)
    path = getattr(settings, "BREACHCOMMS_DELIVERY_TIMINGS_FILE", "")
    if path and report.claimed:
        # One short line per batch, appended atomically: the benchmark adds them up.
        line = json.dumps({"rows": report.claimed, "sent": report.sent, **report.seconds}) + "\n"
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(line)


@shared_task(soft_time_limit=50, time_limit=60, ignore_result=True)
def delivery_reconcile_in_doubt_task() -> None:
    delivery_reconcile_in_doubt()
