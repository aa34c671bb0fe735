"""How much write-ahead log PostgreSQL wrote during a benchmark (all databases of the server)."""

from __future__ import annotations

from django.db import connection


class WalMeter:
    """Started on creation; ``megabytes()`` is the WAL written since (None where the database is not PostgreSQL)."""

    def __init__(self) -> None:
        self.start: str | None = None
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_current_wal_lsn()")
                self.start = str(cursor.fetchone()[0])

    def megabytes(self) -> float | None:
        if self.start is None:
            return None
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", [self.start])
            return float(cursor.fetchone()[0]) / (1024 * 1024)
