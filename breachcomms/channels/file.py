"""Development transports that append what would be sent, one JSON line per message, under VAR_DIR/outbox."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from breachcomms.channels.base import (
    MAX_BATCH_RECIPIENTS,
    MAX_SMS_BODY_CHARS,
    EmailBatch,
    PermanentError,
    Receipt,
    SmsMessage,
)
from breachcomms.channels.rendering import render_recipient

_lock = threading.Lock()  # whole lines only, even with several threads sending


def outbox_dir() -> Path:
    return Path(settings.VAR_DIR) / "outbox"


def _append(name: str, lines: list[str]) -> None:
    directory = outbox_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with _lock, (directory / name).open("a", encoding="utf-8") as stream:
        stream.write("".join(lines))


def _now() -> str:
    return datetime.now(tz=UTC).isoformat()


class FileEmailTransport:
    """Writes each recipient's final email (substitutions applied) to ``outbox/email.jsonl``."""

    def send_batch(self, batch: EmailBatch) -> list[Receipt]:
        if len(batch.recipients) > MAX_BATCH_RECIPIENTS:
            raise PermanentError(
                f"{len(batch.recipients):,} recipients in one batch; at most {MAX_BATCH_RECIPIENTS:,}."
            )
        message_id, sent_at = f"file-{uuid.uuid4().hex}", _now()
        lines = []
        for recipient in batch.recipients:
            record = {"message_id": message_id, "sent_at": sent_at, **asdict(render_recipient(batch, recipient))}
            lines.append(json.dumps(record, ensure_ascii=False) + "\n")
        _append("email.jsonl", lines)
        return [Receipt(delivery_id=r.delivery_id, provider_message_id=message_id) for r in batch.recipients]


class FileSmsTransport:
    """Writes each text message to ``outbox/sms.jsonl``."""

    def send(self, message: SmsMessage) -> Receipt:
        if len(message.body) > MAX_SMS_BODY_CHARS:
            raise PermanentError(f"The text has {len(message.body):,} characters; at most {MAX_SMS_BODY_CHARS:,}.")
        message_id = f"file-{uuid.uuid4().hex}"
        record = {"message_id": message_id, "sent_at": _now(), **asdict(message)}
        _append("sms.jsonl", [json.dumps(record, ensure_ascii=False) + "\n"])
        return Receipt(delivery_id=message.delivery_id, provider_message_id=message_id)
