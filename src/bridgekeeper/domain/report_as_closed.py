"""A close's report as that close left the incident. The report is compiled after the closing
transaction; when the incident was reopened first (the compile was slow, failed, or was taken
over by another process later), the roles, tasks, alerts, evidence, indicators and regulatory
clocks read then may have changed since: what changed from the reopen on is left out, as the
timeline is cut at the close's last entry. A closed incident takes no change but a reopen, so
everything before the reopen is the close's, the follow-up tasks its close form added included.

What the rows no longer hold cannot be put back: an indicator dismissed after the reopen, an
alert triaged again or joined to the incident after it (seen before the close), an item's hash
first recorded after it.

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


def as_closed(source: ReportInput, reopened_at: datetime | None) -> ReportInput:
    """`source` without what changed from `reopened_at` on (unchanged if never reopened)."""
    if reopened_at is None:
        return source
    before = reopened_at
    return replace(
        source,
        roles=[_spell(s, before) for s in source.roles if s.assigned_at < before],
        tasks=[_task(t, before) for t in source.tasks if t.created_at < before],
        alerts=[_alert(a, before) for a in source.alerts if a.first_seen < before],
        evidence=[_item(e, before) for e in source.evidence if e.collected_at < before],
        indicators=[i for i in source.indicators if not _from(i.get("confirmed_at"), before)],
        clocks=[_clock(c, before) for c in source.clocks if not _from(c.started_at, before)],
    )


def _spell(spell: RoleSpell, before: datetime) -> RoleSpell:
    """A role handed on after the reopen was still held at the close."""
    if _from(spell.ended_at, before):
        return replace(spell, ended_at=None)
    return spell


def _task(task: TaskFacts, before: datetime) -> TaskFacts:
    if _from(task.done_at, before):
        return replace(task, done_by=None, done_at=None)
    return task


def _alert(alert: AlertFacts, before: datetime) -> AlertFacts:
    """Seen until the close; acknowledged after the reopen, not yet at the close."""
    if _from(alert.last_seen, before):
        alert = replace(alert, last_seen=before)
    if _from(alert.acknowledged_at, before):
        triage = "new" if alert.triage == "acknowledged" else alert.triage
        alert = replace(alert, acknowledged_by=None, acknowledged_at=None, triage=triage)
    return alert


def _item(item: EvidenceFacts, before: datetime) -> EvidenceFacts:
    """An item's custody as at the close: its custodian the last one handed it before."""
    history = tuple(step for step in item.history if step.at < before)
    if len(history) == len(item.history):
        return item
    handed = [step.to for step in history if step.kind == TRANSFERRED and step.to]
    return replace(item, history=history, custodian=handed[-1] if handed else item.collected_by)


def _clock(clock: RegulatoryClock, before: datetime) -> RegulatoryClock:
    """A notification decided, or a deadline met, after the reopen was still open at the close."""
    deadlines = [_deadline(d, before) for d in clock.deadlines]
    if _from(clock.decided_at, before):
        clock = replace(clock, status="open", decided_by=None, decided_at=None, rationale=None)
    return replace(clock, deadlines=deadlines)


def _deadline(deadline: Mapping[str, Any], before: datetime) -> Mapping[str, Any]:
    if _from(deadline.get("done_at"), before):
        return {**deadline, "done_at": None, "done_by": None}
    return deadline


def _from(stored: object, moment: datetime) -> bool:
    """Whether a stored moment (a datetime or ISO 8601 text) is `moment` or later."""
    if isinstance(stored, str) and stored:
        try:
            stored = datetime.fromisoformat(stored)
        except ValueError:
            return False
    if not isinstance(stored, datetime):
        return False
    return (stored if stored.tzinfo else stored.replace(tzinfo=UTC)) >= moment
