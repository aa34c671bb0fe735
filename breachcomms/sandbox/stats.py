"""Counters of what the sandbox did (requests by answer, webhooks posted, failed, abandoned)."""

from __future__ import annotations

import threading
from collections import Counter


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counter: Counter[str] = Counter()

    def add(self, name: str, amount: int = 1) -> None:
        with self.lock:
            self.counter[name] += amount

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return dict(sorted(self.counter.items()))

    def reset(self) -> None:
        with self.lock:
            self.counter.clear()
