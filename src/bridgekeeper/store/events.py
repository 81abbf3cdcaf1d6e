"""Slack event ids already seen: Slack redelivers an event (same event_id) when it thinks an ack
was lost, and a redelivery must change nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from bridgekeeper.store.db import Database
from bridgekeeper.store.models import SeenEvent

# Slack retries an event three times within about an hour; a day is plenty.
KEEP_SEEN = timedelta(days=1)
PRUNE_EVERY = timedelta(minutes=1)  # the old ids are deleted this often, not at every event
_pruned: dict[str, datetime] = {}  # by database URL: when this process last deleted old ids


async def first_sighting(db: Database, *, event_id: str, now: datetime) -> bool:
    """Record `event_id`; False when it was recorded before (by this or another replica)."""
    try:
        async with db.transaction() as session:
            if await session.get(SeenEvent, event_id) is not None:
                return False
            if _prune_due(db.url, now):
                await session.execute(delete(SeenEvent).where(SeenEvent.seen_at < now - KEEP_SEEN))
            session.add(SeenEvent(event_id=event_id, seen_at=now))
    except IntegrityError:
        return False  # another replica recorded it at the same moment
    return True


def _prune_due(url: str, now: datetime) -> bool:
    """Whether to delete the old ids now: a scan of the whole table, at most once a minute."""
    last = _pruned.get(url)
    if last is not None and now - last < PRUNE_EVERY:
        return False
    _pruned[url] = now
    return True
