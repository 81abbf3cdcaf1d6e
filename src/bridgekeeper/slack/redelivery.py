"""A Bolt global middleware: an Events API delivery whose event_id was already seen is acked and
skipped, over HTTP (X-Slack-Retry-Num) and Socket Mode alike. It runs after Bolt has verified the
request's signature, so only genuine Slack requests are recorded."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.response import BoltResponse

from bridgekeeper.clock import Clock
from bridgekeeper.store import events
from bridgekeeper.store.db import Database

log = logging.getLogger(__name__)


class SkipRedelivered:
    def __init__(self, *, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def middleware(
        self, body: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if not isinstance(event_id, str) or not event_id:
            await next()
            return None
        if await events.first_sighting(self.db, event_id=event_id, now=self.clock.now()):
            await next()
            return None
        log.info("event %s delivered again: acknowledged, not handled again", event_id)
        return BoltResponse(status=200, body="")
