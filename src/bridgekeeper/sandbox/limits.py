"""Slack's rate limits enforced as token buckets, plus tracking of callers that ignore
Retry-After. The limits themselves are bridgekeeper's own table (slack/limits.py), the one the
gateway paces its calls by.

The refill rate is multiplied by `scale`, so scale=60 makes a Slack minute last one second.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from bridgekeeper.slack.limits import bucket_key, limit_for


@dataclass
class Bucket:
    capacity: float
    per_second: float
    tokens: float
    updated: float

    def take(self, now: float) -> int | None:
        """Consume one token; None if allowed, else the Retry-After in whole seconds."""
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.per_second)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return max(1, math.ceil((1 - self.tokens) / self.per_second))


class RateLimiter:
    def __init__(self, clock: Callable[[], float], scale: float) -> None:
        self.clock = clock
        self.scale = scale
        self.overrides: dict[str, tuple[float, float]] = {}
        self.buckets: dict[str, Bucket] = {}
        self.penalties: dict[str, float] = {}

    @staticmethod
    def key(method: str, channel: str) -> str:
        return bucket_key(method, channel)

    def take(self, method: str, channel: str) -> int | None:
        """None when the call is within its limit, else Retry-After seconds."""
        key = self.key(method, channel)
        bucket = self.buckets.get(key)
        if bucket is None:
            per_minute, burst = self.overrides.get(method) or limit_for(method)
            per_second = per_minute / 60 * self.scale
            bucket = Bucket(burst, per_second, burst, self.clock())
            self.buckets[key] = bucket
        return bucket.take(self.clock())

    def penalty_left(self, method: str, channel: str) -> float:
        """Seconds left in the Retry-After window of the last 429 for this method (or channel)."""
        now = self.clock()
        until = max(
            self.penalties.get(method, 0.0),
            self.penalties.get(self.key(method, channel), 0.0),
        )
        return max(0.0, until - now)

    def note_429(self, key: str, retry_after: int) -> None:
        self.penalties[key] = max(self.penalties.get(key, 0.0), self.clock() + retry_after)
