"""Twilio ``POST /2010-04-01/Accounts/{Sid}/Messages.json``: basic auth, form fields, 201 with a message SID.

Also ``GET …/Messages/{MessageSid}.json`` (one message) and ``GET …/Messages.json`` (the message list, newest
first: filters ``To``, ``From``, ``DateSent``/``DateSent<``/``DateSent>`` by GMT date, on or before/after it;
``PageSize`` 1–1,000, 50 by default; further pages through ``next_page_uri`` with ``Page`` and ``PageToken``).

Errors answer like Twilio: ``{"code", "message", "more_info", "status"}``. Twilio's magic test numbers are
refused as Twilio refuses them with test credentials (+15005550001 invalid, …0004 unsubscribed, …).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import random
import re
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

from breachcomms.channels.base import MAX_SMS_BODY_CHARS
from breachcomms.channels.segments import sms_segments
from breachcomms.channels.webhook_paths import DELIVERY_ID_PARAM
from breachcomms.sandbox.config import SandboxConfig
from breachcomms.sandbox.faults import FaultInjector
from breachcomms.sandbox.replies import Reply, json_reply
from breachcomms.sandbox.stats import Stats
from breachcomms.sandbox.store import RecordStore, SmsRecord
from breachcomms.sandbox.webhooks import WebhookPoster

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
SHORT_CODE = re.compile(r"^[0-9]{3,8}$")
ALPHANUMERIC_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
MESSAGING_SERVICE_SID = re.compile(r"^MG[0-9a-f]{32}$")
POOL_NUMBER = "+15005550006"  # the sender a messaging service picks in the sandbox
LIST_FILTERS = ("To", "From", "DateSent", "DateSent<", "DateSent>")
MAX_PAGE_SIZE = 1000
FAULTS = {429: (20429, "Too Many Requests"), 500: (20500, "Internal Server Error"), 503: (20503, "Service Unavailable")}
MAGIC_NUMBERS = {
    "+15005550001": (21211, "The 'To' number {to} is not a valid phone number."),
    "+15005550002": (21612, "The 'To' phone number {to} is not currently reachable using the 'From' phone number."),
    "+15005550003": (21408, "Permission to send an SMS has not been enabled for the region of {to}."),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "'To' number {to} is not a valid mobile number."),
}


def twilio_error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return json_reply(status, body, headers)


class TwilioAPI:
    def __init__(
        self, config: SandboxConfig, store: RecordStore, poster: WebhookPoster, stats: Stats, rng: random.Random
    ) -> None:
        self.config, self.store, self.poster, self.stats, self.rng = config, store, poster, stats, rng
        self.faults = FaultInjector(rng)

    def create_message(self, account_sid: str, headers: Mapping[str, str], body: bytes) -> Reply:
        checked = self._check(account_sid, headers, body)
        reply = checked if isinstance(checked, Reply) else self._accept(checked)
        self.stats.add(f"twilio_{reply.status}")
        return reply

    def fetch_message(self, account_sid: str, message_sid: str, headers: Mapping[str, str]) -> Reply:
        refusal = self._authenticate(account_sid, headers)
        if refusal is not None:
            return refusal
        found = self.store.messages({"channel": "sms", "message_id": message_sid}, limit=1)
        if not found:
            return twilio_error(404, 20404, f"The requested resource Messages/{message_sid}.json was not found")
        message = found[0]
        status = {"delivered": "delivered", "undelivered": "undelivered", "failed": "failed"}[message["outcome"]]
        resource = self._resource(message["sid"], message["to"], message["from"], message["body"], status, 0)
        resource["num_segments"] = str(message["segments"])
        return json_reply(200, resource)

    def list_messages(self, account_sid: str, query: Mapping[str, str], headers: Mapping[str, str]) -> Reply:
        """One page of the account's messages, newest first."""
        reply = self._list_page(account_sid, query, headers)
        self.stats.add(f"twilio_list_{reply.status}")
        return reply

    def _list_page(self, account_sid: str, query: Mapping[str, str], headers: Mapping[str, str]) -> Reply:
        refusal = self._authenticate(account_sid, headers) or self._lookup_fault()
        if refusal is not None:
            return refusal
        try:
            size, page, before = _paging(query)
            received = _date_sent(query)
        except ValueError as exc:
            return twilio_error(400, 20001, str(exc))
        conditions = [(name.lower(), query[name]) for name in ("To", "From") if query.get(name)]
        found = self.store.search("sms", conditions, received=received, before=before, limit=size + 1)
        more, found = len(found) > size, found[:size]
        base = f"/2010-04-01/Accounts/{account_sid}/Messages.json"
        kept = {name: query[name] for name in LIST_FILTERS if query.get(name)}

        def uri(**extra: str | int) -> str:
            return f"{base}?{urlencode({**kept, 'PageSize': size, **extra})}"

        token = {"PageToken": query["PageToken"]} if query.get("PageToken") else {}
        return json_reply(
            200,
            {
                "messages": [self._listed(message) for message in found],
                "start": page * size,
                "end": page * size + max(0, len(found) - 1),
                "page": page,
                "page_size": size,
                "uri": uri(Page=page, **token),
                "first_page_uri": uri(Page=0),
                "previous_page_uri": None,
                "next_page_uri": uri(Page=page + 1, PageToken=f"PA{found[-1]['id']}") if more else None,
            },
        )

    def _lookup_fault(self) -> Reply | None:
        try:
            status = self.config.lookups.fail_next.popleft()
        except IndexError:
            return None
        code, message = FAULTS[status]
        return twilio_error(status, code, message)

    def _listed(self, message: dict[str, Any]) -> dict[str, Any]:
        status = {"delivered": "delivered", "undelivered": "undelivered", "failed": "failed"}[message["outcome"]]
        at = datetime.fromisoformat(message["received_at"]).timestamp()
        resource = self._resource(message["sid"], message["to"], message["from"], message["body"], status, 0, at=at)
        resource["num_segments"] = str(message["segments"])
        resource["messaging_service_sid"] = message["messaging_service_sid"] or None
        resource["date_sent"] = resource["date_created"]
        return resource

    def _authenticate(self, account_sid: str, headers: Mapping[str, str]) -> Reply | None:
        scheme, _, encoded = headers.get("Authorization", "").partition(" ")
        try:
            user, _, token = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user = token = ""
        expected = (self.config.twilio_account_sid, self.config.twilio_auth_token)
        if scheme.lower() != "basic" or not (
            hmac.compare_digest(user, expected[0]) & hmac.compare_digest(token, expected[1])
        ):
            return twilio_error(401, 20003, "Authenticate", {"WWW-Authenticate": 'Basic realm="Twilio API"'})
        if account_sid != user:
            return twilio_error(404, 20404, f"The requested resource /2010-04-01/Accounts/{account_sid} was not found")
        return None

    def _check(self, account_sid: str, headers: Mapping[str, str], body: bytes) -> Reply | dict[str, str]:
        refusal = self._authenticate(account_sid, headers)
        if refusal is not None:
            return refusal
        fault = self.faults.next_fault(self.config.sms)
        if fault is not None:
            code, message = FAULTS[fault.status]
            extra = {"Retry-After": str(max(1, round(fault.retry_after)))} if fault.status == 429 else {}
            return twilio_error(fault.status, code, message, extra)
        if headers.get("Content-Type", "").split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
            return twilio_error(415, 20415, "Unsupported Media Type: send application/x-www-form-urlencoded")
        try:
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            return twilio_error(400, 21100, "The request body is not valid UTF-8.")
        return self._validate(form) or form

    def _validate(self, form: dict[str, str]) -> Reply | None:
        to, sender, service = form.get("To", ""), form.get("From", ""), form.get("MessagingServiceSid", "")
        body, callback = form.get("Body", ""), form.get("StatusCallback", "")
        problems = [
            (not to, 21604, "A 'To' phone number is required."),
            (not sender and not service, 21603, "A 'From' phone number is required."),
            (not body and not form.get("MediaUrl"), 21602, "Message body is required."),
            (len(body) > MAX_SMS_BODY_CHARS, 21617, "The concatenated message body exceeds the 1600 character limit."),
            (not E164.match(to), 21211, f"The 'To' number {to} is not a valid phone number."),
            (
                bool(sender) and not _valid_sender(sender),
                21212,
                f"The 'From' number {sender} is not a valid phone number, shortcode, or alphanumeric sender ID.",
            ),
            (
                bool(service) and not MESSAGING_SERVICE_SID.match(service),
                21701,
                f"The Messaging Service Sid {service} is invalid.",
            ),  # fmt: skip
            (
                bool(callback) and not _valid_url(callback),
                21609,
                f"The StatusCallback URL {callback} is not a valid URL.",
            ),  # fmt: skip
            (to == sender, 21266, "'To' and 'From' number cannot be the same"),
        ]
        for broken, code, message in problems:
            if broken:
                return twilio_error(400, code, message)
        if to in MAGIC_NUMBERS:
            code, message = MAGIC_NUMBERS[to]
            return twilio_error(400, code, message.format(to=to))
        return None

    def _accept(self, form: dict[str, str]) -> Reply:
        sid = "SM" + uuid.uuid4().hex
        service = form.get("MessagingServiceSid", "")
        sender = form.get("From") or POOL_NUMBER
        callback = form.get("StatusCallback", "")
        outcome, error_code = self._outcome(form["To"])
        record = SmsRecord(
            sid=sid,
            to=form["To"],
            sender=sender,
            messaging_service_sid=service,
            body=form.get("Body", ""),
            segments=sms_segments(form.get("Body", "")),
            status_callback=callback,
            delivery_id=parse_qs(urlsplit(callback).query).get(DELIVERY_ID_PARAM, [""])[0],
            outcome=outcome,
            error_code=error_code,
            received_at=time.time(),
        )
        self.store.add_sms(record)
        self.poster.sms_accepted(record)
        self.stats.add("sms_accepted")
        self.stats.add("sms_segments_accepted", record.segments)
        status = "accepted" if service else "queued"
        resource = self._resource(sid, record.to, sender, record.body, status, record.segments)
        resource["messaging_service_sid"] = service or None
        return json_reply(201, resource)

    def _outcome(self, to: str) -> tuple[str, int | None]:
        channel = self.config.sms
        rule = channel.rule_for(to)
        if rule is not None:
            return rule.outcome, rule.error_code
        draw = self.rng.random() if channel.outcome_rates else 1.0
        for outcome, rate in channel.outcome_rates.items():
            if draw < rate:
                return outcome, None
            draw -= rate
        return "delivered", None

    def _resource(
        self, sid: str, to: str, sender: str, body: str, status: str, segments: int, *, at: float | None = None
    ) -> dict[str, Any]:
        account = self.config.twilio_account_sid
        now = formatdate(at, usegmt=False).replace("-0000", "+0000")
        return {
            "account_sid": account,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender,
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": str(segments),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": status,
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{account}/Messages/{sid}/Media.json"},
            "to": to,
            "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
        }


def _valid_sender(sender: str) -> bool:
    return bool(E164.match(sender) or SHORT_CODE.match(sender) or ALPHANUMERIC_SENDER.match(sender))


def _valid_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and "_" not in (parts.hostname or "")


def _paging(query: Mapping[str, str]) -> tuple[int, int, int]:
    """(page size, page number, the id the page starts below) of a list request."""
    raw_size, raw_page, token = query.get("PageSize", "50"), query.get("Page", "0"), query.get("PageToken", "")
    if not raw_size.isdigit() or not 1 <= int(raw_size) <= MAX_PAGE_SIZE:
        raise ValueError(f"PageSize must be an integer from 1 to {MAX_PAGE_SIZE}")
    if not raw_page.isdigit():
        raise ValueError("Page must be a non-negative integer")
    if token and not (token.startswith("PA") and token[2:].isdigit()):
        raise ValueError(f"Invalid PageToken {token}")
    if int(raw_page) and not token:
        raise ValueError("Page beyond the first needs the PageToken of next_page_uri")
    return int(raw_size), int(raw_page), int(token[2:]) if token else 0


def _date_sent(query: Mapping[str, str]) -> tuple[float | None, float | None]:
    """The received-time bounds the DateSent filters give: whole GMT days, as Twilio documents them."""
    low: float | None = None
    high: float | None = None
    for name, starts, ends in (("DateSent", True, True), ("DateSent>", True, False), ("DateSent<", False, True)):
        raw = query.get(name, "")
        if not raw:
            continue
        try:
            day = date.fromisoformat(raw[:10])
        except ValueError:
            raise ValueError(f"Invalid {name}: {raw}; expected YYYY-MM-DD") from None
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        if starts:
            low = max(low or 0.0, start.timestamp())
        if ends:
            end = (start + timedelta(days=1)).timestamp() - 1e-6
            high = end if high is None else min(high, end)
    return low, high
