"""The sandbox's record of every accepted message, in SQLite under its data directory.

A mail-send request is stored once (compressed) and each personalization as a small row pointing into
it; the text a recipient got is computed when asked for, so a million emails cost rows, not a million
copies of the body. Writes are serialised on one connection; reads use their own connections
(WAL), so a long query never holds up a send.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import zlib
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from breachcomms.channels.substitutions import apply_substitutions

SCHEMA_VERSION = 1  # a record written by another layout is dropped, not misread
SCHEMA = """
CREATE TABLE IF NOT EXISTS email_batch (
    id INTEGER PRIMARY KEY, x_message_id TEXT NOT NULL, received_at REAL NOT NULL, request BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS message (
    id INTEGER PRIMARY KEY, channel TEXT NOT NULL, message_id TEXT NOT NULL, batch_id INTEGER, position INTEGER,
    recipient TEXT NOT NULL, recipient_key TEXT NOT NULL, delivery_id TEXT NOT NULL, outcome TEXT NOT NULL,
    received_at REAL NOT NULL, sender TEXT, body TEXT, segments INTEGER, status_callback TEXT, error_code INTEGER,
    service TEXT
);
CREATE INDEX IF NOT EXISTS message_delivery_id ON message (delivery_id);
CREATE INDEX IF NOT EXISTS message_recipient ON message (recipient_key);
CREATE INDEX IF NOT EXISTS message_sms_id ON message (message_id) WHERE channel = 'sms';
"""
INSERT = """INSERT INTO message (channel, message_id, batch_id, position, recipient, recipient_key, delivery_id,
    outcome, received_at, sender, body, segments, status_callback, error_code, service)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""
SELECT = """SELECT m.*, b.x_message_id, b.request FROM message m LEFT JOIN email_batch b ON b.id = m.batch_id"""
COMMIT_INTERVAL = 0.1  # seconds; readers commit first, so they always see every accepted message


class EmailRecord(NamedTuple):
    """One accepted personalization (its full content stays in the stored request)."""

    position: int
    sg_message_id: str
    recipient: str
    others: Sequence[str]  # further to/cc/bcc addresses of the personalization
    delivery_id: str
    custom_args: dict[str, str]
    outcome: str


class SmsRecord(NamedTuple):
    sid: str
    to: str
    sender: str
    messaging_service_sid: str
    body: str
    segments: int
    status_callback: str
    delivery_id: str
    outcome: str
    error_code: int | None
    received_at: float


class RecordStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self.db = self._connect(writer=True)
        if self.db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            self.db.executescript("DROP TABLE IF EXISTS message; DROP TABLE IF EXISTS email_batch;")
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self.db.executescript(SCHEMA)
        self.counts = self._load_counts()
        self.in_transaction = False
        self.closed = threading.Event()
        threading.Thread(target=self._commit_regularly, name="sandbox-store-commit", daemon=True).start()

    def _connect(self, *, writer: bool = False) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=not writer, isolation_level=None)
        if writer:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=OFF")  # a test double: speed over surviving a power cut
        db.row_factory = sqlite3.Row
        return db

    def _load_counts(self) -> dict[str, int]:
        counts = {"email": 0, "sms": 0, "email_requests": 0}
        for channel, count in self.db.execute("SELECT channel, COUNT(*) FROM message GROUP BY channel"):
            counts[channel] = count
        counts["email_requests"] = self.db.execute("SELECT COUNT(*) FROM email_batch").fetchone()[0]
        return counts

    # Writes go into one open transaction, committed every COMMIT_INTERVAL and before every read: a commit
    # per text message would cost more than the rest of the request.
    def _begin(self) -> None:
        if not self.in_transaction:
            self.db.execute("BEGIN")
            self.in_transaction = True

    def commit(self) -> None:
        with self.lock:
            if self.in_transaction:
                self.db.execute("COMMIT")
                self.in_transaction = False

    def _commit_regularly(self) -> None:
        while not self.closed.wait(COMMIT_INTERVAL):
            self.commit()

    def close(self) -> None:
        self.closed.set()
        self.commit()
        with self.lock:
            self.db.close()

    def reset(self) -> None:
        with self.lock:
            self._begin()
            self.db.execute("DELETE FROM message")
            self.db.execute("DELETE FROM email_batch")
            self.counts = {"email": 0, "sms": 0, "email_requests": 0}
        self.commit()

    def add_email_batch(
        self, x_message_id: str, received_at: float, request: bytes, records: Sequence[EmailRecord]
    ) -> None:
        """Keep the request (compressed) and a row per personalization."""
        blob = zlib.compress(request, 1)
        with self.lock:
            self._begin()
            cursor = self.db.execute(
                "INSERT INTO email_batch (x_message_id, received_at, request) VALUES (?, ?, ?)",
                (x_message_id, received_at, blob),
            )
            batch_id = cursor.lastrowid
            self.db.executemany(
                INSERT,
                [("email", r.sg_message_id, batch_id, r.position, r.recipient, r.recipient.lower(), r.delivery_id,
                  r.outcome, received_at, None, None, None, None, None, None) for r in records],
            )  # fmt: skip
            self.counts["email"] += len(records)
            self.counts["email_requests"] += 1

    def add_sms(self, r: SmsRecord) -> None:
        row = ("sms", r.sid, None, None, r.to, r.to.lower(), r.delivery_id, r.outcome, r.received_at, r.sender,
               r.body, r.segments, r.status_callback, r.error_code, r.messaging_service_sid)  # fmt: skip
        with self.lock:
            self._begin()
            self.db.execute(INSERT, row)
            self.counts["sms"] += 1

    def messages(self, filters: dict[str, str], *, limit: int, offset: int = 0, after: int = 0) -> list[dict[str, Any]]:
        """Messages matching ``filters`` (channel, delivery_id, to, message_id, x_message_id), oldest first."""
        where: list[str] = ["m.id > ?"]
        params: list[Any] = [after]
        columns = {"channel": "m.channel", "delivery_id": "m.delivery_id", "to": "m.recipient_key",
                          "message_id": "m.message_id", "x_message_id": "b.x_message_id"}  # fmt: skip
        for name, value in filters.items():
            where.append(f"{columns[name]} = ?")
            params.append(value.lower() if name == "to" else value)
        sql = f"{SELECT} WHERE {' AND '.join(where)} ORDER BY m.id LIMIT ? OFFSET ?"  # noqa: S608 - fixed parts
        with self._reader() as db:
            return _messages(db.execute(sql, [*params, limit, offset]))

    def search(
        self,
        channel: str,
        conditions: Sequence[tuple[str, str]],
        *,
        any_of: bool = False,
        received: tuple[float | None, float | None] = (None, None),
        before: int = 0,
        limit: int,
    ) -> list[dict[str, Any]]:
        """Messages of ``channel`` matching all (or ``any_of``) the (column, value) ``conditions``, newest first.

        Columns: delivery_id, to, from, message_id. ``received`` bounds the time received (inclusive); ``before`` pages
        by the ``id`` of the last message of the page before.
        """
        columns = {
            "delivery_id": "m.delivery_id",
            "to": "m.recipient_key",
            "from": "m.sender",
            "message_id": "m.message_id",
        }
        matches = [f"{columns[name]} = ?" for name, _ in conditions]
        where: list[str] = ["m.channel = ?"]
        params: list[Any] = [channel]
        if matches:
            where.append("(" + (" OR " if any_of else " AND ").join(matches) + ")")
            params += [value.lower() if name == "to" else value for name, value in conditions]
        for bound, operator in zip(received, (">=", "<="), strict=True):
            if bound is not None:
                where.append(f"m.received_at {operator} ?")
                params.append(bound)
        if before:
            where.append("m.id < ?")
            params.append(before)
        sql = f"{SELECT} WHERE {' AND '.join(where)} ORDER BY m.id DESC LIMIT ?"  # noqa: S608 - fixed parts
        with self._reader() as db:
            return _messages(db.execute(sql, [*params, limit]))

    def recent(self, limit: int, channel: str = "") -> list[dict[str, Any]]:
        where = "WHERE m.channel = ?" if channel else ""
        sql = f"{SELECT} {where} ORDER BY m.id DESC LIMIT ?"  # noqa: S608 - fixed parts
        with self._reader() as db:
            return _messages(db.execute(sql, [*([channel] if channel else []), limit]))

    def audit(self, channel: str, *, examples: int = 100) -> dict[str, Any]:
        """How many messages, distinct delivery ids, and which delivery ids were received more than once."""
        with self._reader() as db:
            total, distinct, without = db.execute(
                "SELECT COUNT(*), COUNT(DISTINCT NULLIF(delivery_id, '')), SUM(delivery_id = '') FROM message "
                "WHERE channel = ?",
                [channel],
            ).fetchone()
            repeated = db.execute(
                "SELECT delivery_id, COUNT(*) FROM message WHERE channel = ? AND delivery_id != '' "
                "GROUP BY delivery_id HAVING COUNT(*) > 1 ORDER BY delivery_id",
                [channel],
            ).fetchall()
        return {
            "channel": channel,
            "messages": total,
            "distinct_delivery_ids": distinct,
            "without_delivery_id": without or 0,
            "duplicated_delivery_ids": len(repeated),
            "duplicates": [{"delivery_id": row[0], "count": row[1]} for row in repeated[:examples]],
        }

    def delivery_ids(self, channel: str) -> Iterator[str]:
        """Every delivery id received on ``channel``, once per message (so a duplicate shows twice), sorted."""
        with self._reader() as db:
            cursor = db.execute("SELECT delivery_id FROM message WHERE channel = ? ORDER BY delivery_id", [channel])
            while rows := cursor.fetchmany(10_000):
                yield from (row[0] for row in rows)

    def _reader(self) -> _Closing:
        self.commit()
        return _Closing(self._connect())


class _Closing:
    """``with`` closes the read connection (sqlite3's own context manager only commits)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        return self.db

    def __exit__(self, *exc: object) -> None:
        self.db.close()


def _messages(rows: Iterable[sqlite3.Row]) -> list[dict[str, Any]]:
    requests: dict[int, dict[str, Any]] = {}  # each stored request decoded once per query
    result = []
    for row in rows:
        if row["channel"] == "sms":
            result.append(_sms(row))
            continue
        request = requests.get(row["batch_id"])
        if request is None:
            request = requests[row["batch_id"]] = json.loads(zlib.decompress(row["request"]))
        result.append(_email(row, request))
    return result


def _common(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "channel": row["channel"],
        "to": row["recipient"],
        "delivery_id": row["delivery_id"],
        "outcome": row["outcome"],
        "received_at": datetime.fromtimestamp(row["received_at"], tz=UTC).isoformat(),
    }


def _sms(row: sqlite3.Row) -> dict[str, Any]:
    return {**_common(row), "sid": row["message_id"], "from": row["sender"],
            "messaging_service_sid": row["service"], "body": row["body"],
            "segments": row["segments"], "status_callback": row["status_callback"],
            "error_code": row["error_code"]}  # fmt: skip


def _email(row: sqlite3.Row, request: dict[str, Any]) -> dict[str, Any]:
    """The email as its recipient got it: the request's parts with the personalization's substitutions."""
    personalization = request["personalizations"][row["position"]]
    subs = personalization.get("substitutions") or {}
    content = {part["type"]: part["value"] for part in request.get("content") or []}
    first, *rest = personalization["to"]
    also = [a["email"] for a in rest] + [a["email"] for kind in ("cc", "bcc") for a in personalization.get(kind) or []]
    return {
        **_common(row),
        "name": first.get("name", ""),
        "also_to": also,
        "x_message_id": row["x_message_id"],
        "sg_message_id": row["message_id"],
        "from": request["from"],
        "reply_to": (request.get("reply_to") or {}).get("email", ""),
        "subject": apply_substitutions(personalization.get("subject") or request.get("subject") or "", subs),
        "text": apply_substitutions(content.get("text/plain", ""), subs),
        "html": apply_substitutions(content.get("text/html", ""), subs),
        "categories": request.get("categories") or [],
        "custom_args": {**(request.get("custom_args") or {}), **(personalization.get("custom_args") or {})},
        "substitutions": subs,
    }
