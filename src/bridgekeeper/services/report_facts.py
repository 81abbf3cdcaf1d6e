"""Stored rows as the plain facts the report, the dashboard and the console compile
(domain/report.py's values)."""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

from bridgekeeper.domain import report as r
from bridgekeeper.store import notification_clocks as clock_store
from bridgekeeper.store.db import DbSession
from bridgekeeper.store.models import Alert, Followup, Incident, RoleAssignment, Task


async def regulatory_clocks(session: DbSession, incident_id: int) -> list[r.RegulatoryClock]:
    rows = await clock_store.of_incident(session=session, incident_id=incident_id)
    return [
        r.RegulatoryClock(
            regime=row.regime,
            status=row.status,
            aware_at=row.aware_at,
            deadlines=list(row.deadlines or []),
            decided_by=row.decided_by,
            decided_at=row.decided_at,
            rationale=row.rationale,
            started_at=row.started_at,
        )
        for row in rows
    ]


# -- rows to plain data -------------------------------------------------------------------------
def incident_facts(incident: Incident) -> r.IncidentFacts:
    return r.IncidentFacts(
        number=incident.number,
        title=incident.title,
        severity=incident.severity,
        initial_severity=incident.initial_severity,
        stage=incident.stage,
        status=incident.status,
        private=incident.private,
        declared_by=incident.declared_by,
        declared_at=incident.declared_at,
        detected_at=incident.detected_at,
        closed_at=incident.closed_at,
        closed_by=incident.closed_by,
        impact=dict(incident.impact or {}),
        resolution_summary=incident.resolution_summary,
        root_cause=incident.root_cause,
        went_well=incident.went_well,
        to_improve=incident.to_improve,
        disposition=incident.disposition,
        follow_ups=list(incident.follow_ups or []),
        timeline_head=incident.timeline_head,
        timeline_length=incident.timeline_length,
    )


_TIMES = ("declared_at", "detected_at", "closed_at")  # IncidentFacts' datetimes


def facts_record(facts: r.IncidentFacts) -> dict[str, Any]:
    """The facts as JSON values (a report version keeps the incident as closed)."""
    record = asdict(facts)
    for name in _TIMES:
        record[name] = record[name].isoformat() if record[name] is not None else None
    return record


def facts_from_record(record: dict[str, Any]) -> r.IncidentFacts | None:
    """The facts a report version kept; None if they no longer fit (kept by a version of
    bridgekeeper whose facts had other fields): the incident as it is then stands in."""
    known = {item.name for item in fields(r.IncidentFacts)}
    values = {name: value for name, value in record.items() if name in known}
    for name in _TIMES:
        if values.get(name):
            values[name] = datetime.fromisoformat(values[name])
    try:
        return r.IncidentFacts(**values)
    except TypeError:
        return None


def role_spell(spell: RoleAssignment) -> r.RoleSpell:
    return r.RoleSpell(
        role=spell.role,
        user=spell.user_id,
        assigned_by=spell.assigned_by,
        assigned_at=spell.assigned_at,
        ended_at=spell.ended_at,
    )


def task_facts(task: Task, followup: Followup | None) -> r.TaskFacts:
    issue = None
    if followup is not None and followup.key:
        issue = {
            "tracker": followup.tracker,
            "key": followup.key,
            "url": followup.url,
            "state": followup.state,
            "done": followup.done,
        }
    return r.TaskFacts(
        number=task.number,
        text=task.text,
        owner=task.owner,
        created_by=task.created_by,
        created_at=task.created_at,
        done_by=task.done_by,
        done_at=task.done_at,
        followup=task.followup,
        issue=issue,
    )


def alert_facts(alert: Alert) -> r.AlertFacts:
    return r.AlertFacts(
        source=alert.source,
        title=alert.title,
        severity=alert.severity,
        first_seen=alert.first_seen,
        last_seen=alert.last_seen,
        occurrences=alert.occurrences,
        acknowledged_by=alert.acknowledged_by,
        acknowledged_at=alert.acknowledged_at,
        triaged_by=alert.triaged_by,
        triaged_at=alert.triaged_at,
        triage=alert.triage,
        disposition=alert.disposition,
        link=alert.link,
    )
