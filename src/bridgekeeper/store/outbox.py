"""The outbox: Slack effects are rows committed with the state change that implies them.

Services call `enqueue()` with a typed effect (domain/effects.py) inside their transaction, or
`add_card()` for a card; the worker (effects/worker.py) delivers them. Effect kinds and their
payloads:

    create_channel {}                         the incident's bridge channel
    invite         {"users": [...]}           into the bridge channel
    card           {"card": "status", "target": "bridge", "pin": true}
                                              a message rendered from current state at delivery,
                                              posted once under its key and then updated in place
    topic          {}                         the bridge channel's topic, from current state
    post           {"target": ..., "text": markup}   a new message (rendered when enqueued)
    ephemeral      {"target": ..., "user": ..., "text": markup}
    archive        {}                         archive the bridge channel
    unarchive      {}                         unarchive it (a reopened incident)
    upload_file    {"target": ..., "filename": ..., "title": ..., "comment": markup,
                    "report_id": id | "content": text}   share a file (files upload v2)
    home           {"user": ...}              a person's App Home tab (card key "home:<user>"),
                                              rendered from current state at delivery
    tracker_issue  {"task": id}               a follow-up's issue in the team's tracker
                                              (services/followup_sync.py), lane tracker:<id>
    pagerduty_event {"page": id, "action": trigger|acknowledge|resolve}
                                              a page's event in PagerDuty
                                              (services/pagerduty.py), lane pagerduty:<id>

A target is "bridge" (the incident's channel), "stakeholders", "triage", or a channel id.

Each effect belongs to a lane, delivered in order: the incident's bridge channel (its creation,
invitations, topic and messages), another channel, or one card (a message updated in place).
Lanes are independent: one that keeps failing holds up no other (effects/worker.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bridgekeeper.domain.effects import Outgoing
from bridgekeeper.store.db import notify_on_commit, queue_row
from bridgekeeper.store.models import Effect, Incident

PARKED = "parked"


def card_key(card: str, owner: int) -> str:
    return f"{card}:{owner}"


def enqueue(
    session: AsyncSession,
    effect: Outgoing,
    *,
    now: datetime,
    incident_id: int | None = None,
    dedup_key: str | None = None,
    card_key: str | None = None,
) -> None:
    """Queue `effect` in the session's transaction: it is delivered once that commits."""
    values = effect_values(
        now=now,
        kind=effect.KIND,
        incident_id=incident_id,
        payload=effect.payload(),
        dedup_key=dedup_key,
        card_key=card_key,
    )
    _add(session, values)


def add_card(
    *,
    session: AsyncSession,
    now: datetime,
    incident_id: int | None,
    card: str,
    owner: int,
    target: str,
    pin: bool = False,
    due: datetime | None = None,
    key: str | None = None,
) -> None:
    """Refresh a card (post it the first time, update it in place after), at once or when
    `due` (a storm's repeats refresh a card at a pace); `key`: one of several messages of the
    card (card_key, @ and where it goes), else its one message."""
    values = card_values(
        now=now,
        incident_id=incident_id,
        card=card,
        owner=owner,
        target=target,
        pin=pin,
        due=due,
        key=key,
    )
    _add(session, values)


async def last_render_parked(session: AsyncSession, *, key: str) -> bool:
    """Whether the card's latest render was parked (Slack refused it, or it ran out of
    attempts): the card is out of date until it is drawn again. The usual answer (nothing
    parked) is one seek in the card's index, however many renders the card has had; only a
    card with a parked render is asked whether one came after it."""
    last_parked = await session.scalar(_LAST_PARKED, {"key": key})
    if last_parked is None:
        return False
    return await session.scalar(_RENDER_AFTER, {"key": key, "after": last_parked}) is None


async def queued(session: AsyncSession, *, dedup_key: str) -> bool:
    """Whether an effect with this key was ever queued (delivered or not)."""
    query = select(Effect.id).where(Effect.dedup_key == dedup_key)
    return await session.scalar(query) is not None


async def known_card_keys(session: AsyncSession, *, kind: str, keys: Collection[str]) -> set[str]:
    """Which of `keys` have had an effect of `kind` queued before (whose home tab to keep
    current: only those who opened it)."""
    if not keys:
        return set()
    found = await session.scalars(
        select(Effect.card_key).where(Effect.kind == kind, Effect.card_key.in_(keys)).distinct()
    )
    return {key for key in found if key is not None}


def insert_all(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Queue effects from Core statements (the intake's counted repeats). The caller wakes
    the worker after the commit (`Database.effects_committed`)."""
    conn.execute(insert(_EFFECTS), rows)


def count_attempt(conn: Connection, effect_id: int, now: datetime) -> int | None:
    """Count an attempt before making it (a crash mid-delivery is then known on restart): the
    attempts so far, or None if the effect is no longer pending or not due (`waiting`)."""
    return conn.scalar(_CLAIM, {"effect_id": effect_id, "now": now})


def waiting(conn: Connection, effect_id: int) -> bool:
    """Whether the effect is pending (then not due: another replica put off its retry)."""
    return conn.scalar(_PENDING, {"effect_id": effect_id}) is not None


def count_attempts(conn: Connection, effect_ids: list[int]) -> None:
    """Count an attempt for messages folded into another one's delivery."""
    conn.execute(_COUNT, {"ids": effect_ids})


def mark_done(conn: Connection, effect_ids: list[int], now: datetime) -> None:
    """These effects are done (those still pending: a retried pass may find some done)."""
    conn.execute(_DONE, {"ids": effect_ids, "now": now})


async def park(
    session: AsyncSession, *, effect_id: int, error: str, now: datetime, whole_lane: bool
) -> Counter[int | None]:
    """Set a pending effect aside (its attempts ran out, or Slack refused it for good), and
    with it the rest of its lane when `whole_lane`: how many were parked, by incident (a
    stakeholder channel's lane holds several incidents' messages)."""
    effect = await session.get(Effect, effect_id, with_for_update=True)
    if effect is None or effect.status != "pending":
        return Counter()
    effect.status, effect.last_error, effect.done_at = PARKED, error, now
    parked = Counter([effect.incident_id])
    cards = {effect.card_key}
    if whole_lane:
        rest = await session.execute(
            update(Effect)
            .where(Effect.lane == effect.lane, Effect.status == "pending")
            .values(status=PARKED, last_error=f"after effect {effect_id}: {error}", done_at=now)
            .returning(Effect.incident_id, Effect.card_key)
        )
        for incident_id, key in rest:
            parked[incident_id] += 1
            cards.add(key)
    await _mark_status_cards(session, cards)
    return parked


async def _mark_status_cards(session: AsyncSession, keys: Collection[str | None]) -> None:
    """Say on each incident whose status card is among `keys` whether its latest render is
    parked (the next change draws the card again: services/incidents.py); incidents are
    updated, so locked, in the order of their ids, as everywhere else."""
    owners = [key.partition(":")[2] for key in keys if key and key.startswith("status:")]
    for owner in sorted(int(owner) for owner in owners if owner.isdigit()):
        stale = await last_render_parked(session, key=card_key("status", owner))
        await session.execute(
            update(Incident).where(Incident.id == owner).values(status_card_parked=stale)
        )


async def due_renders(session: AsyncSession, *, key: str, now: datetime) -> list[int]:
    """Renders of this card due by now: one delivery of it covers them all."""
    query = select(Effect.id).where(
        Effect.card_key == key, Effect.status == "pending", Effect.next_attempt_at <= now
    )
    return list(await session.scalars(query))


async def load(session: AsyncSession, effect_ids: Sequence[int]) -> list[Effect]:
    """These effects, in the order given (those gone meanwhile left out)."""
    loaded = await session.scalars(select(Effect).where(Effect.id.in_(effect_ids)))
    by_id = {effect.id: effect for effect in loaded}
    return [by_id[i] for i in effect_ids if i in by_id]


async def counts(
    session: AsyncSession, *, statuses: Collection[str]
) -> dict[str, tuple[int, datetime | None]]:
    """For each of these statuses: how many effects, and the oldest one's creation."""
    query = (
        select(Effect.status, func.count(), func.min(Effect.created_at))
        .where(Effect.status.in_(statuses))
        .group_by(Effect.status)
    )
    return {status: (count, oldest) for status, count, oldest in await session.execute(query)}


async def parked(session: AsyncSession) -> list[Effect]:
    """The parked effects, lane by lane, oldest first."""
    found = await session.scalars(
        select(Effect).where(Effect.status == PARKED).order_by(Effect.lane, Effect.id)
    )
    return list(found)


async def pending_by_lane(session: AsyncSession) -> Sequence[Any]:
    """Pending effects per lane: (lane, count, last_error of one waiting out a retry)."""
    rows = await session.execute(
        select(
            Effect.lane,
            func.count().label("count"),
            func.max(Effect.last_error).label("last_error"),
        )
        .where(Effect.status == "pending")
        .group_by(Effect.lane)
        .order_by(Effect.lane)
    )
    return rows.all()


async def retry(
    session: AsyncSession, *, now: datetime, effect_ids: Sequence[int] = (), lane: str | None = None
) -> int:
    """Put parked effects back in their lanes (by id, by lane, or every one when neither is
    given), with fresh attempts: how many."""
    chosen = update(Effect).where(Effect.status == PARKED)
    if effect_ids:
        chosen = chosen.where(Effect.id.in_(effect_ids))
    if lane is not None:
        chosen = chosen.where(Effect.lane == lane)
    retried = await session.execute(
        chosen.values(status="pending", attempts=0, next_attempt_at=now, done_at=None).returning(
            Effect.card_key
        )
    )
    keys = list(retried.scalars())
    await _mark_status_cards(session, set(keys))
    notify_on_commit(session)
    return len(keys)


def effect_values(
    *,
    now: datetime,
    kind: str,
    incident_id: int | None = None,
    payload: dict[str, Any] | None = None,
    dedup_key: str | None = None,
    card_key: str | None = None,
    due: datetime | None = None,
) -> dict[str, Any]:
    return {
        "incident_id": incident_id,
        "kind": kind,
        "lane": lane(kind=kind, incident_id=incident_id, payload=payload or {}, card_key=card_key),
        "payload": payload or {},
        "dedup_key": dedup_key,
        "card_key": card_key,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": due or now,
        "created_at": now,
    }


# Effects that call another service than Slack, each kind in a lane of its own per incident.
OWN_LANES = {"tracker_issue": "tracker", "pagerduty_event": "pagerduty"}
BRIDGE_KINDS = {"create_channel", "invite", "topic", "archive", "unarchive"}


def lane(
    *, kind: str, incident_id: int | None, payload: dict[str, Any], card_key: str | None
) -> str:
    """The lane an effect is delivered in: effects of one lane go out in order."""
    if kind in OWN_LANES:  # a slow tracker or PagerDuty holds up no Slack delivery
        return f"{OWN_LANES[kind]}:{incident_id}"
    target = str(payload.get("target", "bridge"))
    if incident_id is not None and (kind in BRIDGE_KINDS or target == "bridge"):
        return f"bridge:{incident_id}"
    if card_key is not None:
        return f"card:{card_key}"
    return f"channel:{target}"


def card_values(
    *,
    now: datetime,
    incident_id: int | None,
    card: str,
    owner: int,
    target: str,
    pin: bool = False,
    due: datetime | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    key = key or card_key(card, owner)
    payload = {"card": card, "key": key, "owner": owner, "target": target, "pin": pin}
    return effect_values(
        now=now, kind="card", incident_id=incident_id, card_key=key, payload=payload, due=due
    )


def _add(session: AsyncSession, values: dict[str, Any]) -> None:
    queue_row(session, _EFFECTS, values)  # inserted with the transaction's others, in time
    notify_on_commit(session)  # wakes the worker


_EFFECTS: Table = Effect.__table__  # type: ignore[assignment]
_CLAIM = (
    update(_EFFECTS)
    .where(
        _EFFECTS.c.id == bindparam("effect_id"),
        _EFFECTS.c.status == "pending",
        _EFFECTS.c.next_attempt_at <= bindparam("now", type_=_EFFECTS.c.next_attempt_at.type),
    )
    .values(attempts=_EFFECTS.c.attempts + 1)
    .returning(_EFFECTS.c.attempts)
)
_PENDING = select(_EFFECTS.c.id).where(
    _EFFECTS.c.id == bindparam("effect_id"), _EFFECTS.c.status == "pending"
)
_COUNT = (
    update(_EFFECTS)
    .where(_EFFECTS.c.id.in_(bindparam("ids", expanding=True)), _EFFECTS.c.status == "pending")
    .values(attempts=_EFFECTS.c.attempts + 1)
)
_DONE = (
    update(_EFFECTS)
    .where(_EFFECTS.c.id.in_(bindparam("ids", expanding=True)), _EFFECTS.c.status == "pending")
    .values(status="done", done_at=bindparam("now", type_=_EFFECTS.c.done_at.type))
)
# whether a card's latest render is parked (`last_render_parked`)
_LAST_PARKED = select(func.max(_EFFECTS.c.id)).where(
    _EFFECTS.c.card_key == bindparam("key"), _EFFECTS.c.status == PARKED
)
_RENDER_AFTER = (
    select(_EFFECTS.c.id)
    .where(_EFFECTS.c.card_key == bindparam("key"), _EFFECTS.c.id > bindparam("after"))
    .limit(1)
)
