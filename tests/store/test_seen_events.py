"""Slack's event ids: a redelivery is recognised, and ids older than a day are let go (in one
sweep at most once a minute, not a scan of the table at every event)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bridgekeeper.store.db import Database
from bridgekeeper.store.events import first_sighting
from bridgekeeper.store.models import SeenEvent


async def test_a_redelivery_is_seen_and_a_day_old_id_is_let_go(db_url: str) -> None:
    db = Database(db_url)
    start = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    try:
        assert await first_sighting(db, event_id="Ev1", now=start)
        assert not await first_sighting(db, event_id="Ev1", now=start + timedelta(minutes=5))
        later = start + timedelta(days=2)
        assert await first_sighting(db, event_id="Ev2", now=later)
        async with db.sessions() as session:
            assert await session.get(SeenEvent, "Ev1") is None  # swept
            assert await session.get(SeenEvent, "Ev2") is not None
    finally:
        await db.dispose()
