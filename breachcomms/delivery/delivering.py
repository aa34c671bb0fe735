"""Hand a batch to the providers: one SendGrid request per shape chunk, one Twilio request per SMS.

A request SendGrid refuses as a whole (400, 413, or our own pre-flight check) is split in halves
until the recipient at fault is alone, so one bad address never fails its 999 neighbours.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from breachcomms.channels.base import (
    MAX_BATCH_RECIPIENTS,
    ChannelError,
    EmailBatch,
    EmailRecipient,
    PermanentError,
    Receipt,
    SmsMessage,
    TransientError,
)
from breachcomms.channels.registry import email_transport, sms_transport
from breachcomms.core.timing import PhaseTimer
from breachcomms.delivery.conf import setting
from breachcomms.delivery.outcomes import Outcomes, Problem, Sent
from breachcomms.delivery.personalise import Group, groups, render_alone, shape_values
from breachcomms.delivery.sending import Batch, Halt, Row, chunks, classify
from breachcomms.delivery.shapes import delivered_content_hash
from breachcomms.notices.rendering import RenderError

_SPLITTABLE = (None, 400, 413)


def _render_failed(row: Row, error: RenderError, outcomes: Outcomes) -> None:
    outcomes.failed.append(Problem(row.id, row.attempts, f"The notice could not be rendered: {error}"))


def _envelope(batch: Batch, recipients: list[EmailRecipient], parts: dict[str, str]) -> EmailBatch:
    incident = batch.incident
    return EmailBatch(
        from_email=incident.sender_email,
        from_name=incident.sender_name or incident.organization,
        subject=parts.get("subject", ""),
        html=parts.get("html", ""),
        text=parts.get("text", ""),
        recipients=recipients,
        categories=(f"incident-{incident.id}", f"campaign-{batch.wave.campaign_id}", f"wave-{batch.wave.id}"),
        reply_to=incident.support_email,
    )


def send_emails(batch: Batch, rows: list[Row], outcomes: Outcomes) -> None:
    size = min(MAX_BATCH_RECIPIENTS, int(setting("BREACHCOMMS_DELIVERY_EMAIL_BATCH")))
    for group in groups(batch, "email", rows):
        if group.shape is None:
            for row in group.rows:
                _send_email_alone(batch, group, row, outcomes)
            continue
        shape = group.shape
        for chunk in chunks(group.rows, size):
            recipients, hashes = [], {}
            for row in chunk:
                subs = shape.substitutions(shape_values(batch, shape.key, row))
                recipients.append(EmailRecipient(str(row.id), row.address, row.recipient.name, subs))
                hashes[row.id] = shape.content_hash(subs)
            _deliver(_envelope(batch, recipients, shape.parts), chunk, hashes, group.version.id, outcomes, batch.timer)


def _send_email_alone(batch: Batch, group: Group, row: Row, outcomes: Outcomes) -> None:
    try:
        parts = render_alone(batch, "email", group.version, group.notice_locale, row)
    except RenderError as error:
        _render_failed(row, error, outcomes)
        return
    recipient = EmailRecipient(str(row.id), row.address, row.recipient.name, {})
    hashes = {row.id: delivered_content_hash("email", parts)}
    _deliver(_envelope(batch, [recipient], parts), [row], hashes, group.version.id, outcomes, batch.timer)


def _deliver(
    envelope: EmailBatch,
    rows: Sequence[Row],
    hashes: dict[int, str],
    version_id: int,
    outcomes: Outcomes,
    timer: PhaseTimer,
) -> None:
    try:
        with timer("send"):
            receipts = email_transport().send_batch(envelope)
    except PermanentError as error:
        if len(rows) > 1 and error.status in _SPLITTABLE:
            middle = len(rows) // 2
            for part in (slice(0, middle), slice(middle, None)):
                sub = replace(envelope, recipients=list(envelope.recipients[part]))
                _deliver(sub, rows[part], hashes, version_id, outcomes, timer)
            return
        classify(error, rows, outcomes)
        return
    except TransientError as error:
        classify(error, rows, outcomes)
        return
    by_id = {receipt.delivery_id: receipt.provider_message_id for receipt in receipts}
    for row in rows:
        message_id = by_id.get(str(row.id))
        if message_id is None:
            outcomes.in_doubt.append(Problem(row.id, row.attempts, "The provider returned no receipt for it."))
        else:
            outcomes.sent.append(Sent(row.id, message_id, hashes[row.id], version_id))


def _sms_bodies(batch: Batch, rows: list[Row], outcomes: Outcomes) -> list[tuple[Row, int, str]]:
    """(row, version id, text) for every row whose SMS renders; the others fail with the reason."""
    prepared: list[tuple[Row, int, str]] = []
    for group in groups(batch, "sms", rows):
        for row in group.rows:
            try:
                if group.shape is not None:
                    subs = group.shape.substitutions(shape_values(batch, group.shape.key, row))
                    body = group.shape.personalise(subs)["text"]
                else:
                    body = render_alone(batch, "sms", group.version, group.notice_locale, row)["text"]
            except RenderError as error:
                _render_failed(row, error, outcomes)
                continue
            prepared.append((row, group.version.id, body))
    return prepared


def send_sms(batch: Batch, rows: list[Row], outcomes: Outcomes) -> None:
    """One provider request per SMS, several at a time: most of a request is waiting for the answer."""
    transport = sms_transport()
    refused: list[str] = []

    def send(item: tuple[Row, int, str]) -> tuple[Receipt | None, ChannelError | None]:
        row, _, body = item
        if refused:
            return None, None  # the provider refused our credentials: the rest waits for the commander
        try:
            return transport.send(SmsMessage(str(row.id), row.address, body)), None
        except (PermanentError, TransientError) as error:
            if isinstance(error, PermanentError) and error.status in (401, 403):
                refused.append(error.reason)
            return None, error

    prepared = _sms_bodies(batch, rows, outcomes)
    threads = max(1, int(setting("BREACHCOMMS_DELIVERY_SMS_THREADS")))
    with batch.timer("send"), ThreadPoolExecutor(max_workers=min(threads, max(1, len(prepared)))) as pool:
        results = list(pool.map(send, prepared))
    for (row, version_id, body), (receipt, error) in zip(prepared, results, strict=True):
        if receipt is not None:
            content_hash = delivered_content_hash("sms", {"text": body})
            outcomes.sent.append(Sent(row.id, receipt.provider_message_id, content_hash, version_id))
        elif error is not None and not (isinstance(error, PermanentError) and error.status in (401, 403)):
            classify(error, [row], outcomes)
    if refused:
        raise Halt(f"The provider refused the credentials ({refused[0]}).")
