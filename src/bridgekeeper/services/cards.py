"""What the cards and the topic show, read from current state at delivery time (the Slack
edge renders them: slack/card_views.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bridgekeeper.config import Settings
from bridgekeeper.domain.incidents import Severity, Stage
from bridgekeeper.domain.oncall import Override, Team, on_call
from bridgekeeper.domain.oncall_routing import labels_of, team_for
from bridgekeeper.services.regulatory_clocks import clock_summaries
from bridgekeeper.services.schedules import Schedules
from bridgekeeper.services.stakeholders import disclosure
from bridgekeeper.store import alerts as alert_store
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store import oncall as oncall_store
from bridgekeeper.store import tasks as task_store
from bridgekeeper.store.db import DbSession
from bridgekeeper.store.models import Alert, Incident


async def incident_context(
    *, session: DbSession, settings: Settings, incident: Incident
) -> dict[str, Any]:
    roles = await incident_store.current_roles(session=session, incident_id=incident.id)
    severity = Severity(incident.severity)
    impact = incident.impact or {}
    open_tasks = await task_store.open_of_incident(session=session, incident_id=incident.id)
    return {
        "incident": incident,
        "severity": severity.label,
        "severity_meaning": settings.process.severity_meanings.get(severity, ""),
        "stage": Stage(incident.stage).label,
        "roles": [{"name": r, "user": roles.get(r)} for r in settings.process.roles],
        "commander": roles.get("commander"),
        "impact": impact,
        "suggested": Severity(impact["suggested"]).label if impact.get("suggested") else None,
        "open_tasks": open_tasks,
        "open": incident.status == "open",
        "disclosure": disclosure(settings, incident),  # what the stakeholder announcement shows
        "clocks": await clock_summaries(
            session, incident.id, {r.name: r.title for r in settings.updates.regimes}
        ),
    }


def routed_team(settings: Settings, alert: Alert) -> Team | None:
    """The on-call team the alert is routed to, if any."""
    name = team_for(
        settings.oncall.routes,
        source=alert.source,
        resource=alert.resource,
        labels=labels_of(alert.raw or {}),
    )
    return settings.oncall.team(name) if name else None


async def responder(
    session: DbSession,
    *,
    settings: Settings,
    alert: Alert,
    now: datetime,
    schedules: Schedules,
) -> tuple[str, str | None, bool] | None:
    """(team, who is on call now, overrides included, whether its schedule could be read) for
    the team the alert is routed to. A paging tool's shifts are those read last: the deliverer
    reads them just before rendering (effects/deliver.py), outside any transaction."""
    team = routed_team(settings, alert)
    if team is None:
        return None
    if schedules.tool(team):
        shift = on_call(schedules.known(team), now)
        return team.name, shift.user if shift else None, schedules.readable(team)
    rows = await oncall_store.current(session=session, teams=[team.name], after=now)
    shift = on_call(
        team.with_overrides(Override(r.user_id, r.starts_at, r.ends_at) for r in rows), now
    )
    return team.name, shift.user if shift else None, True


async def group_context(session: DbSession, incident_id: int) -> dict[str, Any]:
    """An incident's grouped alerts: how many, how many still firing, and the latest."""
    # after in-flight attaches
    await incident_store.find(session=session, incident_id=incident_id, lock=True)
    count, firing, latest = await alert_store.grouped(session=session, incident_id=incident_id)
    return {"count": count, "firing": firing, "latest": latest}


async def topic_context(
    *, session: DbSession, settings: Settings, incident_id: int
) -> dict[str, Any]:
    incident = await incident_store.get_by_id(session=session, incident_id=incident_id)
    return await incident_context(session=session, settings=settings, incident=incident)
