"""Email through the official SendGrid SDK, and its signed Event Webhook.

One mail-send request per ``EmailBatch``: the rendered subject and bodies once, one personalization per
recipient with its substitutions and ``custom_args={"delivery_id": …}``, which SendGrid copies onto
every event of that recipient, and which its Email Activity API searches (``find_sent``).
"""

from __future__ import annotations

import base64
import binascii
import http.client
import json
import logging
import time
import urllib.error
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.eventwebhook import EventWebhook
from sendgrid.helpers.eventwebhook.eventwebhook_header import EventWebhookHeader

from breachcomms.channels.base import (
    MAX_BATCH_RECIPIENTS,
    EmailBatch,
    EmailRecipient,
    PayloadError,
    PermanentError,
    ProviderEvent,
    Receipt,
    SentQuery,
    SignatureError,
    TransientError,
)
from breachcomms.channels.substitutions import substitutions_fit, substitutions_size

logger = logging.getLogger(__name__)

# SendGrid refuses a request of 30 MB or more (413); refuse it before spending the upload.
MAX_REQUEST_BYTES = 30 * 1024 * 1024
# ... and a personalization whose substitutions take more than this (400).
MAX_SUBSTITUTION_BYTES = 10_000
# The custom argument that names our delivery on every event and in the Email Activity search.
DELIVERY_ID_ARG = "delivery_id"
# Deliveries named in one Email Activity search (SendGrid documents no query length; this keeps the URL ~3 KB).
ACTIVITY_IDS_PER_SEARCH = 50
# Breach notices are not marketing: no open pixels, no rewritten links (a rewritten link looks like phishing).
TRACKING_OFF = {
    "click_tracking": {"enable": False, "enable_text": False},
    "open_tracking": {"enable": False},
    "subscription_tracking": {"enable": False},
}


class SendGridTransport:
    """Sends an ``EmailBatch`` as one SendGrid v3 mail-send request."""

    def __init__(self, *, api_key: str | None = None, host: str | None = None, timeout: float | None = None) -> None:
        self.client = SendGridAPIClient(
            api_key if api_key is not None else settings.SENDGRID_API_KEY,
            host=host if host is not None else settings.SENDGRID_API_HOST,
        )
        self.timeout = timeout if timeout is not None else settings.BREACHCOMMS_HTTP_TIMEOUT

    def send_batch(self, batch: EmailBatch) -> list[Receipt]:
        if not batch.recipients:
            return []
        payload = mail_send_payload(batch)
        try:
            response = self.client.client.mail.send.post(request_body=payload, timeout=self.timeout)
        except HTTPError as exc:
            raise _http_error(exc) from exc
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            raise TransientError(f"SendGrid unreachable: {_describe(exc)}") from exc
        message_id = response.headers.get("X-Message-Id", "") if response.headers else ""
        return [Receipt(delivery_id=r.delivery_id, provider_message_id=message_id) for r in batch.recipients]

    # Email Activity allows 6 requests a minute and reconciliation runs every 30 s: three searches per run.
    find_sent_max = 3 * ACTIVITY_IDS_PER_SEARCH

    def find_sent(self, queries: Sequence[SentQuery]) -> dict[str, str]:
        """Which deliveries SendGrid accepted, by the ``delivery_id`` custom argument (the Email Activity API).

        ``GET /v3/messages?query=(unique_args['delivery_id']="17") OR …&limit=1000``. The answer names each message's
        ``to_email`` and ``msg_id``, not its arguments, so one search never names two deliveries to one address.
        Needs the Email Activity add-on: without it SendGrid answers 403 and the deliveries stay in doubt.
        """
        found: dict[str, str] = {}
        for chunk in _search_chunks(queries):
            by_address = {query.to.strip().lower(): query.delivery_id for query in chunk}
            for message in self._activity(chunk):
                delivery_id = by_address.get(str(message.get("to_email", "")).strip().lower())
                if delivery_id is not None:
                    # Like a send's receipt: the X-Message-Id, the part of the msg_id before its first dot.
                    found[delivery_id] = str(message.get("msg_id") or "found").split(".", 1)[0]
        return found

    def _activity(self, chunk: Sequence[SentQuery]) -> list[dict[str, Any]]:
        for query in chunk:
            if not query.delivery_id.isdigit():  # never let a value change the query's meaning
                raise PermanentError(f"Cannot search for delivery id {query.delivery_id!r}.")
        search = " OR ".join(f"(unique_args['{DELIVERY_ID_ARG}']=\"{q.delivery_id}\")" for q in chunk)
        try:
            response = self.client.client.messages.get(
                query_params={"query": search, "limit": 1000}, timeout=self.timeout
            )
        except HTTPError as exc:
            raise _http_error(exc) from exc
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            raise TransientError(f"SendGrid unreachable: {_describe(exc)}") from exc
        try:
            messages = json.loads(response.body)["messages"]
        except (ValueError, KeyError, TypeError) as exc:
            raise TransientError(f"SendGrid Email Activity answered something else: {exc}") from exc
        if not isinstance(messages, list):
            raise TransientError("SendGrid Email Activity answered something else: messages is not a list")
        return [message for message in messages if isinstance(message, dict)]


def _search_chunks(queries: Sequence[SentQuery]) -> Iterator[list[SentQuery]]:
    """Searches of at most ``ACTIVITY_IDS_PER_SEARCH`` deliveries, no address twice in one."""
    waiting = list(queries)
    while waiting:
        chunk: list[SentQuery] = []
        seen: set[str] = set()
        held: list[SentQuery] = []
        for query in waiting:
            address = query.to.strip().lower()
            if address in seen or len(chunk) == ACTIVITY_IDS_PER_SEARCH:
                held.append(query)
            else:
                chunk.append(query)
                seen.add(address)
        yield chunk
        waiting = held


def mail_send_payload(batch: EmailBatch) -> dict[str, Any]:
    """The v3 mail-send request body for ``batch``; refuses what SendGrid would refuse as a whole."""
    _check_recipients(batch)
    content = [
        {"type": kind, "value": value}
        for kind, value in (("text/plain", batch.text), ("text/html", batch.html))
        if value
    ]
    if not content:
        raise PermanentError("The email has neither a text nor an HTML body.")
    payload: dict[str, Any] = {
        "from": _address(batch.from_email, batch.from_name),
        "subject": batch.subject,
        "content": content,
        "personalizations": [_personalization(recipient) for recipient in batch.recipients],
        "tracking_settings": TRACKING_OFF,
    }
    if batch.reply_to:
        payload["reply_to"] = {"email": batch.reply_to}
    if batch.categories:
        payload["categories"] = list(batch.categories)
    _check_size(payload, batch)
    return payload


def _check_recipients(batch: EmailBatch) -> None:
    if len(batch.recipients) > MAX_BATCH_RECIPIENTS:
        raise PermanentError(
            f"{len(batch.recipients):,} recipients in one request; SendGrid takes at most {MAX_BATCH_RECIPIENTS:,}."
        )
    seen: set[str] = set()
    for recipient in batch.recipients:
        address = recipient.email.strip().lower()
        if address in seen:
            # SendGrid refuses the whole request when one address appears twice in it.
            raise PermanentError(f"{recipient.email} appears more than once in one batch.")
        seen.add(address)
        if not substitutions_fit(recipient.substitutions, MAX_SUBSTITUTION_BYTES):
            raise PermanentError(
                f"The substitutions of delivery {recipient.delivery_id} take "
                f"{substitutions_size(recipient.substitutions):,} bytes; SendGrid takes at most "
                f"{MAX_SUBSTITUTION_BYTES:,} per recipient."
            )


def _check_size(payload: dict[str, Any], batch: EmailBatch) -> None:
    # JSON-escaping makes a character at most twelve bytes (an emoji: two escapes): only a batch that might
    # be too big is encoded to measure.
    shared = len(batch.subject) + len(batch.html) + len(batch.text)
    if 12 * (shared + sum(_substitution_chars(r.substitutions) + 200 for r in batch.recipients)) < MAX_REQUEST_BYTES:
        return
    size = len(json.dumps(payload).encode())
    if size >= MAX_REQUEST_BYTES:
        raise PermanentError(f"The request would be {size:,} bytes; SendGrid takes under 30 MB.")


def _substitution_chars(substitutions: Mapping[str, str]) -> int:
    return sum(len(key) + len(value) for key, value in substitutions.items())


def _address(email: str, name: str) -> dict[str, str]:
    return {"email": email, "name": name} if name else {"email": email}


def _personalization(recipient: EmailRecipient) -> dict[str, Any]:
    personalization: dict[str, Any] = {
        "to": [_address(recipient.email, recipient.name)],
        "custom_args": {"delivery_id": recipient.delivery_id},
    }
    if recipient.substitutions:
        personalization["substitutions"] = dict(recipient.substitutions)  # tokens and values are text
    return personalization


def _http_error(exc: HTTPError) -> TransientError | PermanentError:
    status = int(exc.status_code)
    reason = f"SendGrid {status}: {_error_messages(exc.body)}"
    if status == 429:
        return TransientError(reason, status=status, retry_after=_retry_after(exc.headers))
    if status >= 500 or status == 408:
        return TransientError(reason, status=status, retry_after=_retry_after(exc.headers))
    return PermanentError(reason, status=status)


def _error_messages(body: bytes | str | None) -> str:
    """The ``errors[].message`` of a SendGrid error body, with their fields; the raw text otherwise."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
    try:
        errors = json.loads(text)["errors"]
        parts = [f"{e['field']}: {e['message']}" if e.get("field") else str(e["message"]) for e in errors]
    except (ValueError, KeyError, TypeError):
        return text.strip()[:500] or "no details"
    return "; ".join(parts) or "no details"


def _retry_after(headers: Any) -> float | None:
    """Seconds to wait: ``Retry-After``, else until ``X-RateLimit-Reset`` (a Unix time)."""
    if headers is None:
        return None
    for name, relative in (("Retry-After", True), ("X-RateLimit-Reset", False)):
        value = headers.get(name)
        try:
            seconds = float(value) if relative else float(value) - time.time()
        except (TypeError, ValueError):
            continue
        return max(0.0, seconds)
    return None


def _describe(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason or exc) or type(exc).__name__


# --- Event Webhook ---------------------------------------------------------------------------------

_verifiers: dict[str, EventWebhook] = {}


def verify_and_parse(
    body: bytes,
    headers: Mapping[str, str],
    *,
    public_key: str | None = None,
    max_age: int | None = None,
    now: float | None = None,
) -> list[ProviderEvent]:
    """The events of a signed Event Webhook request; raises ``SignatureError`` unless the signature holds."""
    signature, timestamp = _signature_headers(headers)
    _check_freshness(timestamp, settings.SENDGRID_WEBHOOK_MAX_AGE if max_age is None else max_age, now)
    try:
        payload = body.decode("utf-8")
        decoded = base64.b64decode(signature, validate=True)
    except (UnicodeDecodeError, binascii.Error) as exc:
        raise SignatureError(f"malformed signature or body: {exc}") from exc
    if not decoded:
        raise SignatureError("empty signature")
    try:
        valid = _verifier(public_key).verify_signature(payload, signature, timestamp)
    except (InvalidSignature, ValueError, binascii.Error) as exc:
        raise SignatureError(f"malformed signature: {exc}") from exc
    if not valid:
        raise SignatureError("signature does not match the body")
    return parse_events(payload)


def _signature_headers(headers: Mapping[str, str]) -> tuple[str, str]:
    lowered = {name.lower(): value for name, value in headers.items()}
    signature = lowered.get(EventWebhookHeader.SIGNATURE.lower(), "").strip()
    timestamp = lowered.get(EventWebhookHeader.TIMESTAMP.lower(), "").strip()
    if not signature or not timestamp:
        raise SignatureError("missing signature or timestamp header")
    if not timestamp.isdigit():
        raise SignatureError("the timestamp is not a Unix time")
    return signature, timestamp


def _check_freshness(timestamp: str, max_age: int, now: float | None) -> None:
    if max_age <= 0:
        return
    age = (time.time() if now is None else now) - int(timestamp)
    if abs(age) > max_age:
        raise SignatureError(f"timestamp is {age:.0f} s away from now (allowed: {max_age} s)")


def _verifier(public_key: str | None) -> EventWebhook:
    key = public_key if public_key is not None else _configured_public_key()
    verifier = _verifiers.get(key)
    if verifier is None:
        try:
            verifier = EventWebhook(key)
        except (ValueError, TypeError) as exc:
            raise ImproperlyConfigured(f"The SendGrid webhook public key is not a base64 DER key: {exc}") from exc
        _verifiers.clear()  # one key in use at a time; a rotated key replaces the old one
        _verifiers[key] = verifier
    return verifier


def _configured_public_key() -> str:
    key = settings.SENDGRID_WEBHOOK_PUBLIC_KEY.strip()
    if key:
        return key
    path = Path(settings.SENDGRID_WEBHOOK_PUBLIC_KEY_FILE)
    try:
        key = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ImproperlyConfigured(
            f"Set SENDGRID_WEBHOOK_PUBLIC_KEY or SENDGRID_WEBHOOK_PUBLIC_KEY_FILE (cannot read {path}: {exc})"
        ) from exc
    if not key:
        raise ImproperlyConfigured(f"{path} is empty: no SendGrid webhook public key")
    return key


def parse_events(payload: str) -> list[ProviderEvent]:
    """SendGrid events from a webhook body; an event without the documented fields is logged and skipped."""
    try:
        items = json.loads(payload)
    except ValueError as exc:
        raise PayloadError(f"the body is not JSON: {exc}") from exc
    if not isinstance(items, list):
        raise PayloadError("the body is not a JSON array of events")
    events = []
    for item in items:
        event = _event(item)
        if event is None:
            logger.warning("SendGrid event without the documented fields skipped: %.500r", item)
        else:
            events.append(event)
    return events


def _event(item: Any) -> ProviderEvent | None:
    if not isinstance(item, dict):
        return None
    kind, event_id, timestamp = item.get("event"), item.get("sg_event_id"), item.get("timestamp")
    if not isinstance(kind, str) or not isinstance(event_id, str) or not event_id:
        return None
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
        return None
    if kind == "bounce" and item.get("type") == "blocked":
        kind = "blocked"
    return ProviderEvent(
        provider="sendgrid",
        event_id=event_id,
        delivery_id=str(item.get("delivery_id") or ""),
        provider_message_id=str(item.get("sg_message_id") or ""),
        kind=kind,
        occurred_at=datetime.fromtimestamp(timestamp, tz=UTC),
        reason=_event_reason(item),
        raw=item,
    )


def _event_reason(item: Mapping[str, Any]) -> str:
    parts = [str(item[key]) for key in ("status", "reason", "response") if item.get(key)]
    return " ".join(parts)[:1000]
