"""Reconciliation with the real transports: SendGrid's Email Activity and Twilio's message list, in the sandbox."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from breachcomms.delivery.models import ChannelPlan, Delivery, DeliveryAttempt, DeliveryBatch, DeliveryStatus, Wave
from breachcomms.delivery.services import (
    delivery_dispatch_due,
    delivery_reconcile_in_doubt,
    delivery_send_batch,
    wave_launch,
)
from breachcomms.recipients.models import Customer
from tests.sandbox.fixtures import ACCOUNT_SID, API_KEY, AUTH_TOKEN, RunningSandbox, sandbox

pytestmark = pytest.mark.django_db
__all__ = ["sandbox"]
S = DeliveryStatus
T0 = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def real_transports(sandbox: RunningSandbox) -> Iterator[RunningSandbox]:
    sandbox.configure({"webhooks": {"enabled": False}})
    with override_settings(
        BREACHCOMMS_EMAIL_TRANSPORT="breachcomms.channels.sendgrid.SendGridTransport",
        BREACHCOMMS_SMS_TRANSPORT="breachcomms.channels.twilio.TwilioTransport",
        SENDGRID_API_HOST=sandbox.url,
        SENDGRID_API_KEY=API_KEY,
        TWILIO_API_BASE_URL=sandbox.url,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_FROM_NUMBER="+15005550006",
        TWILIO_MESSAGING_SERVICE_SID="",
        BREACHCOMMS_DELIVERY_RECONCILE_AFTER=0,
    ):
        yield sandbox


def doubt_after_sending(
    make_customer: Callable[..., Customer], wave: Wave, commander: User, sent: int
) -> dict[int, str]:
    """``sent`` customers' email and SMS reach the provider, one more customer's never leave; then every worker
    dies before recording: all in doubt, nothing recorded. Returns the hashes the sends had recorded."""
    for _ in range(sent + 1):
        make_customer()
    wave_launch(wave=wave, user=commander, now=T0)
    tokens = delivery_dispatch_due(now=T0, enqueue=lambda t: None).tokens
    never = Delivery.objects.order_by("-customer_id").values_list("id", flat=True)[:2]
    held = Delivery.objects.filter(id__in=list(never))
    # These rows' task dies after it started its batch, before sending.
    held.update(claim_token="held")
    DeliveryBatch.objects.create(
        token="held", wave=wave, channel="email", status=DeliveryBatch.Status.SENDING, rows=2, ids=list(never),
        lease_until=T0,
    )  # fmt: skip
    for token in tokens:
        delivery_send_batch(claim_token=token, now=T0)
    recorded = dict(Delivery.objects.filter(status=S.SENT).values_list("id", "content_hash"))
    assert len(recorded) == 2 * sent
    Delivery.objects.update(
        status=S.IN_DOUBT, lease_until=T0, content_hash="", notice_version=None, provider_message_id=""
    )
    return recorded


def test_rows_in_doubt_are_found_at_sendgrid_and_twilio_or_sent_again(
    make_customer: Callable[..., Customer],
    make_wave: Callable[..., Wave],
    notices: list,
    commander: User,
    real_transports: RunningSandbox,
) -> None:
    recorded = doubt_after_sending(make_customer, make_wave(channel_plan=ChannelPlan.BOTH), commander, 4)

    report = delivery_reconcile_in_doubt(now=T0 + timedelta(seconds=60))

    assert (report.found, report.requeued, report.unanswered) == (8, 2, 0)
    assert Counter(Delivery.objects.values_list("status", flat=True)) == {"sent": 8, "pending": 2}
    for delivery in Delivery.objects.filter(status=S.SENT):
        assert delivery.content_hash == recorded[delivery.id]
        assert delivery.provider_message_id
    texts = {m["delivery_id"]: m["sid"] for m in real_transports.messages(channel="sms")}
    for delivery in Delivery.objects.filter(status=S.SENT, channel="sms"):
        assert delivery.provider_message_id == texts[str(delivery.id)]
    assert DeliveryAttempt.objects.filter(outcome="reconciled").count() == 8
    # The rows that never left are sent now, once.
    for token in delivery_dispatch_due(now=T0 + timedelta(seconds=61), enqueue=lambda t: None).tokens:
        delivery_send_batch(claim_token=token, now=T0 + timedelta(seconds=61))
    assert Counter(Delivery.objects.values_list("status", flat=True)) == {"sent": 10}
    for channel in ("email", "sms"):
        ids = [m["delivery_id"] for m in real_transports.messages(channel=channel, limit=1000)]
        assert (
            sorted(ids)
            == sorted(set(ids))
            == sorted(str(i) for i in Delivery.objects.filter(channel=channel).values_list("id", flat=True))
        )


def test_without_email_activity_emails_stay_in_doubt_and_texts_settle(
    make_customer: Callable[..., Customer],
    make_wave: Callable[..., Wave],
    notices: list,
    commander: User,
    real_transports: RunningSandbox,
) -> None:
    doubt_after_sending(make_customer, make_wave(channel_plan=ChannelPlan.BOTH), commander, 2)
    real_transports.configure({"lookups": {"email_activity": False}})

    report = delivery_reconcile_in_doubt(now=T0 + timedelta(seconds=60))

    assert (report.found, report.requeued, report.unanswered) == (2, 1, 3)
    assert Counter(Delivery.objects.filter(channel="email").values_list("status", flat=True)) == {"in_doubt": 3}
    # Once SendGrid can answer, the emails settle too.
    real_transports.configure({"lookups": {"email_activity": True}})
    report = delivery_reconcile_in_doubt(now=T0 + timedelta(seconds=90))
    assert (report.found, report.requeued, report.unanswered) == (2, 1, 0)


def test_a_provider_error_concludes_nothing(
    make_customer: Callable[..., Customer],
    make_wave: Callable[..., Wave],
    notices: list,
    commander: User,
    real_transports: RunningSandbox,
) -> None:
    doubt_after_sending(make_customer, make_wave(channel_plan=ChannelPlan.BOTH), commander, 2)
    real_transports.configure({"lookups": {"fail_next": [429, 503]}})

    report = delivery_reconcile_in_doubt(now=T0 + timedelta(seconds=60))

    assert (report.found, report.requeued, report.unanswered) == (0, 0, 6)
    assert set(Delivery.objects.values_list("status", flat=True)) == {S.IN_DOUBT}


def test_rows_are_not_asked_about_before_the_provider_has_had_time_to_record_them(
    make_customer: Callable[..., Customer],
    make_wave: Callable[..., Wave],
    notices: list,
    commander: User,
    real_transports: RunningSandbox,
) -> None:
    doubt_after_sending(make_customer, make_wave(channel_plan=ChannelPlan.BOTH), commander, 1)
    with override_settings(BREACHCOMMS_DELIVERY_RECONCILE_AFTER=30):
        report = delivery_reconcile_in_doubt(now=T0 + timedelta(seconds=10))
    assert (report.found, report.requeued) == (0, 0)
    assert real_transports.stats()["counters"].get("email_activity_200", 0) == 0
