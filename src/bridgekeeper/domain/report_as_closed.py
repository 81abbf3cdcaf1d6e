"""A close's report as that close left the incident. The report is compiled after the closing
transaction; when a reopen came first (or another process took a stopped compile over, later),
the roles, tasks, alerts, evidence, indicators and regulatory clocks read then may have changed
since the close:
what changed after it is left out, as the timeline is cut at the close's last entry.

Pure Python: the report's input in, the same input as at the close out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bridgekeeper.domain.evidence import TRANSFERRED, EvidenceFacts
from bridgekeeper.domain.report import (
    AlertFacts,
    RegulatoryClock,
    ReportInput,
    RoleSpell,
    TaskFacts,
)


def as_closed(source: ReportInput) -> ReportInput:
    """`source` as at its incident's close (unchanged for an incident not closed)."""
    closed_at = source.incident.closed_at
    if closed_at is None:
        return source
    return replace(
        source,
        roles=[_spell(s, closed_at) for s in source.roles if s.assigned_at <= closed_at],
        tasks=[_task(t, closed_at) for t in source.tasks if t.created_at <= closed_at],
        alerts=[_alert(a, closed_at) for a in source.alerts if a.first_seen <= closed_at],
        evidence=[_item(e, closed_at) for e in source.evidence if e.collected_at <= closed_at],
        indicators=[i for i in source.indicators if _confirmed_by(i, closed_at)],
        clocks=[_clock(c, closed_at) for c in source.clocks if _started_by(c, closed_at)],
    )


def _spell(spell: RoleSpell, closed_at: datetime) -> RoleSpell:
    """A role handed on after the close was still held at it."""
    if spell.ended_at is not None and spell.ended_at > closed_at:
        return replace(spell, ended_at=None)
    return spell


def _task(task: TaskFacts, closed_at: datetime) -> TaskFacts:
    if task.done_at is not None and task.done_at > closed_at:
        return replace(task, done_by=None, done_at=None)
    return task


def _alert(alert: AlertFacts, closed_at: datetime) -> AlertFacts:
    """An alert acknowledged or triaged after the close was not yet at it."""
    if alert.acknowledged_at is not None and alert.acknowledged_at > closed_at:
        alert = replace(alert, acknowledged_by=None, acknowledged_at=None)
    if alert.triaged_at is not None and alert.triaged_at > closed_at:
        alert = replace(alert, triaged_by=None, triaged_at=None, triage="new", disposition=None)
    if alert.last_seen is not None and alert.last_seen > closed_at:
        alert = replace(alert, last_seen=closed_at)
    return alert


def _item(item: EvidenceFacts, closed_at: datetime) -> EvidenceFacts:
    """An item's custody as at the close: its custodian the last one handed it before."""
    history = tuple(step for step in item.history if step.at <= closed_at)
    if len(history) == len(item.history):
        return item
    handed = [step.to for step in history if step.kind == TRANSFERRED and step.to]
    return replace(item, history=history, custodian=handed[-1] if handed else item.collected_by)


def _confirmed_by(indicator: Any, closed_at: datetime) -> bool:
    return not _after(indicator.get("confirmed_at"), closed_at)


def _started_by(clock: RegulatoryClock, closed_at: datetime) -> bool:
    return clock.aware_at is None or clock.aware_at <= closed_at


def _clock(clock: RegulatoryClock, closed_at: datetime) -> RegulatoryClock:
    """A notification decided, or a deadline met, after the close was still open at it."""
    deadlines = [_deadline(d, closed_at) for d in clock.deadlines]
    if clock.decided_at is not None and clock.decided_at > closed_at:
        clock = replace(clock, status="open", decided_by=None, decided_at=None, rationale=None)
    return replace(clock, deadlines=deadlines)


def _deadline(deadline: Mapping[str, Any], closed_at: datetime) -> Mapping[str, Any]:
    if _after(deadline.get("done_at"), closed_at):
        return {**deadline, "done_at": None, "done_by": None}
    return deadline


def _after(stored: object, closed_at: datetime) -> bool:
    """Whether a stored moment (a datetime or ISO 8601 text) comes after the close."""
    if isinstance(stored, str) and stored:
        try:
            stored = datetime.fromisoformat(stored)
        except ValueError:
            return False
    if not isinstance(stored, datetime):
        return False
    return (stored if stored.tzinfo else stored.replace(tzinfo=UTC)) > closed_at
