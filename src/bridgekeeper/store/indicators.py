"""Indicators of compromise of an incident, numbered. Data functions take the session
keyword-only."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bridgekeeper.store.models import Indicator


async def with_values(
    *, session: AsyncSession, incident_id: int, values: Collection[str]
) -> list[Indicator]:
    """The incident's indicators whatever their type whose value is one of these."""
    query = select(Indicator).where(
        Indicator.incident_id == incident_id, Indicator.value.in_(values)
    )
    return list(await session.scalars(query))


async def last_number(*, session: AsyncSession, incident_id: int) -> int:
    """The highest indicator number of the incident (0 when it has none)."""
    query = select(func.max(Indicator.number)).where(Indicator.incident_id == incident_id)
    return int(await session.scalar(query) or 0)


async def get(*, session: AsyncSession, incident_id: int, number: int) -> Indicator | None:
    query = select(Indicator).where(
        Indicator.incident_id == incident_id, Indicator.number == number
    )
    return await session.scalar(query)


async def of_incident(*, session: AsyncSession, incident_id: int) -> list[Indicator]:
    """By number."""
    query = select(Indicator).where(Indicator.incident_id == incident_id)
    return list(await session.scalars(query.order_by(Indicator.number)))


async def confirmed(*, session: AsyncSession, incident_id: int) -> list[Indicator]:
    """Those a responder confirmed, by number."""
    query = select(Indicator).where(
        Indicator.incident_id == incident_id, Indicator.status == "confirmed"
    )
    return list(await session.scalars(query.order_by(Indicator.number)))
