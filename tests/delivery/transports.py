"""Test transports: the locmem ones, plus the optional ``find_sent`` the reconciliation asks."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from breachcomms.channels.base import EmailBatch, PermanentError, Receipt, SentQuery
from breachcomms.channels.locmem import LocmemEmailTransport, LocmemSmsTransport, outbox
from breachcomms.channels.sendgrid import SendGridTransport
from breachcomms.channels.twilio import TwilioTransport


class FindingEmailTransport(LocmemEmailTransport):
    def find_sent(self, queries: Sequence[SentQuery]) -> dict[str, str]:
        wanted = {query.delivery_id for query in queries}
        return {
            r.delivery_id: "found-" + r.delivery_id
            for b in outbox.emails
            for r in b.recipients
            if r.delivery_id in wanted
        }


class FindingSmsTransport(LocmemSmsTransport):
    def find_sent(self, queries: Sequence[SentQuery]) -> dict[str, str]:
        wanted = {query.delivery_id for query in queries}
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


class SandboxFindingEmailTransport(SendGridTransport):
    """SendGrid through the sandbox; reconciliation searches the sandbox's Email Activity API (the real find_sent)."""


class SandboxFindingSmsTransport(TwilioTransport):
    """Twilio through the sandbox; reconciliation searches the sandbox's message list (the real find_sent)."""
