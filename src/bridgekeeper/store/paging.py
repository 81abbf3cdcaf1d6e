"""Pages: one row per page of a team or a person for an incident, as it stands now (its level,
who was paged, who acknowledged); each step is also on the incident's timeline."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bridgekeeper.store.tables.pages import Page

TRIGGERED = "triggered"
ACKNOWLEDGED = "acknowledged"
RESOLVED = "resolved"
EXHAUSTED = "exhausted"


async def get(session: AsyncSession, page_id: int, *, lock: bool = False) -> Page | None:
    query = select(Page).where(Page.id == page_id).execution_options(populate_existing=True)
    return await session.scalar(query.with_for_update() if lock else query)


async def of_incident(session: AsyncSession, incident_id: int) -> list[Page]:
    query = select(Page).where(Page.incident_id == incident_id).order_by(Page.id)
    return list(await session.scalars(query))


async def count(session: AsyncSession, incident_id: int) -> int:
    """How many pages the incident has had."""
    query = select(func.count()).select_from(Page).where(Page.incident_id == incident_id)
    return int(await session.scalar(query) or 0)
