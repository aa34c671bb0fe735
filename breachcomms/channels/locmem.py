"""In-memory transports for tests: what was sent is kept in ``outbox``; failures can be queued up front."""

from __future__ import annotations

import threading
import uuid
from collections import deque
from dataclasses import dataclass, field

from breachcomms.channels.base import (
    MAX_BATCH_RECIPIENTS,
    MAX_SMS_BODY_CHARS,
    ChannelError,
    EmailBatch,
    PermanentError,
    Receipt,
    SmsMessage,
)


@dataclass
class Outbox:
    """Everything the locmem transports accepted, and the failures they will raise next."""

    emails: list[EmailBatch] = field(default_factory=list)
    sms: list[SmsMessage] = field(default_factory=list)
    email_failures: deque[ChannelError] = field(default_factory=deque)
    sms_failures: deque[ChannelError] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def clear(self) -> None:
        with self.lock:
            self.emails.clear()
            self.sms.clear()
            self.email_failures.clear()
            self.sms_failures.clear()

    def fail_next_email(self, error: ChannelError, times: int = 1) -> None:
        with self.lock:
            self.email_failures.extend([error] * times)

    def fail_next_sms(self, error: ChannelError, times: int = 1) -> None:
        with self.lock:
            self.sms_failures.extend([error] * times)

    def email_recipients(self) -> list[str]:
        """The delivery ids of every email accepted, in order."""
        with self.lock:
            return [r.delivery_id for batch in self.emails for r in batch.recipients]


outbox = Outbox()


class LocmemEmailTransport:
    def send_batch(self, batch: EmailBatch) -> list[Receipt]:
        if len(batch.recipients) > MAX_BATCH_RECIPIENTS:
            raise PermanentError(
                f"{len(batch.recipients):,} recipients in one batch; at most {MAX_BATCH_RECIPIENTS:,}."
            )
        with outbox.lock:
            if outbox.email_failures:
                raise outbox.email_failures.popleft()
            outbox.emails.append(batch)
        message_id = f"locmem-{uuid.uuid4().hex}"
        return [Receipt(delivery_id=r.delivery_id, provider_message_id=message_id) for r in batch.recipients]


class LocmemSmsTransport:
    def send(self, message: SmsMessage) -> Receipt:
        if len(message.body) > MAX_SMS_BODY_CHARS:
            raise PermanentError(f"The text has {len(message.body):,} characters; at most {MAX_SMS_BODY_CHARS:,}.")
        with outbox.lock:
            if outbox.sms_failures:
                raise outbox.sms_failures.popleft()
            outbox.sms.append(message)
        return Receipt(delivery_id=message.delivery_id, provider_message_id=f"locmem-{uuid.uuid4().hex}")
