"""The TOML file, table by table: every key, its type, default and meaning (the reference in
docs/configuration.md is generated from here). Unknown keys and values of the wrong type are
errors; nothing is converted silently (`"false"` is not false)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, model_validator

from bridgekeeper.config.alerts import Alerts, CloudEvents, HeartbeatName, Source, SourceName
from bridgekeeper.config.oncall import GoAlert, OnCall, PagerDuty
from bridgekeeper.config.regulatory import Regulatory
from bridgekeeper.config.server import DatabaseTuning, Http, Outbox
from bridgekeeper.config.settings import (
    CLOSE_FIELDS,
    DEFAULT_PERMISSIONS,
    DEFAULT_SEVERITY_MEANINGS,
    TRACKER_KINDS,
)
from bridgekeeper.config.types import (
    LONGEST,
    ChannelId,
    ChannelIds,
    ChannelPrefix,
    Length,
    Minutes,
    Positive,
    ReportToken,
    SeverityName,
    Table,
    Text,
    base_url,
    choice,
    problem,
)
from bridgekeeper.domain.access import ANYONE, MANAGERS
from bridgekeeper.domain.incidents import (
    DEFAULT_IMPACT_SEVERITY,
    DEFAULT_ROLES,
    ROLE_MAX,
    Impact,
    Severity,
)
from bridgekeeper.domain.reminders import DEFAULT_CADENCE_MINUTES

CloseField = Annotated[Literal[CLOSE_FIELDS], choice(CLOSE_FIELDS)]  # type: ignore[valid-type]
Allowed = list[Text]


class Channels(Table):
    prefix: ChannelPrefix = Field(
        "inc",
        description="bridge channels are named "
        "<prefix>-<number>-<title>; 1-20 lowercase letters, digits, - or _",
    )
    triage: ChannelId | None = Field(
        None,
        description="where alert triage cards go (BRIDGEKEEPER_TRIAGE_CHANNEL takes precedence)",
    )
    stakeholders: ChannelId | None = Field(
        None,
        description="where stakeholder announcements "
        "go (BRIDGEKEEPER_STAKEHOLDER_CHANNEL takes precedence)",
    )


def _with_commander(roles: list[str]) -> list[str]:
    if "commander" not in roles:
        raise problem("no_commander")
    if any(len(role) > ROLE_MAX for role in roles):
        raise problem("role_too_long", most=ROLE_MAX)
    return roles


class Incidents(Table):
    default_severity: SeverityName = Field(
        Severity.SEV3, description="severity of an incident declared without one"
    )
    roles: Annotated[list[Text], AfterValidator(_with_commander)] = Field(
        list(DEFAULT_ROLES),
        description="the roles people can take (names of 40 characters at most); with commander",
    )
    managers_usergroup: Text | None = Field(
        None,
        description="Slack user group ID of the incident managers (`managers` in [permissions])",
    )


def _meaning(severity: Severity) -> Text:
    return Field(
        DEFAULT_SEVERITY_MEANINGS[severity],
        description=f"what {severity.label} means, shown on the status card",
    )


class Severities(Table):
    sev1: Text = _meaning(Severity.SEV1)
    sev2: Text = _meaning(Severity.SEV2)
    sev3: Text = _meaning(Severity.SEV3)
    sev4: Text = _meaning(Severity.SEV4)


def _allowed(action: str) -> Allowed:
    return Field(
        list(DEFAULT_PERMISSIONS),
        description=f"who may {action}: role names, "
        f"{MANAGERS} (the managers' user group) or {ANYONE}",
    )


class Permissions(Table):
    """One key per privileged action (domain/access.py PRIVILEGED_ACTIONS)."""

    severity: Allowed = _allowed("change the severity")
    close: Allowed = _allowed("close an incident")
    reopen: Allowed = _allowed("reopen a closed incident")
    role: Allowed = _allowed("assign roles")
    update: Allowed = _allowed("post a status update")
    notify: Allowed = _allowed("start a regulatory notification clock")
    snooze: Allowed = _allowed("snooze reminders")
    oncall: Allowed = _allowed("set and remove on-call overrides (roles do not apply)")


def _suggests(impact: Impact) -> SeverityName:
    return Field(
        DEFAULT_IMPACT_SEVERITY[impact],
        description="severity suggested when the worst"
        f" of confidentiality, integrity, availability is {impact.value}",
    )


class ImpactTable(Table):
    none: SeverityName = _suggests(Impact.NONE)
    low: SeverityName = _suggests(Impact.LOW)
    medium: SeverityName = _suggests(Impact.MEDIUM)
    high: SeverityName = _suggests(Impact.HIGH)


class Evidence(Table):
    max_file_bytes: Positive = Field(
        1 << 30,
        description="a file added as evidence (the "
        "message shortcut) is downloaded and hashed up to this size; a larger one is recorded "
        "without a hash",
    )


class Close(Table):
    required: list[CloseField] = Field(
        ["summary"],
        description="what must be filled in before "
        f"an incident closes: any of {', '.join(CLOSE_FIELDS)}",
    )
    require_regulatory_decisions: bool = Field(
        True, description="an undecided regulatory notification clock blocks closing"
    )
    archive_after_hours: Annotated[float, Field(ge=0, le=LONGEST, allow_inf_nan=False)] = Field(
        24.0, description="hours after closing when the bridge channel is archived; 0: never"
    )


def _folder(value: str | None, info: ValidationInfo) -> str | None:
    """template_dir relative to the TOML file; it must exist."""
    if value is None:
        return None
    base = (info.context or {}).get("base")
    path = Path(value)
    if not path.is_absolute() and base is not None:
        path = Path(base) / path
    if not path.is_dir():
        raise problem("folder_not_found", path=str(path))
    return str(path)


class Reports(Table):
    access_token: ReportToken | None = Field(
        None,
        description="bearer token for GET "
        "/incidents/<n>/report (BRIDGEKEEPER_REPORT_TOKEN takes precedence); none: no reports "
        "over HTTP",
    )
    template_dir: Annotated[Text | None, AfterValidator(_folder)] = Field(
        None,
        description="folder of templates overriding the shipped ones (e.g. "
        "report/report.md.j2), relative to this file",
    )


class Metrics(Table):
    token: ReportToken | None = Field(
        None,
        description="bearer token for GET /metrics "
        "(BRIDGEKEEPER_METRICS_TOKEN takes precedence); none: /metrics is open to whoever "
        "reaches the port",
    )


def _tracker_kind(value: str | None) -> str | None:
    if value is not None and value not in TRACKER_KINDS:
        raise problem("one_of", choices=TRACKER_KINDS)
    return value


class Console(Table):
    enabled: bool = Field(
        True,
        description="serve the web console at /console/ and its API at "
        "/api/v1/ (it also needs BRIDGEKEEPER_SESSION_SECRET, SLACK_CLIENT_ID and "
        "SLACK_CLIENT_SECRET)",
    )
    public_url: Annotated[Text | None, AfterValidator(base_url)] = Field(
        None,
        description="the console's external base URL, e.g. https://bridgekeeper.example.com "
        "(Sign in with Slack's redirect URL is <public_url>/console/auth/callback); none: from "
        "each request",
    )
    session_hours: Length = Field(
        12, description="a console session lasts this many hours after signing in"
    )


def _cadence(severity: Severity) -> Minutes:
    return Field(
        DEFAULT_CADENCE_MINUTES[severity] or 0,
        description=f"minutes between status update reminders at {severity.label}; 0: none",
    )


class Cadence(Table):
    sev1: Minutes = _cadence(Severity.SEV1)
    sev2: Minutes = _cadence(Severity.SEV2)
    sev3: Minutes = _cadence(Severity.SEV3)
    sev4: Minutes = _cadence(Severity.SEV4)


def _channels(severity: Severity) -> ChannelIds | None:
    return Field(
        None,
        description=f"where updates at {severity.label} go (a channel ID or a "
        "list); default: [channels] stakeholders",
    )


class StakeholderChannels(Table):
    sev1: ChannelIds | None = _channels(Severity.SEV1)
    sev2: ChannelIds | None = _channels(Severity.SEV2)
    sev3: ChannelIds | None = _channels(Severity.SEV3)
    sev4: ChannelIds | None = _channels(Severity.SEV4)


class Updates(Table):
    cadence_minutes: Cadence = Field(Cadence(), description="status update cadence")
    stakeholder_channels: StakeholderChannels = Field(
        StakeholderChannels(), description="stakeholder channels by severity"
    )
    no_commander_minutes: Length = Field(
        10, description="remind the channel when an incident has had no commander this long"
    )
    review_after_days: Length = Field(
        3, description="remind about the review this many days after closing"
    )
    private_codename: Text | None = Field(
        None,
        description="what stakeholders see of a private "
        'incident, e.g. "Project {number}"; none: "Incident <number>"',
    )
    private_details: bool = Field(
        False, description="private incidents show their title and update text to stakeholders"
    )


class Trackers(Table):
    kind: Annotated[Text | None, AfterValidator(_tracker_kind)] = Field(
        None,
        description="where follow-ups become issues: github, gitlab, jira (Jira Cloud) or "
        "jira-dc (Jira Data Center); none: nowhere",
    )
    url: Annotated[Text | None, AfterValidator(base_url)] = Field(
        None,
        description="the "
        "API's base URL, e.g. https://api.github.com, https://gitlab.com or "
        "https://example.atlassian.net or https://jira.example.com",
    )
    project: Text | None = Field(
        None,
        description="owner/repo (GitHub), the project's ID or "
        "path (GitLab), the project key (Jira, Jira Data Center)",
    )
    email: Text | None = Field(
        None, description="Jira Cloud: the account BRIDGEKEEPER_TRACKER_TOKEN belongs to"
    )
    labels: list[Text] = Field(["incident-followup"], description="labels every issue gets")
    users: dict[Text, Text] = Field(
        {},
        description="Slack user ID -> the tracker's account "
        "(GitHub login, GitLab user ID, Jira Cloud accountId, Jira Data Center username), for "
        "the owner",
    )
    issue_type: Text = Field("Task", description="Jira, Jira Data Center: the issue type")
    poll_minutes: Annotated[int, Field(ge=0, le=LONGEST)] = Field(
        15, description="minutes between polls of open issues' state; 0: none (the webhook only)"
    )

    @model_validator(mode="after")
    def _complete(self) -> Trackers:
        if self.kind is not None:
            for key in ("url", "project") + (("email",) if self.kind == "jira" else ()):
                if not getattr(self, key):
                    raise problem("tracker_needs", key=f"trackers.{key}", tracker=self.kind)
            if self.email and self.kind != "jira":
                raise problem("tracker_ignores", key="trackers.email", tracker=self.kind)
        return self


class Document(Table):
    """The whole TOML file; every table is optional."""

    channels: Channels = Channels()
    incidents: Incidents = Incidents()
    severities: Severities = Severities()
    permissions: Permissions = Permissions()
    impact: ImpactTable = ImpactTable()
    outbox: Outbox = Outbox()
    alerts: Alerts = Alerts()
    http: Http = Http()
    database: DatabaseTuning = DatabaseTuning()
    close: Close = Close()
    reports: Reports = Reports()
    metrics: Metrics = Metrics()
    console: Console = Console()
    heartbeats: dict[HeartbeatName, Positive] = Field(
        {},
        description="[heartbeats]: the "
        "interval in minutes of each heartbeat pinged at /heartbeats/<name>, e.g. watchdog = 5; "
        "others take theirs from their first ping",
    )
    cloudevents: CloudEvents = CloudEvents()
    sources: dict[SourceName, Source] = Field(
        {},
        description="[sources.<name>]: alert sources "
        "defined here, posted to /alerts/<name> (docs/custom-sources.md)",
    )
    updates: Updates = Updates()
    regulatory: Regulatory = Regulatory()
    oncall: OnCall = OnCall()
    trackers: Trackers = Trackers()
    pagerduty: PagerDuty = PagerDuty()
    goalert: GoAlert = GoAlert()
    evidence: Evidence = Evidence()

    @model_validator(mode="after")
    def _goalert_has_url(self) -> Document:
        uses = any(team.source == "goalert" for team in self.oncall.teams.values())
        if uses and self.goalert.url is None:
            raise problem("goalert_needs_url", key="goalert.url")
        return self

    @model_validator(mode="after")
    def _permissions_name_roles(self) -> Document:
        known = {*self.incidents.roles, ANYONE, MANAGERS}
        for action in sorted(self.permissions.model_fields_set):
            allowed = getattr(self.permissions, action)
            unknown = [name for name in allowed if name not in known]
            if unknown:
                raise problem(
                    "unknown_role",
                    key=f"permissions.{action}",
                    role=unknown[0],
                    roles=sorted(known),
                )
        return self
