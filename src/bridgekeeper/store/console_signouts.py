"""When each person last signed out of the web console."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bridgekeeper.store.db import Database
from bridgekeeper.store.models import ConsoleSignout


async def last(db: Database, *, user: str) -> datetime | None:
    async with db.sessions() as session:
        query = select(ConsoleSignout.signed_out_at).where(ConsoleSignout.user_id == user)
        return await session.scalar(query)


async def record(db: Database, *, user: str, at: datetime) -> None:
    """`user` signed out at `at` (a later sign-out of theirs on another replica is kept)."""
    try:
        async with db.transaction() as session:
            if await session.get(ConsoleSignout, user) is None:
                session.add(ConsoleSignout(user_id=user, signed_out_at=at))
                return
            await _move_on(session, user, at)
    except IntegrityError:  # another replica recorded a sign-out of theirs first
        async with db.transaction() as session:
            await _move_on(session, user, at)


async def _move_on(session: AsyncSession, user: str, at: datetime) -> None:
    await session.execute(
        update(ConsoleSignout)
        .where(ConsoleSignout.user_id == user, ConsoleSignout.signed_out_at < at)
        .values(signed_out_at=at)
    )
