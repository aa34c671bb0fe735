"""What a send task learnt, written to the ledger in a few set-based statements.

A task collects every row's outcome in memory while it talks to the provider and records them all
in one transaction at the end: sent rows with the provider's id, the version and the hash of what
the customer got (that row is the record of the accepted hand-over: no attempt row); retries with
their next due time; failures with the reason; rows that may have reached the provider as in
doubt. Every statement requires the task's claim token, so a task that lost its rows (its lease
ran out) cannot overwrite what happened to them since.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection

from breachcomms.delivery.conf import setting
from breachcomms.delivery.dispatch import ATTEMPT, DELIVERY, retry_delay
from breachcomms.delivery.models import DeliveryAttempt

Outcome = DeliveryAttempt.Outcome
_jitter = random.SystemRandom()
# The task's own rows: claimed by its token (a claimed row stays pending) and not moved on by anyone else
# since. A row released or retried loses the token, so another batch's claim of it is never mistaken for ours.
_MINE = "claim_token = %(token)s AND status IN ('pending', 'in_doubt')"
# A provider event may have moved a row forward (delivered, bounced …) before its send task records it:
# the task still writes what it sent (version, hash, provider id), but never moves the status back.
_SENT_BY_ME = "claim_token = %(token)s AND status NOT IN ('cancelled', 'suppressed')"
_SENT_STATUS = "CASE WHEN status IN ('pending', 'in_doubt') THEN 'sent' ELSE status END"


@dataclass(frozen=True)
class Sent:
    delivery_id: int
    provider_message_id: str
    content_hash: str
    version_id: int


@dataclass(frozen=True)
class Problem:
    delivery_id: int
    attempts: int  # before this attempt
    error: str
    status: int | None = None
    retry_after: float | None = None


@dataclass
class Outcomes:
    sent: list[Sent] = field(default_factory=list)
    retry: list[Problem] = field(default_factory=list)
    failed: list[Problem] = field(default_factory=list)
    in_doubt: list[Problem] = field(default_factory=list)
    release: list[int] = field(default_factory=list)  # back to pending, not counted as an attempt
    halt_reason: str = ""

    @property
    def failed_ids(self) -> list[int]:
        return [problem.delivery_id for problem in self.failed]

    def give_up_exhausted(self) -> None:
        """Retries that used up their attempts fail instead."""
        limit = int(setting("BREACHCOMMS_DELIVERY_MAX_ATTEMPTS"))
        keep: list[Problem] = []
        for problem in self.retry:
            if problem.attempts + 1 >= limit:
                error = f"Gave up after {problem.attempts + 1} attempts; last error: {problem.error}"
                self.failed.append(Problem(problem.delivery_id, problem.attempts, error, problem.status))
            else:
                keep.append(problem)
        self.retry = keep


def _update_many(sql_pg: str, sql_row: str, rows: list[dict[str, Any]], shared: dict[str, Any]) -> None:
    """One UPDATE over arrays on PostgreSQL; one statement per row on SQLite (the demo)."""
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(sql_pg, {**{key: [row[key] for row in rows] for key in rows[0]}, **shared})
        else:
            cursor.executemany(sql_row, [{**row, **shared} for row in rows])


def record(
    outcomes: Outcomes, *, claim_token: str, wave_id: int, now: datetime, sent_at: datetime, queued_at: datetime
) -> None:
    """Write every outcome of a task (call inside a transaction); ``queued_at`` is when its batch was claimed."""
    outcomes.give_up_exhausted()
    shared = {"token": claim_token, "now": now, "sent_at": sent_at, "queued_at": queued_at}
    if connection.vendor == "postgresql":
        # A claim token looks like one row to the planner, which would then join the batch's values to it
        # by scanning them once per row (a million comparisons for 1,000 rows): hash them instead.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_nestloop TO off")
    _record_sent(outcomes.sent, shared)
    _record_retries(outcomes.retry, shared, now)
    _record_problems(outcomes.failed, "failed", shared)
    _record_problems(outcomes.in_doubt, "in_doubt", shared)
    _update_many(
        f"UPDATE {DELIVERY} SET status = 'pending', claim_token = '', lease_until = NULL "  # noqa: S608
        f"WHERE id = ANY(%(id)s::bigint[]) AND {_MINE}",
        f"UPDATE {DELIVERY} SET status = 'pending', claim_token = '', lease_until = NULL "  # noqa: S608
        f"WHERE id = %(id)s AND {_MINE}",
        [{"id": delivery_id} for delivery_id in outcomes.release],
        shared,
    )
    _record_attempts(outcomes, wave_id=wave_id, now=now)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_nestloop TO on")


# Each UPDATE … FROM unnest(…) also names the ids as ``d.id = ANY(…)``: the planner then reads the rows by
# primary key whatever its statistics say (a claim token it thinks matches one row made it scan the table).

# Sent rows are most of a batch: on PostgreSQL their columns travel as delimited text, split in SQL,
# which costs a fraction of adapting a Python list per column. Provider ids never contain \x1e.
_SEP = "\x1e"


def _record_sent(sent: list[Sent], shared: dict[str, Any]) -> None:
    if not sent or connection.vendor != "postgresql":
        _update_many(
            "",
            f"UPDATE {DELIVERY} SET status = {_SENT_STATUS}, provider_message_id = %(pid)s, "  # noqa: S608
            "content_hash = %(hash)s, notice_version_id = %(version)s, sent_at = %(sent_at)s, "
            "attempts = attempts + 1, lease_until = NULL, last_error = '', queued_at = %(queued_at)s "
            f"WHERE id = %(id)s AND {_SENT_BY_ME}",
            [
                {"id": s.delivery_id, "pid": s.provider_message_id, "hash": s.content_hash, "version": s.version_id}
                for s in sent
            ],  # fmt: skip
            shared,
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {DELIVERY} d SET status = {_SENT_STATUS}, provider_message_id = v.pid, content_hash = v.hash, "  # noqa: S608
            "notice_version_id = v.version::bigint, sent_at = %(sent_at)s, attempts = d.attempts + 1, "
            "lease_until = NULL, last_error = '', queued_at = %(queued_at)s FROM unnest(string_to_array(%(id)s, ','), "
            "string_to_array(%(pid)s, %(sep)s), string_to_array(%(hash)s, ','), string_to_array(%(version)s, ',')) "
            "AS v(id, pid, hash, version) WHERE d.id = v.id::bigint "
            f"AND d.id = ANY(string_to_array(%(id)s, ',')::bigint[]) AND d.{_SENT_BY_ME}",
            {
                **shared,
                "sep": _SEP,
                "id": ",".join(str(s.delivery_id) for s in sent),
                "pid": _SEP.join(s.provider_message_id for s in sent),
                "hash": ",".join(s.content_hash for s in sent),
                "version": ",".join(str(s.version_id) for s in sent),
            },
        )


def _record_retries(problems: list[Problem], shared: dict[str, Any], now: datetime) -> None:
    rows = [
        {
            "id": p.delivery_id,
            "due": now + retry_delay(p.attempts + 1, p.retry_after, jitter=_jitter.random()),
            "error": p.error,
        }
        for p in problems
    ]
    _update_many(
        f"UPDATE {DELIVERY} d SET status = 'pending', due_at = v.due, last_error = v.error, "  # noqa: S608
        "attempts = d.attempts + 1, claim_token = '', lease_until = NULL, queued_at = %(queued_at)s "
        "FROM unnest(%(id)s::bigint[], %(due)s::timestamptz[], %(error)s::text[]) AS v(id, due, error) "
        f"WHERE d.id = v.id AND d.id = ANY(%(id)s::bigint[]) AND d.{_MINE}",
        f"UPDATE {DELIVERY} SET status = 'pending', due_at = %(due)s, last_error = %(error)s, "  # noqa: S608
        "attempts = attempts + 1, claim_token = '', lease_until = NULL, queued_at = %(queued_at)s "
        f"WHERE id = %(id)s AND {_MINE}",
        rows,
        shared,
    )


def _record_problems(problems: list[Problem], status: str, shared: dict[str, Any]) -> None:
    # In doubt rows keep their token (a late answer of this task may still settle them) and start
    # the wait before reconciliation now; failed rows are finished.
    finished = "finished_at = %(now)s" if status == "failed" else "lease_until = %(now)s"
    finished += ", queued_at = %(queued_at)s"
    rows = [{"id": p.delivery_id, "error": p.error} for p in problems]
    _update_many(
        f"UPDATE {DELIVERY} d SET status = '{status}', last_error = v.error, attempts = d.attempts + 1, "  # noqa: S608
        f"{finished} FROM unnest(%(id)s::bigint[], %(error)s::text[]) AS v(id, error) "
        f"WHERE d.id = v.id AND d.id = ANY(%(id)s::bigint[]) AND d.{_MINE}",
        f"UPDATE {DELIVERY} SET status = '{status}', last_error = %(error)s, attempts = attempts + 1, "  # noqa: S608
        f"{finished} WHERE id = %(id)s AND {_MINE}",
        rows,
        shared,
    )


def _attempt_rows(outcomes: Outcomes) -> list[dict[str, Any]]:
    """Attempt rows for every hand-over that did not simply succeed (a sent row records its own)."""
    rows: list[dict[str, Any]] = []
    for problems, outcome in (
        (outcomes.retry, Outcome.TRANSIENT),
        (outcomes.failed, Outcome.REJECTED),
        (outcomes.in_doubt, Outcome.IN_DOUBT),
    ):
        rows += [
            {"delivery": p.delivery_id, "outcome": outcome, "status": p.status, "error": p.error, "pid": ""}
            for p in problems
        ]
    return rows


_ATTEMPT_COLUMNS = "(delivery_id, wave_id, at, outcome, provider_status, error, provider_message_id)"


def _record_attempts(outcomes: Outcomes, *, wave_id: int, now: datetime) -> None:
    rows = _attempt_rows(outcomes)
    if not rows:
        return
    columns = _ATTEMPT_COLUMNS
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"INSERT INTO {ATTEMPT} {columns} SELECT d, %(wave)s, %(now)s, o, s, e, p "  # noqa: S608
                "FROM unnest(%(delivery)s::bigint[], %(outcome)s::text[], %(status)s::int[], %(error)s::text[], "
                "%(pid)s::text[]) AS v(d, o, s, e, p)",
                {
                    **{key: [row[key] for row in rows] for key in rows[0]},
                    "wave": wave_id,
                    "now": now,
                },
            )
        else:
            cursor.executemany(
                f"INSERT INTO {ATTEMPT} {columns} VALUES "  # noqa: S608
                "(%(delivery)s, %(wave)s, %(now)s, %(outcome)s, %(status)s, %(error)s, %(pid)s)",
                [{**row, "wave": wave_id, "now": now} for row in rows],
            )
