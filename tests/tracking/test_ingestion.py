"""Provider events are stored once and move deliveries only forward, whatever order and how often they come."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from breachcomms.audit.models import Action, AuditEntry
from breachcomms.channels.base import ProviderEvent as IncomingEvent
from breachcomms.channels.sendgrid import parse_events
from breachcomms.channels.twilio import parse_status
from breachcomms.delivery.models import (
    ChannelPlan,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Suppression,
    Wave,
    WaveAction,
)
from breachcomms.incidents.models import Incident
from breachcomms.tracking.models import ProviderEvent
from breachcomms.tracking.services import provider_events_record
from tests.tracking.ledger import T0, body_of, make_deliveries, make_wave, sendgrid_event

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]
S = DeliveryStatus


def events(*items: dict[str, Any]) -> list[IncomingEvent]:
    return parse_events(body_of(items).decode())


def ingest(*items: dict[str, Any]) -> Any:
    return provider_events_record(events=events(*items))


def status_of(delivery: Delivery) -> str:
    delivery.refresh_from_db()
    return delivery.status


def test_each_event_delivered_three_times_out_of_order_is_stored_once_with_the_right_status(wave: Wave) -> None:
    deliveries = make_deliveries(wave, 60)
    histories = {
        "delivered": ["processed", "deferred", "delivered"],
        "bounced": ["processed", "deferred", "bounce"],
        "blocked": ["processed", "blocked"],
        "dropped": ["processed", "dropped"],
        "deferred": ["processed", "deferred"],
    }
    expected: dict[int, str] = {}
    stream: list[dict[str, Any]] = []
    for n, delivery in enumerate(deliveries):
        name = list(histories)[n % len(histories)]
        expected[delivery.id] = {"blocked": S.BOUNCED, "dropped": S.FAILED}.get(name, name)
        for step, kind in enumerate(histories[name]):
            stream.append(sendgrid_event(delivery, kind, at=T0.timestamp() + step, reason=f"{kind} reason"))
    copies = stream * 3
    random.Random(5).shuffle(copies)
    for start in range(0, len(copies), 37):  # in batches, as SendGrid posts them
        ingest(*copies[start : start + 37])

    assert ProviderEvent.objects.count() == len(stream)
    assert dict(Delivery.objects.values_list("id", "status")) == expected


@pytest.mark.parametrize("order", [["processed", "delivered"], ["delivered", "processed"]])
def test_a_late_processed_never_overwrites_delivered(wave: Wave, order: list[str]) -> None:
    [delivery] = make_deliveries(wave, 1)
    for kind in order:
        ingest(sendgrid_event(delivery, kind))
    assert status_of(delivery) == S.DELIVERED
    assert delivery.finished_at is not None


def test_deferred_after_delivered_changes_nothing(wave: Wave) -> None:
    [delivery] = make_deliveries(wave, 1)
    ingest(sendgrid_event(delivery, "delivered"))
    ingest(sendgrid_event(delivery, "deferred", reason="try later"))
    assert status_of(delivery) == S.DELIVERED


def test_a_bounce_is_final_and_carries_its_reason(wave: Wave) -> None:
    [delivery] = make_deliveries(wave, 1)
    ingest(sendgrid_event(delivery, "bounce", status="5.1.1", reason="550 5.1.1 The email account does not exist"))
    ingest(sendgrid_event(delivery, "delivered"), sendgrid_event(delivery, "processed"))
    assert status_of(delivery) == S.BOUNCED
    assert "550 5.1.1 The email account does not exist" in delivery.last_error
    assert delivery.last_error.startswith("bounce")


def test_a_bounce_after_delivery_still_counts(wave: Wave) -> None:
    [delivery] = make_deliveries(wave, 1)
    ingest(sendgrid_event(delivery, "delivered"))
    ingest(sendgrid_event(delivery, "bounce", reason="mailbox full for good"))
    assert status_of(delivery) == S.BOUNCED


def test_rows_in_doubt_are_reconciled_by_any_event(wave: Wave) -> None:
    doubtful, sending = make_deliveries(wave, 2, status=S.IN_DOUBT)
    Delivery.objects.filter(id=sending.id).update(status=S.PENDING, claim_token="batch")  # claimed, being sent
    ingest(sendgrid_event(doubtful, "processed"), sendgrid_event(sending, "delivered"))
    assert status_of(doubtful) == S.SENT
    assert status_of(sending) == S.DELIVERED
    reconciled = DeliveryAttempt.objects.get(delivery=doubtful)
    assert reconciled.outcome == DeliveryAttempt.Outcome.RECONCILED
    assert not DeliveryAttempt.objects.filter(delivery=sending).exists()  # its worker records its own attempt


def test_rows_that_never_left_are_not_moved(wave: Wave) -> None:
    cancelled, suppressed = make_deliveries(wave, 2, status=S.CANCELLED)
    Delivery.objects.filter(id=suppressed.id).update(status=S.SUPPRESSED)
    ingest(sendgrid_event(cancelled, "delivered"), sendgrid_event(suppressed, "delivered"))
    assert (status_of(cancelled), status_of(suppressed)) == (S.CANCELLED, S.SUPPRESSED)


def test_events_without_a_delivery_id_are_matched_by_message_id_and_address(wave: Wave) -> None:
    first, second = make_deliveries(wave, 2)  # one provider message for both
    lost = sendgrid_event(second, "delivered")
    del lost["delivery_id"]
    lost["email"] = second.address.upper()
    report = ingest(lost)
    assert report.stored == 1
    assert (status_of(first), status_of(second)) == (S.SENT, S.DELIVERED)


def test_unknown_and_garbage_delivery_ids_are_ignored(wave: Wave) -> None:
    [delivery] = make_deliveries(wave, 1)
    report = ingest(
        sendgrid_event(None, "delivered", delivery_id="424242424242"),
        sendgrid_event(None, "delivered", delivery_id="'; DROP TABLE delivery_delivery; --"),
        sendgrid_event(None, "delivered", delivery_id="99999999999999999999999"),
    )
    assert (report.received, report.stored) == (3, 0)
    assert status_of(delivery) == S.SENT


def test_hard_bounces_blocks_and_complaints_go_on_the_incidents_suppression_list(wave: Wave) -> None:
    bounced, blocked, complained, deferred = make_deliveries(wave, 4)
    report = ingest(
        sendgrid_event(bounced, "bounce", reason="550 unknown user"),
        sendgrid_event(blocked, "blocked", reason="554 blocked"),
        sendgrid_event(complained, "spamreport"),
        sendgrid_event(deferred, "deferred"),
    )
    assert report.suppressed == 3
    listed = dict(Suppression.objects.values_list("address", "reason"))
    assert listed == {
        bounced.address.lower(): Suppression.Reason.HARD_BOUNCE,
        blocked.address.lower(): Suppression.Reason.HARD_BOUNCE,
        complained.address.lower(): Suppression.Reason.COMPLAINT,
    }
    assert set(Suppression.objects.values_list("incident_id", flat=True)) == {wave.campaign.incident_id}
    assert status_of(complained) == S.DELIVERED  # a complaint means it arrived
    ingest(sendgrid_event(bounced, "bounce", reason="550 unknown user"))  # a new event id, same address
    assert Suppression.objects.count() == 3


def test_a_hard_bounce_sends_the_text_message_where_the_wave_falls_back_to_sms(incident: Incident) -> None:
    wave = make_wave(incident, plan=ChannelPlan.EMAIL_THEN_SMS)
    [email] = make_deliveries(wave, 1)
    report = ingest(sendgrid_event(email, "bounce", reason="550 unknown user"))
    assert report.fallbacks == 1
    fallback = Delivery.objects.get(fallback_for=email)
    assert (fallback.channel, fallback.status, fallback.address) == ("sms", S.PENDING, email.customer.phone)


def test_a_bounce_after_the_wave_completed_reopens_it_for_the_text_message(incident: Incident) -> None:
    # Bounces come minutes after the send: the last emails of a wave bounce after it completed.
    wave = make_wave(incident, plan=ChannelPlan.EMAIL_THEN_SMS, status=Wave.Status.COMPLETED)
    Wave.objects.filter(id=wave.id).update(finished_at=T0)
    [email] = make_deliveries(wave, 1)
    assert ingest(sendgrid_event(email, "bounce", reason="550 unknown user")).fallbacks == 1
    wave.refresh_from_db()
    assert (wave.status, wave.finished_at) == (Wave.Status.RUNNING, None)
    assert Delivery.objects.get(fallback_for=email).status == S.PENDING
    reopened = wave.actions.get(kind=WaveAction.Kind.REOPEN)
    assert "1 customer's first notice failed after the wave completed" in reopened.reason
    assert AuditEntry.objects.filter(action=Action.WAVE_REOPENED, data__fallbacks=1).count() == 1
    # The same bounce again (a duplicate webhook) changes nothing.
    assert ingest(sendgrid_event(email, "bounce", reason="550 unknown user")).fallbacks == 0
    assert wave.actions.filter(kind=WaveAction.Kind.REOPEN).count() == 1


def test_a_bounce_after_an_abort_sends_nothing_more(incident: Incident) -> None:
    wave = make_wave(incident, plan=ChannelPlan.EMAIL_THEN_SMS, status=Wave.Status.ABORTED)
    [email] = make_deliveries(wave, 1)
    assert ingest(sendgrid_event(email, "bounce", reason="550 unknown user")).fallbacks == 0
    wave.refresh_from_db()
    assert wave.status == Wave.Status.ABORTED
    assert not Delivery.objects.filter(fallback_for=email).exists()


def test_too_many_hard_bounces_halt_the_wave(wave: Wave, settings: Any) -> None:
    settings.BREACHCOMMS_DELIVERY_HALT_MIN_SENDS = 10
    Wave.objects.filter(id=wave.id).update(halt_window=10, max_hard_bounce_rate=0.1)
    deliveries = make_deliveries(wave, 10)
    Delivery.objects.filter(id__in=[d.id for d in deliveries]).update(status=S.SENT, queued_at=T0, sent_at=T0)
    assert ingest(sendgrid_event(deliveries[0], "bounce")).halted == []  # 10%: at the limit
    assert ingest(sendgrid_event(deliveries[1], "bounce")).halted == [wave.id]  # 20%: over it
    wave.refresh_from_db()
    assert wave.status == Wave.Status.PAUSED
    assert "hard-bounced" in wave.halt_reason


def test_no_fallback_where_the_wave_sends_email_only(wave: Wave) -> None:
    [email] = make_deliveries(wave, 1)
    assert ingest(sendgrid_event(email, "bounce")).fallbacks == 0
    assert Delivery.objects.count() == 1


def test_opens_and_clicks_are_not_recorded_by_default(wave: Wave) -> None:
    [delivery] = make_deliveries(wave, 1)
    report = ingest(sendgrid_event(delivery, "open"), sendgrid_event(delivery, "click", url="https://example.com"))
    assert report.stored == 0
    assert ProviderEvent.objects.count() == 0


def test_when_tracking_is_on_opens_and_clicks_are_recorded_but_change_no_status(wave: Wave, settings: Any) -> None:
    settings.BREACHCOMMS_TRACK_ENGAGEMENT = True
    [delivery] = make_deliveries(wave, 1)
    report = ingest(sendgrid_event(delivery, "open"), sendgrid_event(delivery, "click"))
    assert report.stored == 2
    assert status_of(delivery) == S.SENT


def twilio_event(delivery: Delivery, status: str, **extra: str) -> IncomingEvent:
    params = {"MessageSid": delivery.provider_message_id, "MessageStatus": status, "To": delivery.address, **extra}
    return parse_status(f"https://example.com/webhooks/twilio/status/?delivery_id={delivery.id}", params)


def test_a_number_that_cannot_take_texts_is_suppressed(wave: Wave) -> None:
    dead, unlucky = make_deliveries(wave, 2, channel="sms")
    provider_events_record(
        events=[
            twilio_event(dead, "undelivered", ErrorCode="30005"),
            twilio_event(unlucky, "failed", ErrorCode="30008"),
        ]
    )
    assert (status_of(dead), status_of(unlucky)) == (S.FAILED, S.FAILED)
    assert list(Suppression.objects.values_list("channel", "address", "reason")) == [
        ("sms", dead.address, Suppression.Reason.INVALID)
    ]


def test_a_text_message_callback_without_delivery_id_is_matched_by_its_sid(wave: Wave) -> None:
    [sms] = make_deliveries(wave, 1, channel="sms")
    event = parse_status(
        "https://example.com/webhooks/twilio/status/",
        {"MessageSid": sms.provider_message_id, "MessageStatus": "delivered", "To": sms.address},
    )
    provider_events_record(events=[event])
    assert status_of(sms) == S.DELIVERED


def batches(items: Sequence[dict[str, Any]], size: int) -> list[list[IncomingEvent]]:
    return [events(*items[start : start + size]) for start in range(0, len(items), size)]


@pytest.mark.timeout(120)
def test_a_hundred_thousand_events_are_ingested_set_based(incident: Incident) -> None:
    wave = make_wave(incident)
    deliveries = make_deliveries(wave, 16_000)
    stream = []
    for n, delivery in enumerate(deliveries):
        last = "bounce" if n % 50 == 0 else "delivered"
        kinds = ["processed", "deferred", "deferred", last]
        stream += [sendgrid_event(delivery, kind, at=T0.timestamp() + i) for i, kind in enumerate(kinds)]
    stream += random.Random(1).sample(stream, 36_000)  # repeats, as a provider retrying sends them
    random.Random(2).shuffle(stream)
    assert len(stream) == 100_000

    statements = []
    for batch in batches(stream, 5_000):
        with CaptureQueriesContext(connection) as queries:
            provider_events_record(events=batch)
        statements.append(len(queries))

    assert ProviderEvent.objects.count() == 64_000
    assert Delivery.objects.filter(status=S.DELIVERED).count() == 15_680
    assert Delivery.objects.filter(status=S.BOUNCED).count() == 320
    # Set-based: the statements per batch do not grow with its 5,000 events.
    assert max(statements) <= 12
