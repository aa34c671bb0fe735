"""The sandbox's webhooks: signed like the providers sign them, with the configured outcomes and disorder."""

from __future__ import annotations

import json
import stat
import time
import urllib.parse
from collections import Counter
from typing import Any

from sendgrid.helpers.eventwebhook import EventWebhook
from twilio.request_validator import RequestValidator

from tests.sandbox.fixtures import AUTH_TOKEN, Receiver, RunningSandbox
from tests.sandbox.test_sendgrid_api import mail
from tests.sandbox.test_twilio_api import form

SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"


def send_events_to(sandbox: RunningSandbox, receiver: Receiver, **webhooks: Any) -> None:
    sandbox.configure({"webhooks": {"sendgrid_url": f"{receiver.url}/webhooks/sendgrid/events/", **webhooks}})


def events_by_delivery(receiver: Receiver) -> dict[str, list[str]]:
    timelines: dict[str, list[str]] = {}
    for event in receiver.sendgrid_events():
        name = event["event"] if event["event"] != "bounce" else f"bounce:{event['type']}"
        timelines.setdefault(event["delivery_id"], []).append(name)
    return timelines


def test_event_batches_are_signed_so_that_the_sendgrid_helper_verifies_them(
    sandbox: RunningSandbox, receiver: Receiver
) -> None:
    send_events_to(sandbox, receiver)
    message_id = sandbox.mail_send(mail(3, categories=["breach-notice"])).headers["X-Message-Id"]

    receiver.wait_for(lambda posts: sum(len(json.loads(p.body)) for p in posts) >= 6)

    verifier = EventWebhook(sandbox.public_key)
    for post in receiver.posts:
        assert post.headers["Content-Type"] == "application/json"
        assert verifier.verify_signature(post.body.decode(), post.headers[SIGNATURE], post.headers[TIMESTAMP])
        assert abs(int(post.headers[TIMESTAMP]) - time.time()) < 60
    events = receiver.sendgrid_events()
    assert events_by_delivery(receiver) == {f"delivery-{n}": ["processed", "delivered"] for n in range(3)}
    for event in events:
        assert event["sg_message_id"].startswith(message_id + ".filter")
        assert event["email"] == f"customer{event['delivery_id'][-1]}@example.com"
        assert isinstance(event["timestamp"], int)
        assert event["category"] == ["breach-notice"]
    assert len({event["sg_event_id"] for event in events}) == 6


def test_a_tampered_batch_does_not_verify(sandbox: RunningSandbox, receiver: Receiver) -> None:
    send_events_to(sandbox, receiver)
    sandbox.mail_send(mail(1))
    receiver.wait_for(lambda posts: len(posts) >= 1)
    post = receiver.posts[0]
    verifier = EventWebhook(sandbox.public_key)

    tampered = post.body.decode().replace("delivery-0", "delivery-9")
    older = str(int(post.headers[TIMESTAMP]) - 1)

    assert not verifier.verify_signature(tampered, post.headers[SIGNATURE], post.headers[TIMESTAMP])
    assert not verifier.verify_signature(post.body.decode(), post.headers[SIGNATURE], older)


def test_addresses_naming_an_outcome_get_it(sandbox: RunningSandbox, receiver: Receiver) -> None:
    send_events_to(sandbox, receiver)
    payload = mail(5)
    for n, name in enumerate(["ann.bounce", "bo.blocked", "cy.dropped", "di.deferred", "ed.spamreport"]):
        payload["personalizations"][n]["to"][0]["email"] = f"{name}@example.com"
    sandbox.mail_send(payload)

    receiver.wait_for(lambda posts: sum(len(json.loads(p.body)) for p in posts) >= 11)

    assert events_by_delivery(receiver) == {
        "delivery-0": ["processed", "bounce:bounce"],
        "delivery-1": ["processed", "bounce:blocked"],
        "delivery-2": ["dropped"],
        "delivery-3": ["processed", "deferred", "delivered"],
        "delivery-4": ["processed", "delivered", "spamreport"],
    }
    bounce = next(e for e in receiver.sendgrid_events() if e["event"] == "bounce" and e["type"] == "bounce")
    assert bounce["status"].startswith("5.")
    assert bounce["reason"]
    assert [m["outcome"] for m in sandbox.messages()] == ["bounce", "blocked", "dropped", "deferred", "spamreport"]


def test_outcome_rates_apply_to_the_other_addresses(sandbox: RunningSandbox, receiver: Receiver) -> None:
    sandbox.configure({"email": {"outcome_rates": {"bounce": 0.25}}, "seed": 3})
    sandbox.mail_send(mail(400))

    outcomes = Counter(m["outcome"] for m in sandbox.messages(limit=1000))

    assert set(outcomes) == {"bounce", "delivered"}
    assert 60 <= outcomes["bounce"] <= 140


def test_duplicates_repeat_events_with_their_event_id(sandbox: RunningSandbox, receiver: Receiver) -> None:
    send_events_to(sandbox, receiver, duplicate_rate=1, max_copies=3)
    sandbox.mail_send(mail(20))

    receiver.wait_for(lambda posts: sum(len(json.loads(p.body)) for p in posts) >= 80, timeout=15)
    time.sleep(0.5)  # the last copies

    copies = Counter(event["sg_event_id"] for event in receiver.sendgrid_events())
    assert len(copies) == 40  # processed + delivered for 20 messages
    assert set(copies.values()) <= {2, 3}
    assert 3 in copies.values()


def test_reordering_delivers_later_events_first(sandbox: RunningSandbox, receiver: Receiver) -> None:
    send_events_to(sandbox, receiver, reorder_rate=1)
    sandbox.mail_send(mail(30))

    receiver.wait_for(lambda posts: sum(len(json.loads(p.body)) for p in posts) >= 60, timeout=15)

    timelines = events_by_delivery(receiver)
    assert all(sorted(timeline) == ["delivered", "processed"] for timeline in timelines.values())
    assert any(timeline == ["delivered", "processed"] for timeline in timelines.values())


def test_configured_delays_space_a_messages_events(sandbox: RunningSandbox, receiver: Receiver) -> None:
    send_events_to(sandbox, receiver, delay=[0.4, 0.4])
    sandbox.mail_send(mail(1))

    receiver.wait_for(lambda posts: sum(len(json.loads(p.body)) for p in posts) >= 2)

    arrival = {p.json()[0]["event"]: p for p in receiver.posts}
    assert set(arrival) == {"processed", "delivered"}  # in two batches, not one


def test_a_refused_batch_is_posted_again_with_a_fresh_signature(sandbox: RunningSandbox, receiver: Receiver) -> None:
    receiver.statuses = [500, 503]
    send_events_to(sandbox, receiver)
    sandbox.mail_send(mail(1))

    receiver.wait_for(lambda posts: len(posts) >= 1, timeout=15)

    post = receiver.posts[0]
    assert EventWebhook(sandbox.public_key).verify_signature(
        post.body.decode(), post.headers[SIGNATURE], post.headers[TIMESTAMP]
    )
    assert sandbox.stats()["counters"]["sendgrid_webhook_failures"] == 2


def test_a_stalled_receiver_does_not_hold_up_sending(sandbox: RunningSandbox, receiver: Receiver) -> None:
    receiver.hold.clear()  # the receiver accepts connections but answers nothing
    send_events_to(sandbox, receiver)

    replies = [sandbox.mail_send(mail(50)) for _ in range(3)]
    sms = sandbox.create_sms(form(StatusCallback=f"{receiver.url}/webhooks/twilio/status/?delivery_id=s"))

    assert [r.status for r in replies] == [202, 202, 202]
    assert sms.status == 201
    assert receiver.posts == []  # still nothing delivered: the sends did not wait for it
    receiver.hold.set()
    receiver.wait_for(lambda posts: len(posts) >= 2)


def test_status_callbacks_are_signed_for_the_twilio_request_validator(
    sandbox: RunningSandbox, receiver: Receiver
) -> None:
    callback = f"{receiver.url}/webhooks/twilio/status/?delivery_id=sms-7"
    sid = sandbox.create_sms(form(StatusCallback=callback)).json()["sid"]

    receiver.wait_for(lambda posts: len(posts) >= 2)

    validator = RequestValidator(AUTH_TOKEN)
    statuses = []
    for post in receiver.posts:
        params = dict(urllib.parse.parse_qsl(post.body.decode()))
        url = receiver.url + post.path
        assert url == callback
        assert validator.validate(url, params, post.headers["X-Twilio-Signature"])
        assert not validator.validate(url, {**params, "MessageStatus": "failed"}, post.headers["X-Twilio-Signature"])
        assert params["MessageSid"] == sid
        assert params["To"] == "+46701234567"
        statuses.append(params["MessageStatus"])
    assert statuses == ["sent", "delivered"]


def test_failing_numbers_report_their_error_code(sandbox: RunningSandbox, receiver: Receiver) -> None:
    callback = f"{receiver.url}/webhooks/twilio/status/?delivery_id=x"
    sandbox.create_sms(form(To="+15005550010", StatusCallback=callback))
    sandbox.create_sms(form(To="+15005550012", StatusCallback=callback))

    receiver.wait_for(lambda posts: len(posts) >= 3)

    reports = [dict(urllib.parse.parse_qsl(p.body.decode())) for p in receiver.posts]
    assert sorted((r["To"], r["MessageStatus"], r.get("ErrorCode")) for r in reports) == [
        ("+15005550010", "sent", None),
        ("+15005550010", "undelivered", "30003"),
        ("+15005550012", "failed", "30008"),
    ]


def test_a_messaging_service_reports_queued_first(sandbox: RunningSandbox, receiver: Receiver) -> None:
    callback = f"{receiver.url}/webhooks/twilio/status/?delivery_id=x"
    sandbox.create_sms(form(From="", MessagingServiceSid="MG" + "1" * 32, StatusCallback=callback))

    receiver.wait_for(lambda posts: len(posts) >= 3)

    reports = [dict(urllib.parse.parse_qsl(p.body.decode())) for p in receiver.posts]
    assert [r["MessageStatus"] for r in reports] == ["queued", "sent", "delivered"]
    assert {r["MessagingServiceSid"] for r in reports} == {"MG" + "1" * 32}


def test_the_private_signing_key_is_readable_by_its_owner_only(sandbox: RunningSandbox) -> None:
    mode = (sandbox.data_dir / "sendgrid_webhook_private_key.pem").stat().st_mode

    assert stat.S_IMODE(mode) == 0o600
