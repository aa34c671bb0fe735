"""SendGrid's Email Activity API: ``GET /v3/messages?query=…&limit=…``, the accepted messages a query names.

As documented (twilio.com/docs/sendgrid/api-reference/email-activity/filter-all-messages): a Bearer API key
(401 otherwise); an account without the paid Email Activity add-on is refused (403 here); ``limit`` from 1 to
1,000, 10 when absent, and no further paging; the answer is ``{"messages": [{from_email, msg_id, subject,
to_email, status, opens_count, clicks_count, last_event_time}]}``, most recent first, ``status`` one of
processed, delivered, not_delivered. Errors answer ``{"errors": [{"field", "message"}]}``.

The query is SendGrid's ``name="value"`` conditions, each optionally in parentheses, joined by AND or OR:
``(unique_args['delivery_id']="17") OR (unique_args['delivery_id']="18")``. The sandbox knows ``msg_id``,
``to_email`` and ``unique_args['delivery_id']`` (the custom argument it records), and refuses the rest, and
a mix of AND and OR, with a 400 rather than answering wrongly.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from breachcomms.sandbox.config import SandboxConfig
from breachcomms.sandbox.replies import Reply, json_reply
from breachcomms.sandbox.stats import Stats
from breachcomms.sandbox.store import RecordStore

MAX_LIMIT = 1000
MAX_CONDITIONS = 1000
_CONDITION = re.compile(r"""\s*\(?\s*(msg_id|to_email|unique_args\['(\w+)'\])\s*=\s*"([^"]*)"\s*\)?\s*""")
_JOIN = re.compile(r"(AND|OR)\b", re.IGNORECASE)
_FIELDS = {"msg_id": "message_id", "to_email": "to"}
_STATUS = {"delivered": "delivered", "spamreport": "delivered", "deferred": "processed"}
FAULT_MESSAGES = {429: "too many requests", 500: "internal server error", 503: "service unavailable"}


class QueryError(ValueError):
    """A query the sandbox cannot read or does not support."""


def parse_query(text: str) -> tuple[list[tuple[str, str]], bool]:
    """The (store column, value) conditions of ``text`` and whether any one of them suffices (OR)."""
    conditions: list[tuple[str, str]] = []
    joins: set[str] = set()
    position = 0
    while True:
        match = _CONDITION.match(text, position)
        if match is None:
            raise QueryError(f"cannot read the query at character {position}")
        name, argument, value = match.groups()
        if argument is not None and argument != "delivery_id":
            raise QueryError("the sandbox searches unique_args['delivery_id'] only")
        conditions.append(("delivery_id", value) if argument is not None else (_FIELDS[name], value))
        position = match.end()
        if position == len(text):
            break
        join = _JOIN.match(text, position)
        if join is None:
            raise QueryError(f"expected AND or OR at character {position}")
        joins.add(join[1].upper())
        position = join.end()
    if len(joins) > 1:
        raise QueryError("the sandbox does not mix AND and OR in one query")
    if len(conditions) > MAX_CONDITIONS:
        raise QueryError(f"at most {MAX_CONDITIONS} conditions")
    return conditions, joins == {"OR"}


def _errors(status: int, message: str, field: str | None = None) -> Reply:
    return json_reply(status, {"errors": [{"field": field, "message": message}]})


class EmailActivityAPI:
    def __init__(self, config: SandboxConfig, store: RecordStore, stats: Stats) -> None:
        self.config, self.store, self.stats = config, store, stats

    def messages(self, query: Mapping[str, str], headers: Mapping[str, str]) -> Reply:
        reply = self._answer(query, headers)
        self.stats.add(f"email_activity_{reply.status}")
        return reply

    def _answer(self, query: Mapping[str, str], headers: Mapping[str, str]) -> Reply:
        scheme, _, key = headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(key.strip(), self.config.sendgrid_api_key):
            return _errors(401, "authorization required")
        if not self.config.lookups.email_activity:
            return _errors(403, "access forbidden")
        try:
            status = self.config.lookups.fail_next.popleft()
        except IndexError:
            status = 0
        if status:
            return _errors(status, FAULT_MESSAGES[status])
        raw_limit = query.get("limit", "10")
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
            return _errors(400, f"limit must be an integer from 1 to {MAX_LIMIT}", "limit")
        try:
            conditions, any_of = parse_query(query["query"]) if query.get("query") else ([], False)
        except QueryError as exc:
            return _errors(400, f"invalid query: {exc}", "query")
        found = self.store.search("email", conditions, any_of=any_of, limit=int(raw_limit))
        return json_reply(200, {"messages": [_summary(message) for message in found]})


def _summary(message: dict[str, Any]) -> dict[str, Any]:
    received = datetime.fromisoformat(message["received_at"]).astimezone(UTC)
    return {
        "from_email": message["from"].get("email", ""),
        "msg_id": message["sg_message_id"],
        "subject": message["subject"],
        "to_email": message["to"],
        "status": _STATUS.get(message["outcome"], "not_delivered"),
        "opens_count": 0,
        "clicks_count": 0,
        "last_event_time": received.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
