"""Who is in an incident's bridge channel, as far as bridgekeeper knows."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bridgekeeper.store.models import IncidentMember


async def is_member(*, session: AsyncSession, incident_id: int, user: str) -> bool:
    return await session.get(IncidentMember, (incident_id, user)) is not None


async def add(
    *, session: AsyncSession, incident_id: int, users: Iterable[str], at: datetime
) -> None:
    for user in dict.fromkeys(users):
        if await session.get(IncidentMember, (incident_id, user)) is None:
            session.add(IncidentMember(incident_id=incident_id, user_id=user, since=at))
    await session.flush()


async def remove(*, session: AsyncSession, incident_id: int, user: str) -> None:
    await session.execute(
        delete(IncidentMember).where(
            IncidentMember.incident_id == incident_id, IncidentMember.user_id == user
        )
    )


async def incidents_of(*, session: AsyncSession, user: str) -> set[int]:
    query = select(IncidentMember.incident_id).where(IncidentMember.user_id == user)
    return set((await session.execute(query)).scalars())


async def of_incident(*, session: AsyncSession, incident_id: int) -> set[str]:
    query = select(IncidentMember.user_id).where(IncidentMember.incident_id == incident_id)
    return set((await session.execute(query)).scalars())
