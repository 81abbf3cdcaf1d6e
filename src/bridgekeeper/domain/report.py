"""The post-incident report's content, compiled from plain data: a pure function, no I/O.

`compile_report()` turns an incident, its timeline, roles over time, tasks, alerts, updates and
regulatory clocks into one JSON-ready dict. The Markdown and HTML templates in messages/report/
render that dict, and the JSON format is the dict itself, so the three always say the same.

Times are ISO 8601 UTC strings ("2026-01-01T09:00:00Z"), durations are whole seconds, users are
Slack ids (the `users` and `channels` maps give names). One pass over the timeline: linear in
its length.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bridgekeeper.domain.evidence import EvidenceFacts, appendix_row
from bridgekeeper.domain.report_clocks import RegulatoryClock, report_clock
from bridgekeeper.domain.report_timeline import (
    BOT,
    ActionsIn,
    Entry,
    TimelineSummary,
    entry_row,
    iso,
    iso_text,
    summarize,
)

__all__ = ["BOT", "Entry", "RegulatoryClock", "iso", "iso_text"]
REPORT_FORMAT = 1
DISPOSITIONS = ("resolved", "false_positive", "benign", "duplicate", "other")
SHORT_DISPOSITIONS = frozenset({"false_positive", "benign", "duplicate"})


@dataclass(frozen=True)
class IncidentFacts:
    number: int
    title: str
    severity: str
    initial_severity: str
    stage: str
    status: str
    private: bool
    declared_by: str
    declared_at: datetime
    detected_at: datetime
    closed_at: datetime | None = None
    closed_by: str | None = None
    impact: Mapping[str, Any] = field(default_factory=dict)
    resolution_summary: str | None = None
    root_cause: str | None = None
    went_well: str | None = None
    to_improve: str | None = None
    disposition: str | None = None
    follow_ups: Sequence[Mapping[str, Any]] = ()
    timeline_head: str = ""
    timeline_length: int = 0


@dataclass(frozen=True)
class RoleSpell:
    role: str
    user: str
    assigned_by: str
    assigned_at: datetime
    ended_at: datetime | None = None


@dataclass(frozen=True)
class TaskFacts:
    number: int
    text: str
    owner: str | None
    created_by: str
    created_at: datetime
    done_by: str | None = None
    done_at: datetime | None = None
    followup: bool = False
    issue: Mapping[str, Any] | None = None  # tracker, key, url, state, done: once created


@dataclass(frozen=True)
class AlertFacts:
    source: str
    title: str
    severity: str
    first_seen: datetime
    last_seen: datetime | None = None
    occurrences: int = 1
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    triaged_by: str | None = None
    triaged_at: datetime | None = None
    triage: str = "new"
    disposition: str | None = None
    link: str | None = None


@dataclass(frozen=True)
class Communication:
    """A message sent about the incident: where ("bridge", or channel ids) and what."""

    at: datetime
    actor: str
    where: Sequence[str]
    text: str


@dataclass(frozen=True)
class ReportInput:
    incident: IncidentFacts
    entries: Sequence[Entry]
    roles: Sequence[RoleSpell] = ()
    tasks: Sequence[TaskFacts] = ()
    alerts: Sequence[AlertFacts] = ()
    communications: Sequence[Communication] = ()
    clocks: Sequence[RegulatoryClock] = ()
    evidence: Sequence[EvidenceFacts] = ()
    indicators: Sequence[Mapping[str, Any]] = ()  # confirmed ones: services/indicators.py
    users: Mapping[str, str] = field(default_factory=dict)  # id -> name
    channels: Mapping[str, str] = field(default_factory=dict)  # id (or "bridge") -> name
    version: int = 0  # 0: a draft (preview of an open incident)
    generated_at: datetime | None = None


@dataclass(frozen=True)
class Milestones:
    """When the incident reached each point; the metrics are measured from `first_seen`."""

    first_seen: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str
    declared_at: datetime
    stabilized_at: datetime | None
    closed_at: datetime | None

    def metrics(self) -> dict[str, int | None]:
        return {
            "time_to_acknowledge": seconds_between(self.first_seen, self.acknowledged_at),
            "time_to_declare": seconds_between(self.first_seen, self.declared_at),
            "time_to_stabilize": seconds_between(self.first_seen, self.stabilized_at),
            "time_to_close": seconds_between(self.first_seen, self.closed_at),
        }


def seconds_between(start: datetime, end: datetime | None) -> int | None:
    if end is None:
        return None
    return max(0, int((end - start).total_seconds()))


def milestones(
    incident: IncidentFacts, alerts: Iterable[AlertFacts], stabilized_at: datetime | None
) -> Milestones:
    """First seen: the earliest alert, else detection. Acknowledged: the earliest alert ack or
    triage, else the declaration (declaring an incident acknowledges it); by whoever did that
    first."""
    alerts = list(alerts)
    first_seen = min([incident.detected_at, incident.declared_at, *(a.first_seen for a in alerts)])
    acks = [(a.acknowledged_at or a.triaged_at, a.acknowledged_by or a.triaged_by) for a in alerts]
    acknowledged = min([*(at for at, _ in acks if at is not None), incident.declared_at])
    named = [(at, by) for at, by in acks if at is not None and by]
    first = min(named, key=lambda ack: ack[0], default=None)
    by = first[1] if first is not None and first[0] <= incident.declared_at else None
    return Milestones(
        first_seen=first_seen,
        acknowledged_at=acknowledged,
        acknowledged_by=by or incident.declared_by,
        declared_at=incident.declared_at,
        stabilized_at=stabilized_at,
        closed_at=incident.closed_at if incident.status == "closed" else None,
    )


def first_stabilized(entries: Iterable[Entry]) -> datetime | None:
    for entry in entries:
        if entry.kind == "stage_changed" and entry.data.get("to") == "stabilize":
            return entry.at
    return None


def mean_median(values: Iterable[int | None]) -> tuple[int | None, int | None]:
    known = [v for v in values if v is not None]
    if not known:
        return None, None
    return round(statistics.fmean(known)), round(statistics.median(known))


# -- the report ---------------------------------------------------------------------------------
def compile_report(source: ReportInput) -> dict[str, Any]:
    """The whole report, its timeline's entries included (held in memory: small incidents)."""
    summary = summarize(source.entries)
    report = outline(source, summary)
    report["timeline"]["entries"] = [entry_row(e) for e in source.entries]
    for group in report["actions"]["by_stage"]:
        group["items"] = [entry_row(e) for e in ActionsIn(group["stage"]).pick(source.entries)]
    return report


def outline(source: ReportInput, summary: TimelineSummary) -> dict[str, Any]:
    """The report with the timeline's entries and each stage's actions left empty: those are
    filled in, or streamed, by the caller. `source.entries` is not read."""
    incident = source.incident
    moments = milestones(incident, source.alerts, summary.stabilized_at)
    disposition = incident.disposition
    return {
        "report_format": REPORT_FORMAT,
        "version": source.version,
        "draft": source.version == 0,
        "generated_at": iso(source.generated_at),
        "short": disposition in SHORT_DISPOSITIONS,
        "incident": _incident(incident),
        "summary": incident.resolution_summary,
        "classification": {
            "type": incident_type(incident),
            "impact": _impact(incident.impact),
            "initial_severity": incident.initial_severity,
            "final_severity": incident.severity,
            "severity_changes": summary.severity_changes,
            "disposition": disposition,
        },
        "detection": _detection(incident, source.alerts, moments),
        "timeline": {
            "head": incident.timeline_head,
            "length": incident.timeline_length,
            "entries": [],
        },
        "team": _team(source, summary.actors),
        "actions": {
            "by_stage": [{"stage": stage, "items": []} for stage in summary.action_stages],
            "tasks": [_task(t) for t in source.tasks],
        },
        "impact": {"current": _impact(incident.impact), "assessments": summary.assessments},
        "root_cause": incident.root_cause,
        "communications": _communications(source.communications, summary.communications),
        "regulatory": {
            "clocks": [report_clock(c, source.generated_at) for c in source.clocks],
            "entries": summary.regulatory,
        },
        "evidence": [appendix_row(item) for item in source.evidence],
        "indicators": list(source.indicators),
        "lessons": {"went_well": incident.went_well, "to_improve": incident.to_improve},
        "follow_ups": [
            {"owner": f.get("owner"), "text": str(f.get("text") or "")} for f in incident.follow_ups
        ],
        "milestones": {
            "first_seen": iso(moments.first_seen),
            "acknowledged_at": iso(moments.acknowledged_at),
            "declared_at": iso(moments.declared_at),
            "stabilized_at": iso(moments.stabilized_at),
            "closed_at": iso(moments.closed_at),
        },
        "metrics": moments.metrics(),
        "duration": seconds_between(incident.declared_at, moments.closed_at or source.generated_at),
        "users": dict(source.users),
        "channels": dict(source.channels),
    }


def incident_type(incident: IncidentFacts) -> str:
    """A private incident is a security incident (its bridge channel and report are for its
    members only); any other is an operations incident."""
    return "security" if incident.private else "operations"


def _incident(incident: IncidentFacts) -> dict[str, Any]:
    return {
        "number": incident.number,
        "title": incident.title,
        "status": incident.status,
        "stage": incident.stage,
        "private": incident.private,
        "declared_by": incident.declared_by,
        "declared_at": iso(incident.declared_at),
        "detected_at": iso(incident.detected_at),
        "closed_at": iso(incident.closed_at),
        "closed_by": incident.closed_by,
    }


def _impact(impact: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "confidentiality": impact.get("confidentiality"),
        "integrity": impact.get("integrity"),
        "availability": impact.get("availability"),
        "personal_data": impact.get("personal_data"),
        "suggested_severity": impact.get("suggested"),
    }


def _detection(
    incident: IncidentFacts, alerts: Sequence[AlertFacts], moments: Milestones
) -> dict[str, Any]:
    return {
        "alerts": [_alert(a) for a in sorted(alerts, key=lambda a: a.first_seen)],
        "first_seen": iso(moments.first_seen),
        "acknowledged_at": iso(moments.acknowledged_at),
        "acknowledged_by": moments.acknowledged_by,
        "declared_at": iso(incident.declared_at),
        "declared_by": incident.declared_by,
    }


def _alert(alert: AlertFacts) -> dict[str, Any]:
    return {
        "source": alert.source,
        "title": alert.title,
        "severity": alert.severity,
        "first_seen": iso(alert.first_seen),
        "last_seen": iso(alert.last_seen),
        "occurrences": alert.occurrences,
        "acknowledged_by": alert.acknowledged_by,
        "acknowledged_at": iso(alert.acknowledged_at),
        "triage": alert.triage,
        "disposition": alert.disposition,
        "link": alert.link,
    }


def _task(task: TaskFacts) -> dict[str, Any]:
    return {
        "number": task.number,
        "text": task.text,
        "owner": task.owner,
        "created_by": task.created_by,
        "created_at": iso(task.created_at),
        "done_by": task.done_by,
        "done_at": iso(task.done_at),
        "followup": task.followup,
        "issue": dict(task.issue) if task.issue else None,
    }


def _team(source: ReportInput, actors: Iterable[str]) -> dict[str, Any]:
    spells = sorted(source.roles, key=lambda r: (r.assigned_at, r.role))
    people: dict[str, None] = {}
    for user in (
        source.incident.declared_by,
        *(s.user for s in spells),
        *actors,
        *(t.owner for t in source.tasks if t.owner),
    ):
        if user and user != BOT:
            people.setdefault(user, None)
    return {
        "roles": [
            {
                "role": s.role,
                "user": s.user,
                "assigned_by": s.assigned_by,
                "from": iso(s.assigned_at),
                "until": iso(s.ended_at),
            }
            for s in spells
        ],
        "participants": list(people),
    }


def _communications(
    sent: Sequence[Communication], from_timeline: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    given = [
        {"at": iso(c.at), "actor": c.actor, "where": list(c.where), "text": c.text}
        for c in sorted(sent, key=lambda c: c.at)
    ]
    return given or from_timeline
