"""Regulatory notification clocks: an incident's, one of them by regime, and those of several
incidents (the dashboard)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bridgekeeper.store.models import NotificationClock


async def of_incident(*, session: AsyncSession, incident_id: int) -> list[NotificationClock]:
    """In the order they were started."""
    query = select(NotificationClock).where(NotificationClock.incident_id == incident_id)
    return list(await session.scalars(query.order_by(NotificationClock.id)))


async def find(*, session: AsyncSession, incident_id: int, regime: str) -> NotificationClock | None:
    query = select(NotificationClock).where(
        NotificationClock.incident_id == incident_id, NotificationClock.regime == regime
    )
    return await session.scalar(query)


async def of_incidents(
    *, session: AsyncSession, incident_ids: Sequence[int]
) -> list[NotificationClock]:
    query = select(NotificationClock).where(NotificationClock.incident_id.in_(incident_ids))
    return list(await session.scalars(query))
