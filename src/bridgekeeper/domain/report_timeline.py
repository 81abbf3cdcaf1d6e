"""What a report takes from an incident's timeline, one entry at a time: pure, no I/O.

A long incident's timeline is read twice rather than held: `TimelineSummary` collects in one
pass the few things the report's sections need (severity changes, assessments, stages, who took
part); the entries themselves are read again, page by page, while the report is rendered, and
`actions_in` picks the entries of one stage's "Actions taken" from such a pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

COMMUNICATION_KINDS = frozenset(
    {"update", "update_posted", "status_update", "stakeholder_update", "announcement"}
)
REGULATORY_PREFIXES = ("notif", "regulatory", "clock")
ACTION_KINDS = frozenset({"note", "task_done", "pinned", "pinned_edited"})
FIRST_STAGE = "detect"
BOT = "bridgekeeper"


@dataclass(frozen=True)
class Entry:
    seq: int
    at: datetime
    actor: str
    kind: str
    text: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)
    hash: str = ""


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_text(value: object) -> str | None:
    """A stored ISO 8601 string (or datetime) in the report's form."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, str) and value:
        moment = stored_moment(value)
        return iso(moment) if moment is not None else value
    return None


def stored_moment(value: object) -> datetime | None:
    """A stored moment: a datetime, or ISO 8601 text (in UTC when it names no zone); None for
    anything else."""
    if isinstance(value, str) and value:
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def entry_row(entry: Entry) -> dict[str, Any]:
    """An entry as the report shows it."""
    return {
        "seq": entry.seq,
        "at": iso(entry.at),
        "actor": entry.actor,
        "kind": entry.kind,
        "text": entry.text,
        "data": dict(entry.data),
        "hash": entry.hash,
    }


@dataclass
class TimelineSummary:
    """Everything the report needs from the timeline except the entries themselves."""

    length: int = 0
    severity_changes: list[dict[str, Any]] = field(default_factory=list)
    assessments: list[dict[str, Any]] = field(default_factory=list)
    communications: list[dict[str, Any]] = field(default_factory=list)
    regulatory: list[dict[str, Any]] = field(default_factory=list)
    stabilized_at: datetime | None = None
    actors: dict[str, None] = field(default_factory=dict)  # in order of first appearance
    action_stages: dict[str, int] = field(default_factory=dict)  # stage: actions, in order
    stage: str = FIRST_STAGE
    stage_starts: list[tuple[datetime, str]] = field(default_factory=list)  # in time order

    def add(self, entry: Entry) -> None:
        self.length += 1
        if entry.actor and entry.actor != BOT:
            self.actors.setdefault(entry.actor, None)
        kind = entry.kind
        if kind == "stage_changed":
            self._stage_changed(entry)
        elif kind == "severity_changed":
            self.severity_changes.append(
                {
                    "at": iso(entry.at),
                    "actor": entry.actor,
                    "from": entry.data.get("from"),
                    "to": entry.data.get("to"),
                    "reason": entry.text,
                }
            )
        elif kind == "impact_assessed":
            self.assessments.append({"at": iso(entry.at), "actor": entry.actor, **entry.data})
        elif kind in ACTION_KINDS:
            stage = self.stage_at(entry.at)
            self.action_stages[stage] = self.action_stages.get(stage, 0) + 1
        elif kind in COMMUNICATION_KINDS:
            self.communications.append(_communication(entry))
        elif kind.startswith(REGULATORY_PREFIXES):
            self.regulatory.append(entry_row(entry))

    def stage_at(self, at: datetime) -> str:
        """The stage in force at `at`: an action is filed under it even when it was added
        later (a message pinned after the stage moved on keeps its own time)."""
        stage = FIRST_STAGE
        for started, name in reversed(self.stage_starts):
            if started <= at:
                stage = name
                break
        return stage

    def _stage_changed(self, entry: Entry) -> None:
        self.stage = str(entry.data.get("to") or self.stage)
        self.stage_starts.append((entry.at, self.stage))
        if self.stage == "stabilize" and self.stabilized_at is None:
            self.stabilized_at = entry.at


def _communication(entry: Entry) -> dict[str, Any]:
    """Who was told what, where: the stakeholders of a private incident were shown only its
    number, severity and stage (`redacted`: their channels), the bridge channel the text."""
    stakeholders = [str(channel) for channel in entry.data.get("channels") or []]
    hidden = stakeholders if entry.data.get("redacted") else []
    return {
        "at": iso(entry.at),
        "actor": entry.actor,
        "where": ["bridge", *(c for c in stakeholders if c not in hidden)],
        "text": entry.text,
        "redacted": hidden,
    }


def summarize(entries: Iterable[Entry]) -> TimelineSummary:
    summary = TimelineSummary()
    for entry in entries:
        summary.add(entry)
    return summary


class ActionsIn:
    """Picks the notes, completed tasks and pins recorded while the incident was in `stage`
    from the timeline read in order, whole or page by page (stage changes included)."""

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self.current = FIRST_STAGE

    def pick(self, entries: Iterable[Entry]) -> list[Entry]:
        picked = []
        for entry in entries:
            if entry.kind == "stage_changed":
                self.current = str(entry.data.get("to") or self.current)
            elif entry.kind in ACTION_KINDS and self.current == self.stage:
                picked.append(entry)
        return picked
