"""An alert joining an incident, and the cards that show alerts: each alert's triage card and
each incident's card of grouped alerts in its bridge channel (shared with the triage buttons).

Both are cards: posted once, then updated in place from current state, at a pace under a storm.
An incident's grouped alerts are one card in its bridge channel, its count growing, instead of a
message per alert (a flapping group would post hundreds); the timeline keeps every entry.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bridgekeeper.domain.incidents import Severity, Status, worst
from bridgekeeper.domain.indicators import from_entities
from bridgekeeper.services import indicators
from bridgekeeper.services.incidents import BOT_ACTOR, IncidentService
from bridgekeeper.store import alerts as alert_store
from bridgekeeper.store import outbox
from bridgekeeper.store.db import DbSession
from bridgekeeper.store.models import Alert, Incident

GROUP_CARD = "alerts"  # an incident's grouped alerts, in its bridge channel
# What a transaction remembers in its session's `info`:
RENDERS = "bridgekeeper.renders"  # the keys of the cards it queued a paced render of
STORM = "bridgekeeper.storm"  # the storm, as services/digest.py counted it


async def attach(
    incidents: IncidentService,
    session: DbSession,
    *,
    alert: Alert,
    incident: Incident,
    actor: str,
) -> None:
    """An alert joins an incident: a timeline entry (the caller holds the incident locked),
    shown in the bridge channel on the incident's card of grouped alerts. A person's link is
    posted as well."""
    alert.incident_id = incident.id
    alert.incident_number = incident.number
    await incidents.record(
        session,
        incident=incident,
        actor=actor,
        kind="alert_attached",
        data={
            "alert_id": alert.id,
            "source": alert.source,
            "title": alert.title,
            "severity": alert.severity,
            "resource": alert.resource,
            "first_seen": alert.first_seen.isoformat(),
        },
        source_key=f"alert:{alert.id}",
        announce=actor != BOT_ACTOR,
    )
    await indicators.record_found(
        session,
        incident_id=incident.id,
        found=from_entities(alert.entities or {}),
        source={"kind": "alert", "alert": alert.id},
        at=incidents.clock.now(),
    )
    await refresh_group_card(incidents, session, incident_id=incident.id)
    await raise_severity(incidents, session, incident=incident, alert=alert, actor=actor)


async def note_resolved(
    incidents: IncidentService, session: DbSession, *, alert: Alert, incident: Incident
) -> None:
    """An attached alert resolved: a timeline entry, shown on the card of grouped alerts."""
    await incidents.record(
        session,
        incident=incident,
        actor=BOT_ACTOR,
        kind="alert_resolved",
        data={"alert_id": alert.id, "source": alert.source, "title": alert.title},
        at=alert.resolved_at,
        announce=False,
    )
    await refresh_group_card(incidents, session, incident_id=incident.id)


async def refresh_group_card(
    incidents: IncidentService, session: DbSession, *, incident_id: int
) -> None:
    interval = timedelta(seconds=incidents.settings.alerts.card_refresh_seconds)
    await refresh_paced(
        session,
        now=incidents.clock.now(),
        interval=interval,
        incident_id=incident_id,
        card=GROUP_CARD,
        owner=incident_id,
        target="bridge",
    )


async def refresh_paced(
    session: DbSession,
    *,
    now: datetime,
    interval: timedelta,
    incident_id: int | None,
    card: str,
    owner: int,
    target: str,
) -> None:
    """Queue a card's render, one a transaction: at once the first time, then at most every
    `interval`. A render already scheduled is joined (this one is due with it, and the deliverer
    folds renders due together into one), never relied on: it could be delivered before this
    transaction commits and miss its change, where this one is seen only once it has."""
    key = outbox.card_key(card, owner)
    queued = session.info.setdefault(RENDERS, set())
    if key in queued:
        return
    queued.add(key)
    last = await alert_store.latest_render(session=session, key=key)
    due = next_render(last, now, interval)
    outbox.add_card(
        session=session,
        now=now,
        incident_id=incident_id,
        card=card,
        owner=owner,
        target=target,
        due=due,
    )


async def raise_severity(
    incidents: IncidentService,
    session: DbSession,
    *,
    incident: Incident,
    alert: Alert,
    actor: str = BOT_ACTOR,
) -> None:
    """An open incident shows the worst severity its alerts suggest; it is never lowered here.
    An alert a person links raises it only if they may change the severity, and in their name.
    A closed incident keeps the severity it was closed with (its report says it)."""
    if incident.status != Status.OPEN:
        return
    current = Severity(incident.severity)
    suggested = worst(current, Severity(alert.severity))
    if suggested == current:
        return
    if actor != BOT_ACTOR and not await incidents.may(
        session, incident=incident, user=actor, action="severity"
    ):
        return
    incident.severity = suggested
    reason = f"alert {alert.id}"
    await incidents.record(
        session,
        incident=incident,
        actor=actor,
        kind="severity_changed",
        text=reason,
        data={"from": current.value, "to": suggested.value, "reason": reason},
    )


async def refresh_card(
    *, session: DbSession, alert: Alert, now: datetime, interval: timedelta | None
) -> None:
    """Queue a render of the alert's triage card (the deliverer folds queued renders into one).

    With an `interval` (a repeat), nothing is queued while a render is still scheduled, and the
    next one waits until `interval` after it: a storm updates a card a few times, not once per
    repeat. Without one (a person acted, or the alert is new or resolved) the render is due now,
    and a waiting one is pulled forward, since a card's renders are delivered in order.
    """
    last = alert.card_refresh_at
    if interval is not None and last is not None:
        if last >= now:
            return
        due = paced(last, now, interval)
    else:
        due = now
        if last is not None and last > now:
            key = outbox.card_key("triage", alert.id)
            await alert_store.hurry_card(session=session, key=key, now=now)
    alert.card_refresh_at = due
    if alert.carded_at is None:  # one more card in the storm's count (services/digest.py)
        alert.carded_at = now
        session.info.pop(STORM, None)
    outbox.add_card(
        session=session,
        now=now,
        incident_id=None,
        card="triage",
        owner=alert.id,
        target="triage",
        due=due,
    )


def next_render(last: datetime | None, now: datetime, interval: timedelta) -> datetime:
    """When a card's next render is due: at once the first time, with one already due later,
    else at the pace."""
    return now if last is None else last if last > now else paced(last, now, interval)


def paced(last: datetime, now: datetime, interval: timedelta) -> datetime:
    """When a repeat's card render is due: `interval` after the last one, and not before now."""
    return max(now, last + interval)


def card_due(card_refresh_at: datetime | None, now: datetime) -> bool:
    """Whether a repeat should queue a render: the alert has a card and none is scheduled."""
    return card_refresh_at is not None and card_refresh_at < now


def mark_triaged(alert: Alert, triage: str, user: str, now: datetime) -> None:
    alert.triage = triage
    alert.triaged_by = user
    alert.triaged_at = now
