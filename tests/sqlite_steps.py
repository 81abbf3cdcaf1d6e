"""How much work SQLite did for a read: the steps of its virtual machine, counted by a
progress handler. For reads that must not grow with what they pass over (a long timeline, an
outbox backlog), where a timing on a shared machine could not tell."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

T = TypeVar("T")


async def counted(db_url: str, read: Callable[[AsyncSession], Awaitable[T]]) -> tuple[int, T]:
    """`read`'s result on a session of its own, and the steps SQLite took (in tens)."""
    engine = create_async_engine(db_url)
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0  # go on

    try:
        async with AsyncSession(engine) as session:
            raw = await (await session.connection()).get_raw_connection()
            await raw.driver_connection.set_progress_handler(count, 10)
            found = await read(session)
    finally:
        await engine.dispose()
    return steps[0], found
