"""Test transports: the locmem ones, plus the optional ``find_sent`` the reconciliation asks."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence

from django.conf import settings

from breachcomms.channels.base import EmailBatch, PermanentError, Receipt
from breachcomms.channels.locmem import LocmemEmailTransport, LocmemSmsTransport, outbox
from breachcomms.channels.sendgrid import SendGridTransport
from breachcomms.channels.twilio import TwilioTransport


class FindingEmailTransport(LocmemEmailTransport):
    def find_sent(self, delivery_ids: Sequence[str]) -> dict[str, str]:
        wanted = set(delivery_ids)
        return {
            r.delivery_id: "found-" + r.delivery_id
            for b in outbox.emails
            for r in b.recipients
            if r.delivery_id in wanted
        }


class FindingSmsTransport(LocmemSmsTransport):
    def find_sent(self, delivery_ids: Sequence[str]) -> dict[str, str]:
        wanted = set(delivery_ids)
        return {m.delivery_id: "found-" + m.delivery_id for m in outbox.sms if m.delivery_id in wanted}


class RejectingEmailTransport(LocmemEmailTransport):
    """Refuses a whole request with a 400 when any of its addresses contains "invalid", like SendGrid."""

    def send_batch(self, batch: EmailBatch) -> list[Receipt]:
        bad = [r.email for r in batch.recipients if "invalid" in r.email]
        if bad:
            raise PermanentError(f"SendGrid 400: personalizations.0.to.0.email: Invalid email {bad[0]}", status=400)
        return super().send_batch(batch)


class HookedEmailTransport(LocmemEmailTransport):
    """Calls ``before_send`` (set by a test) while the worker is inside a send, then sends."""

    before_send: Callable[[], None] | None = None

    def send_batch(self, batch: EmailBatch) -> list[Receipt]:
        hook = HookedEmailTransport.before_send
        if hook is not None:
            HookedEmailTransport.before_send = None
            hook()
        return super().send_batch(batch)


def _sandbox_find(base: str, channel: str, delivery_ids: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for delivery_id in delivery_ids:
        query = urllib.parse.urlencode({"channel": channel, "delivery_id": delivery_id, "limit": 1})
        with urllib.request.urlopen(f"{base}/sandbox/messages?{query}", timeout=10) as response:  # noqa: S310
            messages = json.loads(response.read())["messages"]
        if messages:
            found[delivery_id] = messages[0].get("x_message_id") or messages[0].get("sid") or "found"
    return found


class SandboxFindingEmailTransport(SendGridTransport):
    """SendGrid through the sandbox, with the reconciliation lookup the sandbox can answer."""

    def find_sent(self, delivery_ids: Sequence[str]) -> dict[str, str]:
        return _sandbox_find(settings.SENDGRID_API_HOST, "email", delivery_ids)


class SandboxFindingSmsTransport(TwilioTransport):
    def find_sent(self, delivery_ids: Sequence[str]) -> dict[str, str]:
        return _sandbox_find(settings.TWILIO_API_BASE_URL, "sms", delivery_ids)
