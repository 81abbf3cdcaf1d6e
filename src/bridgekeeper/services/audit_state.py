"""The audit's second half: what an incident's rows must hold, by its timeline.

The report shows things kept outside the timeline: the incident row (title, severity, stage,
status, the close record), the role assignments and the tasks. Every change to them is recorded on
the timeline with its full data, so replaying the timeline gives the state it implies, and
`differences()` lists where the rows say otherwise: a row changed with SQL.

What older entries did not record (a legacy close entry has no root cause) is UNKNOWN and not
compared. Times kept in rows are compared only on chains of version 2, whose entries carry the
row's own time (before, the row and the entry took the clock a moment apart).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import astuple, dataclass, field
from datetime import datetime
from itertools import zip_longest
from typing import Any

from bridgekeeper.domain.incidents import IMPACT_DIMENSIONS
from bridgekeeper.store.models import Incident, Report, RoleAssignment, Task, TimelineEntry


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()
IMPACT_KEYS = (*IMPACT_DIMENSIONS, "personal_data", "suggested")
# the close entry's data key -> the incident column
CLOSE_FIELDS = {
    "summary": "resolution_summary",
    "root_cause": "root_cause",
    "went_well": "went_well",
    "to_improve": "to_improve",
    "disposition": "disposition",
    "follow_ups": "follow_ups",
}
STRICT_FIELDS = frozenset({"closed_at"})
SHOWN_MAX = 60


@dataclass
class Spell:
    role: str
    user: str
    by: str
    at: datetime
    ended_at: datetime | None = None

    def key(self, strict: bool) -> tuple[Any, ...]:
        if strict:
            return astuple(self)
        return (self.role, self.user, self.by, self.ended_at is None)

    def __str__(self) -> str:
        until = f" until {self.ended_at.isoformat()}" if self.ended_at else ""
        return f"{self.role} {self.user} (by {self.by}, from {self.at.isoformat()}{until})"


@dataclass
class TaskState:
    text: str
    owner: str | None
    created_by: str
    created_at: datetime
    done_by: str | None = None
    done_at: datetime | None = None

    def compared(self, strict: bool) -> dict[str, Any]:
        values: dict[str, Any] = {
            "text": self.text,
            "owner": self.owner,
            "created_by": self.created_by,
            "done_by": self.done_by,
            "done": self.done_at is not None,
        }
        if strict:
            values |= {"created_at": self.created_at, "done_at": self.done_at}
        return values


@dataclass
class Implied:
    """The state the timeline implies: incident columns, role assignments in order, tasks."""

    fields: dict[str, Any] = field(default_factory=dict)
    spells: list[Spell] = field(default_factory=list)
    tasks: dict[int, TaskState] = field(default_factory=dict)


# -- replaying --------------------------------------------------------------------------------
def replay(entries: Iterable[TimelineEntry]) -> Implied:
    state = Implied()
    for entry in entries:
        apply = _APPLY.get(entry.kind)
        if apply is not None:
            apply(state, entry, entry.data or {})
    return state


def _declared(state: Implied, entry: TimelineEntry, data: dict[str, Any]) -> None:
    state.fields.update(
        title=data.get("title", UNKNOWN),
        severity=data.get("severity", UNKNOWN),
        initial_severity=data.get("severity", UNKNOWN),
        private=data.get("private", UNKNOWN),
        stage="detect",
        status="open",
        declared_by=entry.actor,
        declared_at=entry.at,
        detected_at=_time(data["detected_at"]) if "detected_at" in data else UNKNOWN,
        closed_at=None,
        closed_by=None,
        impact=_impact({}),
        **{column: None for column in CLOSE_FIELDS.values()},
    )
    state.fields["follow_ups"] = []
    if data.get("commander"):
        state.spells.append(Spell("commander", str(data["commander"]), entry.actor, entry.at))


def _severity(state: Implied, entry: TimelineEntry, data: dict[str, Any]) -> None:
    state.fields["severity"] = data.get("to", UNKNOWN)


def _stage(state: Implied, entry: TimelineEntry, data: dict[str, Any]) -> None:
    state.fields["stage"] = data.get("to", UNKNOWN)


def _impact_assessed(state: Implied, entry: TimelineEntry, data: dict[str, Any]) -> None:
    state.fields["impact"] = _impact(data)


def _role(state: Implied, entry: TimelineEntry, data: dict[str, Any]) -> None:
    role = str(data.get("role"))
    for spell in state.spells:
        if spell.role == role and spell.ended_at is None:
            spell.ended_at = entry.at
    state.spells.append(Spell(role, str(data.get("user")), entry.actor, entry.at))


def _task_added(state: Implied, entry: TimelineEntry, data: dict[str, Any]) -> None:
    owner = data.get("owner")
    state.tasks[int(data.get("number") or 0)] = TaskState(
        text=entry.text,
        owner=str(owner) if owner else None,
        created_by=entry.actor,
        created_at=entry.at,
    )


def _task_done(state: Implied, entry: TimelineEntry, data: dict[str, Any]) -> None:
    task = state.tasks.get(int(data.get("number") or 0))
    if task is not None:
        task.done_by, task.done_at = entry.actor, entry.at


def _closed(state: Implied, entry: TimelineEntry, data: dict[str, Any]) -> None:
    state.fields.update(status="closed", closed_at=entry.at, closed_by=entry.actor)
    for key, column in CLOSE_FIELDS.items():
        state.fields[column] = data.get(key, UNKNOWN)
    if "summary" not in data:  # a close recorded before the entry kept every field
        state.fields["resolution_summary"] = entry.text or None
    if not isinstance(data.get("follow_ups"), list):
        state.fields["follow_ups"] = UNKNOWN  # older entries counted them only


def _reopened(state: Implied, entry: TimelineEntry, data: dict[str, Any]) -> None:
    state.fields.update(status="open", closed_at=None, closed_by=None)


_APPLY: dict[str, Callable[[Implied, TimelineEntry, dict[str, Any]], None]] = {
    "declared": _declared,
    "severity_changed": _severity,
    "stage_changed": _stage,
    "impact_assessed": _impact_assessed,
    "role_assigned": _role,
    "task_added": _task_added,
    "task_done": _task_done,
    "closed": _closed,
    "reopened": _reopened,
}


# -- comparing --------------------------------------------------------------------------------
def differences(
    implied: Implied,
    incident: Incident,
    roles: Sequence[RoleAssignment],
    tasks: Sequence[Task],
    *,
    strict: bool,
) -> list[str]:
    """Each place the rows differ from what the timeline implies, as one sentence."""
    return [
        *_field_differences(implied, incident, strict),
        *_role_differences(implied.spells, roles, strict),
        *_task_differences(implied.tasks, tasks, strict),
    ]


def _field_differences(implied: Implied, incident: Incident, strict: bool) -> list[str]:
    found = []
    for column, expected in implied.fields.items():
        if expected is UNKNOWN or (column in STRICT_FIELDS and not strict):
            continue
        actual = _row_value(incident, column)
        if _normal(expected, column) != actual:
            found.append(_says(column, expected, actual, "the incident row"))
    return found


def _role_differences(
    spells: Sequence[Spell], rows: Sequence[RoleAssignment], strict: bool
) -> list[str]:
    stored = [Spell(r.role, r.user_id, r.assigned_by, r.assigned_at, r.ended_at) for r in rows]
    found = []
    current = {s.role: s.user for s in spells if s.ended_at is None}
    holders = {s.role: s.user for s in stored if s.ended_at is None}
    for role in sorted(set(current) | set(holders)):
        if current.get(role) != holders.get(role):
            found.append(
                _says(f"role {role}", current.get(role), holders.get(role), "role_assignments")
            )
    for number, (want, got) in enumerate(zip_longest(spells, stored), start=1):
        if want is None or got is None or want.key(strict) != got.key(strict):
            found.append(_says(f"role assignment {number}", want, got, "role_assignments"))
            break  # the rest are shifted: one is enough to show where
    return found


def _task_differences(
    implied: dict[int, TaskState], rows: Sequence[Task], strict: bool
) -> list[str]:
    stored = {
        t.number: TaskState(t.text, t.owner, t.created_by, t.created_at, t.done_by, t.done_at)
        for t in rows
    }
    found = []
    for number in sorted(set(implied) | set(stored)):
        want, got = implied.get(number), stored.get(number)
        if want is None or got is None:
            texts = [t.text if t else None for t in (want, got)]
            found.append(_says(f"task {number}", texts[0], texts[1], "tasks"))
            continue
        wanted, actual = want.compared(strict), got.compared(strict)
        for name in wanted:
            if wanted[name] != actual[name]:
                found.append(_says(f"task {number} {name}", wanted[name], actual[name], "tasks"))
    return found


# -- values -----------------------------------------------------------------------------------
def _row_value(incident: Incident, column: str) -> Any:
    value = getattr(incident, column)
    return _normal(value, column)


def _normal(value: Any, column: str) -> Any:
    if column == "impact":
        return _impact(value or {})
    if column == "follow_ups":
        return [{"owner": f.get("owner"), "text": f.get("text")} for f in value or []]
    return value


def _impact(data: dict[str, Any]) -> dict[str, Any]:
    return {key: data.get(key) for key in IMPACT_KEYS}


def _time(value: object) -> datetime | Any:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return UNKNOWN


def _says(what: str, expected: object, actual: object, where: str) -> str:
    return f"{what}: the timeline says {shown(expected)}, {where} says {shown(actual)}"


def shown(value: object) -> str:
    """A value for one line of the audit's output: quoted, cut short."""
    if value is None:
        return "nothing"
    if isinstance(value, datetime):
        text = value.isoformat()
    elif isinstance(value, Spell):
        text = str(value)
    else:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= SHOWN_MAX else text[: SHOWN_MAX - 1] + "…"


def report_differences(reports: Sequence[Report], heads: set[str]) -> list[str]:
    """Stored reports: each text (body and parts) must give its sha256, and come from a head
    the chain had."""
    found = []
    for report in reports:
        if not report.sha256:  # reserved by a close, still being compiled
            continue
        name = f"report version {report.version} ({report.format})"
        if hashlib.sha256(report.text.encode()).hexdigest() != report.sha256:
            found.append(f"{name}: its content does not match its sha256")
        if report.timeline_head not in heads:
            found.append(f"{name}: compiled at a timeline head this timeline never had")
    return found
