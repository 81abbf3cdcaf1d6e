"""Pacing calls to Slack by its published limits, so the bot waits its turn instead of
drawing 429s.

Each call first takes a token from its bucket (slack/limits.py: the method's, or for
chat.postMessage the method's in that channel). With none left it waits until the bucket has
refilled one, so a burst of posts to one channel goes out at about one a second while posts to
other channels go at once. A 429's Retry-After holds the bucket for every caller.

Where the buckets live is the `Buckets` given: in this process (`MemoryBuckets`, for a single
delivering process), or in the database, shared by every replica (store/rate_buckets.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bridgekeeper import metrics
from bridgekeeper.errors import SlackRetryable
from bridgekeeper.slack.limits import Limit, bucket_key, limit_for, refilled, wait_for_token

MIN_SLEEP = 0.001  # never wake in a tight loop
# Refill a little slower than Slack does: its bucket and ours start a network round trip apart,
# so at exactly Slack's rate the first call after a burst could reach it a moment too early.
HEADROOM = 0.9
Sleep = Callable[[float], Awaitable[None]]


class Buckets(Protocol):
    async def take(self, key: str, limit: Limit) -> float:
        """Take a token: 0.0 when taken, else the seconds until the bucket has one."""
        ...

    async def hold(self, key: str, limit: Limit, seconds: float) -> None:
        """Slack answered 429: the bucket gives nothing for `seconds`, then one call."""
        ...


class RateLimiter:
    """`scale` multiplies every refill rate: for a Slack that allows more than it publishes
    (the emulator's sped-up limits)."""

    def __init__(
        self,
        buckets: Buckets | None = None,
        *,
        max_wait: float = 30.0,
        sleep: Sleep = asyncio.sleep,
        scale: float = 1.0,
    ) -> None:
        self.buckets = buckets if buckets is not None else MemoryBuckets()
        self.max_wait = max_wait
        self.scale = scale
        self._sleep = sleep

    async def acquire(self, method: str, channel: str = "") -> None:
        """Wait for a token to call `method` (in `channel`). A wait past `max_wait` (a long
        Retry-After) raises SlackRetryable instead, so the caller backs off and retries later."""
        key, limit = bucket_key(method, channel), self._limit(method)
        started = time.monotonic()
        while (wait := await self.buckets.take(key, limit)) > 0:
            if wait > self.max_wait:
                raise SlackRetryable(method, "ratelimited", wait)
            await self._sleep(max(wait, MIN_SLEEP))
        metrics.limiter_waited(method, time.monotonic() - started)

    async def hold(self, method: str, channel: str, seconds: float) -> None:
        """Honour a 429: every caller of this bucket waits `seconds`."""
        metrics.ratelimited(method, seconds)
        await self.buckets.hold(bucket_key(method, channel), self._limit(method), seconds)

    def _limit(self, method: str) -> Limit:
        per_minute, burst = limit_for(method)
        return Limit(per_minute * self.scale * HEADROOM, burst)


@dataclass
class _Bucket:
    tokens: float
    updated_at: float
    held_until: float = 0.0


class MemoryBuckets:
    """Buckets in this process: for a single delivering process (the embedded SQLite setup)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}

    async def take(self, key: str, limit: Limit) -> float:
        now = self.clock()
        bucket = self._buckets.setdefault(key, _Bucket(limit.burst, now))
        wait = wait_for_token(
            limit,
            tokens=bucket.tokens,
            updated_at=bucket.updated_at,
            held_until=bucket.held_until,
            now=now,
        )
        if wait == 0:
            bucket.tokens = refilled(limit, bucket.tokens, bucket.updated_at, now) - 1
            bucket.updated_at = now
        return wait

    async def hold(self, key: str, limit: Limit, seconds: float) -> None:
        now = self.clock()
        bucket = self._buckets.setdefault(key, _Bucket(limit.burst, now))
        bucket.held_until = max(bucket.held_until, now + seconds)
        bucket.tokens, bucket.updated_at = 1.0, bucket.held_until
