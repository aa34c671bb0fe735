"""The sandbox's Twilio Messages resource: form fields, basic auth, SIDs and Twilio's error JSON."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from tests.sandbox.fixtures import ACCOUNT_SID, AUTH_TOKEN, RunningSandbox, request

CALLBACK = "https://app.example.com/webhooks/twilio/status/?delivery_id=sms-1"


def form(**overrides: str) -> dict[str, str]:
    values = {
        "To": "+46701234567",
        "From": "+15005550006",
        "Body": "Your reference is K7QX",
        "StatusCallback": CALLBACK,
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def twilio_error(reply: Any, status: int, code: int) -> str:
    assert reply.status == status
    body = reply.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    return str(body["message"])


def test_a_message_is_created_with_a_twilio_like_sid_and_recorded(sandbox: RunningSandbox) -> None:
    reply = sandbox.create_sms(form())

    assert reply.status == 201
    created = reply.json()
    assert re.fullmatch(r"SM[0-9a-f]{32}", created["sid"])
    assert created["status"] == "queued"
    assert created["to"] == "+46701234567"
    assert created["from"] == "+15005550006"
    assert created["num_segments"] == "1"
    assert created["account_sid"] == ACCOUNT_SID
    [recorded] = sandbox.messages(channel="sms")
    assert recorded["sid"] == created["sid"]
    assert recorded["delivery_id"] == "sms-1"
    assert recorded["status_callback"] == CALLBACK
    assert recorded["body"] == "Your reference is K7QX"


def test_a_message_through_a_messaging_service_starts_as_accepted(sandbox: RunningSandbox) -> None:
    reply = sandbox.create_sms(form(From="", MessagingServiceSid="MG" + "0" * 32))

    assert reply.status == 201
    assert reply.json()["status"] == "accepted"
    assert reply.json()["messaging_service_sid"] == "MG" + "0" * 32


def test_segments_are_counted_like_twilio(sandbox: RunningSandbox) -> None:
    assert sandbox.create_sms(form(Body="a" * 161)).json()["num_segments"] == "2"
    assert sandbox.create_sms(form(Body="я" * 71)).json()["num_segments"] == "2"


def test_wrong_credentials_are_refused_with_20003(sandbox: RunningSandbox) -> None:
    reply = sandbox.create_sms(form(), token="wrong")

    assert twilio_error(reply, 401, 20003) == "Authenticate"
    assert sandbox.messages() == []


def test_another_account_in_the_path_is_not_found(sandbox: RunningSandbox) -> None:
    reply = request(
        f"{sandbox.url}/2010-04-01/Accounts/AC{'b' * 32}/Messages.json",
        method="POST",
        data=b"To=%2B46701234567",
        headers={"Authorization": _basic(), "Content-Type": "application/x-www-form-urlencoded"},
    )

    twilio_error(reply, 404, 20404)


def _basic() -> str:
    return "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"To": None}, 21604),
        ({"From": None}, 21603),
        ({"Body": None}, 21602),
        ({"Body": "x" * 1601}, 21617),
        ({"To": "0701234567"}, 21211),
        ({"To": "+46 70 123 45 67"}, 21211),
        ({"From": "not a sender!"}, 21212),
        ({"From": "", "MessagingServiceSid": "MG123"}, 21701),
        ({"StatusCallback": "not-a-url"}, 21609),
        ({"To": "+15005550006"}, 21266),
        ({"To": "+15005550001"}, 21211),
        ({"To": "+15005550004"}, 21610),
        ({"To": "+15005550009"}, 21614),
    ],
)
def test_an_invalid_message_is_refused_with_twilios_error_code(
    sandbox: RunningSandbox, fields: dict[str, Any], code: int
) -> None:
    values = form()
    for name, value in fields.items():
        if value is None:
            values.pop(name)
        else:
            values[name] = value

    message = twilio_error(sandbox.create_sms(values), 400, code)

    assert message
    assert sandbox.messages() == []


def test_a_body_of_1600_characters_is_accepted(sandbox: RunningSandbox) -> None:
    assert sandbox.create_sms(form(Body="x" * 1600)).status == 201


def test_injected_failures_answer_429_and_5xx_with_twilio_codes(sandbox: RunningSandbox) -> None:
    sandbox.configure({"sms": {"fail_next": [429, 500, 503]}})

    replies = [sandbox.create_sms(form()) for _ in range(4)]

    assert twilio_error(replies[0], 429, 20429) == "Too Many Requests"
    assert int(replies[0].headers["Retry-After"]) >= 1
    twilio_error(replies[1], 500, 20500)
    twilio_error(replies[2], 503, 20503)
    assert replies[3].status == 201
    assert len(sandbox.messages(channel="sms")) == 1


def test_a_created_message_can_be_fetched_with_its_final_status(sandbox: RunningSandbox) -> None:
    delivered = sandbox.create_sms(form()).json()["sid"]
    failed = sandbox.create_sms(form(To="+15005550012")).json()["sid"]

    def fetch(sid: str) -> Any:
        return request(
            f"{sandbox.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json", headers={"Authorization": _basic()}
        )

    assert fetch(delivered).json()["status"] == "delivered"
    assert fetch(failed).json()["status"] == "failed"
    assert fetch("SM" + "0" * 32).status == 404
