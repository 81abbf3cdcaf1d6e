"""The scheduled_jobs table: one row per reminder, keyed like "update-reminder:42".

Services call `put()` inside their transaction with the time a reminder is due (or None to
cancel it), so what is scheduled always matches the state that was committed with it.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bridgekeeper.store.models import ScheduledJob


async def get(session: AsyncSession, job_id: str, *, lock: bool = False) -> ScheduledJob | None:
    """The job; with `lock`, its row held until the transaction ends (read after a scheduler's
    transaction that fired it has committed, not before)."""
    query = select(ScheduledJob).where(ScheduledJob.id == job_id)
    if lock:
        query = query.with_for_update()
    return await session.scalar(query.execution_options(populate_existing=True))


async def get_many(session: AsyncSession, job_ids: Collection[str]) -> dict[str, ScheduledJob]:
    """Several jobs in one read, by id (the ones that exist)."""
    query = select(ScheduledJob).where(ScheduledJob.id.in_(job_ids))
    found = await session.scalars(query.execution_options(populate_existing=True))
    return {job.id: job for job in found}


async def put(
    session: AsyncSession,
    *,
    job_id: str,
    kind: str,
    incident_id: int | None,
    due_at: datetime | None,
    payload: dict[str, Any] | None = None,
) -> ScheduledJob | None:
    """Schedule (or move) the job to `due_at`; None cancels a pending one."""
    job = await get(session, job_id)
    return await place(
        session,
        job,
        job_id=job_id,
        kind=kind,
        incident_id=incident_id,
        due_at=due_at,
        payload=payload,
    )


async def place(
    session: AsyncSession,
    job: ScheduledJob | None,
    *,
    job_id: str,
    kind: str,
    incident_id: int | None,
    due_at: datetime | None,
    payload: dict[str, Any] | None = None,
) -> ScheduledJob | None:
    """`put`, for a job this transaction has read already (`job`; None: there is none)."""
    if due_at is None:
        if job is not None and job.status == "pending":
            job.status = "cancelled"
        return job
    if job is None:
        job = ScheduledJob(
            id=job_id,
            kind=kind,
            incident_id=incident_id,
            due_at=due_at,
            payload=payload or {},
            status="pending",
        )
        session.add(job)
    else:
        job.due_at, job.status = due_at, "pending"
        if payload is not None:
            job.payload = payload
    await session.flush()
    return job


async def pending(session: AsyncSession, *, incident_id: int) -> list[ScheduledJob]:
    query = select(ScheduledJob).where(
        ScheduledJob.incident_id == incident_id, ScheduledJob.status == "pending"
    )
    return list(await session.scalars(query.order_by(ScheduledJob.due_at)))


async def due(
    session: AsyncSession, *, now: datetime, limit: int
) -> list[tuple[str, int | None, str, dict[str, Any]]]:
    """Pending jobs due by `now`, soonest first: id, incident, kind and payload."""
    job = ScheduledJob
    query = (
        select(job.id, job.incident_id, job.kind, job.payload)
        .where(job.status == "pending", job.due_at <= now)
        .order_by(job.due_at)
        .limit(limit)
    )
    return [(row[0], row[1], row[2], dict(row[3] or {})) for row in await session.execute(query)]


async def claim(session: AsyncSession, *, job_id: str, now: datetime) -> ScheduledJob | None:
    """Mark a due pending job running and return it; None when another process or pass fired
    it, or it was moved, meanwhile."""
    claimed = await session.execute(
        update(ScheduledJob)
        .where(
            ScheduledJob.id == job_id, ScheduledJob.status == "pending", ScheduledJob.due_at <= now
        )
        .values(status="running")
        .returning(ScheduledJob.id)
        .execution_options(synchronize_session=False)
    )
    if claimed.scalar_one_or_none() is None:
        return None
    return await get(session, job_id)


async def postpone(session: AsyncSession, *, job_id: str, when: datetime) -> None:
    """Move a pending job to `when` (a job whose handler failed)."""
    await session.execute(
        update(ScheduledJob)
        .where(ScheduledJob.id == job_id, ScheduledJob.status == "pending")
        .values(due_at=when)
        .execution_options(synchronize_session=False)
    )
