"""The sandbox as one object: configuration, record, webhook poster, the two provider APIs and the control API.

Routes (the server hands every request to ``Sandbox.route``):
- ``POST /v3/mail/send`` and ``GET /v3/messages?query=&limit=`` (Email Activity) — SendGrid;
  ``POST /2010-04-01/Accounts/{Sid}/Messages.json``, ``GET …/Messages.json`` (the list) and
  ``GET …/Messages/{MessageSid}.json`` — Twilio.
- ``GET /sandbox/messages?channel=&delivery_id=&to=&message_id=&x_message_id=&after=&limit=&offset=``
- ``GET /sandbox/stats``, ``GET /sandbox/audit?channel=``, ``GET /sandbox/delivery-ids?channel=`` (text),
  ``GET /sandbox/public-key``, ``GET|POST /sandbox/config``, ``POST /sandbox/reset``, ``GET /`` (HTML).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from breachcomms.sandbox.activity import EmailActivityAPI
from breachcomms.sandbox.config import SandboxConfig
from breachcomms.sandbox.page import CSP, render_page
from breachcomms.sandbox.replies import Reply, json_reply
from breachcomms.sandbox.sendgrid_api import SendGridAPI
from breachcomms.sandbox.signing import EventSigner
from breachcomms.sandbox.stats import Stats
from breachcomms.sandbox.store import RecordStore
from breachcomms.sandbox.twilio_api import TwilioAPI
from breachcomms.sandbox.webhooks import WebhookPoster

TWILIO_CREATE = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")
TWILIO_FETCH = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages/(SM[0-9a-f]{32})\.json$")
MESSAGE_FILTERS = ("channel", "delivery_id", "to", "message_id", "x_message_id")
MAX_LIMIT = 1000


@dataclass
class Stream:
    """A text answer written piece by piece (chunked), for exports too large to build in memory."""

    status: int
    chunks: Iterator[str]
    content_type: str = "text/plain; charset=utf-8"


class Sandbox:
    def __init__(self, config: SandboxConfig, data_dir: Path, *, webhook_senders: int = 4) -> None:
        self.config = config
        self.rng = random.Random(config.seed)  # noqa: S311 - simulation, not security
        self.stats = Stats()
        self.signer = EventSigner.load_or_create(data_dir)
        self.store = RecordStore(data_dir / "records.sqlite3")
        self.poster = WebhookPoster(config, self.signer, self.stats, self.rng)
        self.sendgrid = SendGridAPI(config, self.store, self.poster, self.stats, self.rng)
        self.twilio = TwilioAPI(config, self.store, self.poster, self.stats, self.rng)
        self.activity = EmailActivityAPI(config, self.store, self.stats)
        self.webhook_senders = webhook_senders

    def start(self) -> None:
        self.poster.start(self.webhook_senders)

    def stop(self) -> None:
        self.poster.stop()
        self.store.close()

    def route(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes | None,
        size: int,
    ) -> Reply | Stream:
        if path == "/v3/mail/send":
            return self.sendgrid.mail_send(headers, body, size) if method == "POST" else _not_allowed()
        if path == "/v3/messages":
            return self.activity.messages(query, headers) if method == "GET" else _not_allowed()
        if match := TWILIO_CREATE.match(path):
            if method == "GET":
                return self.twilio.list_messages(match[1], query, headers)
            return self.twilio.create_message(match[1], headers, body or b"") if method == "POST" else _not_allowed()
        if (match := TWILIO_FETCH.match(path)) and method == "GET":
            return self.twilio.fetch_message(match[1], match[2], headers)
        control: dict[tuple[str, str], Callable[[], Reply | Stream]] = {
            ("GET", "/"): lambda: self._page(query),
            ("GET", "/sandbox/messages"): lambda: self._messages(query),
            ("GET", "/sandbox/stats"): self._stats,
            ("GET", "/sandbox/audit"): lambda: json_reply(200, self.store.audit(_channel(query))),
            ("GET", "/sandbox/delivery-ids"): lambda: self._delivery_ids(query),
            ("GET", "/sandbox/public-key"): lambda: Reply(
                200, self.signer.public_key.encode(), content_type="text/plain"
            ),
            ("GET", "/sandbox/config"): lambda: json_reply(200, self.config.as_json()),
            ("POST", "/sandbox/config"): lambda: self._configure(headers, body),
            ("POST", "/sandbox/reset"): lambda: self._reset(headers),
        }
        handler = control.get((method, path))
        if handler is None:
            known = any(p == path for _, p in control)
            return json_reply(405 if known else 404, {"error": "method not allowed" if known else "not found"})
        try:
            return handler()
        except ValueError as exc:  # a bad query parameter
            return json_reply(400, {"error": str(exc)})

    def _page(self, query: Mapping[str, str]) -> Reply:
        channel = query.get("channel", "")
        if channel not in ("", "email", "sms"):
            channel = ""
        counts = {"emails": self.store.counts["email"], "email requests": self.store.counts["email_requests"],
                  "sms": self.store.counts["sms"]}  # fmt: skip
        page = render_page(
            counts, self.stats.snapshot(), self.store.recent(50, channel), channel, self.poster.backlog()
        )
        return Reply(200, page, {"Content-Security-Policy": CSP}, content_type="text/html; charset=utf-8")

    def _messages(self, query: Mapping[str, str]) -> Reply:
        unknown = set(query) - {*MESSAGE_FILTERS, "limit", "offset", "after"}
        if unknown:
            raise ValueError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
        limit = _int(query, "limit", 100, 1, MAX_LIMIT)
        filters = {name: query[name] for name in MESSAGE_FILTERS if query.get(name)}
        if "channel" in filters:
            _channel(filters)
        rows = self.store.messages(
            filters, limit=limit, offset=_int(query, "offset", 0, 0, 10**9), after=_int(query, "after", 0, 0, 2**62)
        )
        return json_reply(200, {"count": len(rows), "messages": rows})

    def _stats(self) -> Reply:
        counts = dict(self.store.counts)
        return json_reply(200, {**counts, "webhook_backlog": self.poster.backlog(), "counters": self.stats.snapshot()})

    def _delivery_ids(self, query: Mapping[str, str]) -> Stream:
        ids = self.store.delivery_ids(_channel(query))
        return Stream(200, (f"{delivery_id}\n" for delivery_id in ids))

    def _configure(self, headers: Mapping[str, str], body: bytes | None) -> Reply:
        refusal = _json_only(headers)
        if refusal:
            return refusal
        try:
            patch = json.loads(body or b"{}")
            self.config.apply(patch)
        except ValueError as exc:  # ConfigError, or the body is not JSON
            return json_reply(400, {"error": str(exc)})
        if patch.get("seed") is not None:
            self.rng.seed(patch["seed"])
        return json_reply(200, self.config.as_json())

    def _reset(self, headers: Mapping[str, str]) -> Reply:
        refusal = _json_only(headers)
        if refusal:
            return refusal
        self.poster.reset()
        self.store.reset()
        self.stats.reset()
        self.sendgrid.faults.reset()
        self.twilio.faults.reset()
        self.config.email.fail_next.clear()
        self.config.sms.fail_next.clear()
        self.config.lookups.fail_next.clear()
        return json_reply(200, {"reset": True})


def _json_only(headers: Mapping[str, str]) -> Reply | None:
    # A page on another site can POST a form to localhost, but not JSON without a CORS preflight we never allow.
    if headers.get("Content-Type", "").split(";")[0].strip().lower() != "application/json":
        return json_reply(415, {"error": "send the control request as application/json"})
    return None


def _channel(query: Mapping[str, Any]) -> str:
    channel = str(query.get("channel", ""))
    if channel not in ("email", "sms"):
        raise ValueError("channel must be email or sms")
    return channel


def _int(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name, "")
    if raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}")
    return int(raw)


def _not_allowed() -> Reply:
    return json_reply(405, {"error": "method not allowed"})
