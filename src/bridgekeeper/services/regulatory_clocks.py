"""A notification clock's deadlines, computed from its regime's rule (domain/regimes.py) and
the events recorded on it: awareness, the events some deadlines count from (classification,
materiality, corrective measure) and each notification sent. Recomputed whenever one of them is
recorded, so a deadline that counts from the one before moves when that one is sent early.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bridgekeeper.domain import regimes
from bridgekeeper.domain.regimes import RegimeRule
from bridgekeeper.domain.reminders import DueDeadline
from bridgekeeper.store import notification_clocks as clock_store
from bridgekeeper.store.db import DbSession
from bridgekeeper.store.models import NotificationClock


def _at(value: object) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def events(clock: NotificationClock) -> dict[str, datetime]:
    """Every event the clock's deadlines may count from, with "sent:<label>" for each sent."""
    recorded = {name: _at(at) for name, at in (clock.events or {}).items()}
    sent = {f"sent:{d['label']}": _at(d["done_at"]) for d in clock.deadlines if d.get("done_at")}
    found = {"awareness": clock.aware_at, **recorded, **sent}
    return {name: at for name, at in found.items() if at is not None}


def recompute(clock: NotificationClock, rule: RegimeRule) -> None:
    """The clock's deadlines from its rule and events; what was sent stays sent."""
    sent = {d["label"]: d for d in clock.deadlines}
    clock.deadlines = [
        {
            "label": due.label,
            "start_at": _iso(due.start_at),
            "due_at": _iso(due.due_at),
            "waiting_for": due.waiting_for,
            "done_at": sent.get(due.label, {}).get("done_at"),
            "done_by": sent.get(due.label, {}).get("done_by"),
        }
        for due in regimes.clocks(rule, events(clock))
    ]


def unsent(clock: NotificationClock) -> list[dict[str, Any]]:
    """The deadlines not met yet, in order, those waiting for an event included."""
    return [deadline(d, clock) for d in clock.deadlines if not d.get("done_at")]


def open_deadlines(clock: NotificationClock) -> list[DueDeadline]:
    """The deadlines not met yet that have a due time: the ones reminded of."""
    return [
        DueDeadline(d["label"], d["start_at"], d["due_at"]) for d in unsent(clock) if d["due_at"]
    ]


def deadline(stored: dict[str, Any], clock: NotificationClock) -> dict[str, Any]:
    """A stored deadline with its times as datetimes (from awareness, for a clock from before
    events were kept)."""
    return {
        **stored,
        "start_at": _at(stored.get("start_at")) or clock.aware_at,
        "due_at": _at(stored.get("due_at")),
        "waiting_for": stored.get("waiting_for"),
        "done_at": _at(stored.get("done_at")),
    }


def summary(clock: NotificationClock, titles: dict[str, str]) -> dict[str, Any]:
    """A clock as the status card, the console and the report show it."""
    remaining = unsent(clock)
    return {
        "name": clock.regime,
        "regime": titles.get(clock.regime, clock.regime.upper()),
        "status": clock.status,
        "aware_at": clock.aware_at,
        "started_by": clock.started_by,
        "next": remaining[0] if remaining and clock.status == "open" else None,
        "deadlines": [deadline(d, clock) for d in clock.deadlines],
        "decided_by": clock.decided_by,
        "decided_at": clock.decided_at,
        "rationale": clock.rationale,
    }


async def clock_summaries(
    session: DbSession, incident_id: int, titles: dict[str, str]
) -> list[dict[str, Any]]:
    """Every clock of the incident, for the status card (open ones) and the report (all)."""
    found = await clock_store.of_incident(session=session, incident_id=incident_id)
    return [summary(clock, titles) for clock in found]
