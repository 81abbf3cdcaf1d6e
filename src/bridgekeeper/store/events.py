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


async def first_sighting(db: Database, *, event_id: str, now: datetime) -> bool:
    """Record `event_id`; False when it was recorded before (by this or another replica)."""
    try:
        async with db.transaction() as session:
            if await session.get(SeenEvent, event_id) is not None:
                return False
            await session.execute(delete(SeenEvent).where(SeenEvent.seen_at < now - KEEP_SEEN))
            session.add(SeenEvent(event_id=event_id, seen_at=now))
    except IntegrityError:
        return False  # another replica recorded it at the same moment
    return True
