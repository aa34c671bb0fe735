"""The send task: exactly once, what the customer got, retries, failures, fallbacks, doubt."""

from __future__ import annotations

import urllib.error
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from breachcomms.channels.base import PermanentError, TransientError
from breachcomms.channels.locmem import Outbox
from breachcomms.channels.rendering import render_recipient
from breachcomms.delivery.dispatch import retry_delay
from breachcomms.delivery.models import ChannelPlan, Delivery, DeliveryAttempt, Wave
from breachcomms.delivery.selectors import attempt_history
from breachcomms.delivery.services import (
    delivery_dispatch_due,
    delivery_send_batch,
    suppression_add,
    wave_launch,
)
from breachcomms.delivery.shapes import CustomerValues, delivered_content_hash, render_parts
from breachcomms.notices.context import IncidentFacts, Recipient
from breachcomms.recipients.models import Customer

pytestmark = pytest.mark.django_db
T0 = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)


def run(now: datetime = T0) -> list[str]:
    report = delivery_dispatch_due(now=now, enqueue=lambda t: None)
    for token in report.tokens:
        delivery_send_batch(claim_token=token, now=now)
    return report.tokens


def status_of(customer: Customer, channel: str = "email") -> Delivery:
    return Delivery.objects.get(customer=customer, channel=channel)


def test_a_task_delivered_twice_sends_once(
    make_customer: Callable[..., Customer],
    make_wave: Callable[..., Wave],
    notices: list,
    commander: User,
    locmem_transports: Outbox,
) -> None:
    for _ in range(3):
        make_customer()
    wave_launch(wave=make_wave(), user=commander, now=T0)
    (token,) = delivery_dispatch_due(now=T0, enqueue=lambda t: None).tokens
    first = delivery_send_batch(claim_token=token, now=T0)
    second = delivery_send_batch(claim_token=token, now=T0)
    assert (first.sent, second.claimed) == (3, 0)
    assert len(locmem_transports.email_recipients()) == 3
    assert set(Delivery.objects.values_list("status", "attempts")) == {("sent", 1)}
    # The sent row is the record of the accepted hand-over; the history shows it as an attempt.
    assert not DeliveryAttempt.objects.exists()
    history = attempt_history(Delivery.objects.all())
    assert sorted(len(attempts) for attempts in history.values()) == [1, 1, 1]
    assert {attempts[0].outcome for attempts in history.values()} == {"accepted"}
    assert all(attempts[0].provider_message_id for attempts in history.values())


def test_each_customer_gets_exactly_their_own_full_render(
    make_customer: Callable[..., Customer],
    make_wave: Callable[..., Wave],
    notices: list,
    commander: User,
    locmem_transports: Outbox,
    incident,
) -> None:
    nasty = make_customer(name='O\'Brien & <Ann> "the {{ admin }}"', accounts=["A<1>", "B&2"])
    plain = make_customer(name="", accounts=[])
    wave_launch(wave=make_wave(), user=commander, now=T0)
    run()
    facts = IncidentFacts.from_incident(incident)
    batches = locmem_transports.emails
    received = {r.delivery_id: render_recipient(b, r) for b in batches for r in b.recipients}
    for customer in (nasty, plain):
        delivery = status_of(customer)
        got = received[str(delivery.id)]
        expected = render_parts(
            version=delivery.notice_version,
            channel="email",
            facts=facts,
            recipient=Recipient.from_customer(customer),
            notice_locale="en",
            values=CustomerValues(customer.name, tuple(customer.accounts), delivery.reference_code),
            sent_at=delivery.sent_at,
        )
        assert {"subject": got.subject, "html": got.html, "text": got.text} == expected
        assert delivery.content_hash == delivered_content_hash("email", expected)
    assert "O&#39;Brien &amp; &lt;Ann&gt;" in received[str(status_of(nasty).id)].html
    assert len(batches) == 2  # two shapes: with and without a name and accounts


def test_a_rate_limited_batch_retries_later_with_backoff(
    make_customer: Callable[..., Customer],
    make_wave: Callable[..., Wave],
    notices: list,
    commander: User,
    locmem_transports: Outbox,
) -> None:
    customer = make_customer()
    wave_launch(wave=make_wave(), user=commander, now=T0)
    locmem_transports.fail_next_email(TransientError("SendGrid 429: too many requests", status=429, retry_after=90))
    run()
    delivery = status_of(customer)
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.due_at >= T0 + timedelta(seconds=90)
    assert "429" in delivery.last_error
    assert run(T0 + timedelta(seconds=30)) == []  # not due yet
    run(delivery.due_at)
    assert (status_of(customer).status, status_of(customer).attempts) == ("sent", 2)
    assert len(locmem_transports.email_recipients()) == 1
    assert list(DeliveryAttempt.objects.values_list("outcome", flat=True)) == ["transient"]
    [attempts] = attempt_history([status_of(customer)]).values()
    assert [attempt.outcome for attempt in attempts] == ["transient", "accepted"]


def test_backoff_grows_exponentially_with_jitter_and_a_ceiling() -> None:
    assert retry_delay(1, None, jitter=0.999) <= timedelta(seconds=30)
    assert retry_delay(1, None, jitter=0.0) == timedelta(seconds=15)
    assert retry_delay(4, None, jitter=0.999) > timedelta(seconds=239)
    assert retry_delay(30, None, jitter=0.999) <= timedelta(hours=1)
    assert retry_delay(1, 600.0, jitter=0.5) == timedelta(seconds=600)


@override_settings(BREACHCOMMS_DELIVERY_MAX_ATTEMPTS=2)
def test_a_delivery_fails_after_its_last_attempt(
    make_customer: Callable[..., Customer],
    make_wave: Callable[..., Wave],
    notices: list,
    commander: User,
    locmem_transports: Outbox,
) -> None:
    customer = make_customer()
    wave_launch(wave=make_wave(), user=commander, now=T0)
    locmem_transports.fail_next_email(TransientError("SendGrid 503", status=503), times=2)
    run()
    run(T0 + timedelta(hours=2))
    delivery = status_of(customer)
    assert delivery.status == "failed"
    assert delivery.last_error.startswith("Gave up after 2 attempts")


@override_settings(BREACHCOMMS_EMAIL_TRANSPORT="tests.delivery.transports.RejectingEmailTransport")
def test_one_bad_address_fails_alone_and_falls_back_to_sms(
    make_customer: Callable[..., Customer],
    make_wave: Callable[..., Wave],
    notices: list,
    commander: User,
    locmem_transports: Outbox,
) -> None:
    good = [make_customer() for _ in range(6)]
    bad = make_customer(email="invalid@example.org")
    wave_launch(wave=make_wave(channel_plan=ChannelPlan.EMAIL_THEN_SMS), user=commander, now=T0)
    run()
    assert {status_of(c).status for c in good} == {"sent"}
    failed = status_of(bad)
    assert failed.status == "failed"
    assert "Invalid email invalid@example.org" in failed.last_error
    fallback = status_of(bad, "sms")
    assert (fallback.status, fallback.fallback_for_id) == ("pending", failed.id)
    run(T0 + timedelta(seconds=1))
    assert status_of(bad, "sms").status == "sent"
    assert [m.to for m in locmem_transports.sms] == [bad.phone]


def test_refused_credentials_halt_the_wave_and_send_nothing_more(
    make_customer: Callable[..., Customer],
    make_wave: Callable[..., Wave],
    notices: list,
    commander: User,
    locmem_transports: Outbox,
) -> None:
    customer = make_customer()
    wave = wave_launch(wave=make_wave(), user=commander, now=T0)
    locmem_transports.fail_next_email(PermanentError("SendGrid 401: authorization required", status=401))
    run()
    wave.refresh_from_db()
    assert wave.is_halted
    assert "credentials" in wave.halt_reason
    delivery = status_of(customer)
    assert (delivery.status, delivery.attempts) == ("pending", 0)


def test_a_timeout_leaves_the_batch_in_doubt_but_a_refused_connection_retries(
    make_customer: Callable[..., Customer],
    make_wave: Callable[..., Wave],
    notices: list,
    commander: User,
    locmem_transports: Outbox,
) -> None:
    first, second = make_customer(name="A"), make_customer(name="")  # two shapes: two requests
    wave_launch(wave=make_wave(), user=commander, now=T0)
    refused = TransientError("SendGrid unreachable")
    refused.__cause__ = urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))
    locmem_transports.fail_next_email(TransientError("SendGrid unreachable: timed out"))
    locmem_transports.fail_next_email(refused)
    run()
    assert {status_of(first).status, status_of(second).status} == {"in_doubt", "pending"}


def test_an_address_suppressed_after_launch_is_not_sent_to(
    make_customer: Callable[..., Customer],
    make_wave: Callable[..., Wave],
    notices: list,
    commander: User,
    locmem_transports: Outbox,
    incident,
) -> None:
    customer = make_customer()
    wave_launch(wave=make_wave(channel_plan=ChannelPlan.EMAIL_THEN_SMS), user=commander, now=T0)
    suppression_add(incident=incident, channel="email", address=customer.email.upper(), reason="complaint")
    run()
    assert (status_of(customer).status, status_of(customer).last_error) == ("suppressed", "complaint")
    assert locmem_transports.emails == []
    run(T0 + timedelta(seconds=1))
    assert status_of(customer, "sms").status == "sent"


def test_text_messages_go_out_in_parallel_and_fail_one_by_one(
    make_customer: Callable[..., Customer],
    make_wave: Callable[..., Wave],
    notices: list,
    commander: User,
    locmem_transports: Outbox,
) -> None:
    customers = [make_customer() for _ in range(12)]
    wave_launch(wave=make_wave(channel_plan=ChannelPlan.SMS), user=commander, now=T0)
    locmem_transports.fail_next_sms(PermanentError("Twilio 400 (21211): invalid 'To' number", status=400))
    run()
    statuses = [status_of(c, "sms").status for c in customers]
    assert statuses.count("sent") == 11
    assert statuses.count("failed") == 1
    assert sorted(m.delivery_id for m in locmem_transports.sms) == sorted(
        str(status_of(c, "sms").id) for c in customers if status_of(c, "sms").status == "sent"
    )


def test_refused_sms_credentials_halt_the_wave_and_release_the_rest(
    make_customer: Callable[..., Customer],
    make_wave: Callable[..., Wave],
    notices: list,
    commander: User,
    locmem_transports: Outbox,
    settings: object,
) -> None:
    settings.BREACHCOMMS_DELIVERY_SMS_THREADS = 1  # type: ignore[attr-defined]
    customers = [make_customer() for _ in range(5)]
    wave = wave_launch(wave=make_wave(channel_plan=ChannelPlan.SMS), user=commander, now=T0)
    locmem_transports.fail_next_sms(PermanentError("Twilio 401 (20003): authenticate", status=401))
    run()
    wave.refresh_from_db()
    assert wave.is_halted
    assert "credentials" in wave.halt_reason
    assert {status_of(c, "sms").status for c in customers} == {"pending"}
    assert locmem_transports.sms == []


def test_a_customer_who_opts_out_after_a_follow_up_launch_gets_it_on_no_channel(
    make_customer: Callable[..., Customer],
    make_wave: Callable[..., Wave],
    notices: list,
    commander: User,
    locmem_transports: Outbox,
    incident,
    campaign,
) -> None:
    opted_out, other = make_customer(name="Opted out"), make_customer(name="Other")
    campaign.kind = "follow_up"
    campaign.save(update_fields=["kind"])
    wave_launch(wave=make_wave(channel_plan=ChannelPlan.BOTH), user=commander, now=T0)
    suppression_add(incident=incident, channel="email", address=opted_out.email, reason="do_not_contact")
    run()
    assert [status_of(opted_out, channel).status for channel in ("email", "sms")] == ["suppressed", "suppressed"]
    assert [status_of(other, channel).status for channel in ("email", "sms")] == ["sent", "sent"]
    assert len(locmem_transports.sms) == 1


def test_an_opt_out_on_one_address_leaves_the_initial_notice_on_the_other_channel(
    make_customer: Callable[..., Customer],
    make_wave: Callable[..., Wave],
    notices: list,
    commander: User,
    locmem_transports: Outbox,
    incident,
) -> None:
    customer = make_customer()
    wave_launch(wave=make_wave(channel_plan=ChannelPlan.BOTH), user=commander, now=T0)
    suppression_add(incident=incident, channel="email", address=customer.email, reason="do_not_contact")
    run()
    assert [status_of(customer, channel).status for channel in ("email", "sms")] == ["suppressed", "sent"]
