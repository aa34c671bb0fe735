"""Proof of notice for one customer: every delivery, what it carried, who approved that text, and what
the providers said — with the content re-rendered from the approved version and checked against the
hash the send task recorded of exactly what it handed to the provider.

The re-render is ``delivery.content_check.sent_content``, the same check the support desk shows.
"""

from __future__ import annotations

import hmac
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from breachcomms.audit.models import Action, AuditEntry
from breachcomms.delivery.content_check import SentContent, Verdict, sent_content
from breachcomms.delivery.models import Delivery, DeliveryAttempt
from breachcomms.delivery.selectors import attempt_history
from breachcomms.incidents.models import Incident
from breachcomms.notices.context import IncidentFacts
from breachcomms.notices.models import NoticeVersion
from breachcomms.recipients.models import Customer
from breachcomms.tracking.models import ProviderEvent

# Audit actions about the things a delivery rests on (its notice version, its wave).
_VERSION_ACTIONS = (Action.NOTICE_VERSION_SUBMITTED, Action.NOTICE_VERSION_APPROVED, Action.NOTICE_CHECK_ACKNOWLEDGED)
_WAVE_ACTIONS = (Action.WAVE_LAUNCHED, Action.WAVE_SCHEDULED, Action.WAVE_PAUSED, Action.WAVE_RESUMED)


@dataclass(frozen=True)
class AuditLink:
    seq: int
    at: datetime
    action: str
    actor: str
    object_type: str
    object_id: str
    hash: str
    prev_hash: str

    @property
    def action_label(self) -> str:
        return str(Action(self.action).label) if self.action in Action.values else self.action


@dataclass(frozen=True)
class DeliveryProof:
    delivery: Delivery
    check: SentContent
    attempts: list[DeliveryAttempt]
    events: list[ProviderEvent]
    audit: list[AuditLink]

    @property
    def version(self) -> NoticeVersion | None:
        return self.delivery.notice_version


@dataclass(frozen=True)
class CustomerProof:
    customer: Customer
    incident: Incident
    generated_at: datetime
    deliveries: list[DeliveryProof]


def _audit_links(deliveries: list[Delivery]) -> dict[tuple[str, str], list[AuditLink]]:
    version_ids = {str(d.notice_version_id) for d in deliveries if d.notice_version_id}
    wave_ids = {str(d.wave_id) for d in deliveries}
    entries = AuditEntry.objects.filter(
        object_type="notices.noticeversion", object_id__in=version_ids, action__in=_VERSION_ACTIONS
    ) | AuditEntry.objects.filter(object_type="delivery.wave", object_id__in=wave_ids, action__in=_WAVE_ACTIONS)
    links: dict[tuple[str, str], list[AuditLink]] = defaultdict(list)
    for entry in entries.order_by("seq"):
        links[(entry.object_type, entry.object_id)].append(
            AuditLink(
                entry.seq,
                entry.at,
                entry.action,
                entry.actor_name,
                entry.object_type,
                entry.object_id,
                entry.hash,
                entry.prev_hash,
            )
        )
    return links


def customer_proof(*, customer_id: int) -> CustomerProof | None:
    """Everything that proves what the customer was sent, or None if there is no such customer."""
    customer = Customer.objects.select_related("incident").filter(id=customer_id).first()
    if customer is None:
        return None
    deliveries = list(
        Delivery.objects.filter(customer=customer)
        .select_related("campaign", "wave", "notice_version__notice", "notice_version__approval__approver")
        .order_by("created_at", "id")
    )
    ids = [d.id for d in deliveries]
    attempts = attempt_history(deliveries)
    events: dict[int, list[ProviderEvent]] = defaultdict(list)
    for event in ProviderEvent.objects.filter(delivery_id__in=ids).order_by("occurred_at", "id"):
        assert event.delivery_id is not None
        events[event.delivery_id].append(event)
    links = _audit_links(deliveries)
    facts = IncidentFacts.from_incident(customer.incident)
    proofs = []
    for delivery in deliveries:
        delivery.customer = customer
        audit = [
            *links.get(("notices.noticeversion", str(delivery.notice_version_id)), []),
            *links.get(("delivery.wave", str(delivery.wave_id)), []),
        ]
        proofs.append(
            DeliveryProof(
                delivery,
                sent_content(delivery=delivery, facts=facts),
                attempts.get(delivery.id, []),
                events.get(delivery.id, []),
                sorted(audit, key=lambda link: link.seq),
            )
        )
    return CustomerProof(customer, customer.incident, timezone.now(), proofs)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def _version(version: NoticeVersion | None) -> dict[str, Any] | None:
    if version is None:
        return None
    approval = getattr(version, "approval", None)
    return {
        "id": version.id,
        "channel": version.notice.channel,
        "locale": version.notice.locale,
        "number": version.number,
        "status": version.status,
        "content_hash": version.content_hash,
        "approved_by": approval.approver.get_username() if approval else None,
        "approved_at": _iso(approval.approved_at) if approval else None,
        "approved_content_hash": approval.content_hash if approval else None,
        "approved_hash_matches_version": (
            hmac.compare_digest(approval.content_hash, version.content_hash) if approval else False
        ),
    }


def proof_as_json(proof: CustomerProof) -> dict[str, Any]:
    """The proof as plain JSON values (times in UTC, ISO 8601)."""
    customer = proof.customer
    return {
        "format": 1,
        "generated_at": _iso(proof.generated_at),
        "incident": {
            "id": proof.incident.id,
            "title": proof.incident.title,
            "organization": proof.incident.organization,
        },
        "customer": {
            "id": customer.id,
            "name": customer.name,
            "email": customer.email,
            "phone": customer.phone,
            "country": customer.country,
            "subdivision": customer.subdivision,
            "locale": customer.locale,
            "time_zone": customer.time_zone,
            "external_refs": list(customer.external_refs or []),
        },
        "deliveries": [_delivery_json(item) for item in proof.deliveries],
    }


def _delivery_json(item: DeliveryProof) -> dict[str, Any]:
    d, check = item.delivery, item.check
    return {
        "id": d.id,
        "reference_code": d.reference_code,
        "campaign": {"id": d.campaign_id, "name": d.campaign.name, "kind": d.campaign.kind},
        "wave": {"id": d.wave_id, "name": d.wave.name},
        "channel": d.channel,
        "address": d.address,
        "status": d.status,
        "fallback_for": d.fallback_for_id,
        "created_at": _iso(d.created_at),
        "queued_at": _iso(d.queued_at),
        "sent_at": _iso(d.sent_at),
        "finished_at": _iso(d.finished_at),
        "last_error": d.last_error,
        "provider_message_id": d.provider_message_id,
        "notice_version": _version(item.version),
        "content": {
            "recorded_hash": d.content_hash or None,
            "recomputed_hash": check.computed_hash or None,
            "verdict": check.verdict,
            "matches": check.verdict == Verdict.VERIFIED,
            "error": check.error or None,
            "parts": check.parts,
        },
        "attempts": [
            {
                "at": _iso(a.at),
                "outcome": a.outcome,
                "provider_status": a.provider_status,
                "provider_message_id": a.provider_message_id,
                "error": a.error,
            }
            for a in item.attempts
        ],
        "provider_events": [
            {
                "provider": e.provider,
                "event_id": e.event_id,
                "kind": e.kind,
                "occurred_at": _iso(e.occurred_at),
                "received_at": _iso(e.received_at),
                "reason": e.reason,
            }
            for e in item.events
        ],
        "audit": [
            {
                "seq": link.seq,
                "at": _iso(link.at),
                "action": link.action,
                "actor": link.actor,
                "object": f"{link.object_type}:{link.object_id}",
                "hash": link.hash,
                "prev_hash": link.prev_hash,
            }
            for link in item.audit
        ],
    }
