"""What the audit of timelines reads: the incidents, and each one's rows the report shows.
Data functions take the session keyword-only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from bridgekeeper.store.models import (
    EvidenceItem,
    Incident,
    Indicator,
    Report,
    RoleAssignment,
    Task,
    TimelineEntry,
)


@dataclass(frozen=True)
class IncidentRows:
    """An incident's rows, each kind in its order (then by id, so a repeated number shows)."""

    entries: list[TimelineEntry]
    roles: list[RoleAssignment]
    tasks: list[Task]
    reports: list[Report]
    evidence: list[EvidenceItem]
    indicators: list[Indicator]


async def incidents(*, session: AsyncSession, number: int | None = None) -> list[Incident]:
    """Every incident by number, or the one numbered `number` (none when there is none)."""
    query = select(Incident).order_by(Incident.number)
    if number is not None:
        query = query.where(Incident.number == number)
    return list((await session.execute(query)).scalars())


async def rows_of(*, session: AsyncSession, incident_id: int) -> IncidentRows:
    return IncidentRows(
        entries=list(await session.scalars(_rows(TimelineEntry, incident_id, TimelineEntry.seq))),
        roles=list(await session.scalars(_rows(RoleAssignment, incident_id, RoleAssignment.id))),
        tasks=list(await session.scalars(_rows(Task, incident_id, Task.number))),
        reports=list(await session.scalars(_rows(Report, incident_id, Report.version))),
        evidence=list(await session.scalars(_rows(EvidenceItem, incident_id, EvidenceItem.number))),
        indicators=list(await session.scalars(_rows(Indicator, incident_id, Indicator.number))),
    )


def _rows(model: Any, incident_id: int, order: Any) -> Select[Any]:
    return select(model).where(model.incident_id == incident_id).order_by(order, model.id)
