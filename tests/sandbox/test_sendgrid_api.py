"""The sandbox's SendGrid mail send: what it accepts, and how it refuses, as SendGrid documents it."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.sandbox.fixtures import RunningSandbox, request


def mail(count: int = 1, **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "from": {"email": "security@example.com", "name": "Example Security"},
        "subject": "About your data, -name-",
        "content": [
            {"type": "text/plain", "value": "Hello -name-, your code is -code-."},
            {"type": "text/html", "value": "<p>Hello -name-, your code is -code-.</p>"},
        ],
        "personalizations": [
            {
                "to": [{"email": f"customer{n}@example.com", "name": f"Customer {n}"}],
                "substitutions": {"-name-": f"Customer {n}", "-code-": f"CODE-{n}"},
                "custom_args": {"delivery_id": f"delivery-{n}"},
            }
            for n in range(count)
        ],
    }
    payload.update(overrides)
    return payload


def errors_of(reply: Any) -> list[dict[str, Any]]:
    body = reply.json()
    assert set(body) == {"errors"}
    for error in body["errors"]:
        assert set(error) == {"message", "field", "help"}
    return list(body["errors"])


def test_a_valid_request_is_accepted_with_a_message_id_and_recorded(sandbox: RunningSandbox) -> None:
    reply = sandbox.mail_send(mail(3))

    assert reply.status == 202
    assert reply.body == b""
    message_id = reply.headers["X-Message-Id"]
    assert len(message_id) >= 16
    recorded = sandbox.messages(channel="email")
    assert [m["delivery_id"] for m in recorded] == ["delivery-0", "delivery-1", "delivery-2"]
    assert {m["x_message_id"] for m in recorded} == {message_id}
    assert all(m["sg_message_id"].startswith(message_id + ".filter") for m in recorded)
    assert recorded[1]["subject"] == "About your data, Customer 1"
    assert recorded[1]["text"] == "Hello Customer 1, your code is CODE-1."
    assert recorded[1]["html"] == "<p>Hello Customer 1, your code is CODE-1.</p>"
    assert recorded[1]["custom_args"] == {"delivery_id": "delivery-1"}


def test_a_missing_api_key_is_refused_with_401(sandbox: RunningSandbox) -> None:
    reply = sandbox.post_json("/v3/mail/send", mail())

    assert reply.status == 401
    assert errors_of(reply)[0]["message"] == "authorization required"
    assert sandbox.messages() == []


def test_a_wrong_api_key_is_refused_with_the_documented_401(sandbox: RunningSandbox) -> None:
    reply = sandbox.mail_send(mail(), key="SG.wrong")

    assert reply.status == 401
    assert errors_of(reply) == [
        {"message": "The provided authorization grant is invalid, expired, or revoked", "field": None, "help": None}
    ]


def test_a_thousand_personalizations_are_accepted_and_one_more_is_refused(sandbox: RunningSandbox) -> None:
    assert sandbox.mail_send(mail(1000)).status == 202

    reply = sandbox.mail_send(mail(1001))

    assert reply.status == 400
    [error] = errors_of(reply)
    assert error["field"] == "personalizations"
    assert "1001" in error["message"]
    assert sandbox.stats()["email"] == 1000


def test_more_than_a_thousand_recipients_in_total_are_refused(sandbox: RunningSandbox) -> None:
    payload = mail(400)
    for n, personalization in enumerate(payload["personalizations"]):
        personalization["cc"] = [{"email": f"cc{n}@example.com"}]
        personalization["bcc"] = [{"email": f"bcc{n}@example.com"}]

    reply = sandbox.mail_send(payload)

    assert reply.status == 400
    assert any(e["field"] == "personalizations" and "1200" in e["message"] for e in errors_of(reply))


def test_an_address_twice_in_one_request_is_refused_whatever_its_case(sandbox: RunningSandbox) -> None:
    payload = mail(2)
    payload["personalizations"][1]["to"][0]["email"] = "CUSTOMER0@example.com"

    reply = sandbox.mail_send(payload)

    assert reply.status == 400
    [error] = errors_of(reply)
    assert error["field"] == "personalizations.1"
    assert "CUSTOMER0@example.com" in error["message"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda p: p.pop("from"), "from.email"),
        (lambda p: p.update({"from": {"email": "not an address"}}), "from.email"),
        (lambda p: p.pop("subject"), "subject"),
        (lambda p: p.pop("content"), "content"),
        (lambda p: p.update({"content": []}), "content"),
        (lambda p: p["content"][0].update({"value": ""}), "content.0.value"),
        (lambda p: p["content"][1].update({"type": ""}), "content.1.type"),
        (lambda p: p.update({"content": list(reversed(p["content"]))}), "content"),
        (lambda p: p.pop("personalizations"), "personalizations"),
        (lambda p: p.update({"personalizations": []}), "personalizations"),
        (lambda p: p["personalizations"][0].pop("to"), "personalizations.0.to"),
        (lambda p: p["personalizations"][0]["to"][0].update({"email": "bob@"}), "personalizations.0.to.0.email"),
        (lambda p: p["personalizations"][0].update({"substitutions": {"-n-": 5}}), "personalizations.0.substitutions"),
        (lambda p: p["personalizations"][0].update({"custom_args": {"n": 5}}), "personalizations.0.custom_args"),
        (lambda p: p.update({"categories": [f"c{n}" for n in range(11)]}), "categories"),
        (lambda p: p.update({"reply_to": {"email": "nope"}}), "reply_to.email"),
        (lambda p: p.update({"template_id": "d-123"}), "personalizations.0.substitutions"),
        (lambda p: p.update({"attachments": [{"content": "eA=="}]}), "attachments.0"),
    ],
)
def test_each_broken_rule_is_a_400_naming_the_field(sandbox: RunningSandbox, change: Any, field: str) -> None:
    payload = mail(1)
    change(payload)

    reply = sandbox.mail_send(payload)

    assert reply.status == 400
    errors = errors_of(reply)
    assert field in [e["field"] for e in errors], errors
    assert all(e["message"] for e in errors)
    assert all(e["help"].startswith("http://sendgrid.com/docs/") for e in errors if e["field"])
    assert sandbox.messages() == []


def test_a_subject_in_every_personalization_replaces_the_message_subject(sandbox: RunningSandbox) -> None:
    payload = mail(2)
    del payload["subject"]
    for n, personalization in enumerate(payload["personalizations"]):
        personalization["subject"] = f"For -name- ({n})"

    assert sandbox.mail_send(payload).status == 202
    assert [m["subject"] for m in sandbox.messages()] == ["For Customer 0 (0)", "For Customer 1 (1)"]


def test_substitutions_may_take_ten_thousand_bytes_but_not_more(sandbox: RunningSandbox) -> None:
    # {"-x-":"…"} is 10 bytes around the value.
    payload = mail(1)
    payload["personalizations"][0]["substitutions"] = {"-x-": "v" * 9_990}
    assert sandbox.mail_send(payload).status == 202

    payload["personalizations"][0]["substitutions"] = {"-x-": "v" * 9_991}
    reply = sandbox.mail_send(payload)
    assert reply.status == 400
    assert errors_of(reply)[0]["field"] == "personalizations.0.substitutions"


def test_custom_args_must_stay_under_ten_thousand_bytes_with_the_message_level_ones(sandbox: RunningSandbox) -> None:
    payload = mail(1, custom_args={"campaign": "c" * 9_000})
    payload["personalizations"][0]["custom_args"] = {"delivery_id": "d" * 1_000}

    reply = sandbox.mail_send(payload)

    assert reply.status == 400
    assert errors_of(reply)[0]["field"] == "personalizations.0.custom_args"


def test_personalization_custom_args_win_over_the_message_ones(sandbox: RunningSandbox) -> None:
    payload = mail(1, custom_args={"campaign": "spring", "delivery_id": "message-level"})

    assert sandbox.mail_send(payload).status == 202
    assert sandbox.messages()[0]["custom_args"] == {"campaign": "spring", "delivery_id": "delivery-0"}


def test_a_request_of_thirty_megabytes_is_refused_with_413(sandbox: RunningSandbox) -> None:
    payload = mail(1)
    payload["content"][0]["value"] = "x" * (30 * 1024 * 1024)

    reply = sandbox.mail_send(payload)

    assert reply.status == 413
    assert errors_of(reply)[0]["message"]
    assert sandbox.messages() == []


def test_a_body_that_is_not_json_is_a_400_and_another_content_type_a_415(sandbox: RunningSandbox) -> None:
    auth = {"Authorization": "Bearer SG.test-key"}
    not_json = request(
        f"{sandbox.url}/v3/mail/send",
        method="POST",
        data=b"{nope",
        headers={**auth, "Content-Type": "application/json"},
    )
    form = request(f"{sandbox.url}/v3/mail/send", method="POST", data=b"a=b", headers=auth)

    assert not_json.status == 400
    assert errors_of(not_json)[0]["field"] is None
    assert form.status == 415


def test_sandbox_mode_validates_without_sending(sandbox: RunningSandbox) -> None:
    reply = sandbox.mail_send(mail(2, mail_settings={"sandbox_mode": {"enable": True}}))

    assert reply.status == 200
    assert sandbox.messages() == []


def test_the_next_requests_fail_as_configured_then_succeed(sandbox: RunningSandbox) -> None:
    sandbox.configure({"email": {"fail_next": [429, 500, 503], "retry_after": 20}})

    statuses = [sandbox.mail_send(mail(1)) for _ in range(4)]

    assert [r.status for r in statuses] == [429, 500, 503, 202]
    limited = statuses[0]
    assert int(limited.headers["X-RateLimit-Remaining"]) == 0
    assert int(limited.headers["X-RateLimit-Limit"]) > 0
    assert time.time() + 15 < int(limited.headers["X-RateLimit-Reset"]) <= time.time() + 22
    assert errors_of(limited)[0]["message"] == "too many requests"
    assert len(sandbox.messages()) == 1


def test_an_error_rate_of_one_fails_every_request(sandbox: RunningSandbox) -> None:
    sandbox.configure({"email": {"error_rates": {"503": 1.0}}})

    assert {sandbox.mail_send(mail(1)).status for _ in range(5)} == {503}

    sandbox.configure({"email": {"error_rates": {}}})
    assert sandbox.mail_send(mail(1)).status == 202


def test_random_error_rates_fail_about_that_share(sandbox: RunningSandbox) -> None:
    sandbox.configure({"email": {"error_rates": {"500": 0.3}}, "seed": 7})

    statuses = [sandbox.mail_send({"from": {}}).status for _ in range(200)]

    # The request is invalid: every one that was not failed by injection gets its 400.
    assert 30 <= statuses.count(500) <= 90
    assert statuses.count(500) + statuses.count(400) == 200


def test_a_rate_limit_refuses_requests_beyond_it_until_the_window_resets(sandbox: RunningSandbox) -> None:
    sandbox.configure({"email": {"rate_limit": {"requests": 2, "per_seconds": 60}}})

    statuses = [sandbox.mail_send(mail(1)).status for _ in range(3)]

    assert statuses == [202, 202, 429]


def test_a_wrong_key_is_refused_before_any_injected_failure(sandbox: RunningSandbox) -> None:
    sandbox.configure({"email": {"fail_next": [503]}})

    assert sandbox.mail_send(mail(1), key="SG.wrong").status == 401
    assert sandbox.mail_send(mail(1)).status == 503
