"""An incident's tasks: numbered, owned, done or open. Data functions take the session
keyword-only."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bridgekeeper.store.models import Task


async def get(*, session: AsyncSession, task_id: int) -> Task | None:
    return await session.get(Task, task_id)


async def last_number(*, session: AsyncSession, incident_id: int) -> int:
    """The highest task number of the incident (0 when it has none)."""
    query = select(func.max(Task.number)).where(Task.incident_id == incident_id)
    return int(await session.scalar(query) or 0)


async def numbered(*, session: AsyncSession, incident_id: int, number: int) -> Task | None:
    """The incident's task of this number."""
    query = select(Task).where(Task.incident_id == incident_id, Task.number == number)
    return await session.scalar(query)


async def of_incident(*, session: AsyncSession, incident_id: int) -> list[Task]:
    """By number."""
    query = select(Task).where(Task.incident_id == incident_id)
    return list(await session.scalars(query.order_by(Task.number)))


async def open_of_incident(*, session: AsyncSession, incident_id: int) -> list[Task]:
    """Those not done, by number."""
    query = select(Task).where(Task.incident_id == incident_id, Task.done_at.is_(None))
    return list(await session.scalars(query.order_by(Task.number)))


async def owners(*, session: AsyncSession, incident_id: int) -> list[str | None]:
    """Who owns a task of the incident (done or not), each once."""
    query = select(Task.owner).where(Task.incident_id == incident_id).distinct()
    return list(await session.scalars(query))


async def open_of_owner(
    *, session: AsyncSession, incident_ids: Collection[int], owner: str
) -> list[Task]:
    """The owner's tasks not done in these incidents, by incident and number."""
    query = select(Task).where(
        Task.incident_id.in_(incident_ids), Task.owner == owner, Task.done_at.is_(None)
    )
    return list(await session.scalars(query.order_by(Task.incident_id, Task.number)))
