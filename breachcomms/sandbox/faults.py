"""Injected provider failures: "fail the next N requests", random error rates and a request-rate limit."""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass

from breachcomms.sandbox.config import ChannelConfig


@dataclass(frozen=True)
class Fault:
    """Answer the request with ``status``; a 429 announces when the limit resets."""

    status: int
    limit: int = 0
    reset_at: float = 0.0

    @property
    def retry_after(self) -> float:
        return max(0.0, self.reset_at - time.time())

    def rate_limit_headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(math.ceil(self.reset_at)),
            "Retry-After": str(math.ceil(self.retry_after)),
        }


class FaultInjector:
    """Decides, per request of one provider API, whether it fails and how."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.lock = threading.Lock()
        self.window_start = 0.0
        self.window_count = 0

    def reset(self) -> None:
        with self.lock:
            self.window_start, self.window_count = 0.0, 0

    def next_fault(self, channel: ChannelConfig) -> Fault | None:
        now = time.time()
        with self.lock:
            if channel.fail_next:
                return self._fault(channel.fail_next.popleft(), channel, now)
            if channel.rate_limit:
                if now - self.window_start >= channel.rate_window:
                    self.window_start, self.window_count = now, 0
                self.window_count += 1
                if self.window_count > channel.rate_limit:
                    return Fault(429, channel.rate_limit, self.window_start + channel.rate_window)
            if channel.error_rates:
                draw = self.rng.random()
                for status, rate in channel.error_rates.items():
                    if draw < rate:
                        return self._fault(status, channel, now)
                    draw -= rate
        return None

    @staticmethod
    def _fault(status: int, channel: ChannelConfig, now: float) -> Fault:
        return Fault(status, channel.rate_limit or 600, now + channel.retry_after)
