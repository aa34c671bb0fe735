"""A big import runs in a real Celery worker process, through the Redis broker."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from django.db import close_old_connections

from breachcomms.incidents.models import Incident
from breachcomms.recipients.models import Customer, CustomerImport
from breachcomms.recipients.services import customer_import_create
from breachcomms.recipients.synthetic import write_customers_csv
from breachcomms.recipients.tasks import customer_import_run_task
from config.celery import app
from tests.services import require_redis, start_worker, stop_worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


@pytest.fixture
def redis_broker() -> Iterator[str]:
    url = require_redis()
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield url
    app.conf.task_always_eager = eager


def send(broker_url: str, customer_import_id: int) -> None:
    with app.connection_for_write(broker_url) as connection:
        customer_import_run_task.apply_async(args=[customer_import_id], connection=connection)


def test_import_task_runs_in_a_worker_and_a_repeated_message_is_harmless(incident: Incident, redis_broker: str) -> None:
    rows = "".join(f"P{i},p{i}@example.com,+4670{i:07d},SE,password\n" for i in range(5000))
    created = customer_import_create(
        incident=incident, stream=io.BytesIO(("name,email,phone,country,exposures\n" + rows).encode()), name="big.csv"
    )
    # The broker may deliver a message twice; the second delivery must find the import taken.
    send(redis_broker, created.id)
    send(redis_broker, created.id)
    worker = start_worker(redis_broker)
    try:

        def finished() -> bool:
            close_old_connections()
            status = CustomerImport.objects.get(id=created.id).status
            return status in {CustomerImport.Status.DONE, CustomerImport.Status.FAILED}

        wait_for(finished, 120, "the worker did not finish the import")
    finally:
        stop_worker(worker)
    result = CustomerImport.objects.get(id=created.id)
    assert result.summary == "imported 5000 customers from 5000 rows: 0 merged, 0 rejected, 0 warnings", result.error
    assert Customer.objects.filter(incident=incident).count() == 5000


def test_a_big_file_is_validated_by_processes_the_worker_starts(incident: Incident, redis_broker: str) -> None:
    # Over 4 MB: the task validates in BREACHCOMMS_IMPORT_PROCESSES processes of its own, which a
    # Celery worker process must be able to start.
    stream = io.StringIO()
    write_customers_csv(stream, 40_000, seed=3)
    data = stream.getvalue().encode()
    assert len(data) > 4 * 1024 * 1024
    created = customer_import_create(incident=incident, stream=io.BytesIO(data), name="big.csv")
    send(redis_broker, created.id)
    worker = start_worker(redis_broker)
    try:

        def finished() -> bool:
            close_old_connections()
            status = CustomerImport.objects.get(id=created.id).status
            return status in {CustomerImport.Status.DONE, CustomerImport.Status.FAILED}

        wait_for(finished, 240, "the worker did not finish the big import")
    finally:
        stop_worker(worker)
    result = CustomerImport.objects.get(id=created.id)
    assert result.status == CustomerImport.Status.DONE, result.error
    assert result.rows_read == 40_000
    assert Customer.objects.filter(incident=incident).count() == result.customers_created > 39_000
