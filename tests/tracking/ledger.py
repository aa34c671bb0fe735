"""Ledger rows for the tracking, support and verification tests, made directly (the sending itself is the
delivery app's tests' business), and signed provider webhooks."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twilio.request_validator import RequestValidator

from breachcomms.delivery.models import ChannelPlan, Delivery, DeliveryStatus, Wave
from breachcomms.incidents.categories import flags_for
from breachcomms.incidents.models import Incident
from breachcomms.notices.models import Campaign
from breachcomms.recipients.models import Customer

T0 = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
TWILIO_TOKEN = "twilio-token-for-tests"


def make_wave(
    incident: Incident,
    *,
    plan: str = ChannelPlan.EMAIL,
    status: str = Wave.Status.RUNNING,
    kind: str = Campaign.Kind.INITIAL,
) -> Wave:
    campaign = Campaign.objects.create(incident=incident, kind=kind, name=f"{kind} notice")
    return Wave.objects.create(campaign=campaign, name="Wave 1", channel_plan=plan, status=status, launched_at=T0)


def make_deliveries(
    wave: Wave,
    count: int,
    *,
    channel: str = "email",
    status: str = DeliveryStatus.SENT,
    first: int = 0,
    per_message: int = 1000,
    **customer: Any,
) -> list[Delivery]:
    """``count`` customers of the wave's incident, each with one delivery on ``channel``."""
    incident_id = wave.campaign.incident_id
    customers = Customer.objects.bulk_create(
        Customer(
            incident_id=incident_id,
            name=customer.get("name", f"Person {n}"),
            email=customer.get("email", f"Person.{n}@Example.org"),
            phone=customer.get("phone", f"+4670{n:07d}"),
            country=customer.get("country", "SE"),
            locale=customer.get("locale", "sv-SE"),
            language=customer.get("language", "sv"),
            time_zone=customer.get("time_zone", "Europe/Stockholm"),
            exposure_flags=flags_for(["name", "email"]),
        )
        for n in range(first, first + count)
    )
    sent = status not in (DeliveryStatus.PENDING, DeliveryStatus.QUEUED, DeliveryStatus.CANCELLED)
    return Delivery.objects.bulk_create(
        Delivery(
            campaign_id=wave.campaign_id,
            wave=wave,
            customer=c,
            channel=channel,
            status=status,
            address=c.email if channel == "email" else c.phone,
            region=c.country,
            time_zone=c.time_zone,
            due_at=T0,
            reference=secrets.randbits(55),
            provider_message_id=(f"msg-{(first + i) // per_message}" if channel == "email" else f"SM{first + i:032d}")
            if sent
            else "",
            sent_at=T0 if sent else None,
        )
        for i, c in enumerate(customers)
    )


def sendgrid_event(
    delivery: Delivery | None, kind: str, *, event_id: str | None = None, at: float | None = None, **extra: Any
) -> dict[str, Any]:
    """One SendGrid event as the webhook posts it (``bounce`` with ``type=blocked`` for a block)."""
    event: dict[str, Any] = {
        "email": delivery.address if delivery else "nobody@example.org",
        "timestamp": int(at if at is not None else T0.timestamp()),
        "event": "bounce" if kind == "blocked" else kind,
        "sg_event_id": event_id or secrets.token_urlsafe(16),
        "sg_message_id": f"{delivery.provider_message_id if delivery else 'unknown'}.filter0001.1.0",
    }
    if kind == "blocked":
        event["type"] = "blocked"
    elif kind == "bounce":
        event["type"] = "bounce"
    if delivery is not None:
        event["delivery_id"] = str(delivery.id)
    event.update(extra)
    return event


class SendGridSigner:
    """Signs event bodies as SendGrid does: ECDSA P-256 / SHA-256 over timestamp + body."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_key = base64.b64encode(der).decode()

    def headers(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = self.key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE": base64.b64encode(signature).decode(),
            "HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP": stamp,
        }


def body_of(events: Sequence[Mapping[str, Any]]) -> bytes:
    return json.dumps(list(events)).encode()


def twilio_signature(url: str, params: Mapping[str, str], token: str = TWILIO_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, dict(params))
