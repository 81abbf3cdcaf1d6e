"""The scheduled_jobs table: one row per reminder, keyed like "update-reminder:42".

Services call `put()` inside their transaction with the time a reminder is due (or None to
cancel it), so what is scheduled always matches the state that was committed with it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bridgekeeper.store.models import ScheduledJob


async def get(session: AsyncSession, job_id: str) -> ScheduledJob | None:
    query = select(ScheduledJob).where(ScheduledJob.id == job_id)
    return await session.scalar(query.execution_options(populate_existing=True))


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
    if due_at is None:
        if job is not None and job.status == "pending":
            job.status = "cancelled"
        return job
    if job is None:
        job = ScheduledJob(id=job_id, kind=kind, incident_id=incident_id, due_at=due_at,
                           payload=payload or {}, status="pending")  # fmt: skip
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
