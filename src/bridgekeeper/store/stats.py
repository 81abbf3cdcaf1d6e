"""What incident statistics and the console's dashboard read over a period: the incidents
declared in it, their alerts and timeline entries of a kind, and the alerts first seen in it.
Data functions take the session keyword-only."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bridgekeeper.store.models import Alert, Incident, TimelineEntry

# source, triage, the alert's disposition, its incident's, whether that is private, its id
AlertOutcome = tuple[str, str, str | None, str | None, bool | None, int | None]


async def declared_between(
    *, session: AsyncSession, since: datetime, until: datetime, in_order: bool = False
) -> list[Incident]:
    """`in_order`: by declaration time (else as the database returns them)."""
    query = select(Incident).where(Incident.declared_at >= since, Incident.declared_at <= until)
    if in_order:
        query = query.order_by(Incident.declared_at)
    return list(await session.scalars(query))


async def alerts_of(
    *, session: AsyncSession, incident_ids: Collection[int], in_order: bool = False
) -> list[Alert]:
    """The alerts of these incidents; `in_order`: first seen first."""
    query = select(Alert).where(Alert.incident_id.in_(incident_ids))
    if in_order:
        query = query.order_by(Alert.first_seen)
    return list(await session.scalars(query))


async def entries_of_kind(
    *, session: AsyncSession, incident_ids: Collection[int], kind: str
) -> list[TimelineEntry]:
    """These incidents' timeline entries of `kind`, by sequence number."""
    query = select(TimelineEntry).where(
        TimelineEntry.incident_id.in_(incident_ids), TimelineEntry.kind == kind
    )
    return list(await session.scalars(query.order_by(TimelineEntry.seq)))


async def entry_times(
    *, session: AsyncSession, incident_ids: Collection[int], kind: str
) -> list[tuple[int, datetime]]:
    """(incident id, at) of these incidents' timeline entries of `kind`, by sequence number."""
    query = select(TimelineEntry.incident_id, TimelineEntry.at).where(
        TimelineEntry.incident_id.in_(incident_ids), TimelineEntry.kind == kind
    )
    rows = await session.execute(query.order_by(TimelineEntry.seq))
    return [(incident_id, at) for incident_id, at in rows]


async def alert_outcomes(
    *, session: AsyncSession, since: datetime, until: datetime
) -> list[AlertOutcome]:
    """Per alert first seen in the period: its outcome (None for the incident's parts when it
    has none)."""
    query = (
        select(
            Alert.source,
            Alert.triage,
            Alert.disposition,
            Incident.disposition,
            Incident.private,
            Incident.id,
        )
        .outerjoin(Incident, Incident.id == Alert.incident_id)
        .where(Alert.first_seen >= since, Alert.first_seen <= until)
    )
    return [(a, b, c, d, e, f) for a, b, c, d, e, f in await session.execute(query)]
