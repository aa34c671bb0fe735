"""A provider event about a delivery in doubt settles it: sent (then the event's status), with what the customer got."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from breachcomms.channels.base import ProviderEvent as IncomingEvent
from breachcomms.channels.locmem import Outbox
from breachcomms.channels.twilio import parse_status, status_callback_url
from breachcomms.delivery.models import ChannelPlan, Delivery, DeliveryAttempt, DeliveryStatus, Wave
from breachcomms.delivery.services import delivery_dispatch_due, delivery_send_batch, wave_launch
from breachcomms.recipients.models import Customer
from breachcomms.tracking.services import provider_events_record
from tests.delivery.conftest import campaign, locmem_transports, make_customer, make_notice, make_wave, notices

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]
__all__ = ["campaign", "locmem_transports", "make_customer", "make_notice", "make_wave", "notices"]
S = DeliveryStatus
T0 = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def sent_then_doubted(
    make_customer: Callable[..., Customer],
    make_wave: Callable[..., Wave],
    notices: list,
    commander: User,
    locmem_transports: Outbox,
) -> dict[int, str]:
    """Three customers reached by email and SMS whose worker died before recording it: content hash by delivery."""
    for _ in range(3):
        make_customer()
    wave_launch(wave=make_wave(channel_plan=ChannelPlan.BOTH), user=commander, now=T0)
    for token in delivery_dispatch_due(now=T0, enqueue=lambda t: None).tokens:
        delivery_send_batch(claim_token=token, now=T0)
    recorded = dict(Delivery.objects.values_list("id", "content_hash"))
    assert all(recorded.values())
    Delivery.objects.update(
        status=S.IN_DOUBT, lease_until=T0, content_hash="", notice_version=None, provider_message_id=""
    )
    return recorded


def sendgrid(delivery: Delivery, kind: str, n: int = 0) -> IncomingEvent:
    return IncomingEvent(
        provider="sendgrid",
        event_id=f"ev-{delivery.id}-{kind}-{n}",
        delivery_id=str(delivery.id),
        provider_message_id="X1.filterdrecv-1-0-0.0",
        kind=kind,
        occurred_at=T0 + timedelta(seconds=30),
        reason="",
        raw={"email": delivery.address},
    )


def test_an_event_settles_a_delivery_in_doubt_with_its_status_and_what_was_sent(
    sent_then_doubted: dict[int, str],
) -> None:
    first, second, third = Delivery.objects.filter(channel="email").order_by("id")
    provider_events_record(events=[sendgrid(first, "delivered"), sendgrid(second, "processed")], now=T0)

    for delivery, status in ((first, S.DELIVERED), (second, S.SENT), (third, S.IN_DOUBT)):
        delivery.refresh_from_db()
        assert delivery.status == status
    for delivery in (first, second):
        # What the customer got is known again, rendered from the version approved when it was sent.
        assert delivery.content_hash == sent_then_doubted[delivery.id]
        assert delivery.notice_version_id is not None
        assert delivery.provider_message_id == "X1"
        assert (
            DeliveryAttempt.objects.filter(delivery=delivery, outcome=DeliveryAttempt.Outcome.RECONCILED).count() == 1
        )
    assert third.content_hash == ""


def test_an_event_that_brings_no_status_still_proves_the_provider_has_it(
    sent_then_doubted: dict[int, str],
) -> None:
    doubtful, other = Delivery.objects.filter(channel="email").order_by("id")[:2]
    Delivery.objects.filter(id=other.id).update(status=S.PENDING)  # requeued: an event must not move it
    provider_events_record(events=[sendgrid(doubtful, "unsubscribe"), sendgrid(other, "unsubscribe")], now=T0)

    doubtful.refresh_from_db()
    other.refresh_from_db()
    assert (doubtful.status, other.status) == (S.SENT, S.PENDING)
    assert doubtful.content_hash == sent_then_doubted[doubtful.id]


def test_a_twilio_status_callback_names_its_delivery_in_the_callback_url(sent_then_doubted: dict[int, str]) -> None:
    text = Delivery.objects.filter(channel="sms").order_by("id").first()
    assert text is not None
    url = status_callback_url("https://notices.example.com/webhooks/twilio/status/", str(text.id))
    event = parse_status(url, {"MessageSid": "SM" + "7" * 32, "MessageStatus": "delivered"})

    provider_events_record(events=[event], now=T0)

    text.refresh_from_db()
    assert text.status == S.DELIVERED
    assert text.provider_message_id == "SM" + "7" * 32
    assert text.content_hash == sent_then_doubted[text.id]


def test_a_delivery_whose_task_recorded_it_keeps_its_hash(sent_then_doubted: dict[int, str]) -> None:
    delivery = Delivery.objects.filter(channel="email").order_by("id").first()
    assert delivery is not None
    Delivery.objects.filter(id=delivery.id).update(content_hash="f" * 64)
    provider_events_record(events=[sendgrid(delivery, "delivered")], now=T0)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.content_hash) == (S.DELIVERED, "f" * 64)
