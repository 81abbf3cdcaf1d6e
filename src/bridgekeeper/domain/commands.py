"""The commands of `/incident ...`, typed: what domain/command_parsing.py reads the text into.

Pure Python: no Slack, HTTP or database here. A command that cannot be read is a `UsageError`
holding a stable problem code; the words users read live in messages/usage.md.j2 and
messages/help.md.j2.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeAlias

from bridgekeeper.domain.incidents import Impact, Severity, Stage


@dataclass(frozen=True)
class UserRef:
    """A mentioned user: `id` from `<@U123>` / `<@U123|name>`, only `name` from plain `@name`."""

    id: str | None
    name: str | None


@dataclass(frozen=True)
class Help:
    topic: str | None  # a subcommand name, or None for the full help


@dataclass(frozen=True)
class ListIncidents:
    pass


@dataclass(frozen=True)
class Declare:
    title: str
    severity: Severity | None  # None: the service applies the default
    private: bool


@dataclass(frozen=True)
class Stats:
    days: int | None  # 7, 30 or 90; None: the service's default


@dataclass(frozen=True)
class AssignRole:
    incident: int | None
    role: str  # spelled as in the configured roles
    user: UserRef


@dataclass(frozen=True)
class ListRoles:
    incident: int | None


@dataclass(frozen=True)
class SetSeverity:
    incident: int | None
    severity: Severity
    reason: str


@dataclass(frozen=True)
class SetStage:
    incident: int | None
    stage: Stage  # never Stage.CLOSED: closing is `Close`
    note: str | None


@dataclass(frozen=True)
class SetImpact:
    """Only the given parts are set; None leaves a part as it is."""

    incident: int | None
    confidentiality: Impact | None
    integrity: Impact | None
    availability: Impact | None
    personal_data: bool | None


@dataclass(frozen=True)
class AddNote:
    incident: int | None
    text: str


@dataclass(frozen=True)
class AddTask:
    incident: int | None
    text: str
    owner: UserRef | None
    followup: bool = False  # to become an issue in the team's tracker


@dataclass(frozen=True)
class ListFollowups:
    incident: int | None


@dataclass(frozen=True)
class ExportFollowups:
    """Create the follow-ups' issues in the configured tracker now (not only at close)."""

    incident: int | None


@dataclass(frozen=True)
class CompleteTask:
    incident: int | None
    number: int


@dataclass(frozen=True)
class ListTasks:
    incident: int | None


@dataclass(frozen=True)
class ShowTimeline:
    incident: int | None
    page: int | None  # 1-based; None: the first page


@dataclass(frozen=True)
class ShowSummary:
    incident: int | None


@dataclass(frozen=True)
class ShowReport:
    incident: int | None


@dataclass(frozen=True)
class PostUpdate:
    incident: int | None
    text: str


@dataclass(frozen=True)
class Notify:
    """Start the clock of a notification regime (the service checks the name)."""

    incident: int | None
    regime: str
    aware_at: datetime | None  # timezone-aware UTC; None: the service decides (e.g. now)


@dataclass(frozen=True)
class NotifyEvent:
    """Record an event a regime's deadline counts from (classified, material, fixed); starts
    the clock if it is not running."""

    incident: int | None
    regime: str
    event: str  # one of regimes.START_EVENTS other than "previous"
    at: datetime | None  # timezone-aware UTC; None: now


@dataclass(frozen=True)
class NotifyDone:
    incident: int | None
    regime: str


@dataclass(frozen=True)
class NotifyNotRequired:
    incident: int | None
    regime: str
    rationale: str


@dataclass(frozen=True)
class Page:
    """Page a team's on-call (escalating by its policy) or one person."""

    incident: int | None
    team: str | None  # a team name as typed (the service checks it), or None for a user
    user: UserRef | None
    message: str | None


@dataclass(frozen=True)
class Close:
    incident: int | None
    summary: str | None  # None: the service opens the close modal


@dataclass(frozen=True)
class Reopen:
    incident: int | None
    reason: str


@dataclass(frozen=True)
class ShowOnCall:
    team: str | None  # None: the only team, if there is one


@dataclass(frozen=True)
class SetOverride:
    """Times without an offset are the team's local time; no start means now."""

    team: str
    user: UserRef
    start: datetime | None
    end: datetime


@dataclass(frozen=True)
class ListOverrides:
    team: str | None  # None: every team's


@dataclass(frozen=True)
class RemoveOverride:
    number: int


OnCallCommand: TypeAlias = ShowOnCall | SetOverride | ListOverrides | RemoveOverride


@dataclass(frozen=True)
class AddEvidence:
    incident: int | None
    description: str
    sha256: str | None  # 64 lower-case hex characters
    location: str | None
    file_name: str | None = None  # a file shared in Slack (the message shortcut)
    file_size: int | None = None
    unhashed: str | None = None  # why a file has no hash: "too_big" or "unreachable"


@dataclass(frozen=True)
class TransferEvidence:
    incident: int | None
    number: int
    to: UserRef
    reason: str


@dataclass(frozen=True)
class VerifyEvidence:
    incident: int | None
    number: int
    sha256: str  # 64 lower-case hex characters


@dataclass(frozen=True)
class EvidenceForm:
    """`evidence add` alone: the form to fill in."""

    incident: int | None


@dataclass(frozen=True)
class ListEvidence:
    incident: int | None


@dataclass(frozen=True)
class ListIndicators:
    incident: int | None


@dataclass(frozen=True)
class DecideIndicator:
    """`ioc confirm|dismiss <number> [reason]`."""

    incident: int | None
    number: int
    status: str  # "confirmed" or "dismissed"
    reason: str


@dataclass(frozen=True)
class ExportIndicators:
    incident: int | None
    format: str  # "stix" or "csv"


IncidentCommand: TypeAlias = (
    AssignRole
    | ListRoles
    | SetSeverity
    | SetStage
    | SetImpact
    | AddNote
    | AddTask
    | CompleteTask
    | ListTasks
    | ListFollowups
    | ExportFollowups
    | ShowTimeline
    | ShowSummary
    | ShowReport
    | PostUpdate
    | Notify
    | NotifyDone
    | NotifyEvent
    | NotifyNotRequired
    | Page
    | Close
    | Reopen
    | AddEvidence
    | TransferEvidence
    | VerifyEvidence
    | ListEvidence
    | EvidenceForm
    | ListIndicators
    | DecideIndicator
    | ExportIndicators
)
Command: TypeAlias = Help | ListIncidents | Declare | Stats | IncidentCommand | OnCallCommand


@dataclass(frozen=True)
class UsageError:
    """Text that is not a command. `problem` is a code from PROBLEMS, not English."""

    subcommand: str | None  # None when the subcommand itself is missing or unknown
    problem: str
    detail: dict[str, str] = field(default_factory=dict)  # e.g. {"value": "sev9"}


PROBLEMS: tuple[str, ...] = (
    "empty",
    "unknown_subcommand",
    "unexpected_text",
    "missing_title",
    "missing_severity",
    "unknown_severity",
    "missing_role",
    "unknown_role",
    "missing_user",
    "not_a_person",
    "missing_stage",
    "unknown_stage",
    "use_close",
    "missing_impact",
    "bad_impact",
    "missing_text",
    "missing_task_number",
    "bad_task_number",
    "bad_page",
    "missing_regime",
    "bad_time",
    "missing_reason",
    "bad_period",
    "missing_override",
    "missing_until",
    "bad_override",
    "bad_local_time",
    "bad_override_number",
    "bad_hash",
    "missing_hash",
    "missing_evidence_number",
    "bad_evidence_number",
    "missing_indicator_action",
    "missing_indicator_number",
    "bad_indicator_number",
    "bad_export_format",
    "missing_page_target",
    "bad_page_target",
)
