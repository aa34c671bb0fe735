"""The dispatcher: pacing, quiet hours, region caps, leases, back-pressure, concurrent dispatchers."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test import override_settings

from breachcomms.channels.locmem import Outbox
from breachcomms.delivery import dispatch
from breachcomms.delivery.models import ChannelPlan, Delivery, DeliveryBatch, DeliveryStatus, Wave
from breachcomms.delivery.sending import claim_rows
from breachcomms.delivery.services import (
    delivery_dispatch_due,
    delivery_reconcile_in_doubt,
    delivery_send_batch,
    wave_launch,
)
from breachcomms.recipients.models import Customer

T0 = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)


def launch(make_wave: Callable[..., Wave], commander: User, **values: object) -> Wave:
    return wave_launch(wave=make_wave(**values), user=commander, now=T0)


def statuses() -> Counter[str]:
    return Counter(Delivery.objects.values_list("status", flat=True))


def claimed() -> Counter[str]:
    """Claim token → rows: a claimed row stays pending under its batch's token."""
    return Counter(
        Delivery.objects.filter(status="pending").exclude(claim_token="").values_list("claim_token", flat=True)
    )


@pytest.mark.django_db
def test_the_token_bucket_holds_the_wave_to_its_rate(
    make_customer: Callable[..., Customer], make_wave: Callable[..., Wave], notices: list, commander: User
) -> None:
    for _ in range(200):
        make_customer()
    launch(make_wave, commander, email_per_minute=60)  # one a second, bursts of two intervals' worth (4)
    claimed = [
        delivery_dispatch_due(now=T0 + timedelta(seconds=s), enqueue=lambda t: None).claimed_total
        for s in range(0, 62, 2)
    ]
    assert claimed[0] == 4  # the bucket starts full
    assert claimed[1:] == [2] * 30  # then exactly the rate: 2 per 2-second run
    assert sum(claimed) == 64


@pytest.mark.django_db
def test_sms_are_paced_in_segments(
    make_customer: Callable[..., Customer],
    make_wave: Callable[..., Wave],
    make_notice: Callable[..., object],
    commander: User,
) -> None:
    make_notice("en", "sms", text="{{ organization }} " + "x" * 200 + " {{ verify_url }}")  # 2 segments
    for _ in range(50):
        make_customer()
    wave = launch(make_wave, commander, channel_plan=ChannelPlan.SMS, sms_segments_per_second=4)
    assert wave.sms_segments_estimate == 2
    runs = [delivery_dispatch_due(now=T0 + timedelta(seconds=s), enqueue=lambda t: None) for s in (0, 1, 2, 12)]
    # 2 messages a second; the bucket holds two dispatcher intervals' (4 s) worth.
    assert [run.claimed_total for run in runs] == [8, 2, 2, 8]


@pytest.mark.django_db
def test_rows_whose_window_closed_wait_for_the_next_opening(
    make_customer: Callable[..., Customer], make_wave: Callable[..., Wave], notices: list, commander: User
) -> None:
    make_customer(name="Jakarta", country="ID", time_zone="Asia/Jakarta")
    make_customer(name="London")
    launch(make_wave, commander, window_start=time(8, 0), window_end=time(21, 0))  # both open at T0
    evening = datetime(2025, 6, 2, 15, 0, tzinfo=UTC)  # 22:00 in Jakarta, 16:00 in London
    report = delivery_dispatch_due(now=evening, enqueue=lambda t: None)
    assert report.claimed_total == 1
    assert report.moved == 1
    jakarta = Delivery.objects.get(customer__name="Jakarta")
    assert (jakarta.status, jakarta.due_at) == ("pending", datetime(2025, 6, 3, 1, 0, tzinfo=UTC))
    assert delivery_dispatch_due(now=datetime(2025, 6, 3, 1, 0, tzinfo=UTC), enqueue=lambda t: None).claimed_total == 1


@pytest.mark.django_db
def test_a_region_gets_at_most_its_cap_per_hour(
    make_customer: Callable[..., Customer], make_wave: Callable[..., Wave], notices: list, commander: User
) -> None:
    for _ in range(10):
        make_customer()
    for _ in range(2):
        make_customer(country="SE", locale="sv-SE", language="sv", time_zone="Europe/Stockholm")
    launch(make_wave, commander, region_cap_per_hour=3)

    def dispatch_and_send(now: datetime) -> int:
        report = delivery_dispatch_due(now=now, enqueue=lambda t: None)
        for token in report.tokens:
            delivery_send_batch(claim_token=token, now=now)
        return report.claimed_total

    assert dispatch_and_send(T0) == 5  # 3 in GB, 2 in SE
    assert dispatch_and_send(T0 + timedelta(minutes=30)) == 0
    assert dispatch_and_send(T0 + timedelta(hours=1)) == 3
    assert Counter(Delivery.objects.filter(status="sent").values_list("region", flat=True)) == {"GB": 6, "SE": 2}


@pytest.mark.django_db
@override_settings(BREACHCOMMS_DELIVERY_MAX_IN_FLIGHT=5, BREACHCOMMS_DELIVERY_EMAIL_BATCH=2)
def test_no_more_than_the_in_flight_limit_is_handed_to_workers(
    make_customer: Callable[..., Customer], make_wave: Callable[..., Wave], notices: list, commander: User
) -> None:
    for _ in range(12):
        make_customer()
    launch(make_wave, commander)
    first = delivery_dispatch_due(now=T0, enqueue=lambda t: None)
    assert first.claimed_total == 5
    assert len(first.tokens) == 3
    assert delivery_dispatch_due(now=T0, enqueue=lambda t: None).claimed_total == 0
    for token in first.tokens:
        delivery_send_batch(claim_token=token, now=T0)
    assert delivery_dispatch_due(now=T0, enqueue=lambda t: None).claimed_total == 5


@pytest.mark.django_db
def test_expired_leases_requeue_unstarted_rows_and_doubt_started_ones(
    make_customer: Callable[..., Customer], make_wave: Callable[..., Wave], notices: list, commander: User
) -> None:
    for _ in range(4):
        make_customer()
    launch(make_wave, commander, email_per_minute=60)  # bucket of 4: two runs of 2 below
    Wave.objects.update(email_tokens=2)
    lost = delivery_dispatch_due(now=T0, enqueue=lambda t: None).tokens  # the broker loses these tasks
    Wave.objects.update(email_tokens=2, tokens_at=T0)
    started = delivery_dispatch_due(now=T0, enqueue=lambda t: None).tokens
    claim_rows(started[0], now=T0, sent_at=T0)  # its worker dies while sending
    report = delivery_dispatch_due(now=T0 + timedelta(seconds=301), enqueue=lambda t: None)
    assert (report.requeued, report.in_doubt) == (2, 2)
    assert statuses()["in_doubt"] == 2
    # The lost task arriving late finds its rows taken by the new claim and sends nothing.
    assert delivery_send_batch(claim_token=lost[0], now=T0 + timedelta(seconds=302)).sent == 0


@pytest.mark.django_db
@override_settings(
    BREACHCOMMS_EMAIL_TRANSPORT="tests.delivery.transports.FindingEmailTransport",
    BREACHCOMMS_DELIVERY_RECONCILE_AFTER=0,
)
def test_rows_in_doubt_are_settled_by_asking_the_provider(
    make_customer: Callable[..., Customer],
    make_wave: Callable[..., Wave],
    notices: list,
    commander: User,
    locmem_transports: Outbox,
) -> None:
    for _ in range(3):
        make_customer()
    launch(make_wave, commander)
    token = delivery_dispatch_due(now=T0, enqueue=lambda t: None).tokens[0]
    delivery_send_batch(claim_token=token, now=T0)
    # Pretend the worker died after the provider took the batch: back to in doubt, then lost one message.
    Delivery.objects.update(status=DeliveryStatus.IN_DOUBT, lease_until=T0)
    lost = Delivery.objects.order_by("id").first()
    assert lost is not None
    locmem_transports.emails[0] = type(locmem_transports.emails[0])(
        **{**locmem_transports.emails[0].__dict__, "recipients": locmem_transports.emails[0].recipients[1:]}
    )
    recorded = dict(Delivery.objects.values_list("id", "content_hash"))
    Delivery.objects.update(content_hash="", notice_version=None)  # the task died before recording them
    report = delivery_reconcile_in_doubt(now=T0 + timedelta(seconds=60))
    assert (report.found, report.requeued) == (2, 1)
    assert Delivery.objects.get(id=lost.id).status == DeliveryStatus.PENDING
    assert statuses() == {"sent": 2, "pending": 1}
    # What the customers got is known again: rendered from the version approved when it was sent.
    for delivery in Delivery.objects.filter(status="sent"):
        assert delivery.content_hash == recorded[delivery.id]
        assert delivery.notice_version_id is not None


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_never_claim_a_row_twice(
    make_customer: Callable[..., Customer], make_wave: Callable[..., Wave], notices: list, commander: User
) -> None:
    if connection.vendor != "postgresql":
        pytest.fail("this test needs PostgreSQL's row locks")
    incident = make_customer().incident
    Customer.objects.bulk_create(
        Customer(
            incident=incident,
            name=f"C{i}",
            email=f"c{i}@example.org",
            country="GB",
            locale="en-GB",
            language="en",
            time_zone="Europe/London",
        )
        for i in range(3000)
    )
    wave = launch(make_wave, commander)
    cell = dispatch.ZoneCell("Europe/London", None, T0 + timedelta(hours=8))
    barrier = threading.Barrier(2)
    results: list[Counter[str]] = []

    def claim() -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                results.append(
                    dispatch.claim(
                        wave, channel="email", cell=cell, limit=2000, now=T0, lease_until=T0 + timedelta(minutes=5)
                    )
                )
        finally:
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(sum(counter.values()) for counter in results) == 3001
    assert not set(results[0]) & set(results[1])
    by_token = claimed()
    assert by_token == results[0] + results[1]
    assert dict(DeliveryBatch.objects.values_list("token", "rows")) == dict(by_token)
    for token, ids in DeliveryBatch.objects.values_list("token", "ids"):  # each batch lists exactly its rows
        assert sorted(ids) == sorted(Delivery.objects.filter(claim_token=token).values_list("id", flat=True))
    # And two whole dispatcher runs side by side claim the rest exactly once.
    Delivery.objects.update(claim_token="")
    DeliveryBatch.objects.all().delete()
    runs: list[int] = []

    def run() -> None:
        try:
            barrier.wait()
            runs.append(delivery_dispatch_due(now=T0, enqueue=lambda t: None).claimed_total)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(runs) == 3001
    assert statuses() == {"pending": 3001}
    assert sum(claimed().values()) == 3001
    assert sum(DeliveryBatch.objects.values_list("rows", flat=True)) == 3001


@pytest.mark.sqlite
@pytest.mark.django_db
def test_a_lost_batch_of_an_aborted_wave_is_cancelled_not_sent(
    make_customer: Callable[..., Customer], make_wave: Callable[..., Wave], notices: list, commander: User
) -> None:
    for _ in range(3):
        make_customer()
    wave = launch(make_wave, commander)
    tokens = delivery_dispatch_due(now=T0, enqueue=lambda t: None).tokens
    assert claimed() == {tokens[0]: 3}  # claimed: the rows stay pending under their batch's token
    Wave.objects.filter(id=wave.id).update(status=Wave.Status.ABORTED)
    # Its task never came: once the lease runs out the rows are given up, never sent.
    assert delivery_dispatch_due(now=T0 + timedelta(seconds=301), enqueue=lambda t: None).requeued == 3
    assert statuses() == {"cancelled": 3}
    assert set(DeliveryBatch.objects.values_list("status", flat=True)) == {DeliveryBatch.Status.RELEASED}
    assert delivery_send_batch(claim_token=tokens[0], now=T0 + timedelta(seconds=302)).sent == 0


@pytest.mark.django_db
def test_a_claim_writes_no_column_an_index_names(
    make_customer: Callable[..., Customer], make_wave: Callable[..., Wave], notices: list, commander: User
) -> None:
    """A claim must stay a HOT update (no index written): it may change only columns no index names, in its key or
    its condition, and the ledger keeps room on its pages for the new versions."""
    for _ in range(3):
        make_customer()
    launch(make_wave, commander)
    before = {row["id"]: row for row in Delivery.objects.values()}
    delivery_dispatch_due(now=T0, enqueue=lambda t: None)
    changed = {
        name for row in Delivery.objects.values() for name, value in row.items() if before[row["id"]][name] != value
    }
    assert changed == {"claim_token"}  # lease_until is written too (NULL, as before)
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [Delivery._meta.db_table])
        definitions = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [Delivery._meta.db_table])
        options = cursor.fetchone()[0]
    assert len(definitions) == 6
    for written in ("claim_token", "lease_until"):
        assert not [d for d in definitions if written in d]
    assert "fillfactor=50" in options
