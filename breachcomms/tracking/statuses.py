"""What each provider event means for a delivery: the status it moves to, and how far along that is.

A delivery's status only ever moves forward. Each status has a rank; an event moves a delivery only to
a status of a higher rank than its current one, so events may arrive late, twice or out of order and
the result is the same: a late ``processed`` never overwrites ``delivered``, and a bounce, block or drop
is final. Rows still pending, queued, being sent or in doubt rank lowest: an event about one of them
proves the provider has the message, which is how rows in doubt are reconciled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from breachcomms.delivery.models import DeliveryStatus, Suppression

S = DeliveryStatus

# The rank of each status a delivery can be in. Final statuses outrank anything an event can bring.
CURRENT_RANK: Final[dict[str, int]] = {
    S.PENDING: 0,
    S.QUEUED: 0,
    S.SENDING: 0,
    S.IN_DOUBT: 0,
    S.SENT: 1,
    S.DEFERRED: 2,
    S.DELIVERED: 3,
    S.BOUNCED: 5,
    S.FAILED: 5,
    S.CANCELLED: 9,
    S.SUPPRESSED: 9,
}
# The rank a status brought by an event has (a bounce after "delivered" still counts: mail servers
# accept first and bounce later).
TARGET_RANK: Final[dict[str, int]] = {S.SENT: 1, S.DEFERRED: 2, S.DELIVERED: 3, S.BOUNCED: 4, S.FAILED: 4}
# Statuses that end a delivery: it gets its finish time from the event.
FINISHING: Final = frozenset({S.DELIVERED, S.BOUNCED, S.FAILED})
# Statuses after which the wave's other channel is tried, where its channel plan says so.
FALLBACK_AFTER: Final = frozenset({S.BOUNCED, S.FAILED})

# Open and click events: recorded only when tracking is switched on, and never a status.
ENGAGEMENT: Final = frozenset({"open", "click"})

_SENDGRID: Final[dict[str, str]] = {
    "processed": S.SENT,
    "deferred": S.DEFERRED,
    "delivered": S.DELIVERED,
    "bounce": S.BOUNCED,
    "blocked": S.BOUNCED,
    "dropped": S.FAILED,
    # A complaint means the message arrived.
    "spamreport": S.DELIVERED,
}
_TWILIO: Final[dict[str, str]] = {
    "accepted": S.SENT,
    "scheduled": S.SENT,
    "queued": S.SENT,
    "sending": S.SENT,
    "sent": S.SENT,
    "delivered": S.DELIVERED,
    "read": S.DELIVERED,
    "undelivered": S.FAILED,
    "failed": S.FAILED,
    "canceled": S.FAILED,
}
_STATUS_BY_PROVIDER: Final = {"sendgrid": _SENDGRID, "twilio": _TWILIO}

# Twilio error codes that say the number itself cannot take texts (https://www.twilio.com/docs/api/errors).
_TWILIO_INVALID_NUMBER: Final = frozenset({"21211", "21614", "30005", "30006"})


@dataclass(frozen=True)
class Meaning:
    status: str | None  # the status the event brings, None when it brings none
    rank: int
    suppress: str | None  # a Suppression.Reason when the address must not be used again


def meaning(provider: str, kind: str, reason: str = "") -> Meaning:
    """What an event of ``kind`` from ``provider`` means for its delivery."""
    status = _STATUS_BY_PROVIDER.get(provider, {}).get(kind)
    return Meaning(status, TARGET_RANK[status] if status else 0, _suppression(provider, kind, reason))


def _suppression(provider: str, kind: str, reason: str) -> str | None:
    if provider == "sendgrid":
        if kind in ("bounce", "blocked"):
            return Suppression.Reason.HARD_BOUNCE
        if kind == "spamreport":
            return Suppression.Reason.COMPLAINT
    if provider == "twilio" and kind in ("undelivered", "failed") and reason.split(" ", 1)[0] in _TWILIO_INVALID_NUMBER:
        return Suppression.Reason.INVALID
    return None


def rank_case_sql(column: str) -> str:
    """An SQL expression giving the rank of the status in ``column`` (statuses are fixed strings)."""
    whens = " ".join(f"WHEN '{status}' THEN {rank}" for status, rank in CURRENT_RANK.items())
    return f"(CASE {column} {whens} ELSE 9 END)"
