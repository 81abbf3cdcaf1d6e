"""A close's report as that close left the incident. The report is compiled after the closing
transaction, and later still when its compile failed or its process stopped (another process
takes it over 10 minutes on); meanwhile the incident may have been reopened and worked on, and
some things change on a closed incident too (regulatory clocks started or settled, alerts
repeating). The roles, tasks, alerts, evidence, indicators and clocks read then are cut where
the timeline is: at the close's last entry. Everything the closing transaction wrote (the close
form's follow-up tasks included) was stamped before that entry was recorded.

What the rows no longer hold cannot be put back: an indicator dismissed after the close, an
alert triaged again or joined to the incident after it (seen before the close), an item's hash
first recorded after it.

Pure Python: the report's input in, the same input as at the close out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from bridgekeeper.domain.evidence import TRANSFERRED, EvidenceFacts
from bridgekeeper.domain.report import (
    AlertFacts,
    RegulatoryClock,
    ReportInput,
    RoleSpell,
    TaskFacts,
)
from bridgekeeper.domain.report_timeline import stored_moment


def as_closed(source: ReportInput, closed: datetime | None) -> ReportInput:
    """`source` without what changed after `closed`, when the close's last timeline entry was
    recorded (None: left as it is)."""
    if closed is None:
        return source
    return replace(
        source,
        roles=[_spell(s, closed) for s in source.roles if not _after(s.assigned_at, closed)],
        tasks=[_task(t, closed) for t in source.tasks if not _after(t.created_at, closed)],
        alerts=[_alert(a, closed) for a in source.alerts if not _after(a.first_seen, closed)],
        evidence=[_item(e, closed) for e in source.evidence if not _after(e.collected_at, closed)],
        indicators=[i for i in source.indicators if not _after(i.get("confirmed_at"), closed)],
        clocks=[_clock(c, closed) for c in source.clocks if not _after(c.started_at, closed)],
    )


def _spell(spell: RoleSpell, closed: datetime) -> RoleSpell:
    """A role handed on after the close was still held at it."""
    if _after(spell.ended_at, closed):
        return replace(spell, ended_at=None)
    return spell


def _task(task: TaskFacts, closed: datetime) -> TaskFacts:
    if _after(task.done_at, closed):
        return replace(task, done_by=None, done_at=None)
    return task


def _alert(alert: AlertFacts, closed: datetime) -> AlertFacts:
    """Seen until the close; acknowledged after it, not yet at it."""
    if _after(alert.last_seen, closed):
        alert = replace(alert, last_seen=closed)
    if _after(alert.acknowledged_at, closed):
        triage = "new" if alert.triage == "acknowledged" else alert.triage
        alert = replace(alert, acknowledged_by=None, acknowledged_at=None, triage=triage)
    return alert


def _item(item: EvidenceFacts, closed: datetime) -> EvidenceFacts:
    """An item's custody as at the close: its custodian the last one handed it before."""
    history = tuple(step for step in item.history if not _after(step.at, closed))
    if len(history) == len(item.history):
        return item
    handed = [step.to for step in history if step.kind == TRANSFERRED and step.to]
    return replace(item, history=history, custodian=handed[-1] if handed else item.collected_by)


def _clock(clock: RegulatoryClock, closed: datetime) -> RegulatoryClock:
    """A notification decided, or a deadline met, after the close was still open at it."""
    deadlines = [_deadline(d, closed) for d in clock.deadlines]
    if _after(clock.decided_at, closed):
        clock = replace(clock, status="open", decided_by=None, decided_at=None, rationale=None)
    return replace(clock, deadlines=deadlines)


def _deadline(deadline: Mapping[str, Any], closed: datetime) -> Mapping[str, Any]:
    if _after(deadline.get("done_at"), closed):
        return {**deadline, "done_at": None, "done_by": None}
    return deadline


def _after(stored: object, closed: datetime) -> bool:
    """Whether a stored moment (a datetime or ISO 8601 text) comes after `closed`."""
    moment = stored_moment(stored)
    return moment is not None and moment > closed
