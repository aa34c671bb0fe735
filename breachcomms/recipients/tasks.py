"""Celery tasks for customers: thin wrappers around services."""

from __future__ import annotations

from celery import shared_task

from breachcomms.recipients.services import customer_import_run


@shared_task(soft_time_limit=3300, time_limit=3600, acks_late=True)
def customer_import_run_task(customer_import_id: int) -> None:
    customer_import_run(customer_import_id=customer_import_id)
