"""Clients of the issue trackers follow-ups land in, over plain async HTTP (aiohttp).

The vendors' own libraries (jira, PyGithub, python-gitlab) are synchronous: they would block the
event loop the outbox worker delivers on, so each tracker here is a few documented REST calls.
Every client answers the same three questions (`Tracker`): find the issue carrying a marker
label, create one, and read one's state. Failures are the outbox's errors: `TrackerRetryable`
(5xx, timeouts, the tracker unreachable) is retried with backoff; `TrackerError` (bad
credentials, an unknown project) parks the effect for an operator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bridgekeeper.errors import SlackError, SlackRetryable


@dataclass(frozen=True)
class Draft:
    """An issue to create: `marker` is a label that finds it again."""

    title: str
    body: str
    labels: tuple[str, ...]
    marker: str
    assignee: str | None  # the tracker's account, when the owner has one mapped


@dataclass(frozen=True)
class Issue:
    key: str  # 42 (GitHub, GitLab), OPS-7 (Jira)
    url: str
    state: str  # the tracker's own word: open, closed, opened, Done...
    done: bool


class Tracker(Protocol):
    kind: str
    markup: str  # the issue body's: "md" (Markdown), "wiki" (Jira wiki markup) or "txt"

    async def find(self, marker: str) -> Issue | None: ...

    async def create(self, draft: Draft) -> Issue: ...

    async def get(self, key: str) -> Issue: ...


class TrackerError(SlackError):
    """The tracker refused for good (bad credentials, unknown project): an operator's turn."""


class TrackerRetryable(SlackRetryable):
    """The tracker may answer later (5xx, 429, a timeout, unreachable)."""
