"""End to end: the provider sandbox posts signed webhooks, repeated and out of order, to the running app."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from breachcomms.channels.base import EmailBatch, EmailRecipient, SmsMessage
from breachcomms.channels.sendgrid import SendGridTransport
from breachcomms.channels.twilio import TwilioTransport
from breachcomms.channels.webhook_paths import SENDGRID_EVENTS_PATH
from breachcomms.delivery.models import Delivery, DeliveryStatus, Suppression, Wave
from breachcomms.tracking.models import ProviderEvent
from tests.sandbox import fixtures as sandbox_fixtures
from tests.sandbox.fixtures import ACCOUNT_SID, API_KEY, AUTH_TOKEN, RunningSandbox
from tests.tracking.ledger import make_deliveries

pytestmark = pytest.mark.django_db(transaction=True)
sandbox = sandbox_fixtures.sandbox  # the provider sandbox on a free port
S = DeliveryStatus


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail("the webhooks did not arrive in time")


def send_emails(sandbox: RunningSandbox, deliveries: list[Delivery]) -> None:
    transport = SendGridTransport(api_key=API_KEY, host=sandbox.url)
    batch = EmailBatch(
        from_email="security@example.com",
        from_name="Example Shop",
        subject="About your data",
        html="<p>Hello</p>",
        text="Hello",
        recipients=[EmailRecipient(str(d.id), d.address, "", {}) for d in deliveries],
    )
    for receipt in transport.send_batch(batch):  # what the send task records
        Delivery.objects.filter(id=int(receipt.delivery_id)).update(provider_message_id=receipt.provider_message_id)


def test_sandbox_webhooks_repeated_and_reordered_settle_every_delivery_once(
    live_server: Any,
    sandbox: RunningSandbox,
    wave: Wave,
    settings: Any,
) -> None:
    settings.SENDGRID_WEBHOOK_PUBLIC_KEY = sandbox.public_key
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.BREACHCOMMS_PUBLIC_BASE_URL = live_server.url
    sandbox.configure(
        {"webhooks": {"sendgrid_url": live_server.url + SENDGRID_EVENTS_PATH, "duplicate_rate": 1, "reorder_rate": 0.5}}
    )
    emails = make_deliveries(wave, 6)
    Delivery.objects.filter(id=emails[0].id).update(address="anna.bounce@example.org")
    Delivery.objects.filter(id=emails[1].id).update(address="bo.blocked@example.org")
    emails = list(Delivery.objects.filter(channel="email").order_by("id"))
    send_emails(sandbox, emails)
    [text, dead] = make_deliveries(wave, 2, channel="sms", first=50)
    Delivery.objects.filter(id=dead.id).update(address="+15005550011")  # the sandbox's "unknown handset"
    dead.refresh_from_db()
    sms = TwilioTransport(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, base_url=sandbox.url, from_number="+15005550006",
        callback_base=live_server.url,
    )  # fmt: skip
    for row in (text, dead):
        receipt = sms.send(SmsMessage(str(row.id), row.address, "Hello"))
        Delivery.objects.filter(id=row.id).update(provider_message_id=receipt.provider_message_id)

    def settled() -> bool:
        return not Delivery.objects.filter(status__in=[S.SENT, S.DEFERRED]).exists()

    wait_until(settled)
    wait_until(lambda: sandbox.stats()["webhook_backlog"] == 0)  # the repeats have arrived too
    statuses = dict(Delivery.objects.values_list("address", "status"))
    assert statuses["anna.bounce@example.org"] == S.BOUNCED
    assert statuses["bo.blocked@example.org"] == S.BOUNCED
    assert [statuses[d.address] for d in emails[2:]] == [S.DELIVERED] * 4
    assert (statuses[text.address], statuses[dead.address]) == (S.DELIVERED, S.FAILED)
    events = list(ProviderEvent.objects.values_list("provider", "event_id"))
    assert len(events) == len(set(events))  # every event stored once although each was posted at least twice
    assert set(Suppression.objects.values_list("address", flat=True)) == {
        "anna.bounce@example.org",
        "bo.blocked@example.org",
        "+15005550011",
    }
