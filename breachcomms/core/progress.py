"""Progress of long operations, printed on a terminal or stored for a page to poll."""

from __future__ import annotations

import sys
import time
from typing import Protocol, TextIO


class ProgressReporter(Protocol):
    def __call__(self, done: int, total: int | None, note: str = "") -> None: ...


def null_progress(done: int, total: int | None, note: str = "") -> None:
    """Report nothing."""


class TerminalProgress:
    """One self-overwriting line on a terminal, at most a few times a second."""

    def __init__(self, label: str, unit: str = "rows", stream: TextIO | None = None) -> None:
        self.label = label
        self.unit = unit
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self._last = 0.0

    def __call__(self, done: int, total: int | None, note: str = "") -> None:
        now = time.monotonic()
        if now - self._last < 0.25 and (total is None or done < total):
            return
        self._last = now
        elapsed = max(now - self.started, 1e-9)
        rate = done / elapsed
        share = f" {done / total:6.1%}" if total else ""
        line = f"\r{self.label}:{share} {done:,} {self.unit} ({rate:,.0f}/s) {note}"
        self.stream.write(line[:120].ljust(80))
        self.stream.flush()

    def finish(self) -> None:
        self.stream.write("\n")
        self.stream.flush()
