"""Queries for stored reports and the parts a long one continues in. Data functions take the
session keyword-only."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import raiseload

from bridgekeeper.store.models import (
    Alert,
    EvidenceItem,
    Followup,
    Report,
    ReportPart,
    RoleAssignment,
    Task,
    TimelineEntry,
)

FINISHED = Report.sha256 != ""  # a report a close reserved is shown once compiled
UNFINISHED = Report.sha256 == ""


class TakenOver(Exception):
    """A reserved report was taken over by another process (its compile seemed stopped)."""


async def add_part(
    *,
    session: AsyncSession,
    report_id: int,
    number: int,
    body: bytes | bytearray,
    reserved_at: datetime,
) -> None:
    """Part `number` of a report, its UTF-8 written at once: part 0 into the report row itself
    (`Report.body`), the later ones as `report_parts` rows. No object is kept in the session.
    Only while the report is still unfinished and reserved at `reserved_at` (else TakenOver)."""
    text = body.decode()
    owned = _reserved(report_id, reserved_at)
    if number == 0:
        query = update(Report).where(*owned).values(body=text)
        written = await session.execute(query, execution_options={"synchronize_session": False})
        if written.rowcount != 1:  # type: ignore[attr-defined]
            raise TakenOver(report_id)
        return
    if await session.scalar(select(Report.id).where(*owned).with_for_update()) is None:
        raise TakenOver(report_id)
    await session.execute(insert(ReportPart).values(report_id=report_id, number=number, body=text))


def _reserved(report_id: int, reserved_at: datetime) -> tuple[ColumnElement[bool], ...]:
    """The report row, while still unfinished and reserved at `reserved_at`."""
    return (Report.id == report_id, UNFINISHED, Report.created_at == reserved_at)


async def unfinished(*, session: AsyncSession, before: datetime) -> list[tuple[int, int]]:
    """(incident id, version) of the reports a close reserved before `before` and no one
    finished: the process compiling them stopped, or their compile failed."""
    query = select(Report.incident_id, Report.version).where(UNFINISHED, Report.created_at < before)
    return sorted({(row[0], row[1]) for row in await session.execute(query)})


_CLOSE_TIME = func.coalesce(Report.closed_at, Report.created_at)  # rows from before 0018


async def oldest_unfinished(*, session: AsyncSession) -> datetime | None:
    """The time of the close of the oldest report still unfinished (a takeover, a reopen or a
    later close does not change it)."""
    return await session.scalar(select(func.min(_CLOSE_TIME)).where(UNFINISHED))


async def as_closed(*, session: AsyncSession, report_id: int | None) -> dict[str, Any] | None:
    """The incident's facts as its close left them, kept with the report it reserved."""
    return await session.scalar(select(Report.closed_facts).where(Report.id == report_id))


async def claim_unfinished(
    *, session: AsyncSession, incident_id: int, version: int, before: datetime, now: datetime
) -> dict[str, int]:
    """Take over compiling a report whose close stopped or failed before it was done: its rows
    (id by format) made new and emptied, their parts deleted. None taken if another process
    took them first."""
    claimed = await session.execute(
        update(Report)
        .where(
            Report.incident_id == incident_id,
            Report.version == version,
            UNFINISHED,
            Report.created_at < before,
        )
        .values(created_at=now, body="", closed_at=_CLOSE_TIME)
        .returning(Report.format, Report.id),
        execution_options={"synchronize_session": False},
    )
    ids = {fmt: report_id for fmt, report_id in claimed}
    if ids:
        await session.execute(delete(ReportPart).where(ReportPart.report_id.in_(ids.values())))
    return ids


async def compiled_upto(*, session: AsyncSession, report_id: int | None) -> int:
    """The seq of the timeline entry a report was compiled at (its `timeline_head`)."""
    query = (
        select(TimelineEntry.seq)
        .join(
            Report,
            (Report.incident_id == TimelineEntry.incident_id)
            & (Report.timeline_head == TimelineEntry.hash),
        )
        .where(Report.id == report_id)
    )
    return int(await session.scalar(query) or 0)


async def finish(
    *, session: AsyncSession, digests: Mapping[int, str], reserved_at: datetime
) -> bool:
    """Record reserved reports' sha256s (report id: digest); False if any was taken over or
    finished by another process."""
    done = 0
    for report_id, digest in digests.items():
        result = await session.execute(
            update(Report).where(*_reserved(report_id, reserved_at)).values(sha256=digest),
            execution_options={"synchronize_session": False},
        )
        done += result.rowcount  # type: ignore[attr-defined]
    return done == len(digests)


async def parts(*, session: AsyncSession, report_id: int, first: int = 0) -> AsyncIterator[str]:
    """A stored report's parts from `first` on (0 is `Report.body`), in order, read one at a
    time: never two in memory at once. None at all when there is no such report."""
    number = first
    while True:
        if number == 0:
            body = await session.scalar(select(Report.body).where(Report.id == report_id))
        else:
            body = await session.scalar(
                select(ReportPart.body).where(
                    ReportPart.report_id == report_id, ReportPart.number == number
                )
            )
        if body is None:
            return
        yield body
        del body
        number += 1


async def versions(*, session: AsyncSession, incident_id: int) -> list[int]:
    """The incident's finished report versions, lowest first."""
    query = select(Report.version).where(Report.incident_id == incident_id, FINISHED).distinct()
    return sorted(await session.scalars(query))


async def last_version(*, session: AsyncSession, incident_id: int) -> int:
    """The incident's latest report version (0 before the first)."""
    query = select(func.max(Report.version)).where(Report.incident_id == incident_id)
    return int(await session.scalar(query) or 0)


async def compiling(*, session: AsyncSession, incident_id: int) -> int | None:
    """The incident's latest report version if a close reserved it and it is not finished."""
    latest_version = await last_version(session=session, incident_id=incident_id)
    query = select(Report.id).where(
        Report.incident_id == incident_id, Report.version == latest_version, UNFINISHED
    )
    return latest_version if await session.scalar(query.limit(1)) is not None else None


async def any_unfinished(*, session: AsyncSession, incident_id: int) -> bool:
    """Whether any of the incident's report versions is reserved and not finished."""
    query = select(Report.id).where(Report.incident_id == incident_id, UNFINISHED)
    return await session.scalar(query.limit(1)) is not None


async def latest(
    *, session: AsyncSession, incident_id: int, fmt: str, version: int | None, whole: bool
) -> Report | None:
    """The stored report in this format: the given version, else the latest; `whole=False`
    leaves its later parts unloaded (reading them raises)."""
    query = select(Report).where(Report.incident_id == incident_id, Report.format == fmt, FINISHED)
    if version is not None:
        query = query.where(Report.version == version)
    if not whole:
        query = query.options(raiseload(Report.parts))
    return await session.scalar(query.order_by(Report.version.desc()).limit(1))


# -- what a report is compiled from, besides the timeline ------------------------------------------
async def data_of_kinds(
    *, session: AsyncSession, incident_id: int, kinds: Collection[str]
) -> list[dict[str, Any]]:
    """The data of the incident's timeline entries of these kinds."""
    query = select(TimelineEntry.data).where(
        TimelineEntry.incident_id == incident_id, TimelineEntry.kind.in_(kinds)
    )
    return [data or {} for data in await session.scalars(query)]


async def named_people(*, session: AsyncSession, incident_id: int) -> set[str]:
    """Everyone the incident's timeline, roles, tasks and evidence name."""
    actors = await session.scalars(
        select(TimelineEntry.actor).where(TimelineEntry.incident_id == incident_id).distinct()
    )
    holders = await session.scalars(
        select(RoleAssignment.user_id).where(RoleAssignment.incident_id == incident_id)
    )
    owners = await session.scalars(select(Task.owner).where(Task.incident_id == incident_id))
    custodians = await session.scalars(
        select(EvidenceItem.custodian).where(EvidenceItem.incident_id == incident_id)
    )
    return {*actors, *holders, *(owner for owner in owners if owner), *custodians}


async def role_spells(*, session: AsyncSession, incident_id: int) -> list[RoleAssignment]:
    query = select(RoleAssignment).where(RoleAssignment.incident_id == incident_id)
    return list(await session.scalars(query))


async def tasks_with_issues(
    *, session: AsyncSession, incident_id: int
) -> list[tuple[Task, Followup | None]]:
    """Every task of the incident by number, with its follow-up issue if it has one."""
    rows = await session.execute(
        select(Task, Followup)
        .outerjoin(Followup, Followup.task_id == Task.id)
        .where(Task.incident_id == incident_id)
        .order_by(Task.number)
    )
    return [(row[0], row[1]) for row in rows]


async def alerts_of(*, session: AsyncSession, incident_id: int) -> list[Alert]:
    return list(await session.scalars(select(Alert).where(Alert.incident_id == incident_id)))
