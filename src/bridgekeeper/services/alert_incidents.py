"""A new alert's incident: the open incident whose recent alerts share a correlation key with
it (domain/alerts/grouping.py), or one it declares by an auto-declare rule.

The open incidents' keys are read once a transaction (a notification of a whole group brings
hundreds of new alerts at once), and again after an alert joins, declares, repeats or resolves
in one (the grouping window counts from when an incident's alerts were last seen).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from bridgekeeper.config import AutoDeclareRule
from bridgekeeper.domain.alerts.grouping import pick_incident
from bridgekeeper.domain.incidents import Severity
from bridgekeeper.services.alert_cards import attach, mark_triaged
from bridgekeeper.services.incidents import BOT_ACTOR, Declared, IncidentService
from bridgekeeper.store import alerts as alert_store
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store.db import DbSession
from bridgekeeper.store.models import Alert

INCIDENT_KEYS = "bridgekeeper.incident_keys"  # session.info: the open incidents' keys, as read


def keys_changed(session: DbSession) -> None:
    """An open incident's keys, or when its alerts were last seen, changed in this transaction
    (an alert joined, declared, repeated or resolved): read them again when next asked."""
    session.info.pop(INCIDENT_KEYS, None)


async def join_related(
    incidents: IncidentService, session: DbSession, *, row: Alert, now: datetime
) -> bool:
    """Attach a new alert to the open incident it belongs with; whether there was one."""
    window = timedelta(minutes=incidents.settings.alerts.grouping_window_minutes)
    candidates = session.info.get(INCIDENT_KEYS)
    if candidates is None:
        since = now - window
        candidates = await alert_store.open_incident_keys(session=session, since=since)
        session.info[INCIDENT_KEYS] = candidates
    keys = frozenset(row.correlation_keys)
    incident_id = pick_incident(keys, candidates, now=now, window=window)
    if incident_id is None:
        return False
    keys_changed(session)  # the incident has this alert's keys now
    incident = await incident_store.get_by_id(session=session, incident_id=incident_id, lock=True)
    await attach(incidents, session, alert=row, incident=incident, actor=BOT_ACTOR)
    return True


def auto_declare_rule(rules: Iterable[AutoDeclareRule], row: Alert) -> AutoDeclareRule | None:
    """The first rule that declares an incident for this alert, if any."""
    severity = Severity(row.severity)
    for rule in rules:
        if row.source in rule.sources and severity.rank <= rule.min_severity.rank:
            return rule
    return None


async def declare_for(
    incidents: IncidentService,
    session: DbSession,
    *,
    row: Alert,
    rule: AutoDeclareRule,
    now: datetime,
) -> None:
    """Declare an incident for a new alert by an auto-declare rule."""
    keys_changed(session)  # one more open incident, with this alert's keys
    await declare_from_alert(
        incidents, session, alert=row, actor=BOT_ACTOR, private=rule.private, now=now
    )


async def declare_from_alert(
    incidents: IncidentService,
    session: DbSession,
    *,
    alert: Alert,
    actor: str,
    private: bool,
    now: datetime,
) -> Declared:
    """An incident declared for an alert (its title and severity, detected when the alert was
    first seen), the alert attached to it and marked declared."""
    declared = await incidents.declare(
        session=session,
        user=actor,
        title=alert.title,
        severity=Severity(alert.severity),
        private=private,
        detected_at=alert.first_seen,
    )
    incident = await incident_store.get_by_id(
        session=session, incident_id=declared.incident_id, lock=True
    )
    await attach(incidents, session, alert=alert, incident=incident, actor=actor)
    await incidents.alert_declared(session, incident, alert)
    mark_triaged(alert, "declared", actor, now)
    return declared
