"""SQLite: writing transactions that queue commit together (store/group_commit.py), each in a
savepoint of its own: one that fails takes only its own work with it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event, select, update

from bridgekeeper.store.db import Database, after_commit
from bridgekeeper.store.models import Counter

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def sqlite_db(db_url: str) -> Any:
    if not db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL commits each transaction on its own")
    db = Database(db_url)
    yield db
    await db.dispose()


async def _add(db: Database, amount: int, seen: list[int], *, fail: bool = False) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(Counter).where(Counter.name == "incident").values(value=Counter.value + amount)
        )
        after_commit(session, lambda: seen.append(amount))
        if fail:
            raise ValueError(f"transaction {amount} fails")


async def _value(db: Database) -> int:
    async with db.sessions() as session:
        value = await session.scalar(select(Counter.value).where(Counter.name == "incident"))
    assert value is not None
    return value


async def test_queued_transactions_share_commits_and_a_failure_fails_only_itself(
    sqlite_db: Database,
) -> None:
    commits: list[str] = []
    engines = sqlite_db.engines
    for engine in engines:
        event.listen(engine, "commit", lambda conn: commits.append("commit"))
    seen: list[int] = []
    amounts = [1, 2, 4, 8, 16, 32, 64, 128]
    results = await asyncio.gather(
        *(_add(sqlite_db, a, seen, fail=a == 8) for a in amounts), return_exceptions=True
    )
    failed = [r for r in results if isinstance(r, BaseException)]
    assert [str(f) for f in failed] == ["transaction 8 fails"]
    assert await _value(sqlite_db) == sum(amounts) - 8  # the others' work is stored
    assert sorted(seen) == [a for a in amounts if a != 8]  # callbacks of committed work only
    assert 1 <= len(commits) < len(amounts) - 1  # fewer commits (and syncs) than transactions


async def test_a_short_transaction_is_not_kept_behind_an_open_group(sqlite_db: Database) -> None:
    seen: list[int] = []

    def add_ten(conn: Any) -> int:
        conn.execute(
            update(Counter).where(Counter.name == "incident").values(value=Counter.value + 10)
        )
        value = conn.scalar(select(Counter.value).where(Counter.name == "incident"))
        return int(value)

    mixed = [_add(sqlite_db, 1, seen) for _ in range(5)]
    mixed.insert(2, sqlite_db.run_in_transaction(add_ten))  # type: ignore[arg-type]
    mixed.append(sqlite_db.run_in_transaction(add_ten))  # type: ignore[arg-type]
    await asyncio.wait_for(asyncio.gather(*mixed), timeout=10)
    assert await _value(sqlite_db) == 25 and len(seen) == 5


async def test_a_transaction_cancelled_while_it_waits_for_the_lock_stores_nothing(
    sqlite_db: Database,
) -> None:
    seen: list[int] = []
    inside, release = asyncio.Event(), asyncio.Event()

    async def slow() -> None:
        async with sqlite_db.transaction() as session:
            await session.execute(
                update(Counter).where(Counter.name == "incident").values(value=Counter.value + 1)
            )
            inside.set()
            await release.wait()  # holds the write lock meanwhile

    first = asyncio.create_task(slow())
    await asyncio.wait_for(inside.wait(), timeout=10)
    waiting = asyncio.create_task(_add(sqlite_db, 2, seen))
    for _ in range(3):  # it starts, and queues for the lock
        await asyncio.sleep(0)
    waiting.cancel()
    release.set()
    await asyncio.wait_for(first, timeout=10)
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert await _value(sqlite_db) == 1 and seen == []
    await asyncio.wait_for(_add(sqlite_db, 4, seen), timeout=10)  # the lock is free again
    assert await _value(sqlite_db) == 5 and seen == [4]
