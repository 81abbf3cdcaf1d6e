"""Reads of a long timeline that must not grow with it: an incident's latest entry of a kind
(its update reminder is moved from it on every severity change, new role or close) is found by
the index, however many entries came after it."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bridgekeeper.clock import SystemClock
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store.db import Database
from bridgekeeper.store.models import TimelineEntry
from tests.helpers import add_incident
from tests.sqlite_steps import counted


async def test_the_latest_update_is_found_without_reading_the_notes_after_it(db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("counts the steps of SQLite's virtual machine")
    now = SystemClock().now()
    db = Database(db_url)
    try:
        incident_id = await an_incident_with_an_update(db, now)
        await add_notes(db, incident_id, first=2, count=20, now=now)
        few = await latest_update_steps(db_url, incident_id)
        await add_notes(db, incident_id, first=22, count=5000, now=now)
        many = await latest_update_steps(db_url, incident_id)
    finally:
        await db.dispose()
    assert few[1] == many[1] == 1  # the update's seq
    assert many[0] < few[0] * 1.5, (few, many)


async def an_incident_with_an_update(db: Database, now: datetime) -> int:
    async with db.transaction() as session:
        incident_id = await add_incident(session, 904, "sev2")
    await add_entries(db, incident_id, [(1, "update_posted")], now)
    return incident_id


async def add_notes(
    db: Database, incident_id: int, *, first: int, count: int, now: datetime
) -> None:
    await add_entries(db, incident_id, [(seq, "note") for seq in range(first, first + count)], now)


async def add_entries(
    db: Database, incident_id: int, entries: list[tuple[int, str]], now: datetime
) -> None:
    """Entries as rows (their hashes are not what is read here)."""
    rows = [
        {
            "incident_id": incident_id,
            "seq": seq,
            "at": now,
            "recorded_at": now,
            "actor": "U0BOB",
            "kind": kind,
            "text": "",
            "data": {},
            "prev_hash": "0" * 64,
            "hash": f"{seq:064d}",
        }
        for seq, kind in entries
    ]
    async with db.transaction() as session:
        await session.execute(insert(TimelineEntry), rows)


async def latest_update_steps(db_url: str, incident_id: int) -> tuple[int, int | None]:
    """The latest update's seq, and the steps SQLite took to find it."""

    async def latest(session: AsyncSession) -> int | None:
        entry = await incident_store.last_entry(
            session=session, incident_id=incident_id, kind="update_posted"
        )
        return entry.seq if entry is not None else None

    return await counted(db_url, latest)
