"""SendGridTransport: the official SDK against the sandbox, and how each provider answer maps to an error."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from breachcomms.channels.base import EmailBatch, EmailRecipient, PermanentError, TransientError
from breachcomms.channels.sendgrid import SendGridTransport, mail_send_payload
from tests.sandbox.fixtures import API_KEY, RunningSandbox


def batch(count: int, **overrides: Any) -> EmailBatch:
    values: dict[str, Any] = {
        "from_email": "security@example.com",
        "from_name": "Example Shop Security",
        "subject": "-name-, about your Example Shop account",
        "html": "<p>Dear -name-,</p><p>Your reference: <b>-code-</b>. Check it at -verify-.</p>",
        "text": "Dear -name-,\nYour reference: -code-. Check it at -verify-.",
        "recipients": [
            EmailRecipient(
                delivery_id=f"delivery-{n}",
                email=f"customer{n}@example.com",
                name=f"Customer {n}",
                substitutions={
                    "-name-": f"Kund {n} Åström",
                    "-code-": f"K7QX-{n:04d}",
                    "-verify-": f"https://ex.com/v/{n}",
                },
            )
            for n in range(count)
        ],
        "categories": ("breach-notice",),
        "reply_to": "help@example.com",
    }
    values.update(overrides)
    return EmailBatch(**values)


@pytest.fixture
def transport(sandbox: RunningSandbox) -> SendGridTransport:
    return SendGridTransport(api_key=API_KEY, host=sandbox.url, timeout=10)


def test_a_batch_of_a_thousand_gives_a_receipt_and_a_recorded_email_per_recipient(
    sandbox: RunningSandbox, transport: SendGridTransport
) -> None:
    receipts = transport.send_batch(batch(1000))

    assert [r.delivery_id for r in receipts] == [f"delivery-{n}" for n in range(1000)]
    message_ids = {r.provider_message_id for r in receipts}
    assert len(message_ids) == 1
    assert message_ids != {""}
    recorded = sandbox.messages(channel="email", limit=1000)
    assert len(recorded) == 1000
    assert sandbox.stats()["email_requests"] == 1
    for n, message in enumerate(recorded):
        assert message["delivery_id"] == f"delivery-{n}"
        assert message["custom_args"] == {"delivery_id": f"delivery-{n}"}
        assert message["x_message_id"] in message_ids
        assert message["to"] == f"customer{n}@example.com"
        assert message["subject"] == f"Kund {n} Åström, about your Example Shop account"
        assert (
            message["text"] == f"Dear Kund {n} Åström,\nYour reference: K7QX-{n:04d}. Check it at https://ex.com/v/{n}."
        )
        assert f"<b>K7QX-{n:04d}</b>" in message["html"]
        assert message["from"] == {"email": "security@example.com", "name": "Example Shop Security"}
        assert message["reply_to"] == "help@example.com"
        assert message["categories"] == ["breach-notice"]


def test_the_request_turns_tracking_off_and_carries_one_personalization_per_recipient() -> None:
    payload = mail_send_payload(batch(2))

    assert payload["tracking_settings"]["click_tracking"]["enable"] is False
    assert payload["tracking_settings"]["open_tracking"]["enable"] is False
    assert [p["to"] for p in payload["personalizations"]] == [
        [{"email": "customer0@example.com", "name": "Customer 0"}],
        [{"email": "customer1@example.com", "name": "Customer 1"}],
    ]
    assert payload["content"][0]["type"] == "text/plain"


def test_an_empty_batch_sends_nothing(sandbox: RunningSandbox, transport: SendGridTransport) -> None:
    assert transport.send_batch(batch(0)) == []
    assert sandbox.stats()["counters"] == {}


def test_the_sandbox_refuses_1001_recipients_and_the_transport_refuses_them_before_sending(
    sandbox: RunningSandbox, transport: SendGridTransport
) -> None:
    with pytest.raises(PermanentError, match="1,001 recipients"):
        transport.send_batch(batch(1001))

    assert sandbox.stats()["counters"] == {}  # nothing reached the provider
    oversized = mail_send_payload(batch(1000))
    oversized["personalizations"].append({"to": [{"email": "one-more@example.com"}]})
    assert sandbox.mail_send(oversized).status == 400


def test_one_address_twice_in_a_batch_is_refused_before_sending(
    sandbox: RunningSandbox, transport: SendGridTransport
) -> None:
    twice = batch(2)
    recipients = [twice.recipients[0], EmailRecipient("delivery-x", "CUSTOMER0@example.com", "", {})]

    with pytest.raises(PermanentError, match="more than once"):
        transport.send_batch(batch(0, recipients=recipients))

    assert sandbox.stats()["counters"] == {}


def test_oversized_substitutions_are_refused_before_sending(transport: SendGridTransport) -> None:
    big = EmailRecipient("delivery-big", "big@example.com", "", {"-x-": "y" * 10_000})

    with pytest.raises(PermanentError, match="delivery-big"):
        transport.send_batch(batch(0, recipients=[big]))


def test_a_wrong_api_key_is_a_permanent_error_with_the_providers_reason(sandbox: RunningSandbox) -> None:
    transport = SendGridTransport(api_key="SG.wrong", host=sandbox.url)

    with pytest.raises(PermanentError) as caught:
        transport.send_batch(batch(1))

    assert caught.value.status == 401
    assert "authorization grant is invalid" in caught.value.reason


def test_a_request_the_provider_finds_invalid_is_permanent_and_names_the_field(transport: SendGridTransport) -> None:
    invalid = batch(0, recipients=[EmailRecipient("d", "not-an-address", "", {})])

    with pytest.raises(PermanentError) as caught:
        transport.send_batch(invalid)

    assert caught.value.status == 400
    assert "personalizations.0.to.0.email: Does not contain a valid address." in caught.value.reason


def test_429_is_transient_with_the_wait_the_provider_announced(
    sandbox: RunningSandbox, transport: SendGridTransport
) -> None:
    sandbox.configure({"email": {"fail_next": [429], "retry_after": 30}})

    with pytest.raises(TransientError) as caught:
        transport.send_batch(batch(1))

    assert caught.value.status == 429
    assert caught.value.retry_after is not None
    assert 25 <= caught.value.retry_after <= 31
    assert transport.send_batch(batch(1))  # the next attempt goes through


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_transient(sandbox: RunningSandbox, transport: SendGridTransport, status: int) -> None:
    sandbox.configure({"email": {"fail_next": [status]}})

    with pytest.raises(TransientError) as caught:
        transport.send_batch(batch(1))

    assert caught.value.status == status
    assert sandbox.messages() == []


def test_a_refused_connection_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the send: nobody listens there
    transport = SendGridTransport(api_key=API_KEY, host=f"http://127.0.0.1:{port}")

    with pytest.raises(TransientError) as caught:
        transport.send_batch(batch(1))

    assert caught.value.status is None
    assert "unreachable" in caught.value.reason


def test_a_provider_that_does_not_answer_in_time_is_transient(silent_server: str) -> None:
    transport = SendGridTransport(api_key=API_KEY, host=silent_server, timeout=0.5)

    with pytest.raises(TransientError) as caught:
        transport.send_batch(batch(3))

    assert caught.value.status is None
