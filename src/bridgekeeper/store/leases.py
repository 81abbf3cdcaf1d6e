"""A lease in the database: one holder at a time, taken over when it stops renewing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from bridgekeeper.store.db import Database
from bridgekeeper.store.models import Lease


async def acquire(db: Database, *, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease; True when `holder` has it until now + ttl."""
    try:
        async with db.transaction() as session:
            current = await session.scalar(select(Lease).where(Lease.name == name))
            if current is None:
                session.add(Lease(name=name, holder=holder, expires_at=now + ttl))
                return True
            result = await session.execute(
                update(Lease)
                .where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at < now))
                .values(holder=holder, expires_at=now + ttl)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]
    except IntegrityError:
        return False  # another replica inserted it first


async def release(db: Database, *, name: str, holder: str) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(Lease)
            .where(Lease.name == name, Lease.holder == holder)
            .values(expires_at=datetime(1970, 1, 1, tzinfo=UTC))
        )
