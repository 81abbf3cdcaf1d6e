"""Transactions: readers never wait for a writer, and only transactions that queued Slack
effects wake the deliverer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import func, select

from bridgekeeper.effects import outbox
from bridgekeeper.store.db import Database
from bridgekeeper.store.models import Counter


async def test_a_read_is_answered_while_a_write_is_open(db_url: str) -> None:
    db = Database(db_url)
    try:
        async with db.transaction() as writing:
            counter = await writing.get(Counter, "incident")
            assert counter is not None
            counter.value += 1
            await writing.flush()
            async with db.sessions() as reading:  # SQLite: no wait for the write lock
                seen = await asyncio.wait_for(reading.get(Counter, "incident"), timeout=5)
            assert seen is not None and seen.value == 0  # not yet committed
    finally:
        await db.dispose()


async def test_only_a_transaction_that_queued_effects_wakes_the_deliverer(db_url: str) -> None:
    db = Database(db_url)
    woken: list[str] = []
    db.on_commit(lambda: woken.append("woken"))
    try:
        async with db.transaction() as session:
            await session.scalar(select(func.count()).select_from(Counter))
        assert woken == []
        async with db.transaction() as session:
            outbox.add(session=session, now=datetime.now(UTC), kind="post", payload={})
        assert woken == ["woken"]
    finally:
        await db.dispose()
