"""Slack rate-limit tiers as token buckets, plus tracking of callers that ignore Retry-After.

Tier table (FACTS.md §6.1 and §6.3, docs.slack.dev/reference/methods/*),
as (calls per minute, bucket size):

- Tier 1 (1/min, 1): none of the emulated methods.
- Tier 2 (20/min, 20): conversations.create, setTopic, setPurpose, archive, unarchive, list;
  pins.add, pins.remove, pins.list; bookmarks.add, bookmarks.list; users.list; usergroups.list;
  usergroups.users.list.
- Tier 3 (50/min, 50): conversations.invite, info, history, replies, join, members, open;
  chat.update, chat.delete; reactions.add, remove, get; users.lookupByEmail;
  apps.connections.open; and any method not listed here.
- Tier 4 (100/min, 100): chat.postEphemeral, chat.getPermalink, users.info, views.open, update,
  push, publish; files.getUploadURLExternal, files.completeUploadExternal; api.test.
- Special: chat.postMessage (60/min, 3) per channel, i.e. about 1 per second with short bursts;
  auth.test (600/min, 100).

The refill rate is multiplied by `scale`, so scale=60 makes a Slack minute last one second.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}
DEFAULT_TIER = 3
PER_CHANNEL_METHODS = {"chat.postMessage"}

METHOD_TIERS: dict[str, int] = {
    **dict.fromkeys(
        [
            "conversations.create",
            "conversations.setTopic",
            "conversations.setPurpose",
            "conversations.archive",
            "conversations.unarchive",
            "conversations.list",
            "pins.add",
            "pins.remove",
            "pins.list",
            "bookmarks.add",
            "bookmarks.list",
            "users.list",
            "usergroups.list",
            "usergroups.users.list",
        ],
        2,
    ),
    **dict.fromkeys(
        [
            "chat.postEphemeral",
            "chat.getPermalink",
            "users.info",
            "views.open",
            "views.update",
            "views.push",
            "views.publish",
            "files.getUploadURLExternal",
            "files.completeUploadExternal",
            "api.test",
        ],
        4,
    ),
}

# method -> (per minute, bucket size)
SPECIAL_LIMITS: dict[str, tuple[float, float]] = {
    "chat.postMessage": (60, 3),
    "auth.test": (600, 100),
}


def limit_for(method: str) -> tuple[float, float]:
    """(calls per minute, burst size) for a method."""
    if method in SPECIAL_LIMITS:
        return SPECIAL_LIMITS[method]
    per_minute = TIER_PER_MINUTE[METHOD_TIERS.get(method, DEFAULT_TIER)]
    return per_minute, per_minute


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
        return f"{method}#{channel}" if method in PER_CHANNEL_METHODS else method

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
