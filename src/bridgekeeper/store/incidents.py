"""Queries for incidents, their timeline and roles. Data functions take the session keyword-only."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Result, Row, Table, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bridgekeeper.domain.incidents import Status
from bridgekeeper.domain.timeline import CHAIN_VERSION, entry_hash, genesis
from bridgekeeper.store.models import (
    Counter,
    Incident,
    IncidentMember,
    RoleAssignment,
    TimelineEntry,
)


async def next_number(*, session: AsyncSession, name: str = "incident") -> int:
    """Atomic on SQLite and PostgreSQL: the row update (of a row the migration seeds) serialises
    concurrent declarations."""
    result = await session.execute(
        update(Counter)
        .where(Counter.name == name)
        .values(value=Counter.value + 1)
        .returning(Counter.value)
    )
    return int(result.scalar_one())


async def get(*, session: AsyncSession, number: int, lock: bool = False) -> Incident | None:
    return await _one(session, "number", number, lock)


async def get_by_id(*, session: AsyncSession, incident_id: int, lock: bool = False) -> Incident:
    return (await _run(session, "id", incident_id, lock)).scalar_one()


async def get_by_channel(
    *, session: AsyncSession, channel_id: str, lock: bool = False
) -> Incident | None:
    return await _one(session, "channel", channel_id, lock)


async def find(
    *,
    session: AsyncSession,
    number: int | None = None,
    incident_id: int | None = None,
    channel_id: str = "",
    lock: bool = False,
) -> Incident | None:
    """The incident named by id, else by number, else by its bridge channel."""
    named = _named(number, incident_id, channel_id)
    return None if named is None else await _one(session, *named, lock)


async def find_for(
    *,
    session: AsyncSession,
    user: str,
    number: int | None = None,
    incident_id: int | None = None,
    channel_id: str = "",
    lock: bool = False,
) -> tuple[Incident | None, bool]:
    """The incident named (as `find`) and whether `user` is a stored member of it, in one
    statement: a hidden incident costs the database what a missing one does."""
    named = _named(number, incident_id, channel_id)
    if named is None:
        return None, False
    by, key = named
    query = _WITH_MEMBER[by, lock]
    row = (await session.execute(query, {"key": key, "user": user})).one_or_none()
    return (row[0], row[1] is not None) if row is not None else (None, False)


def _named(number: int | None, incident_id: int | None, channel_id: str) -> tuple[str, Any] | None:
    if incident_id is not None:
        return "id", incident_id
    if number is not None:
        return "number", number
    return ("channel", channel_id) if channel_id else None


async def _one(session: AsyncSession, by: str, key: Any, lock: bool) -> Incident | None:
    return (await _run(session, by, key, lock)).scalar_one_or_none()


async def _run(session: AsyncSession, by: str, key: Any, lock: bool) -> Result[Any]:
    return await session.execute(_INCIDENT[by, lock], {"key": key})


# The lookups every command makes, built once: building a statement costs more than running it.
_BY = {"id": Incident.id, "number": Incident.number, "channel": Incident.channel_id}
_MEMBER = and_(
    IncidentMember.incident_id == Incident.id, IncidentMember.user_id == bindparam("user")
)
_INCIDENT = {
    (by, lock): query.with_for_update() if lock else query
    for by, column in _BY.items()
    for query in [select(Incident).where(column == bindparam("key"))]
    for lock in (False, True)
}
_WITH_MEMBER = {
    (by, lock): query.with_for_update(of=Incident) if lock else query
    for by, column in _BY.items()
    for query in [
        select(Incident, IncidentMember.user_id)
        .outerjoin(IncidentMember, _MEMBER)
        .where(column == bindparam("key"))
    ]
    for lock in (False, True)
}


async def due_archives(*, session: AsyncSession, now: datetime) -> list[int]:
    """Closed incidents whose bridge channel is due to be archived, soonest first."""
    query = select(Incident.id).where(
        Incident.status == Status.CLOSED,
        Incident.archived_at.is_(None),
        Incident.archive_due_at.is_not(None),
        Incident.archive_due_at <= now,
    )
    return list(await session.scalars(query.order_by(Incident.archive_due_at)))


async def set_channel(
    *, session: AsyncSession, incident_id: int, channel_id: str, name: str
) -> None:
    """The incident's bridge channel, once created (or adopted)."""
    await session.execute(
        update(Incident)
        .where(Incident.id == incident_id)
        .values(channel_id=channel_id, channel_name=name)
    )


async def private_numbers(*, session: AsyncSession, numbers: Collection[int]) -> set[int]:
    """Which of these incidents are private."""
    query = select(Incident.number).where(Incident.number.in_(numbers), Incident.private)
    return set(await session.scalars(query))


async def list_open(*, session: AsyncSession) -> list[Incident]:
    query = select(Incident).where(Incident.status == Status.OPEN).order_by(Incident.number)
    return list((await session.execute(query)).scalars())


async def append(
    *,
    session: AsyncSession,
    incident: Incident,
    at: datetime,
    recorded_at: datetime,
    actor: str,
    kind: str,
    text: str = "",
    data: dict[str, Any] | None = None,
    source_key: str | None = None,
) -> TimelineEntry:
    """Append one entry; the caller holds the incident row (locked), so seq and chain are safe.
    The entry returned is not tracked by the session (nothing reads its id)."""
    data = data or {}
    seq = incident.timeline_length + 1
    prev = incident.timeline_head or chain_start(incident)
    digest = entry_hash(
        prev_hash=prev, seq=seq, at=at, actor=actor, kind=kind, text=text, data=data
    )
    row = {
        "incident_id": incident.id,
        "seq": seq,
        "at": at,
        "recorded_at": recorded_at,
        "actor": actor,
        "kind": kind,
        "text": text,
        "data": data,
        "source_key": source_key,
        "prev_hash": prev,
        "hash": digest,
    }
    await session.run_sync(_write_entry, incident, row)
    return TimelineEntry(**row)


def _write_entry(session: Session, incident: Incident, row: dict[str, Any]) -> None:
    """The entry's row and the incident's new chain head as two Core statements (the unit of
    work's flush of the same cost more than both), the incident's copy in the session set to
    what was written. A rollback (of a savepoint too) expires the session's objects
    (`store.db`), so nothing keeps a head the database no longer has."""
    head = {"length": row["seq"], "head": row["hash"], "version": incident.version + 1}
    connection = session.connection()
    connection.execute(_INSERT_ENTRY, row)  # first: an entry refused leaves the head as it was
    connection.execute(_ADVANCE_HEAD, {"incident": incident.id, **head})
    set_committed_value(incident, "timeline_length", head["length"])
    set_committed_value(incident, "timeline_head", head["head"])
    set_committed_value(incident, "version", head["version"])


_INCIDENTS: Table = Incident.__table__  # type: ignore[assignment]
_ENTRIES: Table = TimelineEntry.__table__  # type: ignore[assignment]
_ADVANCE_HEAD = (
    update(_INCIDENTS)
    .where(_INCIDENTS.c.id == bindparam("incident"))
    .values(
        timeline_length=bindparam("length"),
        timeline_head=bindparam("head"),
        version=bindparam("version"),
    )
)
_INSERT_ENTRY = insert(_ENTRIES)


def chain_start(incident: Incident) -> str:
    """The genesis of the incident's chain (its first entry's previous hash)."""
    version = incident.chain_version or CHAIN_VERSION
    return genesis(chain_version=version, incident_id=incident.id, number=incident.number)


async def timeline(*, session: AsyncSession, incident_id: int) -> list[TimelineEntry]:
    query = select(TimelineEntry).where(TimelineEntry.incident_id == incident_id)
    return list((await session.execute(query.order_by(TimelineEntry.seq))).scalars())


async def timeline_rows(
    *,
    session: AsyncSession,
    incident_id: int,
    after: int = 0,
    limit: int = 1000,
    upto: int | None = None,
) -> Sequence[Row[Any]]:
    """Up to `limit` entries after seq `after` (and up to seq `upto`, when given) as plain rows
    (seq, at, actor, kind, text, data, hash), no ORM objects: keyset by seq, so the last page of
    a long timeline costs what the first does."""
    query = select(
        TimelineEntry.seq,
        TimelineEntry.at,
        TimelineEntry.actor,
        TimelineEntry.kind,
        TimelineEntry.text,
        TimelineEntry.data,
        TimelineEntry.hash,
    ).where(TimelineEntry.incident_id == incident_id, TimelineEntry.seq > after)
    if upto is not None:
        query = query.where(TimelineEntry.seq <= upto)
    return (await session.execute(query.order_by(TimelineEntry.seq).limit(limit))).all()


async def timeline_page(
    *, session: AsyncSession, incident_id: int, offset: int, limit: int
) -> list[TimelineEntry]:
    """`limit` entries from the `offset`-th on, in order (a page of `/incident timeline`)."""
    query = select(TimelineEntry).where(TimelineEntry.incident_id == incident_id)
    query = query.order_by(TimelineEntry.seq).offset(offset).limit(limit)
    return list((await session.execute(query)).scalars())


async def last_entry(*, session: AsyncSession, incident_id: int, kind: str) -> TimelineEntry | None:
    """The incident's latest timeline entry of this kind."""
    query = (
        select(TimelineEntry)
        .where(TimelineEntry.incident_id == incident_id, TimelineEntry.kind == kind)
        .order_by(TimelineEntry.seq.desc())
        .limit(1)
    )
    return await session.scalar(query)


async def entries_keyed(
    *, session: AsyncSession, incident_id: int, key: str
) -> list[TimelineEntry]:
    """The entry recorded under `key` and those under `key:edited:…` (a pinned message and its
    recorded edits), oldest first."""
    query = select(TimelineEntry).where(
        TimelineEntry.incident_id == incident_id,
        or_(
            TimelineEntry.source_key == key,
            TimelineEntry.source_key.startswith(f"{key}:edited:", autoescape=True),
        ),
    )
    return list(await session.scalars(query.order_by(TimelineEntry.seq)))


async def entries_of_kinds(
    *, session: AsyncSession, incident_id: int, kinds: Collection[str]
) -> list[TimelineEntry]:
    """The incident's entries of these kinds, in order."""
    query = select(TimelineEntry).where(
        TimelineEntry.incident_id == incident_id, TimelineEntry.kind.in_(kinds)
    )
    return list(await session.scalars(query.order_by(TimelineEntry.seq)))


async def recorded_at(*, session: AsyncSession, incident_id: int, seq: int) -> datetime | None:
    """When the incident's entry `seq` was recorded (None: no such entry)."""
    query = select(TimelineEntry.recorded_at).where(
        TimelineEntry.incident_id == incident_id, TimelineEntry.seq == seq
    )
    return (await session.execute(query)).scalar()


async def last_changed(
    *, session: AsyncSession, incident_ids: Collection[int]
) -> dict[int, datetime]:
    """When each of these incidents last changed: its latest timeline entry's time."""
    found = await session.execute(
        select(TimelineEntry.incident_id, func.max(TimelineEntry.at))
        .where(TimelineEntry.incident_id.in_(incident_ids))
        .group_by(TimelineEntry.incident_id)
    )
    return {incident_id: at for incident_id, at in found.all() if at is not None}


async def timeline_count(*, session: AsyncSession, incident_id: int) -> int:
    query = select(func.count()).where(TimelineEntry.incident_id == incident_id)
    return int(await session.scalar(query) or 0)


async def has_source_key(*, session: AsyncSession, incident_id: int, source_key: str) -> bool:
    query = select(TimelineEntry.id).where(
        TimelineEntry.incident_id == incident_id, TimelineEntry.source_key == source_key
    )
    return (await session.execute(query)).first() is not None


async def current_roles(*, session: AsyncSession, incident_id: int) -> dict[str, str]:
    rows = await session.execute(_CURRENT_ROLES, {"incident_id": incident_id})
    return {role: user_id for role, user_id in rows}


_CURRENT_ROLES = select(RoleAssignment.role, RoleAssignment.user_id).where(
    RoleAssignment.incident_id == bindparam("incident_id"), RoleAssignment.ended_at.is_(None)
)


async def assign_role(
    *, session: AsyncSession, incident_id: int, role: str, user_id: str, by: str, at: datetime
) -> str | None:
    """End the current holder's assignment and start the new one; returns the previous holder."""
    query = select(RoleAssignment).where(
        RoleAssignment.incident_id == incident_id,
        RoleAssignment.role == role,
        RoleAssignment.ended_at.is_(None),
    )
    previous = (await session.execute(query)).scalar_one_or_none()
    if previous is not None:
        previous.ended_at = at
    session.add(
        RoleAssignment(
            incident_id=incident_id, role=role, user_id=user_id, assigned_by=by, assigned_at=at
        )
    )
    await session.flush()
    return previous.user_id if previous else None
