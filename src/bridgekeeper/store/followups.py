"""Follow-ups: the tracker issue of a follow-up task, found by its task, its marker label or
its issue key. Data functions take the session keyword-only."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bridgekeeper.store.models import Followup, Task


async def listed(*, session: AsyncSession, incident_id: int) -> list[tuple[Task, Followup | None]]:
    """The incident's follow-up tasks by number, each with its issue when one is queued."""
    rows = await session.execute(
        select(Task, Followup)
        .outerjoin(Followup, Followup.task_id == Task.id)
        .where(Task.incident_id == incident_id, Task.followup.is_(True))
        .order_by(Task.number)
    )
    return [(row[0], row[1]) for row in rows]


async def waiting(*, session: AsyncSession, incident_id: int) -> list[Task]:
    """The incident's follow-up tasks with no issue queued yet, by number."""
    query = (
        select(Task)
        .outerjoin(Followup, Followup.task_id == Task.id)
        .where(Task.incident_id == incident_id, Task.followup.is_(True), Followup.id.is_(None))
        .order_by(Task.number)
    )
    return list(await session.scalars(query))


async def of_task(*, session: AsyncSession, task_id: int, lock: bool = False) -> Followup | None:
    query = select(Followup).where(Followup.task_id == task_id)
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def by_marker(*, session: AsyncSession, marker: str, lock: bool = False) -> Followup | None:
    query = select(Followup).where(Followup.marker == marker)
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def by_key(
    *, session: AsyncSession, tracker: str, key: str, lock: bool = False
) -> Followup | None:
    """The follow-up whose issue in `tracker` this is."""
    query = select(Followup).where(Followup.tracker == tracker, Followup.key == key)
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def open_keys(*, session: AsyncSession, tracker: str) -> list[str]:
    """The keys of the issues in `tracker` not done yet."""
    query = select(Followup.key).where(
        Followup.tracker == tracker, Followup.key.is_not(None), Followup.done.is_(False)
    )
    return [key for key in await session.scalars(query) if key is not None]
