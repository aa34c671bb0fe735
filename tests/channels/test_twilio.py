"""TwilioTransport: the official SDK against the sandbox; status callbacks verified with the SDK validator."""

from __future__ import annotations

import socket
import urllib.parse
from typing import Any

import pytest
from django.http import QueryDict
from twilio.request_validator import RequestValidator

from breachcomms.channels.base import PayloadError, PermanentError, SignatureError, SmsMessage, TransientError
from breachcomms.channels.twilio import TwilioTransport, verify_and_parse
from tests.sandbox.fixtures import ACCOUNT_SID, AUTH_TOKEN, Receiver, RunningSandbox

CALLBACK_BASE = "https://notices.example.com"


@pytest.fixture
def sandbox(sandbox: RunningSandbox) -> RunningSandbox:
    """The sandbox, not posting status callbacks: CALLBACK_BASE is nobody's (and reaching it needs DNS)."""
    sandbox.configure({"webhooks": {"twilio_callbacks": False}})
    return sandbox


def transport_for(sandbox: RunningSandbox, **overrides: Any) -> TwilioTransport:
    values: dict[str, Any] = {
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "base_url": sandbox.url,
        "from_number": "+15005550006",
        "messaging_service_sid": "",
        "callback_base": CALLBACK_BASE,
        "timeout": 5,
    }
    values.update(overrides)
    return TwilioTransport(**values)


def test_a_text_is_sent_with_a_status_callback_naming_the_delivery(sandbox: RunningSandbox) -> None:
    receipt = transport_for(sandbox).send(SmsMessage("delivery-1", "+46701234567", "Example Shop: ref K7QX"))

    assert receipt.delivery_id == "delivery-1"
    assert receipt.provider_message_id.startswith("SM")
    [recorded] = sandbox.messages(channel="sms")
    assert recorded["sid"] == receipt.provider_message_id
    assert recorded["to"] == "+46701234567"
    assert recorded["from"] == "+15005550006"
    assert recorded["body"] == "Example Shop: ref K7QX"
    assert recorded["status_callback"] == f"{CALLBACK_BASE}/webhooks/twilio/status/?delivery_id=delivery-1"
    assert recorded["delivery_id"] == "delivery-1"


def test_a_messaging_service_is_used_instead_of_a_number_when_configured(sandbox: RunningSandbox) -> None:
    service = "MG" + "2" * 32
    transport_for(sandbox, messaging_service_sid=service).send(SmsMessage("d", "+46701234567", "Hej"))

    [recorded] = sandbox.messages(channel="sms")
    assert recorded["messaging_service_sid"] == service


@pytest.mark.parametrize(("to", "code"), [("+15005550001", 21211), ("+15005550004", 21610), ("070-123", 21211)])
def test_a_number_twilio_refuses_is_a_permanent_error_with_the_code(
    sandbox: RunningSandbox, to: str, code: int
) -> None:
    with pytest.raises(PermanentError) as caught:
        transport_for(sandbox).send(SmsMessage("d", to, "Hej"))

    assert caught.value.status == 400
    assert caught.value.reason.startswith(f"Twilio {code}:")


def test_wrong_credentials_are_a_permanent_error(sandbox: RunningSandbox) -> None:
    with pytest.raises(PermanentError) as caught:
        transport_for(sandbox, auth_token="wrong").send(SmsMessage("d", "+46701234567", "Hej"))

    assert caught.value.status == 401
    assert "20003" in caught.value.reason


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limits_and_server_errors_are_transient(sandbox: RunningSandbox, status: int) -> None:
    sandbox.configure({"sms": {"fail_next": [status]}})
    transport = transport_for(sandbox)

    with pytest.raises(TransientError) as caught:
        transport.send(SmsMessage("d", "+46701234567", "Hej"))

    assert caught.value.status == status
    assert transport.send(SmsMessage("d", "+46701234567", "Hej")).provider_message_id


def test_a_text_over_1600_characters_is_refused_before_sending(sandbox: RunningSandbox) -> None:
    with pytest.raises(PermanentError, match="1,601 characters"):
        transport_for(sandbox).send(SmsMessage("d", "+46701234567", "x" * 1601))

    assert sandbox.stats()["counters"] == {}


def test_an_unreachable_provider_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    transport = TwilioTransport(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, base_url=f"http://127.0.0.1:{port}")

    with pytest.raises(TransientError) as caught:
        transport.send(SmsMessage("d", "+46701234567", "Hej"))

    assert caught.value.status is None


def test_a_provider_that_does_not_answer_in_time_is_transient(silent_server: str) -> None:
    transport = TwilioTransport(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, base_url=silent_server, timeout=0.5)

    with pytest.raises(TransientError) as caught:
        transport.send(SmsMessage("d", "+46701234567", "Hej"))

    assert caught.value.status is None


URL = f"{CALLBACK_BASE}/webhooks/twilio/status/?delivery_id=delivery-9"
PARAMS = {"MessageSid": "SM" + "9" * 32, "MessageStatus": "undelivered", "ErrorCode": "30003", "To": "+46701234567"}


def signature(url: str = URL, params: dict[str, str] = PARAMS) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(url, params)}


def test_a_signed_status_callback_gives_its_event() -> None:
    event = verify_and_parse(URL, PARAMS, signature(), auth_token=AUTH_TOKEN)

    assert (event.provider, event.delivery_id, event.kind) == ("twilio", "delivery-9", "undelivered")
    assert event.provider_message_id == PARAMS["MessageSid"]
    assert event.event_id == f"{PARAMS['MessageSid']}:undelivered"
    assert event.reason == "30003 Unreachable destination handset"
    assert event.occurred_at.tzinfo is not None


def test_django_form_data_is_accepted() -> None:
    form = QueryDict(urllib.parse.urlencode(PARAMS))

    assert verify_and_parse(URL, form, signature(), auth_token=AUTH_TOKEN).kind == "undelivered"


def test_a_wrong_signature_a_changed_parameter_and_another_url_are_refused() -> None:
    with pytest.raises(SignatureError):
        verify_and_parse(URL, PARAMS, {"X-Twilio-Signature": "AAAA"}, auth_token=AUTH_TOKEN)
    with pytest.raises(SignatureError):
        verify_and_parse(URL, {**PARAMS, "MessageStatus": "delivered"}, signature(), auth_token=AUTH_TOKEN)
    with pytest.raises(SignatureError):
        verify_and_parse(URL.replace("delivery-9", "delivery-8"), PARAMS, signature(), auth_token=AUTH_TOKEN)


def test_a_callback_without_a_signature_is_refused() -> None:
    with pytest.raises(SignatureError, match="missing"):
        verify_and_parse(URL, PARAMS, {}, auth_token=AUTH_TOKEN)


def test_a_signed_callback_without_a_status_is_a_payload_error() -> None:
    params = {"MessageSid": "SM" + "9" * 32}

    with pytest.raises(PayloadError):
        verify_and_parse(URL, params, signature(params=params), auth_token=AUTH_TOKEN)


def test_the_sandboxs_callbacks_verify_with_the_configured_token(
    sandbox: RunningSandbox, receiver: Receiver, settings: Any
) -> None:
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    sandbox.configure({"webhooks": {"twilio_callbacks": True}})
    transport_for(sandbox, callback_base=receiver.url).send(SmsMessage("delivery-5", "+46701234567", "Hej"))

    receiver.wait_for(lambda posts: len(posts) >= 2)

    events = [
        verify_and_parse(receiver.url + post.path, dict(urllib.parse.parse_qsl(post.body.decode())), post.headers)
        for post in receiver.posts
    ]
    assert [(e.delivery_id, e.kind) for e in events] == [("delivery-5", "sent"), ("delivery-5", "delivered")]
