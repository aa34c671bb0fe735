"""The email each recipient of a batch receives, once its substitutions are applied."""

from __future__ import annotations

from dataclasses import dataclass

from breachcomms.channels.base import EmailBatch, EmailRecipient
from breachcomms.channels.substitutions import apply_substitutions


@dataclass(frozen=True)
class RenderedEmail:
    delivery_id: str
    to: str
    to_name: str
    from_email: str
    from_name: str
    reply_to: str
    subject: str
    text: str
    html: str


def render_recipient(batch: EmailBatch, recipient: EmailRecipient) -> RenderedEmail:
    """What ``recipient`` gets from ``batch``: the shared parts with the recipient's substitutions applied."""
    subs = recipient.substitutions
    return RenderedEmail(
        delivery_id=recipient.delivery_id,
        to=recipient.email,
        to_name=recipient.name,
        from_email=batch.from_email,
        from_name=batch.from_name,
        reply_to=batch.reply_to,
        subject=apply_substitutions(batch.subject, subs),
        text=apply_substitutions(batch.text, subs),
        html=apply_substitutions(batch.html, subs),
    )
