"""The settings the rest of bridgekeeper reads: frozen dataclasses, built once at start-up by
loading.py from the checked environment and TOML file (schema.py, environment.py). The defaults
here are those of an empty file and environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bridgekeeper.config.environment import DEFAULT_API_URL, DEFAULT_DATABASE_URL
from bridgekeeper.domain.access import PRIVILEGED_ACTIONS
from bridgekeeper.domain.alerts.custom import CustomSource
from bridgekeeper.domain.incidents import (
    DEFAULT_IMPACT_SEVERITY,
    DEFAULT_ROLES,
    Impact,
    Severity,
    Stage,
)
from bridgekeeper.domain.oncall import Team
from bridgekeeper.domain.oncall_routing import Route
from bridgekeeper.domain.paging import Policy, default_policy
from bridgekeeper.domain.regimes import BUILTIN_RULES, RegimeRule
from bridgekeeper.domain.reminders import DEFAULT_CADENCE_MINUTES

DEFAULT_SEVERITY_MEANINGS = {
    Severity.SEV1: "Critical: severe impact on customers or data, all hands",
    Severity.SEV2: "Major: significant impact, urgent response",
    Severity.SEV3: "Minor: limited impact, handled in working hours",
    Severity.SEV4: "Low: little or no impact, tracked for follow-up",
}
DEFAULT_PERMISSIONS: tuple[str, ...] = ("commander", "deputy", "managers")


@dataclass(frozen=True)
class AutoDeclareRule:
    sources: tuple[str, ...]
    min_severity: Severity
    private: bool = False


@dataclass(frozen=True)
class AlertSettings:
    token: str | None = None
    source_tokens: Mapping[str, str] = field(default_factory=dict)
    pagerduty_secrets: tuple[str, ...] = ()
    grafana_secret: str | None = None
    triage_threshold: Severity = Severity.SEV3
    grouping_window_minutes: int = 60
    max_body_bytes: int = 1024 * 1024
    auto_declare: tuple[AutoDeclareRule, ...] = ()
    card_refresh_seconds: int = 20  # a repeating alert updates its triage card at most this often
    retry_seconds: int = 300  # a body whose answer was lost is a redelivery this long after
    triage_cards_per_minute: int = 20  # new triage cards a minute; past it, one digest card
    sns_topics: tuple[str, ...] = ()  # SNS topic ARNs (shell-style patterns) /alerts/aws-sns takes
    # where SNS signing certificates and subscription confirmations may be fetched from
    sns_url_pattern: str = r"https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/"
    custom_sources: Mapping[str, CustomSource] = field(default_factory=dict)  # [sources.<name>]
    cloudevent_types: Mapping[str, CustomSource] = field(default_factory=dict)  # by event type


@dataclass(frozen=True)
class HttpSettings:
    """[http]: how much of `serve` one client may hold before it has proved who it is."""

    header_timeout_seconds: float = 10.0  # a new connection's request line and headers
    body_timeout_seconds: float = 30.0  # a request's body, once its headers are in
    keepalive_timeout_seconds: float = 75.0  # an idle kept-alive connection (and its next request)
    max_connections: int = 1000  # per process; more are answered 503 and closed
    slack_max_body_bytes: int = 1024 * 1024  # /slack/events (Slack's requests are a few KB)


@dataclass(frozen=True)
class DatabaseSettings:
    """[database]: PostgreSQL's connection pools (config/server.py says what each is for)."""

    pool_size: int = 10
    max_overflow: int = 10
    ping_after_idle_seconds: float = 1.0
    server_settings: Mapping[str, str] = field(
        default_factory=lambda: {"plan_cache_mode": "force_custom_plan"}
    )
    hot_path_server_settings: Mapping[str, str] = field(
        default_factory=lambda: {"enable_seqscan": "off"}
    )


CLOSE_FIELDS = ("summary", "root_cause", "went_well", "to_improve", "disposition", "follow_ups")


@dataclass(frozen=True)
class CloseSettings:
    """[close]: what must be filled in before an incident closes, and when its channel goes."""

    required: tuple[str, ...] = ("summary",)  # names from CLOSE_FIELDS
    require_regulatory_decisions: bool = True  # an undecided notification clock blocks closing
    archive_after_hours: float = 24.0  # 0: never archive the bridge channel


@dataclass(frozen=True)
class ReportSettings:
    """[reports]: who may fetch reports over HTTP, and a team's own report templates."""

    access_token: str | None = None  # None: GET /incidents/<n>/report serves nothing
    template_dir: Path | None = None  # overrides files of messages/ (e.g. report/report.md.j2)


@dataclass(frozen=True)
class ConsoleSettings:
    """[console] and its secrets: the web console at /console/ and its API at /api/v1/."""

    enabled: bool = True
    public_url: str | None = None  # e.g. https://bridgekeeper.example.com; None: from the request
    session_hours: int = 12
    session_secret: str | None = None  # BRIDGEKEEPER_SESSION_SECRET
    client_id: str | None = None  # SLACK_CLIENT_ID
    client_secret: str | None = None  # SLACK_CLIENT_SECRET

    @property
    def missing(self) -> tuple[str, ...]:
        """The variables the console needs that are not set."""
        needed = {
            "BRIDGEKEEPER_SESSION_SECRET": self.session_secret,
            "SLACK_CLIENT_ID": self.client_id,
            "SLACK_CLIENT_SECRET": self.client_secret,
        }
        return tuple(name for name, value in needed.items() if not value)

    @property
    def link(self) -> str | None:
        """Where people open the console, when it is served and its address is known."""
        if not self.enabled or self.missing or not self.public_url:
            return None
        return f"{self.public_url.rstrip('/')}/console/"


@dataclass(frozen=True)
class UpdateSettings:
    """[updates]: status-update cadence, stakeholder channels, reminders, private incidents."""

    cadence_minutes: Mapping[Severity, int | None] = field(
        default_factory=lambda: dict(DEFAULT_CADENCE_MINUTES)
    )  # None: no update reminders at that severity
    stakeholder_channels: Mapping[Severity, tuple[str, ...]] = field(default_factory=dict)
    no_commander_minutes: int = 10
    review_after_days: int = 3
    private_codename: str | None = None  # e.g. "Project {number}"; None: "Incident <number>"
    private_details: bool = False  # true: private incidents show title and text to stakeholders
    regimes: tuple[RegimeRule, ...] = BUILTIN_RULES
    regulatory_contacts: tuple[str, ...] = ()  # reminded of every regime's deadlines
    regulatory_facts: frozenset[str] = frozenset()  # financial_entity, listed_company, ...

    def channels_for(self, severity: Severity, fallback: str | None) -> tuple[str, ...]:
        """Where updates at this severity go: the configured list, else the stakeholder channel."""
        if severity in self.stakeholder_channels:
            return self.stakeholder_channels[severity]
        return (fallback,) if fallback else ()


DEFAULT_PAGERDUTY_API_URL = "https://api.pagerduty.com"


@dataclass(frozen=True)
class ScheduleSource:
    """Where a team without a rota reads its shifts: a PagerDuty schedule or escalation policy,
    or a GoAlert schedule."""

    kind: str  # pagerduty or goalert
    schedule: str | None = None
    escalation_policy: str | None = None


@dataclass(frozen=True)
class OnCallSettings:
    """[oncall]: the teams' rotas and their calendar feeds."""

    teams: tuple[Team, ...] = ()
    routes: tuple[Route, ...] = ()  # which team an alert belongs to, the first that matches
    feed_token: str | None = None  # None: derived from the signing secret
    feed_weeks: int = 8
    policies: Mapping[str, Policy] = field(default_factory=dict)  # team -> its escalation
    pagerduty_keys: Mapping[str, str] = field(default_factory=dict)  # team -> routing key
    sources: Mapping[str, ScheduleSource] = field(default_factory=dict)  # team -> its tool
    pagerduty_api_url: str = DEFAULT_PAGERDUTY_API_URL  # [pagerduty] api_url
    pagerduty_token: str | None = None  # BRIDGEKEEPER_PAGERDUTY_TOKEN
    goalert_url: str | None = None  # [goalert] url
    goalert_token: str | None = None  # BRIDGEKEEPER_GOALERT_TOKEN

    def team(self, name: str) -> Team | None:
        return next((team for team in self.teams if team.name == name), None)

    def policy(self, team: Team) -> Policy:
        return self.policies.get(team.name) or default_policy(team)


DEFAULT_PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"


@dataclass(frozen=True)
class ProcessSettings:
    """What the TOML file describes: the incident process itself."""

    severity_meanings: Mapping[Severity, str] = field(
        default_factory=lambda: dict(DEFAULT_SEVERITY_MEANINGS)
    )
    default_severity: Severity = Severity.SEV3
    roles: tuple[str, ...] = DEFAULT_ROLES
    stages: tuple[Stage, ...] = (Stage.DETECT, Stage.ASSESS, Stage.DIAGNOSE, Stage.STABILIZE)
    channel_prefix: str = "inc"
    incident_managers_group: str | None = None
    permissions: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: {a: DEFAULT_PERMISSIONS for a in PRIVILEGED_ACTIONS}
    )
    impact_severity: Mapping[Impact, Severity] = field(
        default_factory=lambda: dict(DEFAULT_IMPACT_SEVERITY)
    )


TRACKER_KINDS = ("github", "gitlab", "jira", "jira-dc")  # jira-dc: Jira Data Center


@dataclass(frozen=True)
class TrackerSettings:
    """[trackers] and its secrets: where follow-ups become issues (None: nowhere)."""

    kind: str | None = None  # one of TRACKER_KINDS
    url: str = ""  # the API's base URL
    project: str = ""  # owner/repo, a GitLab project id or path, a Jira project key
    token: str | None = None  # BRIDGEKEEPER_TRACKER_TOKEN
    email: str | None = None  # Jira Cloud: the account the API token belongs to
    webhook_secret: str | None = None  # BRIDGEKEEPER_TRACKER_WEBHOOK_SECRET
    labels: tuple[str, ...] = ("incident-followup",)
    users: Mapping[str, str] = field(default_factory=dict)  # Slack user ID -> tracker account
    issue_type: str = "Task"  # Jira, Jira Data Center
    poll_minutes: int = 15  # 0: no poll (the webhook only)


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    triage_channel: str | None = None
    stakeholder_channel: str | None = None
    process: ProcessSettings = field(default_factory=ProcessSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    outbox_max_attempts: int = 300  # about a day at the 5-minute backoff cap
    outbox_claim_seconds: float = 15.0  # a stopped process's lanes are taken over after it
    evidence_max_file_bytes: int = 1 << 30  # files hashed for the evidence register
    config_path: str | None = None
    close: CloseSettings = field(default_factory=CloseSettings)
    reports: ReportSettings = field(default_factory=ReportSettings)
    updates: UpdateSettings = field(default_factory=UpdateSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    log_level: str | None = None  # None: the command's own default (INFO or WARNING)
    log_format: str = "text"  # or "json": one object a line
    metrics_token: str | None = None  # None: GET /metrics is open
    port: int = 3000  # serve's HTTP port (--port overrides)
    heartbeats: Mapping[str, int] = field(default_factory=dict)  # name -> minutes
    worker_health_port: int = 0  # worker's /healthz and /readyz (--health-port overrides); 0: off
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    oncall: OnCallSettings = field(default_factory=OnCallSettings)
    trackers: TrackerSettings = field(default_factory=TrackerSettings)
    pagerduty_events_url: str = DEFAULT_PAGERDUTY_EVENTS_URL  # [pagerduty] events_url

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    def __repr__(self) -> str:  # never print secrets
        return f"Settings(database={redact_url(self.database_url)}, api={self.slack_api_url})"


def redact_url(url: str) -> str:
    """A database URL as it may be shown: its password masked wherever it is given
    (postgresql://user:secret@host/db, postgresql://:secret@host/db with no user,
    postgresql://user@host/db?password=secret)."""
    address, mark, query = url.partition("?")
    head, at, rest = address.rpartition("@")
    if at and "://" in head:
        scheme, _, user = head.partition("://")
        if ":" in user:
            head = f"{scheme}://{user.split(':', 1)[0]}:***"
    shown = f"{head}{at}{rest}"
    if mark:
        shown += "?" + "&".join(_masked(piece) for piece in query.split("&"))
    return shown


def _masked(parameter: str) -> str:
    name, equals, _ = parameter.partition("=")
    return f"{name}=***" if equals and "password" in name.lower() else parameter
