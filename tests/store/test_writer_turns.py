"""SQLite's writers take turns: short transactions (an alert storm's counted repeats) and
commands' transactions share the writer's time, neither kind starving the other."""

from __future__ import annotations

import asyncio
from asyncio import Event
from pathlib import Path

from sqlalchemy import Connection, text

from bridgekeeper.store.db import Database
from bridgekeeper.store.turns import CREDIT, LONG, SHORT, WriterTurns
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


class Turns:
    """Writers of both kinds on a WriterTurns whose clock moves only while one writes."""

    def __init__(self) -> None:
        self.now = 0.0
        self.turns = WriterTurns(clock=lambda: self.now)
        self.order: list[str] = []

    async def write(self, kind: int, name: str, seconds: float, hold: Event | None = None) -> None:
        async with self.turns.slot(kind):
            self.order.append(name)
            if hold is not None:
                await hold.wait()
            self.now += seconds


async def test_short_transactions_get_as_much_of_the_writer_as_the_long_one_had() -> None:
    turns, release = Turns(), asyncio.Event()
    writers = [asyncio.create_task(turns.write(LONG, "held", 0.010, release))]
    await eventually(lambda: turns.order == ["held"])
    writers += [asyncio.create_task(turns.write(LONG, f"command {n}", 0.010)) for n in (1, 2)]
    writers += [asyncio.create_task(turns.write(SHORT, f"repeats {n}", 0.003)) for n in range(5)]
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(*writers)
    # 10 ms of a command's transaction, then 4 short ones (12 ms), then the next command...
    assert turns.order == [
        "held",
        *(f"repeats {n}" for n in range(4)),
        "command 1",
        "repeats 4",
        "command 2",
    ]


async def test_turns_longer_than_the_credit_are_shared_out_by_time_all_the_same() -> None:
    turns, release = Turns(), asyncio.Event()
    writers = [asyncio.create_task(turns.write(LONG, "held", 0.200, release))]
    await eventually(lambda: turns.order == ["held"])
    writers += [asyncio.create_task(turns.write(LONG, f"command {n}", 0.200)) for n in (1, 2)]
    writers += [asyncio.create_task(turns.write(SHORT, "repeats", 0.003)) for _ in range(100)]
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(*writers)
    # 200 ms of a command's transaction, then 67 short ones (201 ms), then the next command
    assert turns.order.index("command 1") == 1 + 67
    assert turns.order[-1] == "command 2"


async def test_a_kind_that_was_idle_is_owed_a_short_while_of_turns_at_most() -> None:
    turns = Turns()
    await turns.write(LONG, "alone for a second", 1.0)
    release = asyncio.Event()
    writers = [asyncio.create_task(turns.write(LONG, "held", 0.0, release))]
    await eventually(lambda: "held" in turns.order)
    writers.append(asyncio.create_task(turns.write(LONG, "command", 0.010)))
    writers += [asyncio.create_task(turns.write(SHORT, f"repeats {n}", 0.020)) for n in range(5)]
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(*writers)
    # the long kind's second is forgotten but for CREDIT (50 ms): 3 short turns of 20 ms
    assert CREDIT == 0.05
    assert turns.order[2:] == [
        "repeats 0",
        "repeats 1",
        "repeats 2",
        "command",
        "repeats 3",
        "repeats 4",
    ]


async def test_a_writer_turn_holds_the_database_across_its_transactions(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    order: list[str] = []
    release = asyncio.Event()
    try:

        async def intake() -> None:
            async with db.writer_turn():
                order.append("turn")
                await counted_repeats(db, order, "repeats")  # in the turn: no second wait
                await asyncio.create_task(command(db, order, "started in the turn"))
                await release.wait()
            order.append("turn over")

        held = asyncio.create_task(intake())
        await eventually(lambda: "started in the turn" in order)
        other = asyncio.create_task(command(db, order, "another task's"))
        await asyncio.sleep(0)
        release.set()
        await asyncio.gather(held, other)
    finally:
        await db.dispose()
    assert order == ["turn", "repeats", "started in the turn", "turn over", "another task's"]


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
