"""Development transports that print what would be sent (the plain-text part) to standard output."""

from __future__ import annotations

import sys
import threading
import uuid
from typing import TextIO

from breachcomms.channels.base import (
    MAX_BATCH_RECIPIENTS,
    MAX_SMS_BODY_CHARS,
    EmailBatch,
    PermanentError,
    Receipt,
    SmsMessage,
)
from breachcomms.channels.rendering import render_recipient

_lock = threading.Lock()
RULE = "-" * 79


class ConsoleEmailTransport:
    def __init__(self, *, stream: TextIO | None = None) -> None:
        self.stream = stream

    def send_batch(self, batch: EmailBatch) -> list[Receipt]:
        if len(batch.recipients) > MAX_BATCH_RECIPIENTS:
            raise PermanentError(
                f"{len(batch.recipients):,} recipients in one batch; at most {MAX_BATCH_RECIPIENTS:,}."
            )
        message_id = f"console-{uuid.uuid4().hex}"
        parts = []
        for recipient in batch.recipients:
            email = render_recipient(batch, recipient)
            sender = f"{email.from_name} <{email.from_email}>" if email.from_name else email.from_email
            to = f"{email.to_name} <{email.to}>" if email.to_name else email.to
            parts.append(
                f"From: {sender}\nTo: {to}\nSubject: {email.subject}\n"
                f"X-Delivery-Id: {email.delivery_id}\nX-Message-Id: {message_id}\n\n{email.text}\n{RULE}\n"
            )
        _write(self.stream, "".join(parts))
        return [Receipt(delivery_id=r.delivery_id, provider_message_id=message_id) for r in batch.recipients]


class ConsoleSmsTransport:
    def __init__(self, *, stream: TextIO | None = None) -> None:
        self.stream = stream

    def send(self, message: SmsMessage) -> Receipt:
        if len(message.body) > MAX_SMS_BODY_CHARS:
            raise PermanentError(f"The text has {len(message.body):,} characters; at most {MAX_SMS_BODY_CHARS:,}.")
        message_id = f"console-{uuid.uuid4().hex}"
        _write(
            self.stream,
            f"SMS to {message.to} (delivery {message.delivery_id}, {message_id}):\n{message.body}\n{RULE}\n",
        )
        return Receipt(delivery_id=message.delivery_id, provider_message_id=message_id)


def _write(stream: TextIO | None, text: str) -> None:
    out = stream or sys.stdout  # looked up per call so that test capture works
    with _lock:
        out.write(text)
        out.flush()
