"""The hash of an audit entry: SHA-256 over the previous hash and a canonical JSON of the entry."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

# The first entry's "previous hash": a fixed, documented value rather than an empty string.
GENESIS = hashlib.sha256(b"breachcomms audit trail").hexdigest()


def canonical(
    *,
    seq: int,
    at: datetime,
    actor_id: int | None,
    actor_name: str,
    action: str,
    incident_id: int | None,
    object_type: str,
    object_id: str,
    data: Any,
) -> bytes:
    """The bytes that are hashed: key-sorted compact JSON, times in UTC with microseconds."""
    fields = {
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": actor_id,
        "actor_name": actor_name,
        "action": action,
        "incident_id": incident_id,
        "object_type": object_type,
        "object_id": object_id,
        "data": data,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(prev_hash: str, body: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + body).hexdigest()
