"""SendGrid v3 ``POST /v3/mail/send``: authentication, the documented limits, 202 with ``X-Message-Id``.

Errors answer like SendGrid: ``{"errors": [{"message", "field", "help"}]}`` with 400, 401, 413, 415,
429 (with ``X-RateLimit-*`` headers), 500 or 503.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import random
import re
import time
from collections.abc import Mapping
from typing import Any

from breachcomms.sandbox.config import SandboxConfig
from breachcomms.sandbox.faults import Fault, FaultInjector
from breachcomms.sandbox.replies import Reply, json_reply
from breachcomms.sandbox.sendgrid_validation import MAX_REQUEST_BYTES, validate
from breachcomms.sandbox.stats import Stats
from breachcomms.sandbox.store import EmailRecord, RecordStore
from breachcomms.sandbox.webhooks import WebhookPoster

HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html"
FAULT_MESSAGES = {429: "too many requests", 500: "internal server error", 503: "service unavailable"}


def errors_reply(status: int, *errors: tuple[str | None, str], headers: dict[str, str] | None = None) -> Reply:
    body = {"errors": [{"message": message, "field": where, "help": _help(where)} for where, message in errors]}
    return json_reply(status, body, headers)


def _help(where: str | None) -> str | None:
    if where is None:
        return None
    return f"{HELP}#message.{re.sub(r'[.][0-9]+', '', where)}"


class SendGridAPI:
    def __init__(
        self, config: SandboxConfig, store: RecordStore, poster: WebhookPoster, stats: Stats, rng: random.Random
    ) -> None:
        self.config, self.store, self.poster, self.stats, self.rng = config, store, poster, stats, rng
        self.faults = FaultInjector(rng)
        self.instance = f"{rng.randrange(16**6):06x}"

    def mail_send(self, headers: Mapping[str, str], body: bytes | None, size: int) -> Reply:
        """Answer one mail-send request; ``body`` is None when it was too large to keep."""
        checked = self._check(headers, body, size)
        reply = checked if isinstance(checked, Reply) else self._accept(checked, body or b"")
        self.stats.add(f"sendgrid_{reply.status}")
        return reply

    def _check(self, headers: Mapping[str, str], body: bytes | None, size: int) -> Reply | dict[str, Any]:
        """The refusal of the request, or its valid payload."""
        auth = headers.get("Authorization", "")
        if not auth:
            return errors_reply(401, (None, "authorization required"))
        scheme, _, key = auth.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(key.strip(), self.config.sendgrid_api_key):
            return errors_reply(401, (None, "The provided authorization grant is invalid, expired, or revoked"))
        fault = self.faults.next_fault(self.config.email)
        if fault is not None:
            return self._fault_reply(fault)
        if body is None or size >= MAX_REQUEST_BYTES:
            return errors_reply(413, (None, f"The request is {size:,} bytes; the total must be under 30 MB."))
        if headers.get("Content-Type", "").split(";")[0].strip().lower() != "application/json":
            return errors_reply(415, (None, "Content-Type should be application/json."))
        try:
            payload = json.loads(body)
        except ValueError:
            return errors_reply(400, (None, "The request body could not be parsed as valid JSON."))
        errors = validate(payload)
        if errors:
            return errors_reply(400, *errors[:100])
        assert isinstance(payload, dict)
        return payload

    def _fault_reply(self, fault: Fault) -> Reply:
        headers = fault.rate_limit_headers() if fault.status == 429 else {}
        return errors_reply(fault.status, (None, FAULT_MESSAGES.get(fault.status, "error")), headers=headers)

    def _accept(self, payload: dict[str, Any], body: bytes) -> Reply:
        settings = payload.get("mail_settings") or {}
        if (settings.get("sandbox_mode") or {}).get("enable") is True:
            return Reply(200)  # validated only, as SendGrid's own sandbox mode does
        x_message_id = base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode("ascii")
        message_args = payload.get("custom_args") or {}
        prefix = f"{x_message_id}.filterdrecv-{self.instance}-"
        records = [
            self._record(f"{prefix}{index}-0.0", index, personalization, message_args)
            for index, personalization in enumerate(payload["personalizations"])
        ]
        self.store.add_email_batch(x_message_id, time.time(), body, records)
        self.poster.email_accepted(x_message_id, [str(c) for c in payload.get("categories") or []], records)
        self.stats.add("emails_accepted", len(records))
        return Reply(202, headers={"X-Message-Id": x_message_id})

    def _record(self, sg_message_id: str, index: int, p: dict[str, Any], message_args: dict[str, str]) -> EmailRecord:
        first, *rest = p["to"]
        others = [a["email"] for a in rest]
        for kind in ("cc", "bcc"):
            if kind in p:
                others += [a["email"] for a in p[kind] or []]
        args = p.get("custom_args")
        custom_args = {**message_args, **args} if args and message_args else (args or message_args)
        return EmailRecord(
            position=index,
            sg_message_id=sg_message_id,
            recipient=first["email"],
            others=others,
            delivery_id=str(custom_args.get("delivery_id", "")),
            custom_args=custom_args,
            outcome=self._outcome(first["email"]),
        )

    def _outcome(self, address: str) -> str:
        channel = self.config.email
        rule = channel.rule_for(address)
        if rule is not None:
            return rule.outcome
        if channel.outcome_rates:
            draw = self.rng.random()
            for outcome, rate in channel.outcome_rates.items():
                if draw < rate:
                    return outcome
                draw -= rate
        return "delivered"
