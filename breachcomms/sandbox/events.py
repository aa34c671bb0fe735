"""What happens to an accepted message after the send: its SendGrid events and Twilio status callbacks.

Each outcome is a timeline of steps; the poster spaces the steps by the configured delays.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from typing import Any

from breachcomms.sandbox.store import EmailRecord, SmsRecord

# Email outcome → the events SendGrid reports, in order, with the extra fields of each.
EMAIL_TIMELINES: dict[str, tuple[tuple[str, dict[str, str]], ...]] = {
    "delivered": (("processed", {}), ("delivered", {"response": "250 2.0.0 OK: queued as sandbox"})),
    "deferred": (
        ("processed", {}),
        ("deferred", {"response": "421 4.7.0 Try again later, closing connection.", "attempt": "1"}),
        ("delivered", {"response": "250 2.0.0 OK: queued as sandbox"}),
    ),
    "bounce": (
        ("processed", {}),
        (
            "bounce",
            {
                "type": "bounce",
                "status": "5.1.1",
                "reason": "550 5.1.1 The email account that you tried to reach does not exist.",
                "bounce_classification": "Invalid Address",
            },
        ),
    ),
    "blocked": (
        ("processed", {}),
        (
            "bounce",
            {
                "type": "blocked",
                "status": "5.7.1",
                "reason": "550 5.7.1 Message rejected by the receiving server's policy.",
                "bounce_classification": "Reputation",
            },
        ),
    ),
    "dropped": (("dropped", {"reason": "Bounced Address", "status": "5.0.0"}),),
    "spamreport": (
        ("processed", {}),
        ("delivered", {"response": "250 2.0.0 OK: queued as sandbox"}),
        ("spamreport", {}),
    ),
}
# Each step's own fields as JSON object members, encoded once.
ENCODED_TIMELINES = {
    outcome: tuple(json.dumps({**extra, "event": name})[1:-1] for name, extra in steps)
    for outcome, steps in EMAIL_TIMELINES.items()
}
RESERVED_KEYS = frozenset(
    {"email", "event", "sg_event_id", "sg_message_id", "smtp-id", "timestamp", "category"}
    | {key for steps in EMAIL_TIMELINES.values() for _, extra in steps for key in extra}
)
# SMS outcome → the statuses reported after the initial one.
SMS_TIMELINES = {"delivered": ("sent", "delivered"), "undelivered": ("sent", "undelivered"), "failed": ("failed",)}
DEFAULT_SMS_ERRORS = {"undelivered": 30003, "failed": 30008}


@dataclass
class Step:
    """One webhook payload; ``index`` is its place in the message's timeline (0 = first).

    A SendGrid event's payload is its JSON text up to the timestamp, which is appended when it is due:
    encoding each event once here costs a third of building dicts and encoding them with the batch.
    """

    index: int
    payload: Any  # SendGrid: str (JSON without the closing timestamp); Twilio: dict of form fields


_event_numbers = itertools.count()
_event_prefix = base64.urlsafe_b64encode(os.urandom(9)).decode("ascii")  # differs per sandbox start


def _text(value: str) -> str:
    """``value`` as a JSON string (the json module's own C encoder, without a call to dumps per value)."""
    return str(encode_basestring_ascii(value))


def event_id() -> str:
    """A unique ``sg_event_id``; every copy of a duplicated event keeps its event's id."""
    return f"{_event_prefix}{next(_event_numbers):010x}"


def email_steps(record: EmailRecord, x_message_id: str, categories: str, smtp_host: str) -> Iterator[Step]:
    """The SendGrid events of one personalization, for each of its addresses; timestamps are set when due.

    ``categories`` is the JSON of the request's categories ("" for none), encoded once per request.
    """
    # Custom args become top-level keys; the documented keys win over a custom arg of the same name.
    members = [f"{_text(k)}:{_text(v)}" for k, v in record.custom_args.items() if k not in RESERVED_KEYS]
    members.append(f'"sg_message_id":{_text(record.sg_message_id)},"smtp-id":{_text(f"<{x_message_id}@{smtp_host}>")}')
    if categories:
        members.append(f'"category":{categories}')
    standard = ",".join(members)
    timeline = ENCODED_TIMELINES[record.outcome]
    for address in (record.recipient, *record.others) if record.others else (record.recipient,):
        common = f'{{{standard},"email":{_text(address)}'
        for index, fields in enumerate(timeline):
            yield Step(index, f'{common},{fields},"sg_event_id":"{event_id()}","timestamp":')


def sms_steps(record: SmsRecord, account_sid: str) -> Iterator[Step]:
    """The status callbacks Twilio posts for a message, after the status it was created with."""
    statuses = SMS_TIMELINES[record.outcome]
    if record.messaging_service_sid:
        statuses = ("queued", *statuses)  # created as "accepted", then queued on a sender
    for index, status in enumerate(statuses):
        params: dict[str, object] = {
            "AccountSid": account_sid,
            "ApiVersion": "2010-04-01",
            "From": record.sender,
            "MessageSid": record.sid,
            "MessageStatus": status,
            "SmsSid": record.sid,
            "SmsStatus": status,
            "To": record.to,
        }
        if record.messaging_service_sid:
            params["MessagingServiceSid"] = record.messaging_service_sid
        if status in ("undelivered", "failed"):
            params["ErrorCode"] = str(record.error_code or DEFAULT_SMS_ERRORS[status])
        yield Step(index, params)
