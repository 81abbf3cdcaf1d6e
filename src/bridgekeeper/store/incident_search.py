"""Incidents by filter, a page at a time: the web console's list and its API."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bridgekeeper.store.models import Alert, Incident


@dataclass(frozen=True)
class IncidentFilter:
    status: str | None = None  # "open" or "closed"
    severity: str | None = None  # "sev1" ...
    source: str | None = None  # incidents with an alert from this source
    text: str | None = None  # in the title, any case
    since: datetime | None = None  # declared at or after
    until: datetime | None = None  # declared before


def _filtered(query: Select[Any], wanted: IncidentFilter) -> Select[Any]:
    if wanted.status:
        query = query.where(Incident.status == wanted.status)
    if wanted.severity:
        query = query.where(Incident.severity == wanted.severity)
    if wanted.source:
        with_source = select(Alert.incident_id).where(Alert.source == wanted.source)
        query = query.where(Incident.id.in_(with_source))
    if wanted.text:
        pattern = wanted.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Incident.title.ilike(f"%{pattern}%", escape="\\"))
    if wanted.since:
        query = query.where(Incident.declared_at >= wanted.since)
    if wanted.until:
        query = query.where(Incident.declared_at < wanted.until)
    return query


def _visible(query: Select[Any], private_ids: Collection[int] | None) -> Select[Any]:
    """Public incidents, and of the private ones those in `private_ids` (None: all)."""
    if private_ids is None:
        return query
    return query.where(or_(Incident.private.is_(False), Incident.id.in_(list(private_ids))))


async def search(
    *,
    session: AsyncSession,
    wanted: IncidentFilter,
    private_ids: Collection[int] | None,
    offset: int,
    limit: int,
) -> tuple[list[Incident], int]:
    """One page of the matching incidents, newest first, and how many match in all."""
    query = _visible(_filtered(select(Incident), wanted), private_ids)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    page = query.order_by(Incident.number.desc()).offset(offset).limit(limit)
    return list(await session.scalars(page)), int(total or 0)


async def alerts_of(*, session: AsyncSession, incident_id: int) -> list[Alert]:
    query = select(Alert).where(Alert.incident_id == incident_id).order_by(Alert.first_seen)
    return list(await session.scalars(query))
