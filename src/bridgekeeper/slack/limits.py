"""Slack's Web API rate limits: one table, read by the gateway (which paces its calls by it)
and by the emulator (which enforces it).

Tiers (docs.slack.dev/apis/web-api/rate-limits), as (calls per minute, burst):

- Tier 1 (1/min, 1): none of the methods bridgekeeper uses.
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

Limits apply per method and workspace, and for chat.postMessage per channel: `bucket_key`
names the bucket a call draws from.
"""

from __future__ import annotations

from typing import NamedTuple

TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}
DEFAULT_TIER = 3
PER_CHANNEL_METHODS = {"chat.postMessage"}
EPSILON = 1e-9  # a bucket this close to a whole token has one (float rounding after a wait)

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


class Limit(NamedTuple):
    """A token bucket: `burst` calls at once, refilled at `per_minute`."""

    per_minute: float
    burst: float

    @property
    def per_second(self) -> float:
        return self.per_minute / 60


SPECIAL_LIMITS: dict[str, Limit] = {
    "chat.postMessage": Limit(60, 3),
    "auth.test": Limit(600, 100),
}


def limit_for(method: str) -> Limit:
    """A method's limit (calls per minute, burst size)."""
    if method in SPECIAL_LIMITS:
        return SPECIAL_LIMITS[method]
    per_minute = TIER_PER_MINUTE[METHOD_TIERS.get(method, DEFAULT_TIER)]
    return Limit(per_minute, per_minute)


def bucket_key(method: str, channel: str) -> str:
    """The bucket a call draws from: the method's, or the method's in that channel."""
    return f"{method}#{channel}" if method in PER_CHANNEL_METHODS else method


def refilled(limit: Limit, tokens: float, updated_at: float, now: float) -> float:
    """Tokens in a bucket that held `tokens` at `updated_at`."""
    return min(limit.burst, tokens + max(0.0, now - updated_at) * limit.per_second)


def wait_for_token(
    limit: Limit, *, tokens: float, updated_at: float, held_until: float, now: float
) -> float:
    """Seconds until a bucket in this state has a token to give (0: it has one now)."""
    short = 1 - refilled(limit, tokens, updated_at, now)
    return max(0.0, held_until - now, short / limit.per_second if short > EPSILON else 0.0)
