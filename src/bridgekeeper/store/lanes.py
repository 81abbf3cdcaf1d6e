"""Which outbox lanes have work due, in what order, and which replica delivers each.

A lane's effects go out in order (store/outbox.py `lane`). A lane is due when its first
pending effect is due; one waiting out a retry holds back only its own lane. An incident's
effects in other channels wait for its bridge channel to be created. A render scheduled
for later (a storm card's next refresh) holds back nothing: a card is rendered from current
state, so a later one in the same lane may go first.

Lanes are served by priority: a SEV1's before a SEV4's, and within a severity a declaration's
channel, invitations, topic and cards before messages. Each lane is claimed for a while by the
replica delivering it (`outbox_lanes`), so replicas sharing a PostgreSQL database deliver
different lanes at once and never the same one twice; a claim that runs out (its replica died)
is taken over.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, Table, bindparam, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bridgekeeper.domain.incidents import Severity
from bridgekeeper.store.models import Effect, Incident, OutboxLane

URGENT_KINDS = {"create_channel", "invite", "topic", "card", "unarchive"}
NO_SEVERITY = Severity.SEV3  # effects outside any incident (triage cards, digests)
_EFFECTS: Table = Effect.__table__  # type: ignore[assignment]
_INCIDENTS: Table = Incident.__table__  # type: ignore[assignment]
_LANES: Table = OutboxLane.__table__  # type: ignore[assignment]


@dataclass
class DueLane:
    """A lane with work due: its effects' ids in order, up to the first one still waiting."""

    name: str
    effect_ids: list[int] = field(default_factory=list)
    priority: tuple[int, int, int] = (9, 9, 0)


def due_lanes(
    conn: Connection, *, now: datetime, per_lane: int, limit: int, busy: Sequence[str] = ()
) -> list[DueLane]:
    """The lanes with work due, most urgent first, each with up to `per_lane` effects; lanes
    in `busy` (being delivered) are left out."""
    params = {"now": now, "per_lane": per_lane, "busy": list(busy)}
    rows = conn.execute(_HEADS, params).all()
    severities = _severities(conn, {row.incident_id for row in rows} - {None})
    opening = set(conn.scalars(_OPENING))
    lanes: dict[str, DueLane] = {}
    waiting: set[str] = set()
    for row in rows:
        if row.lane in waiting:
            continue
        if row.next_attempt_at > now or _before_its_channel(row, opening):
            waiting.add(row.lane)  # a retry backing off, or a channel still to be created
            continue
        lane = lanes.setdefault(row.lane, DueLane(row.lane))
        lane.effect_ids.append(row.id)
        lane.priority = min(lane.priority, _priority(row, severities))
    return sorted(lanes.values(), key=lambda lane: lane.priority)[:limit]


def next_in_lane(conn: Connection, *, lane: str, now: datetime, limit: int) -> list[int]:
    """The lane's next effects due, in order, up to the first one still waiting (a lane being
    delivered goes on with these, without waiting for the next pass)."""
    rows = conn.execute(_LANE, {"lane": lane, "now": now, "limit": limit}).all()
    due: list[int] = []
    for effect_id, next_attempt_at in rows:
        if next_attempt_at > now:
            break
        due.append(effect_id)
    return due


def claim(
    conn: Connection, *, lanes: list[str], holder: str, now: datetime, ttl: float
) -> set[str]:
    """Claim lanes for `holder` (new ones, its own, or those whose claim ran out); return the
    ones it holds now."""
    if not lanes:
        return set()
    until = now + timedelta(seconds=ttl)
    rows = [{"lane": lane, "holder": holder, "expires_at": until, "now": now} for lane in lanes]
    return set(conn.scalars(_CLAIMS[conn.dialect.name], rows))


def _claim_statement(insert: Any) -> Any:
    """One upsert, its rows bound as parameters (so it is compiled once, whatever the number
    of lanes): a lane is taken if free, the holder's own, or its claim ran out."""
    upsert = insert(_LANES)
    return upsert.on_conflict_do_update(
        index_elements=[_LANES.c.lane],
        set_={"holder": upsert.excluded.holder, "expires_at": upsert.excluded.expires_at},
        where=or_(
            _LANES.c.holder == upsert.excluded.holder, _LANES.c.expires_at < bindparam("now")
        ),
    ).returning(_LANES.c.lane)


_CLAIMS = {
    "postgresql": _claim_statement(postgresql.insert),
    "sqlite": _claim_statement(sqlite.insert),
}


def renew(conn: Connection, *, lanes: list[str], holder: str, now: datetime, ttl: float) -> None:
    """Extend the holder's claims on lanes it is delivering (only those it still holds: a lane
    it let go meanwhile stays free)."""
    until = now + timedelta(seconds=ttl)
    conn.execute(_RENEW, {"lanes": lanes, "renewing": holder, "now": now, "until": until})


def release(conn: Connection, *, lanes: list[str], holder: str) -> None:
    """Give up claims (a lane's work is done for now), so any replica may take the lane."""
    conn.execute(_RELEASE, {"lanes": lanes, "releasing": holder})


def _before_its_channel(row: Row[Any], opening: set[int]) -> bool:
    """An incident's message outside its bridge channel (a stakeholder announcement) names the
    channel: it waits until the channel is created."""
    return row.incident_id in opening and row.lane != f"bridge:{row.incident_id}"


def _priority(row: Row[Any], severities: dict[int, int]) -> tuple[int, int, int]:
    severity = severities.get(row.incident_id, NO_SEVERITY.rank)
    urgent = 0 if row.kind in URGENT_KINDS else 1
    return (severity, urgent, row.id)


def _severities(conn: Connection, incident_ids: set[int]) -> dict[int, int]:
    if not incident_ids:
        return {}
    rows = conn.execute(
        select(_INCIDENTS.c.id, _INCIDENTS.c.severity).where(_INCIDENTS.c.id.in_(incident_ids))
    )
    return {incident_id: Severity(severity).rank for incident_id, severity in rows}


def _due_or_retrying(effects: Any) -> Any:
    """Due, or waiting out a retry (which holds back its lane). Not yet tried and scheduled
    for later: it holds back nothing (see the docstring)."""
    return or_(effects.c.next_attempt_at <= bindparam("now"), effects.c.attempts > 0)


# The lanes with pending effects, one index lookup each (a loose scan of the index on status,
# lane, id), with each one's first effect due or retrying; then only the lanes whose first is
# due, and not being delivered, are read further. Reading every pending effect on each pass
# cost a failing channel's backlog on every pass: 2,000 effects, 2,000 rows.
_LANE_NAMES = (
    select(func.min(_EFFECTS.c.lane).label("lane"))
    .where(_EFFECTS.c.status == "pending")
    .cte("lanes_pending", recursive=True)
)
_AFTER = _EFFECTS.alias("after")
_LANE_NAMES = _LANE_NAMES.union_all(
    select(
        select(func.min(_AFTER.c.lane))
        .where(_AFTER.c.status == "pending", _AFTER.c.lane > _LANE_NAMES.c.lane)
        .scalar_subquery()
    ).where(_LANE_NAMES.c.lane.is_not(None))
)
_FIRST = _EFFECTS.alias("first")
# when each lane's first effect due or retrying is due (a retry's is in the future)
_FIRST_DUE_AT = (
    select(_FIRST.c.next_attempt_at)
    .where(
        _FIRST.c.status == "pending",
        _FIRST.c.lane == _LANE_NAMES.c.lane,
        _due_or_retrying(_FIRST),
    )
    .order_by(_FIRST.c.id)
    .limit(1)
    .scalar_subquery()
)
_READY = select(_LANE_NAMES.c.lane).where(
    _LANE_NAMES.c.lane.is_not(None),
    _LANE_NAMES.c.lane.not_in(bindparam("busy", expanding=True)),
    bindparam("now") >= _FIRST_DUE_AT,
)
_RANKED = (
    select(
        _EFFECTS.c.id,
        _EFFECTS.c.lane,
        _EFFECTS.c.kind,
        _EFFECTS.c.incident_id,
        _EFFECTS.c.next_attempt_at,
        func.row_number().over(partition_by=_EFFECTS.c.lane, order_by=_EFFECTS.c.id).label("n"),
    )
    .where(
        _EFFECTS.c.status == "pending",
        _due_or_retrying(_EFFECTS),
        _EFFECTS.c.lane.in_(_READY.scalar_subquery()),
    )
    .subquery()
)
# written out in the statement, so that the planner sees the index on exactly these applies
_OPENING = select(_EFFECTS.c.incident_id).where(
    _EFFECTS.c.status == literal("pending", literal_execute=True),
    _EFFECTS.c.kind == literal("create_channel", literal_execute=True),
)
_HEADS = select(_RANKED).where(_RANKED.c.n <= bindparam("per_lane")).order_by(_RANKED.c.id)
_LANE = (
    select(_EFFECTS.c.id, _EFFECTS.c.next_attempt_at)
    .where(
        _EFFECTS.c.status == "pending",
        _EFFECTS.c.lane == bindparam("lane"),
        _due_or_retrying(_EFFECTS),
    )
    .order_by(_EFFECTS.c.id)
    .limit(bindparam("limit"))
)
_RENEW = (
    update(_LANES)
    .where(
        _LANES.c.lane.in_(bindparam("lanes", expanding=True)),
        _LANES.c.holder == bindparam("renewing"),
        _LANES.c.expires_at > bindparam("now", type_=_LANES.c.expires_at.type),
    )
    .values(expires_at=bindparam("until", type_=_LANES.c.expires_at.type))
)
_RELEASE = (
    update(_LANES)
    .where(
        _LANES.c.lane.in_(bindparam("lanes", expanding=True)),
        _LANES.c.holder == bindparam("releasing"),  # ("holder" names the column's own value)
    )
    .values(expires_at=datetime(1970, 1, 1, tzinfo=UTC))
)
