"""The evidence register: an incident's items, numbered. Data functions take the session
keyword-only."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bridgekeeper.store.models import EvidenceItem


async def last_number(*, session: AsyncSession, incident_id: int) -> int:
    """The highest item number of the incident (0 when it has none)."""
    query = select(func.max(EvidenceItem.number)).where(EvidenceItem.incident_id == incident_id)
    return int(await session.scalar(query) or 0)


async def get(*, session: AsyncSession, incident_id: int, number: int) -> EvidenceItem | None:
    query = select(EvidenceItem).where(
        EvidenceItem.incident_id == incident_id, EvidenceItem.number == number
    )
    return await session.scalar(query)


async def of_incident(*, session: AsyncSession, incident_id: int) -> list[EvidenceItem]:
    """By number."""
    query = select(EvidenceItem).where(EvidenceItem.incident_id == incident_id)
    return list(await session.scalars(query.order_by(EvidenceItem.number)))
