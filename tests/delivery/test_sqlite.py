"""The zero-setup demo runs on SQLite: a wave launches, is dispatched, sent, paused and aborted there too.

Marked ``sqlite``: ``make test`` runs these again with ``DATABASE_URL=sqlite:///…``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from breachcomms.channels.locmem import Outbox
from breachcomms.delivery.models import ChannelPlan, Delivery, Wave
from breachcomms.delivery.references import parse_reference
from breachcomms.delivery.services import (
    delivery_dispatch_due,
    delivery_send_batch,
    suppression_add,
    wave_abort,
    wave_launch,
)
from breachcomms.recipients.models import Customer

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]
T0 = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)


def run(now: datetime) -> int:
    report = delivery_dispatch_due(now=now, enqueue=lambda t: None)
    for token in report.tokens:
        delivery_send_batch(claim_token=token, now=now)
    return report.claimed_total


@override_settings(BREACHCOMMS_EMAIL_TRANSPORT="tests.delivery.transports.RejectingEmailTransport")
def test_a_wave_runs_end_to_end(
    make_customer: Callable[..., Customer],
    make_wave: Callable[..., Wave],
    notices: list,
    commander: User,
    locmem_transports: Outbox,
    incident,
) -> None:
    for i in range(6):
        make_customer(name=f"C{i}", exposure_flags=1 + i % 2)
    make_customer(name="Los Angeles", country="US", time_zone="America/Los_Angeles")  # 03:00 there at T0
    make_customer(name="Refused", email="invalid@example.org")
    make_customer(name="No email", email="")
    suppressed = make_customer(name="Suppressed")
    suppression_add(incident=incident, channel="email", address=suppressed.email, reason="hard_bounce")
    wave = make_wave(channel_plan=ChannelPlan.EMAIL_THEN_SMS, window_start=time(8, 0), window_end=time(21, 0))
    wave_launch(wave=wave, user=commander, now=T0)
    assert Counter(Delivery.objects.values_list("channel", flat=True)) == {"email": 8, "sms": 2}
    assert run(T0) == 9  # everyone but Los Angeles, asleep
    assert run(T0 + timedelta(seconds=5)) == 1  # the SMS fallback for the refused address
    assert run(datetime(2025, 6, 2, 15, 0, tzinfo=UTC)) == 1  # 08:00 in Los Angeles
    statuses = Counter(Delivery.objects.values_list("status", flat=True))
    assert statuses == {"sent": 10, "failed": 1}
    refused = Delivery.objects.get(customer__name="Refused", channel="email")
    assert "Invalid email invalid@example.org" in refused.last_error
    for delivery in Delivery.objects.all():
        assert parse_reference(delivery.reference_code) == delivery.reference
    ids = locmem_transports.email_recipients()
    assert len(ids) == len(set(ids)) == 7


def test_abort_cancels_on_sqlite(
    make_customer: Callable[..., Customer], make_wave: Callable[..., Wave], notices: list, commander: User
) -> None:
    for _ in range(3):
        make_customer()
    wave = wave_launch(wave=make_wave(), user=commander, now=T0)
    delivery_dispatch_due(now=T0, enqueue=lambda t: None)
    assert wave_abort(wave=wave, user=commander, reason="wrong text") == 3
    assert set(Delivery.objects.values_list("status", flat=True)) == {"cancelled"}
