"""SQLite's writers take turns: a short transaction (an alert storm's counted repeats) waits
for at most one command's transaction, however many are queued, and never starves them."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import Connection, text

from bridgekeeper.store.db import Database
from tests.helpers import eventually


async def command(
    db: Database, order: list[str], name: str, hold: asyncio.Event | None = None
) -> None:
    """A command's transaction (through the ORM session), noted when it gets the database."""
    async with db.transaction() as session:
        order.append(name)
        await session.execute(text("SELECT 1"))
        if hold is not None:
            await hold.wait()


async def counted_repeats(db: Database, order: list[str], name: str) -> None:
    """A short transaction of Core statements, as the storm's counted repeats are."""

    def work(conn: Connection) -> None:
        order.append(name)
        conn.execute(text("SELECT 1"))

    await db.run_in_transaction(work)


async def test_a_short_transaction_waits_for_one_long_one_at_most(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    order: list[str] = []
    release = asyncio.Event()
    try:
        tasks = [asyncio.create_task(command(db, order, "held", release))]
        await eventually(lambda: order == ["held"])
        tasks += [asyncio.create_task(command(db, order, f"command {n}")) for n in (1, 2, 3)]
        await asyncio.sleep(0)
        tasks += [asyncio.create_task(counted_repeats(db, order, f"repeats {n}")) for n in (1, 2)]
        await asyncio.sleep(0)
        release.set()
        await asyncio.gather(*tasks)
    finally:
        await db.dispose()
    assert order == ["held", "repeats 1", "command 1", "repeats 2", "command 2", "command 3"]


async def test_a_writer_cancelled_while_waiting_takes_no_turn(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    order: list[str] = []
    release = asyncio.Event()
    try:
        held = asyncio.create_task(command(db, order, "held", release))
        await eventually(lambda: order == ["held"])
        gone = asyncio.create_task(command(db, order, "cancelled"))
        kept = asyncio.create_task(command(db, order, "kept"))
        await asyncio.sleep(0)
        gone.cancel()
        release.set()
        await asyncio.gather(held, kept)
        assert gone.cancelled()
        await command(db, order, "after")  # the database is free again
    finally:
        await db.dispose()
    assert order == ["held", "kept", "after"]
