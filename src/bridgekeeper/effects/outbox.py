"""The outbox: Slack effects are rows committed with the state change that implies them.

Services call `add()` inside their transaction; the worker (effects/worker.py) delivers them.
Effect kinds and their payloads:

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

A target is "bridge" (the incident's channel), "stakeholders", "triage", or a channel id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bridgekeeper.store.db import notify_on_commit
from bridgekeeper.store.models import Effect


def card_key(card: str, owner: int) -> str:
    return f"{card}:{owner}"


def add(
    *,
    session: AsyncSession,
    now: datetime,
    kind: str,
    incident_id: int | None = None,
    payload: dict[str, Any] | None = None,
    dedup_key: str | None = None,
    card_key: str | None = None,
) -> Effect:
    effect = Effect(
        incident_id=incident_id,
        kind=kind,
        payload=payload or {},
        dedup_key=dedup_key,
        card_key=card_key,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(effect)
    notify_on_commit(session)  # wakes the worker
    return effect


def add_card(
    *,
    session: AsyncSession,
    now: datetime,
    incident_id: int | None,
    card: str,
    owner: int,
    target: str,
    pin: bool = False,
) -> Effect:
    """Refresh a card (post it the first time, update it in place after)."""
    key = card_key(card, owner)
    return add(
        session=session,
        now=now,
        kind="card",
        incident_id=incident_id,
        card_key=key,
        payload={"card": card, "key": key, "owner": owner, "target": target, "pin": pin},
    )
