"""The types every transport speaks (contract C): batches and messages in, receipts and provider events out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

# SendGrid accepts at most this many personalizations (and recipients) in one mail-send request.
MAX_BATCH_RECIPIENTS = 1000
# Twilio refuses a message body longer than this many characters (error 21617).
MAX_SMS_BODY_CHARS = 1600


@dataclass(frozen=True)
class EmailRecipient:
    delivery_id: str
    email: str
    name: str
    substitutions: Mapping[str, str]


@dataclass(frozen=True)
class EmailBatch:
    """Up to 1,000 recipients of one rendered email; per-recipient values travel as substitutions."""

    from_email: str
    from_name: str
    subject: str
    html: str
    text: str
    recipients: Sequence[EmailRecipient]
    categories: Sequence[str] = ()
    reply_to: str = ""


@dataclass(frozen=True)
class SmsMessage:
    delivery_id: str
    to: str
    body: str


@dataclass(frozen=True)
class Receipt:
    delivery_id: str
    provider_message_id: str


class ChannelError(Exception):
    """A send failed; ``reason`` says why in the provider's words, ``status`` is the HTTP status if any."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class TransientError(ChannelError):
    """Worth retrying later (429, 5xx, timeouts, connection errors); ``retry_after`` in seconds if known."""

    def __init__(self, reason: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(reason, status=status)
        self.retry_after = retry_after


class PermanentError(ChannelError):
    """Retrying cannot help (other 4xx, invalid input): fail the delivery with the reason."""


class WebhookError(Exception):
    """A webhook request that must be refused (answer 400 and log it)."""


class SignatureError(WebhookError):
    """The webhook's signature is missing, malformed, stale or does not match the body."""


class PayloadError(WebhookError):
    """The webhook is correctly signed but its body is not what the provider documents."""


class EmailTransport(Protocol):
    def send_batch(self, batch: EmailBatch) -> list[Receipt]: ...


class SmsTransport(Protocol):
    def send(self, message: SmsMessage) -> Receipt: ...


@dataclass(frozen=True)
class SentQuery:
    """A delivery whose send may have reached the provider, and how to recognise it in the provider's record."""

    delivery_id: str
    to: str  # the address or number it was sent to
    sent_after: datetime  # its send started after this moment
    marker: str  # text its message carries and no other message does: its reference code


class SentFinder(Protocol):
    """Optional transport method: which of these deliveries the provider accepted (delivery id → its message id).

    A delivery left out was not found. A provider that cannot answer for all of them raises ``ChannelError``: then
    nothing is concluded. ``find_sent_max`` (optional attribute) caps how many are asked at once.
    """

    def find_sent(self, queries: Sequence[SentQuery]) -> dict[str, str]: ...


@dataclass(frozen=True)
class ProviderEvent:
    """One status report from a provider, mapped to our delivery by ``delivery_id``."""

    provider: str
    event_id: str
    delivery_id: str
    provider_message_id: str
    # processed/delivered/deferred/bounce/blocked/dropped/spamreport/open/click/sent/undelivered/failed/queued…
    kind: str
    occurred_at: datetime
    reason: str
    raw: Mapping[str, Any] = field(repr=False)
