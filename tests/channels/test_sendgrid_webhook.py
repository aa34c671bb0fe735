"""sendgrid.verify_and_parse: only correctly signed, fresh event batches are read."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.exceptions import ImproperlyConfigured

from breachcomms.channels.base import PayloadError, SignatureError
from breachcomms.channels.sendgrid import SendGridTransport, verify_and_parse
from tests.channels.test_sendgrid import batch
from tests.sandbox.fixtures import API_KEY, Receiver, RunningSandbox
from tests.sandbox.test_webhooks import send_events_to

KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC_KEY = base64.b64encode(
    KEY.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
).decode()
EVENTS = [
    {"email": "a@example.com", "timestamp": 1_700_000_000, "event": "processed", "sg_event_id": "e1",
     "sg_message_id": "msg.filter1", "delivery_id": "d-1"},
    {"email": "a@example.com", "timestamp": 1_700_000_005, "event": "bounce", "type": "blocked", "sg_event_id": "e2",
     "sg_message_id": "msg.filter1", "delivery_id": "d-1", "status": "5.7.1", "reason": "550 policy"},
]  # fmt: skip


def signed(body: bytes, *, key: ec.EllipticCurvePrivateKey = KEY, at: int | None = None) -> dict[str, str]:
    timestamp = str(int(time.time()) if at is None else at)
    signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
    }


def parse(body: bytes, headers: dict[str, str], **kwargs: Any) -> Any:
    return verify_and_parse(body, headers, public_key=PUBLIC_KEY, **kwargs)


def test_a_signed_batch_gives_its_events() -> None:
    body = json.dumps(EVENTS).encode()

    processed, blocked = parse(body, signed(body))

    assert (processed.provider, processed.event_id, processed.delivery_id) == ("sendgrid", "e1", "d-1")
    assert processed.kind == "processed"
    assert processed.provider_message_id == "msg.filter1"
    assert processed.occurred_at.timestamp() == 1_700_000_000
    assert processed.occurred_at.tzinfo is not None
    assert blocked.kind == "blocked"
    assert blocked.reason == "5.7.1 550 policy"
    assert blocked.raw["type"] == "blocked"


def test_header_names_are_matched_whatever_their_case() -> None:
    body = json.dumps(EVENTS).encode()
    headers = {name.lower(): value for name, value in signed(body).items()}

    assert len(parse(body, headers)) == 2


def test_a_signature_by_another_key_is_refused() -> None:
    body = json.dumps(EVENTS).encode()

    with pytest.raises(SignatureError):
        parse(body, signed(body, key=ec.generate_private_key(ec.SECP256R1())))


def test_a_changed_body_is_refused() -> None:
    body = json.dumps(EVENTS).encode()
    headers = signed(body)

    with pytest.raises(SignatureError):
        parse(body.replace(b"d-1", b"d-2"), headers)


@pytest.mark.parametrize(
    "missing", ["X-Twilio-Email-Event-Webhook-Signature", "X-Twilio-Email-Event-Webhook-Timestamp"]
)
def test_a_missing_header_is_refused(missing: str) -> None:
    body = json.dumps(EVENTS).encode()
    headers = signed(body)
    del headers[missing]

    with pytest.raises(SignatureError, match="missing"):
        parse(body, headers)


@pytest.mark.parametrize("signature", ["not base64!", "abc", "", base64.b64encode(b"not DER at all").decode()])
def test_a_malformed_signature_is_refused(signature: str) -> None:
    body = json.dumps(EVENTS).encode()
    headers = {**signed(body), "X-Twilio-Email-Event-Webhook-Signature": signature}

    with pytest.raises(SignatureError):
        parse(body, headers)


def test_a_body_that_is_not_utf8_is_refused() -> None:
    body = b"[\xff]"

    with pytest.raises(SignatureError):
        parse(body, signed(body))


def test_a_stale_timestamp_is_refused_unless_the_check_is_off() -> None:
    body = json.dumps(EVENTS).encode()
    headers = signed(body, at=int(time.time()) - 3600)

    with pytest.raises(SignatureError, match="timestamp"):
        parse(body, headers, max_age=600)
    assert len(parse(body, headers, max_age=0)) == 2


def test_a_signed_body_that_is_not_an_event_array_is_a_payload_error() -> None:
    body = b'{"event": "processed"}'

    with pytest.raises(PayloadError):
        parse(body, signed(body))


def test_an_event_without_the_documented_fields_is_skipped_and_the_rest_kept() -> None:
    body = json.dumps([{"event": "processed", "timestamp": 1}, "junk", EVENTS[0]]).encode()

    assert [event.event_id for event in parse(body, signed(body))] == ["e1"]


def test_the_key_is_read_from_the_configured_file(settings: Any, tmp_path: Path) -> None:
    key_file = tmp_path / "key.txt"
    key_file.write_text(PUBLIC_KEY + "\n")
    settings.SENDGRID_WEBHOOK_PUBLIC_KEY = ""
    settings.SENDGRID_WEBHOOK_PUBLIC_KEY_FILE = str(key_file)
    body = json.dumps(EVENTS).encode()

    assert len(verify_and_parse(body, signed(body))) == 2


def test_a_missing_key_is_a_configuration_error_not_a_bad_request(settings: Any, tmp_path: Path) -> None:
    settings.SENDGRID_WEBHOOK_PUBLIC_KEY = ""
    settings.SENDGRID_WEBHOOK_PUBLIC_KEY_FILE = str(tmp_path / "absent.txt")
    body = json.dumps(EVENTS).encode()

    with pytest.raises(ImproperlyConfigured):
        verify_and_parse(body, signed(body))


def test_the_sandboxs_event_batches_verify_and_map_to_deliveries(
    sandbox: RunningSandbox, receiver: Receiver, settings: Any
) -> None:
    settings.SENDGRID_WEBHOOK_PUBLIC_KEY = ""
    settings.SENDGRID_WEBHOOK_PUBLIC_KEY_FILE = str(sandbox.data_dir / "sendgrid_webhook_public_key.txt")
    send_events_to(sandbox, receiver)

    receipts = SendGridTransport(api_key=API_KEY, host=sandbox.url).send_batch(batch(5))
    receiver.wait_for(lambda posts: sum(len(json.loads(p.body)) for p in posts) >= 10)

    events = [event for post in receiver.posts for event in verify_and_parse(post.body, post.headers)]
    assert {(e.delivery_id, e.kind) for e in events} == {
        (f"delivery-{n}", k) for n in range(5) for k in ("processed", "delivered")
    }
    assert all(e.provider_message_id.startswith(receipts[0].provider_message_id) for e in events)
