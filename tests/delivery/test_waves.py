"""Pause, resume, abort, the auto-halt and completion of a running wave."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.test import override_settings

from breachcomms.audit.models import Action, AuditEntry
from breachcomms.audit.selectors import audit_chain_verify
from breachcomms.channels.base import PermanentError, ProviderEvent
from breachcomms.channels.locmem import Outbox
from breachcomms.delivery.models import ChannelPlan, Delivery, Wave, WaveAction
from breachcomms.delivery.services import (
    WaveStateError,
    delivery_dispatch_due,
    delivery_send_batch,
    wave_abort,
    wave_check_auto_halt,
    wave_launch,
    wave_pause,
    wave_resume,
)
from breachcomms.recipients.models import Customer
from breachcomms.tracking.services import provider_events_record
from tests.delivery.transports import HookedEmailTransport

pytestmark = pytest.mark.django_db
T0 = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def running(
    make_customer: Callable[..., Customer], make_wave: Callable[..., Wave], notices: list, commander: User, settings
) -> Wave:
    settings.BREACHCOMMS_DELIVERY_EMAIL_BATCH = 5
    for i in range(10):
        make_customer(exposure_flags=1 + i % 2)  # two shapes: two batches
    return wave_launch(wave=make_wave(), user=commander, now=T0)


def dispatch(now: datetime = T0) -> list[str]:
    return delivery_dispatch_due(now=now, enqueue=lambda t: None).tokens


def test_pause_stops_new_claims_at_once_and_resume_sends_nobody_twice(
    running: Wave, commander: User, locmem_transports: Outbox
) -> None:
    first, second = dispatch()
    delivery_send_batch(claim_token=first, now=T0)
    wave_pause(wave=running, user=commander, reason="Support desk overloaded")
    # A batch queued before the pause does not go out; nothing new is claimed.
    assert delivery_send_batch(claim_token=second, now=T0).sent == 0
    assert dispatch(T0 + timedelta(seconds=5)) == []
    paused = Counter(Delivery.objects.values_list("status", flat=True))
    assert paused == {"sent": 5, "pending": 5}
    wave_resume(wave=running, user=commander)
    for token in dispatch(T0 + timedelta(seconds=10)):
        delivery_send_batch(claim_token=token, now=T0)
    ids = locmem_transports.email_recipients()
    assert len(ids) == len(set(ids)) == 10
    kinds = list(WaveAction.objects.filter(wave=running).order_by("at", "id").values_list("kind", "reason"))
    assert kinds == [("launch", ""), ("pause", "Support desk overloaded"), ("resume", "")]


@override_settings(BREACHCOMMS_EMAIL_TRANSPORT="tests.delivery.transports.HookedEmailTransport")
def test_a_batch_already_at_the_provider_when_paused_finishes(running: Wave, commander: User) -> None:
    first, second = dispatch()
    HookedEmailTransport.before_send = lambda: wave_pause(wave=running, user=commander)
    assert delivery_send_batch(claim_token=first, now=T0).sent == 5
    assert Wave.objects.get(id=running.id).status == Wave.Status.PAUSED
    assert delivery_send_batch(claim_token=second, now=T0).sent == 0
    assert Counter(Delivery.objects.values_list("status", flat=True)) == {"sent": 5, "pending": 5}


def test_abort_cancels_every_waiting_row_and_sends_nobody_after(
    running: Wave, commander: User, locmem_transports: Outbox
) -> None:
    first, second = dispatch()
    delivery_send_batch(claim_token=first, now=T0)
    cancelled = wave_abort(wave=running, user=commander, reason="Wrong notice text")
    assert cancelled == 5
    assert delivery_send_batch(claim_token=second, now=T0).sent == 0
    assert dispatch(T0 + timedelta(hours=1)) == []
    assert len(locmem_transports.email_recipients()) == 5
    assert set(Delivery.objects.filter(status="cancelled").values_list("last_error", flat=True)) == {
        "Wrong notice text"
    }
    with pytest.raises(WaveStateError):
        wave_resume(wave=running, user=commander)


def test_only_a_commander_may_pause_or_abort(running: Wave, author: User, support: User) -> None:
    for user in (author, support):
        with pytest.raises(PermissionDenied):
            wave_pause(wave=running, user=user)
        with pytest.raises(PermissionDenied):
            wave_abort(wave=running, user=user, reason="no")
    assert Wave.objects.get(id=running.id).status == Wave.Status.RUNNING


def test_the_wave_halts_itself_when_too_many_sends_fail(
    make_customer: Callable[..., Customer],
    make_wave: Callable[..., Wave],
    notices: list,
    commander: User,
    locmem_transports: Outbox,
) -> None:
    for i in range(30):
        make_customer(exposure_flags=1 + i % 3)  # three batches of 10
    wave = wave_launch(wave=make_wave(halt_window=20, max_failure_rate=0.25), user=commander, now=T0)
    locmem_transports.fail_next_email(PermanentError("SendGrid 400: The from address does not match", status=400))
    tokens = dispatch()
    # The first batch of ten fails (split in halves down to single recipients, all refused).
    locmem_transports.fail_next_email(PermanentError("SendGrid 400", status=400), times=20)
    for token in tokens:
        delivery_send_batch(claim_token=token, now=T0)
    wave.refresh_from_db()
    assert wave.status == Wave.Status.PAUSED
    assert wave.halt_reason.startswith("Halted automatically: ")
    assert "failed" in wave.halt_reason
    assert WaveAction.objects.filter(wave=wave, kind="halt").exists()
    assert dispatch(T0 + timedelta(seconds=5)) == []


def test_few_failures_do_not_halt(running: Wave, locmem_transports: Outbox) -> None:
    for token in dispatch():
        delivery_send_batch(claim_token=token, now=T0)
    assert wave_check_auto_halt(wave_id=running.id) == ""


def test_a_wave_completes_when_nothing_is_left(running: Wave) -> None:
    for token in dispatch():
        delivery_send_batch(claim_token=token, now=T0)
    report = delivery_dispatch_due(now=T0 + timedelta(seconds=2), enqueue=lambda t: None)
    assert report.completed == [running.id]
    running.refresh_from_db()
    assert running.status == Wave.Status.COMPLETED
    assert running.finished_at is not None


def test_a_late_bounce_reopens_a_completed_wave_which_texts_that_customer_and_completes_again(
    make_customer: Callable[..., Customer],
    make_wave: Callable[..., Wave],
    notices: list,
    commander: User,
    locmem_transports: Outbox,
) -> None:
    customers = [make_customer(phone=f"+4670123456{i}") for i in range(3)]
    wave = wave_launch(wave=make_wave(channel_plan=ChannelPlan.EMAIL_THEN_SMS), user=commander, now=T0)
    for token in dispatch():
        delivery_send_batch(claim_token=token, now=T0)
    assert delivery_dispatch_due(now=T0 + timedelta(seconds=2), enqueue=lambda t: None).completed == [wave.id]
    bounced = Delivery.objects.get(wave=wave, customer=customers[1], channel="email")
    # The provider reports the hard bounce a minute after the wave completed.
    later = T0 + timedelta(minutes=1)
    bounce = ProviderEvent(
        provider="sendgrid", event_id="ev-late-1", delivery_id=str(bounced.id), provider_message_id="",
        kind="bounce", occurred_at=later, reason="550 unknown user", raw={},
    )  # fmt: skip
    assert provider_events_record(events=[bounce], now=later).fallbacks == 1
    wave.refresh_from_db()
    assert wave.status == Wave.Status.RUNNING
    for token in dispatch(later + timedelta(seconds=1)):
        delivery_send_batch(claim_token=token, now=later + timedelta(seconds=1))
    assert delivery_dispatch_due(now=later + timedelta(seconds=3), enqueue=lambda t: None).completed == [wave.id]
    assert [message.to for message in locmem_transports.sms] == [customers[1].phone]
    assert [a.kind for a in wave.actions.order_by("id")] == ["launch", "complete", "reopen", "complete"]


def test_launch_pause_resume_and_abort_are_on_the_audit_trail(running: Wave, commander: User) -> None:
    wave_pause(wave=running, user=commander, reason="Support desk overloaded")
    wave_resume(wave=running, user=commander)
    wave_abort(wave=running, user=commander, reason="Wrong segment")
    entries = AuditEntry.objects.filter(object_type="delivery.wave", object_id=str(running.pk)).order_by("seq")
    assert [(e.action, e.actor_name, e.data["reason"]) for e in entries] == [
        (Action.WAVE_LAUNCHED, "commander", ""),
        (Action.WAVE_PAUSED, "commander", "Support desk overloaded"),
        (Action.WAVE_RESUMED, "commander", ""),
        (Action.WAVE_ABORTED, "commander", "Wrong segment"),
    ]
    assert {e.incident_id for e in entries} == {running.campaign.incident_id}
    assert audit_chain_verify().intact


@override_settings(BREACHCOMMS_EMAIL_TRANSPORT="tests.delivery.transports.HookedEmailTransport")
def test_a_delivery_event_before_the_task_records_keeps_its_status_and_gets_what_was_sent(running: Wave) -> None:
    first, _second = dispatch()

    def provider_reports_delivery_at_once() -> None:  # the webhook overtakes the send task's own update
        Delivery.objects.filter(claim_token=first).update(status="delivered")

    HookedEmailTransport.before_send = provider_reports_delivery_at_once
    assert delivery_send_batch(claim_token=first, now=T0).sent == 5
    rows = Delivery.objects.filter(claim_token=first)
    assert {row.status for row in rows} == {"delivered"}
    assert all(row.content_hash and row.notice_version_id and row.provider_message_id for row in rows)
