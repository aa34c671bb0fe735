"""The sandbox's record (queries, audit, export), its page, and its control API."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

from breachcomms.sandbox.app import Sandbox
from breachcomms.sandbox.signing import EventSigner
from tests.sandbox.fixtures import RunningSandbox, make_config, request
from tests.sandbox.test_sendgrid_api import mail
from tests.sandbox.test_twilio_api import form


def test_messages_are_found_by_channel_delivery_id_and_address(sandbox: RunningSandbox) -> None:
    sandbox.mail_send(mail(3))
    sandbox.create_sms(form(To="+46700000001"))

    assert len(sandbox.messages(channel="email")) == 3
    assert [m["to"] for m in sandbox.messages(channel="sms")] == ["+46700000001"]
    assert [m["to"] for m in sandbox.messages(delivery_id="delivery-2")] == ["customer2@example.com"]
    assert [m["delivery_id"] for m in sandbox.messages(to="CUSTOMER1@EXAMPLE.COM")] == ["delivery-1"]
    assert [m["to"] for m in sandbox.messages(to=urllib.parse.quote("+46700000001"))] == ["+46700000001"]


def test_messages_page_by_limit_offset_and_after(sandbox: RunningSandbox) -> None:
    sandbox.mail_send(mail(5))

    first = sandbox.messages(limit=2)
    second = sandbox.messages(limit=2, offset=2)
    rest = sandbox.messages(after=second[-1]["id"])

    assert [m["delivery_id"] for m in first + second + rest] == [f"delivery-{n}" for n in range(5)]


def test_a_bad_query_parameter_is_a_400(sandbox: RunningSandbox) -> None:
    assert sandbox.get("/sandbox/messages?limit=0").status == 400
    assert sandbox.get("/sandbox/messages?limit=abc").status == 400
    assert sandbox.get("/sandbox/messages?channel=fax").status == 400
    assert sandbox.get("/sandbox/messages?colour=red").status == 400
    assert sandbox.get("/sandbox/nothing").status == 404


def test_stats_count_what_was_accepted_and_refused(sandbox: RunningSandbox) -> None:
    sandbox.mail_send(mail(4))
    sandbox.mail_send(mail(1), key="wrong")
    sandbox.create_sms(form())

    stats = sandbox.stats()

    assert (stats["email"], stats["email_requests"], stats["sms"]) == (4, 1, 1)
    assert stats["counters"]["sendgrid_202"] == 1
    assert stats["counters"]["sendgrid_401"] == 1
    assert stats["counters"]["twilio_201"] == 1


def test_the_audit_names_delivery_ids_received_more_than_once(sandbox: RunningSandbox) -> None:
    sandbox.mail_send(mail(3))
    again = mail(1)
    again["personalizations"][0]["to"][0]["email"] = "other@example.com"  # same delivery-0, another request
    sandbox.mail_send(again)

    audit = sandbox.get("/sandbox/audit?channel=email").json()

    assert audit["messages"] == 4
    assert audit["distinct_delivery_ids"] == 3
    assert audit["duplicated_delivery_ids"] == 1
    assert audit["duplicates"] == [{"delivery_id": "delivery-0", "count": 2}]


def test_the_delivery_id_export_lists_every_message_once(sandbox: RunningSandbox) -> None:
    sandbox.mail_send(mail(3))
    sandbox.mail_send(mail(1))

    reply = sandbox.get("/sandbox/delivery-ids?channel=email")

    assert reply.status == 200
    assert reply.body.decode().splitlines() == ["delivery-0", "delivery-0", "delivery-1", "delivery-2"]


def test_the_page_lists_messages_with_everything_escaped(sandbox: RunningSandbox) -> None:
    payload = mail(1, subject="<script>alert('subject')</script>")
    payload["personalizations"][0]["custom_args"] = {"delivery_id": "<img src=x onerror=alert(1)>"}
    sandbox.mail_send(payload)

    reply = sandbox.get("/")

    page = reply.body.decode()
    assert reply.status == 200
    assert "&lt;script&gt;alert(&#x27;subject&#x27;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<script" not in page
    assert "<img" not in page
    assert reply.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_control_requests_must_be_json(sandbox: RunningSandbox) -> None:
    # A web page elsewhere can post a form to localhost, but not JSON.
    reply = request(f"{sandbox.url}/sandbox/reset", method="POST", data=b"x=1")

    assert reply.status == 415


def test_the_control_api_answers_only_under_a_local_host_name(sandbox: RunningSandbox) -> None:
    foreign = request(f"{sandbox.url}/sandbox/stats", headers={"Host": "attacker.example"})
    provider = request(f"{sandbox.url}/v3/mail/send", method="POST", data=b"{}", headers={"Host": "attacker.example"})

    assert foreign.status == 403
    assert provider.status == 401  # the provider APIs answer as usual


def test_an_invalid_configuration_is_refused_and_changes_nothing(sandbox: RunningSandbox) -> None:
    before = sandbox.get("/sandbox/config").json()

    bad = [
        {"email": {"fail_next": [418]}},
        {"email": {"error_rates": {"500": 1.5}}},
        {"email": {"outcome_rates": {"bounce": 0.6, "blocked": 0.6}}},
        {"sms": {"outcome_rules": [{"match": "(", "outcome": "failed"}]}},
        {"webhooks": {"delay": [2, 1]}, "email": {"fail_next": [429]}},
        {"webhooks": {"colour": "red"}},
        ["not", "an", "object"],
    ]
    for patch in bad:
        reply = sandbox.post_json("/sandbox/config", patch)
        assert reply.status == 400, patch
        assert reply.json()["error"]

    assert sandbox.get("/sandbox/config").json() == before


def test_reset_forgets_messages_counters_and_pending_failures(sandbox: RunningSandbox) -> None:
    sandbox.mail_send(mail(2))
    sandbox.configure({"email": {"fail_next": [500]}})

    assert sandbox.post_json("/sandbox/reset", {}).status == 200

    assert sandbox.messages() == []
    assert sandbox.stats()["email"] == 0
    assert sandbox.mail_send(mail(1)).status == 202


def test_the_record_and_the_signing_key_survive_a_restart(tmp_path: Path) -> None:
    first = Sandbox(make_config(), tmp_path)
    key = first.signer.public_key
    first.sendgrid.mail_send(
        {"Authorization": "Bearer SG.test-key", "Content-Type": "application/json"},
        json.dumps(mail(2)).encode(),
        0,
    )
    first.stop()

    second = Sandbox(make_config(), tmp_path)

    assert second.signer.public_key == key == EventSigner.load_or_create(tmp_path).public_key
    assert [m["delivery_id"] for m in second.store.messages({}, limit=10)] == ["delivery-0", "delivery-1"]
    assert second.store.counts["email"] == 2
    second.stop()
