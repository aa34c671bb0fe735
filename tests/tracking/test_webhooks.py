"""The webhook endpoints accept only correctly signed requests and hand the events on."""

from __future__ import annotations

import base64
import logging
import time
from typing import Any

import pytest
from django.test import Client

from breachcomms.channels.webhook_paths import SENDGRID_EVENTS_PATH, TWILIO_STATUS_PATH
from breachcomms.delivery.models import Delivery, DeliveryStatus, Wave
from breachcomms.tracking.models import ProviderEvent
from tests.tracking.ledger import SendGridSigner, body_of, make_deliveries, sendgrid_event, twilio_signature

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]
PUBLIC_BASE = "http://127.0.0.1:8000"


def post_sendgrid(client: Client, body: bytes, headers: dict[str, str]) -> Any:
    return client.post(SENDGRID_EVENTS_PATH, data=body, content_type="application/json", **headers)


def test_correctly_signed_events_are_stored_and_move_the_delivery(
    client: Client, signer: SendGridSigner, wave: Wave
) -> None:
    [delivery] = make_deliveries(wave, 1)
    body = body_of([sendgrid_event(delivery, "processed"), sendgrid_event(delivery, "delivered")])

    response = post_sendgrid(client, body, signer.headers(body))

    assert response.status_code == 200
    assert ProviderEvent.objects.filter(delivery=delivery).count() == 2
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED


def test_a_signature_made_with_another_key_is_refused_and_logged(
    client: Client, signer: SendGridSigner, wave: Wave, caplog: pytest.LogCaptureFixture
) -> None:
    [delivery] = make_deliveries(wave, 1)
    body = body_of([sendgrid_event(delivery, "delivered")])
    with caplog.at_level(logging.WARNING, logger="breachcomms.tracking.webhooks"):
        response = post_sendgrid(client, body, SendGridSigner().headers(body))
    assert response.status_code == 403
    assert ProviderEvent.objects.count() == 0
    assert "SendGrid webhook refused (403)" in caplog.text
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT


def test_a_body_changed_after_signing_is_refused(client: Client, signer: SendGridSigner, wave: Wave) -> None:
    [delivery] = make_deliveries(wave, 1)
    signed = body_of([sendgrid_event(delivery, "delivered")])
    forged = body_of([sendgrid_event(delivery, "bounce", reason="550 no such user")])
    assert post_sendgrid(client, forged, signer.headers(signed)).status_code == 403
    assert ProviderEvent.objects.count() == 0


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no headers"),
        pytest.param({"HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP": "1700000000"}, id="no signature"),
        pytest.param({"HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE": "MEUCIQ=="}, id="no timestamp"),
    ],
)
def test_a_missing_signature_is_refused(client: Client, signer: SendGridSigner, headers: dict[str, str]) -> None:
    assert post_sendgrid(client, b"[]", headers).status_code == 403


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param("not base64 at all!", id="not base64"),
        pytest.param(base64.b64encode(b"garbage that is not DER").decode(), id="not DER"),
        pytest.param("", id="empty"),
    ],
)
def test_a_malformed_signature_is_refused(client: Client, signer: SendGridSigner, signature: str) -> None:
    headers = {
        "HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE": signature,
        "HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP": str(int(time.time())),
    }
    assert post_sendgrid(client, b"[]", headers).status_code == 403


def test_a_replayed_old_batch_is_refused(client: Client, signer: SendGridSigner, wave: Wave) -> None:
    [delivery] = make_deliveries(wave, 1)
    body = body_of([sendgrid_event(delivery, "delivered")])
    assert post_sendgrid(client, body, signer.headers(body, int(time.time()) - 3600)).status_code == 403


def test_a_signed_body_that_is_not_an_event_array_is_a_bad_request(client: Client, signer: SendGridSigner) -> None:
    body = b'{"event": "delivered"}'
    assert post_sendgrid(client, body, signer.headers(body)).status_code == 400


def test_without_a_configured_key_the_provider_is_asked_to_retry(client: Client, settings: Any, tmp_path: Any) -> None:
    settings.SENDGRID_WEBHOOK_PUBLIC_KEY = ""
    settings.SENDGRID_WEBHOOK_PUBLIC_KEY_FILE = str(tmp_path / "missing.txt")
    body = b"[]"
    assert post_sendgrid(client, body, SendGridSigner().headers(body)).status_code == 503


def test_events_of_unknown_deliveries_are_accepted_and_ignored(client: Client, signer: SendGridSigner) -> None:
    body = body_of([sendgrid_event(None, "delivered", delivery_id="987654321"), sendgrid_event(None, "processed")])
    assert post_sendgrid(client, body, signer.headers(body)).status_code == 200
    assert ProviderEvent.objects.count() == 0


def test_webhooks_take_only_posts(client: Client) -> None:
    assert client.get(SENDGRID_EVENTS_PATH).status_code == 405
    assert client.get(TWILIO_STATUS_PATH).status_code == 405


def twilio_post(client: Client, delivery: Delivery, status: str, *, signature: str | None = None, **extra: str) -> Any:
    path = f"{TWILIO_STATUS_PATH}?delivery_id={delivery.id}"
    params = {
        "MessageSid": delivery.provider_message_id,
        "MessageStatus": status,
        "AccountSid": "AC00000000000000000000000000000000",
        "To": delivery.address,
        **extra,
    }
    headers = {}
    if signature is not None:
        headers["HTTP_X_TWILIO_SIGNATURE"] = signature
    else:
        headers["HTTP_X_TWILIO_SIGNATURE"] = twilio_signature(PUBLIC_BASE + path, params)
    return client.post(path, data=params, **headers)


def test_a_signed_twilio_status_callback_moves_the_text_message(
    client: Client, signer: SendGridSigner, wave: Wave, settings: Any
) -> None:
    settings.BREACHCOMMS_PUBLIC_BASE_URL = PUBLIC_BASE
    [sms] = make_deliveries(wave, 1, channel="sms")
    for _ in range(3):  # Twilio repeats callbacks it did not see answered
        assert twilio_post(client, sms, "delivered").status_code == 200
    assert twilio_post(client, sms, "sent").status_code == 200  # late and out of order
    sms.refresh_from_db()
    assert sms.status == DeliveryStatus.DELIVERED
    assert list(ProviderEvent.objects.values_list("kind", flat=True).order_by("kind")) == ["delivered", "sent"]


def test_a_twilio_error_code_becomes_the_failure_reason(
    client: Client, signer: SendGridSigner, wave: Wave, settings: Any
) -> None:
    settings.BREACHCOMMS_PUBLIC_BASE_URL = PUBLIC_BASE
    [sms] = make_deliveries(wave, 1, channel="sms")
    assert twilio_post(client, sms, "undelivered", ErrorCode="30003").status_code == 200
    sms.refresh_from_db()
    assert sms.status == DeliveryStatus.FAILED
    assert "30003" in sms.last_error
    assert "Unreachable destination handset" in sms.last_error


@pytest.mark.parametrize("signature", ["", "bm90IHRoZSByaWdodCBzaWduYXR1cmU=", "%%%"])
def test_twilio_callbacks_with_a_wrong_or_missing_signature_are_refused(
    client: Client, signer: SendGridSigner, wave: Wave, settings: Any, signature: str
) -> None:
    settings.BREACHCOMMS_PUBLIC_BASE_URL = PUBLIC_BASE
    [sms] = make_deliveries(wave, 1, channel="sms")
    assert twilio_post(client, sms, "delivered", signature=signature).status_code == 403
    assert ProviderEvent.objects.count() == 0


def test_a_twilio_callback_signed_with_another_token_is_refused(
    client: Client, signer: SendGridSigner, wave: Wave, settings: Any
) -> None:
    settings.BREACHCOMMS_PUBLIC_BASE_URL = PUBLIC_BASE
    [sms] = make_deliveries(wave, 1, channel="sms")
    path = f"{TWILIO_STATUS_PATH}?delivery_id={sms.id}"
    params = {"MessageSid": sms.provider_message_id, "MessageStatus": "delivered"}
    forged = twilio_signature(PUBLIC_BASE + path, params, token="someone-elses-token")
    assert client.post(path, data=params, HTTP_X_TWILIO_SIGNATURE=forged).status_code == 403
