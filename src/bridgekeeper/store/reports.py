"""Queries for stored reports and the parts a long one continues in. Data functions take the
session keyword-only."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bridgekeeper.store.models import Report, ReportPart


async def add_part(*, session: AsyncSession, report_id: int, number: int, body: str) -> None:
    """Part `number` (1, 2, ...) of a report, written at once (no object kept in the session)."""
    await session.execute(insert(ReportPart).values(report_id=report_id, number=number, body=body))


async def text(*, session: AsyncSession, report_id: int) -> str | None:
    """A stored report's whole text, or None when there is no such report."""
    report = await session.get(Report, report_id)
    return None if report is None else report.text


async def later_parts(*, session: AsyncSession, report_id: int) -> AsyncIterator[str]:
    """A long report's parts after its first (`Report.body`), in order, read one at a time."""
    query = select(ReportPart.body).where(ReportPart.report_id == report_id)
    async for body in await session.stream_scalars(query.order_by(ReportPart.number)):
        yield body


async def versions(*, session: AsyncSession, incident_id: int) -> list[int]:
    """The incident's report versions, lowest first."""
    query = select(Report.version).where(Report.incident_id == incident_id).distinct()
    return sorted(await session.scalars(query))
