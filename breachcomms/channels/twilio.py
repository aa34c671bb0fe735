"""SMS through the official Twilio SDK, and its signed status callbacks.

Each message carries a status-callback URL on our public base with ``?delivery_id=…``, so every callback
names the delivery it is about without a lookup by message SID. Twilio's message list does not show that
URL, so ``find_sent`` recognises a message by its text instead: every notice carries its delivery's
reference code, 55 random bits that no other message has.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import urllib3
from django.conf import settings
from django.utils import timezone
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.request_validator import SIGNATURE_HEADER, RequestValidator
from twilio.rest import Client

from breachcomms.channels.base import (
    MAX_SMS_BODY_CHARS,
    PayloadError,
    PermanentError,
    ProviderEvent,
    Receipt,
    SentQuery,
    SignatureError,
    SmsMessage,
    TransientError,
)
from breachcomms.channels.twilio_http import PooledHttpClient
from breachcomms.channels.webhook_paths import DELIVERY_ID_PARAM, TWILIO_STATUS_PATH

# Messages to one number read per list page, and at most this many pages before giving up on a delivery.
LIST_PAGE_SIZE = 100
LIST_MAX_PAGES = 20
# Twilio's clock and ours may differ a little: look this much further back than the send started.
CLOCK_SKEW = timedelta(minutes=10)
# Twilio's "Too Many Requests" error code (HTTP 429).
TOO_MANY_REQUESTS = 20429
# What the common delivery error codes of status callbacks mean (https://www.twilio.com/docs/api/errors).
ERROR_DESCRIPTIONS = {
    "30001": "Queue overflow",
    "30002": "Account suspended",
    "30003": "Unreachable destination handset",
    "30004": "Message blocked",
    "30005": "Unknown destination handset",
    "30006": "Landline or unreachable carrier",
    "30007": "Message filtered by the carrier",
    "30008": "Unknown error",
    "30034": "Message from an unregistered number",
}


class TwilioTransport:
    """Sends an ``SmsMessage`` with ``messages.create`` and a status callback carrying the delivery id."""

    def __init__(
        self,
        *,
        account_sid: str | None = None,
        auth_token: str | None = None,
        base_url: str | None = None,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        callback_base: str | None = None,
        timeout: float | None = None,
        pool_size: int = 32,
    ) -> None:
        api_base = (base_url or settings.TWILIO_API_BASE_URL).rstrip("/")
        http_client = PooledHttpClient(
            base_url=api_base,
            timeout=timeout if timeout is not None else settings.BREACHCOMMS_HTTP_TIMEOUT,
            pool_size=pool_size,
        )
        self.client = Client(
            account_sid or settings.TWILIO_ACCOUNT_SID,
            auth_token if auth_token is not None else settings.TWILIO_AUTH_TOKEN,
            http_client=http_client,
        )
        self.client.api.base_url = api_base
        self.from_number = from_number if from_number is not None else settings.TWILIO_FROM_NUMBER
        self.messaging_service_sid = (
            messaging_service_sid if messaging_service_sid is not None else settings.TWILIO_MESSAGING_SERVICE_SID
        )
        self.callback_url = (callback_base or settings.BREACHCOMMS_PUBLIC_BASE_URL).rstrip("/") + TWILIO_STATUS_PATH

    def send(self, message: SmsMessage) -> Receipt:
        if not message.to.strip():
            raise PermanentError("No phone number to send to.")
        if len(message.body) > MAX_SMS_BODY_CHARS:
            raise PermanentError(f"The text has {len(message.body):,} characters; Twilio takes {MAX_SMS_BODY_CHARS:,}.")
        sender: dict[str, str] = (
            {"messaging_service_sid": self.messaging_service_sid}
            if self.messaging_service_sid
            else {"from_": self.from_number}
        )
        try:
            created = self.client.api.account.messages.create(
                to=message.to,
                body=message.body,
                status_callback=status_callback_url(self.callback_url, message.delivery_id),
                **sender,
            )
        except (TwilioRestException, TwilioServiceException) as exc:
            raise _rest_error(exc) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise TransientError(f"Twilio unreachable: {exc}") from exc
        except TwilioException as exc:
            raise PermanentError(f"Twilio: {exc}") from exc
        return Receipt(delivery_id=message.delivery_id, provider_message_id=str(created.sid))

    find_sent_max = 200  # one list request (or a few) each

    def find_sent(self, queries: Sequence[SentQuery]) -> dict[str, str]:
        """Which deliveries Twilio accepted: its messages to each number, searched for the delivery's reference code.

        ``GET /2010-04-01/Accounts/{Sid}/Messages.json?To=…`` pages newest first, back to the time the delivery was
        created. Not filtered by ``DateSent``: a message still queued at Twilio (a slow sender queues for hours)
        has no send date yet, and must be found all the same.
        """
        found: dict[str, str] = {}
        for query in queries:
            sid = self._find_one(query)
            if sid:
                found[query.delivery_id] = sid
        return found

    def _find_one(self, query: SentQuery) -> str:
        if not query.marker.strip() or not query.to.strip():
            raise PermanentError(f"Nothing to recognise delivery {query.delivery_id} by.")
        since = query.sent_after - CLOCK_SKEW
        marker = query.marker.upper()
        try:
            pages = 0
            page = self.client.api.account.messages.page(to=query.to, page_size=LIST_PAGE_SIZE)
            while page is not None:
                newer = False
                for message in page:
                    if marker in (message.body or "").upper():
                        return str(message.sid)
                    newer = newer or message.date_created is None or message.date_created >= since
                if not newer:
                    return ""  # a whole page older than the delivery (the list is newest first): it is not there
                pages += 1
                if pages >= LIST_MAX_PAGES:
                    raise TransientError(f"Too many messages to {query.to} to search for delivery {query.delivery_id}.")
                page = page.next_page()
        except (TwilioRestException, TwilioServiceException) as exc:
            raise _rest_error(exc) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise TransientError(f"Twilio unreachable: {exc}") from exc
        except TwilioException as exc:
            raise TransientError(f"Twilio: {exc}") from exc
        return ""


def status_callback_url(base: str, delivery_id: str) -> str:
    return f"{base}?{urlencode({DELIVERY_ID_PARAM: delivery_id})}"


def _rest_error(exc: TwilioRestException | TwilioServiceException) -> TransientError | PermanentError:
    status = int(exc.status)
    message = getattr(exc, "msg", None) or getattr(exc, "detail", None) or getattr(exc, "title", "") or ""
    reason = f"Twilio {exc.code}: {message}".strip()
    if status == 429 or exc.code == TOO_MANY_REQUESTS or status >= 500:
        return TransientError(reason, status=status)
    return PermanentError(reason, status=status)


def verify_and_parse(
    url: str, params: Mapping[str, Any], headers: Mapping[str, str], *, auth_token: str | None = None
) -> ProviderEvent:
    """The status report of a signed Twilio status callback; raises ``SignatureError`` unless it is genuine.

    ``url`` is the full URL Twilio requested (with the query), ``params`` the POSTed form (a QueryDict or dict).
    """
    signature = next((value for name, value in headers.items() if name.lower() == SIGNATURE_HEADER.lower()), "")
    if not signature:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    validator = RequestValidator(auth_token if auth_token is not None else settings.TWILIO_AUTH_TOKEN)
    if not validator.validate(url, params, signature):
        raise SignatureError("signature does not match the URL and parameters")
    return parse_status(url, params)


def parse_status(url: str, params: Mapping[str, Any]) -> ProviderEvent:
    values = {name: _single(params, name) for name in params}
    sid, status = values.get("MessageSid", ""), values.get("MessageStatus", "") or values.get("SmsStatus", "")
    if not sid or not status:
        raise PayloadError("a status callback without MessageSid or MessageStatus")
    code = values.get("ErrorCode", "")
    reason = f"{code} {ERROR_DESCRIPTIONS.get(code, '')}".strip() if code else ""
    delivery_id = parse_qs(urlsplit(url).query).get(DELIVERY_ID_PARAM, [""])[0]
    return ProviderEvent(
        provider="twilio",
        # Twilio gives callbacks no id: a (message, status) pair happens once, so repeats share an id.
        event_id=f"{sid}:{status}",
        delivery_id=delivery_id,
        provider_message_id=sid,
        kind=status,
        occurred_at=timezone.now(),
        reason=reason,
        raw=values,
    )


def _single(params: Mapping[str, Any], name: str) -> str:
    getlist = getattr(params, "getlist", None)
    value = getlist(name)[-1] if getlist is not None else params[name]
    return str(value)
