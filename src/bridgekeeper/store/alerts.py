"""Queries for alerts, their webhook deliveries and their triage cards."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Table, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bridgekeeper.domain.incidents import Status
from bridgekeeper.store.db import notify_on_commit
from bridgekeeper.store.models import Alert, AlertDelivery, Effect, Incident

IncidentKeys = tuple[int, frozenset[str], datetime]  # (incident id, keys, last activity)


@dataclass(frozen=True)
class Repeat:
    id: int
    severity: str
    incident_number: int | None
    card_refresh_at: datetime | None
    digest: int | None = None  # a line in a storm's digest card (no card of its own)


async def get(*, session: AsyncSession, alert_id: int, lock: bool = False) -> Alert | None:
    query = select(Alert).where(Alert.id == alert_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def get_firing(*, session: AsyncSession, dedup_key: str, lock: bool = False) -> Alert | None:
    """The open alert with this dedup key (at most one: a partial unique index)."""
    query = select(Alert).where(Alert.dedup_key == dedup_key, Alert.status == "firing")
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def late_resolve(*, session: AsyncSession, firing: Alert, ended_at: datetime | None) -> bool:
    """Whether a resolve ending at `ended_at` is a late copy of an earlier firing's: it ended
    before this firing began, and that earlier firing was resolved then or after."""
    if ended_at is None or ended_at >= firing.first_seen:
        return False
    earlier = await latest_resolved(session=session, dedup_key=firing.dedup_key)
    return (
        earlier is not None and earlier.resolved_at is not None and earlier.resolved_at >= ended_at
    )


async def latest_resolved(*, session: AsyncSession, dedup_key: str) -> Alert | None:
    query = (
        select(Alert)
        .where(Alert.dedup_key == dedup_key, Alert.status == "resolved")
        .order_by(Alert.id.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def grouped(*, session: AsyncSession, incident_id: int) -> tuple[int, int, Alert | None]:
    """An incident's alerts: how many, how many still firing, and the latest."""
    query = select(Alert).where(Alert.incident_id == incident_id)
    count = await session.scalar(select(func.count()).select_from(query.subquery()))
    firing = await session.scalar(
        select(func.count()).select_from(query.where(Alert.status == "firing").subquery())
    )
    latest = await session.scalar(query.order_by(Alert.id.desc()).limit(1))
    return count or 0, firing or 0, latest


# The storm's hot path runs these for every webhook: built once, executed with parameters
# (building SQLAlchemy expressions per call cost more than running them).
_ALERTS: Table = Alert.__table__  # type: ignore[assignment]
_DELIVERIES: Table = AlertDelivery.__table__  # type: ignore[assignment]
_COUNT_REPEAT = (
    update(_ALERTS)
    .where(_ALERTS.c.dedup_key == bindparam("key"), _ALERTS.c.status == "firing")
    .values(
        occurrences=_ALERTS.c.occurrences + 1,
        last_seen=bindparam("now", type_=_ALERTS.c.last_seen.type),
    )
    .returning(
        _ALERTS.c.id,
        _ALERTS.c.severity,
        _ALERTS.c.incident_number,
        _ALERTS.c.card_refresh_at,
        _ALERTS.c.digest,
    )
)
_DELIVERED_TO = select(_DELIVERIES.c.alert_id).where(_DELIVERIES.c.delivery_key == bindparam("key"))
_REDELIVERED = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.delivery_key == bindparam("key"))
    .values(
        alert_id=bindparam("alert_id"),
        received_at=bindparam("now", type_=_DELIVERIES.c.received_at.type),
    )
)
_DELIVERED = insert(_DELIVERIES).values(
    delivery_key=bindparam("key"),
    alert_id=bindparam("alert_id"),
    received_at=bindparam("now", type_=_DELIVERIES.c.received_at.type),
)


# A storm's batch: repeats of open alerts counted with a few statements for the whole batch.
_DELIVERED_ANY = select(_DELIVERIES.c.delivery_key).where(
    _DELIVERIES.c.delivery_key.in_(bindparam("keys", expanding=True))
)
_OPEN_WITH_KEYS = (
    select(
        _ALERTS.c.dedup_key,
        _ALERTS.c.id,
        _ALERTS.c.severity,
        _ALERTS.c.incident_number,
        _ALERTS.c.card_refresh_at,
        _ALERTS.c.digest,
    )
    .where(_ALERTS.c.dedup_key.in_(bindparam("keys", expanding=True)), _ALERTS.c.status == "firing")
    .order_by(_ALERTS.c.id)
    .with_for_update()
)
_FIRING_KEYS = select(_ALERTS.c.dedup_key).where(
    _ALERTS.c.dedup_key.in_(bindparam("keys", expanding=True)), _ALERTS.c.status == "firing"
)
_COUNT_REPEATS = (
    update(_ALERTS)
    .where(_ALERTS.c.id == bindparam("alert_id"))
    .values(
        occurrences=_ALERTS.c.occurrences + bindparam("repeats"),
        last_seen=bindparam("now", type_=_ALERTS.c.last_seen.type),
    )
)
_SCHEDULE_RENDER = (
    update(_ALERTS)
    .where(_ALERTS.c.id == bindparam("alert_id"))
    .values(card_refresh_at=bindparam("due", type_=_ALERTS.c.card_refresh_at.type))
)
_LATEST_RENDERS = (
    select(Effect.card_key, func.max(Effect.next_attempt_at))
    .where(Effect.card_key.in_(bindparam("keys", expanding=True)))
    .group_by(Effect.card_key)
)


# These run synchronously, inside Database.run_in_transaction.
def delivered_any(conn: Connection, keys: list[str]) -> set[str]:
    """Which of these webhook deliveries are already stored."""
    return set(conn.scalars(_DELIVERED_ANY, {"keys": keys}))


async def firing_keys(*, session: AsyncSession, dedup_keys: Collection[str]) -> set[str]:
    """Which of these dedup keys an open alert has."""
    return set(await session.scalars(_FIRING_KEYS, {"keys": list(dedup_keys)}))


def open_with_keys(conn: Connection, dedup_keys: list[str]) -> dict[str, Repeat]:
    """The open alerts with these dedup keys, locked, by key."""
    rows = conn.execute(_OPEN_WITH_KEYS, {"keys": dedup_keys})
    return {key: Repeat(*rest) for key, *rest in rows}


def count_repeats(conn: Connection, repeats: Mapping[int, int], now: datetime) -> None:
    """Add `repeats[alert id]` occurrences to each of these alerts (one statement, many rows)."""
    params = [{"alert_id": i, "repeats": n, "now": now} for i, n in repeats.items()]
    conn.execute(_COUNT_REPEATS, params)


def record_deliveries(conn: Connection, deliveries: list[tuple[str, int]], now: datetime) -> None:
    """Remember new webhook deliveries (key, alert id), all in one statement."""
    params = [{"key": key, "alert_id": alert_id, "now": now} for key, alert_id in deliveries]
    conn.execute(_DELIVERED, params)


def schedule_card_renders(conn: Connection, due: Mapping[int, datetime]) -> None:
    """Note the time of each alert's next card render (alert id: when)."""
    conn.execute(_SCHEDULE_RENDER, [{"alert_id": i, "due": at} for i, at in due.items()])


async def count_repeat(*, session: AsyncSession, dedup_key: str, now: datetime) -> Repeat | None:
    """One more occurrence of the open alert with this key, in one statement (the hot path of
    an alert storm); None when no alert with the key is open."""
    row = (await session.execute(_COUNT_REPEAT, {"key": dedup_key, "now": now})).one_or_none()
    return Repeat(*row) if row is not None else None


async def delivered_to(*, session: AsyncSession, key: str) -> int | None:
    """The alert a webhook delivery was stored as, if it was."""
    return await session.scalar(_DELIVERED_TO, {"key": key})


async def record_delivery(
    *, session: AsyncSession, key: str, alert_id: int, now: datetime, seen: bool
) -> None:
    params = {"key": key, "alert_id": alert_id, "now": now}
    await session.execute(_REDELIVERED if seen else _DELIVERED, params)


async def open_incident_keys(*, session: AsyncSession, since: datetime) -> list[IncidentKeys]:
    """Each open incident's correlation keys, from its alerts seen since `since`."""
    query = (
        select(Alert.incident_id, Alert.correlation_keys, Alert.last_seen)
        .join(Incident, Incident.id == Alert.incident_id)
        .where(Incident.status == Status.OPEN, Alert.last_seen >= since)
    )
    keys: dict[int, set[str]] = {}
    latest: dict[int, datetime] = {}
    for incident_id, alert_keys, last_seen in await session.execute(query):
        if incident_id is None:  # not possible through the join; narrows the type
            continue
        keys.setdefault(incident_id, set()).update(alert_keys or [])
        latest[incident_id] = max(latest.get(incident_id, last_seen), last_seen)
    return [(i, frozenset(k), latest[i]) for i, k in keys.items()]


async def hurry_card(*, session: AsyncSession, key: str, now: datetime) -> None:
    """Make a card's waiting renders due now."""
    await session.execute(
        update(Effect)
        .where(Effect.card_key == key, Effect.status == "pending", Effect.next_attempt_at > now)
        .values(next_attempt_at=now)
    )
    notify_on_commit(session)


def latest_renders(conn: Connection, keys: Collection[str]) -> dict[str, datetime]:
    """When each of these cards' latest render was (or is) due (the storm's hot path)."""
    return {str(key): at for key, at in conn.execute(_LATEST_RENDERS, {"keys": list(keys)})}


async def latest_render(*, session: AsyncSession, key: str) -> datetime | None:
    """When a card's latest render was (or is) due; None before its first (`latest_renders`
    for one card, in a session)."""
    rows = await session.execute(_LATEST_RENDERS, {"keys": [key]})
    return next((at for _, at in rows), None)


# -- a storm's digest card -------------------------------------------------------------------
async def carded_since(*, session: AsyncSession, since: datetime) -> int:
    """How many alerts got a triage card (or a line in a digest) since `since`."""
    query = select(func.count()).select_from(Alert).where(Alert.carded_at >= since)
    return int(await session.scalar(query) or 0)


async def open_digest(*, session: AsyncSession, since: datetime) -> int | None:
    """The digest an alert went into since `since` (the storm still on), if any."""
    query = (
        select(Alert.digest)
        .where(Alert.digest.is_not(None), Alert.carded_at >= since)
        .order_by(Alert.id.desc())
        .limit(1)
    )
    return await session.scalar(query)


async def in_digest(*, session: AsyncSession, digest: int) -> list[tuple[Alert, bool]]:
    """A digest's alerts, oldest first, each with whether it is part of a private incident."""
    query = (
        select(Alert, Incident.private)
        .outerjoin(Incident, Incident.id == Alert.incident_id)
        .where(Alert.digest == digest)
        .order_by(Alert.id)
    )
    return [(alert, bool(private)) for alert, private in await session.execute(query)]
