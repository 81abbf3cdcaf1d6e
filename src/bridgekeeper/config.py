"""Settings: the only reader of the environment and of the TOML file.

`load_settings()` is called once at start-up; invalid configuration raises ConfigError naming the
key and what is wrong. Built-in defaults make bridgekeeper run with no file at all.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridgekeeper.domain.access import PRIVILEGED_ACTIONS
from bridgekeeper.domain.incidents import (
    DEFAULT_IMPACT_SEVERITY,
    DEFAULT_ROLES,
    Impact,
    Severity,
    Stage,
)
from bridgekeeper.domain.reminders import (
    BUILTIN_REGIMES,
    DEFAULT_CADENCE_MINUTES,
    Deadline,
    Regime,
)
from bridgekeeper.errors import ConfigError

DEFAULT_API_URL = "https://slack.com/api/"
DEFAULT_SEVERITY_MEANINGS = {
    Severity.SEV1: "Critical: severe impact on customers or data, all hands",
    Severity.SEV2: "Major: significant impact, urgent response",
    Severity.SEV3: "Minor: limited impact, handled in working hours",
    Severity.SEV4: "Low: little or no impact, tracked for follow-up",
}
DEFAULT_PERMISSIONS: tuple[str, ...] = ("commander", "deputy", "managers")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_PREFIX = re.compile(r"^[a-z0-9][a-z0-9_-]{0,19}$")


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
    triage_cards_per_minute: int = 20  # new triage cards a minute; past it, one digest card


@dataclass(frozen=True)
class HttpSettings:
    """[http]: how much of `serve` one client may hold before it has proved who it is."""

    header_timeout_seconds: float = 10.0  # a new connection's request line and headers
    body_timeout_seconds: float = 30.0  # a request's body, once its headers are in
    keepalive_timeout_seconds: float = 75.0  # an idle kept-alive connection (and its next request)
    max_connections: int = 1000  # per process; more are answered 503 and closed
    slack_max_body_bytes: int = 1024 * 1024  # /slack/events (Slack's requests are a few KB)


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
    regimes: tuple[Regime, ...] = BUILTIN_REGIMES
    regulatory_contacts: tuple[str, ...] = ()  # reminded of every regime's deadlines

    def channels_for(self, severity: Severity, fallback: str | None) -> tuple[str, ...]:
        """Where updates at this severity go: the configured list, else the stakeholder channel."""
        if severity in self.stakeholder_channels:
            return self.stakeholder_channels[severity]
        return (fallback,) if fallback else ()


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


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_API_URL
    database_url: str = "sqlite+aiosqlite:///bridgekeeper.db"
    triage_channel: str | None = None
    stakeholder_channel: str | None = None
    process: ProcessSettings = field(default_factory=ProcessSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    outbox_max_attempts: int = 300  # about a day at the 5-minute backoff cap
    config_path: str | None = None
    close: CloseSettings = field(default_factory=CloseSettings)
    reports: ReportSettings = field(default_factory=ReportSettings)
    updates: UpdateSettings = field(default_factory=UpdateSettings)
    http: HttpSettings = field(default_factory=HttpSettings)

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    def __repr__(self) -> str:  # never print secrets
        return f"Settings(database={redact_url(self.database_url)}, api={self.slack_api_url})"


def redact_url(url: str) -> str:
    """postgresql://user:secret@host/db -> postgresql://user:***@host/db"""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    config_path = env.get("BRIDGEKEEPER_CONFIG") or None
    document = _read_toml(config_path) if config_path else {}
    process = parse_process(document)
    alerts = parse_alerts(document.get("alerts", {}), env.get("BRIDGEKEEPER_ALERT_TOKEN"))
    channels = _table(document, "channels")
    return Settings(
        slack_bot_token=env.get("SLACK_BOT_TOKEN", ""),
        slack_signing_secret=env.get("SLACK_SIGNING_SECRET", ""),
        slack_app_token=env.get("SLACK_APP_TOKEN") or None,
        slack_api_url=_api_url(env.get("SLACK_API_URL") or DEFAULT_API_URL),
        database_url=database_url(env.get("DATABASE_URL")),
        triage_channel=_channel(
            "BRIDGEKEEPER_TRIAGE_CHANNEL",
            env.get("BRIDGEKEEPER_TRIAGE_CHANNEL") or channels.get("triage"),
        ),
        stakeholder_channel=_channel(
            "BRIDGEKEEPER_STAKEHOLDER_CHANNEL",
            env.get("BRIDGEKEEPER_STAKEHOLDER_CHANNEL") or channels.get("stakeholders"),
        ),
        process=process,
        alerts=alerts,
        outbox_max_attempts=_positive_int(document, "outbox.max_attempts", 300),
        config_path=config_path,
        close=parse_close(_table(document, "close")),
        reports=parse_reports(
            _table(document, "reports"), env.get("BRIDGEKEEPER_REPORT_TOKEN"), config_path
        ),
        updates=parse_updates(document),
        http=parse_http(_table(document, "http")),
    )


def require_slack(settings: Settings) -> None:
    """Serving real Slack needs both secrets; say which is missing."""
    if not settings.slack_bot_token:
        raise ConfigError("SLACK_BOT_TOKEN", "is not set (the bot token, xoxb-...)")
    if not settings.socket_mode and not settings.slack_signing_secret.strip():
        raise ConfigError("SLACK_SIGNING_SECRET", "is not set (needed to verify Slack requests)")


def database_url(raw: str | None) -> str:
    """Accept the URLs platforms hand out (postgres://...) and pick the async drivers."""
    if not raw:
        return "sqlite+aiosqlite:///bridgekeeper.db"
    for plain, driver in (
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if raw.startswith(plain):
            return driver + raw[len(plain) :]
    if raw.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
        return raw
    raise ConfigError("DATABASE_URL", "must be a postgresql:// or sqlite:// URL")


def _read_toml(path: str) -> dict[str, Any]:
    try:
        with Path(path).open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError("BRIDGEKEEPER_CONFIG", f"file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("BRIDGEKEEPER_CONFIG", f"not valid TOML: {exc}") from None


def _api_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ConfigError("SLACK_API_URL", "must start with http:// or https://")
    return url if url.endswith("/") else url + "/"


def _channel(key: str, value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _CHANNEL_ID.match(value):
        raise ConfigError(key, f"must be a Slack channel ID like C0123ABCD, not {value!r}")
    return value


def _table(document: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(key, "must be a table")
    return value


def _positive_int(document: Mapping[str, Any], dotted: str, default: int) -> int:
    section, _, key = dotted.partition(".")
    value = _table(document, section).get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ConfigError(dotted, f"must be a positive integer, not {value!r}")
    return value


def _severity(key: str, value: object) -> Severity:
    try:
        return Severity(str(value).lower())
    except ValueError:
        raise ConfigError(key, f"must be one of sev1, sev2, sev3, sev4, not {value!r}") from None


def _string_list(key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(key, "must be a list of non-empty strings")
    return tuple(value)


def parse_process(document: Mapping[str, Any]) -> ProcessSettings:
    incidents = _table(document, "incidents")
    severities = _table(document, "severities")
    meanings = dict(DEFAULT_SEVERITY_MEANINGS)
    for name, meaning in severities.items():
        key = f"severities.{name}"
        if not isinstance(meaning, str):
            raise ConfigError(key, "must be a string describing the severity")
        meanings[_severity(key, name)] = meaning
    roles = _string_list("incidents.roles", incidents.get("roles", list(DEFAULT_ROLES)))
    if "commander" not in roles:
        raise ConfigError("incidents.roles", "must include commander")
    prefix = _table(document, "channels").get("prefix", "inc")
    if not isinstance(prefix, str) or not _PREFIX.match(prefix):
        raise ConfigError("channels.prefix", "must be 1-20 lowercase letters, digits, - or _")
    return ProcessSettings(
        severity_meanings=meanings,
        default_severity=_severity(
            "incidents.default_severity", incidents.get("default_severity", "sev3")
        ),
        roles=roles,
        channel_prefix=prefix,
        incident_managers_group=incidents.get("managers_usergroup"),
        permissions=_permissions(_table(document, "permissions"), roles),
        impact_severity=_impact_matrix(_table(document, "impact")),
    )


def _impact_matrix(table: Mapping[str, Any]) -> dict[Impact, Severity]:
    """[impact] high = "sev1": the severity an impact level suggests (the worst of C, I, A)."""
    matrix = dict(DEFAULT_IMPACT_SEVERITY)
    for level, severity in table.items():
        key = f"impact.{level}"
        try:
            matrix[Impact(level)] = _severity(key, severity)
        except ValueError:
            raise ConfigError(key, "must be one of none, low, medium, high") from None
    return matrix


def _permissions(table: Mapping[str, Any], roles: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    permissions: dict[str, tuple[str, ...]] = {a: DEFAULT_PERMISSIONS for a in PRIVILEGED_ACTIONS}
    for action, allowed in table.items():
        key = f"permissions.{action}"
        if action not in permissions:
            raise ConfigError(key, f"unknown action; known: {', '.join(sorted(permissions))}")
        names = _string_list(key, allowed)
        unknown = [n for n in names if n not in roles and n not in ("anyone", "managers")]
        if unknown:
            raise ConfigError(key, f"unknown role {unknown[0]!r}")
        permissions[action] = names
    return permissions


def parse_http(table: Mapping[str, Any]) -> HttpSettings:
    """[http] header_timeout_seconds = 10 ...: limits on what clients may hold of the server."""
    defaults = HttpSettings()
    return HttpSettings(
        header_timeout_seconds=_seconds(table, "header_timeout_seconds", defaults),
        body_timeout_seconds=_seconds(table, "body_timeout_seconds", defaults),
        keepalive_timeout_seconds=_seconds(table, "keepalive_timeout_seconds", defaults),
        max_connections=_positive_int({"http": table}, "http.max_connections",
                                      defaults.max_connections),
        slack_max_body_bytes=_positive_int({"http": table}, "http.slack_max_body_bytes",
                                           defaults.slack_max_body_bytes),
    )  # fmt: skip


def _seconds(table: Mapping[str, Any], key: str, defaults: HttpSettings) -> float:
    value = table.get(key, getattr(defaults, key))
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"http.{key}", f"must be a positive number of seconds, not {value!r}")
    return float(value)


def parse_alerts(table: Mapping[str, Any], env_token: str | None) -> AlertSettings:
    if not isinstance(table, dict):
        raise ConfigError("alerts", "must be a table")
    tokens = table.get("tokens", {})
    if not isinstance(tokens, dict) or not all(isinstance(v, str) for v in tokens.values()):
        raise ConfigError("alerts.tokens", "must map source names to token strings")
    window = table.get("grouping_window_minutes", 60)
    if not isinstance(window, int) or window <= 0:
        raise ConfigError("alerts.grouping_window_minutes", "must be a positive integer")
    max_bytes = table.get("max_body_bytes", 1024 * 1024)
    if not isinstance(max_bytes, int) or max_bytes <= 0:
        raise ConfigError("alerts.max_body_bytes", "must be a positive integer")
    return AlertSettings(
        token=table.get("token") or env_token or None,
        source_tokens=tokens,
        pagerduty_secrets=_string_list(
            "alerts.pagerduty_secrets", table.get("pagerduty_secrets", [])
        ),
        grafana_secret=table.get("grafana_secret") or None,
        triage_threshold=_severity(
            "alerts.triage_threshold", table.get("triage_threshold", "sev3")
        ),
        grouping_window_minutes=window,
        max_body_bytes=max_bytes,
        card_refresh_seconds=_positive_int({"alerts": table}, "alerts.card_refresh_seconds", 20),
        triage_cards_per_minute=_positive_int(
            {"alerts": table}, "alerts.triage_cards_per_minute", 20
        ),
        auto_declare=tuple(
            _auto_declare(i, rule) for i, rule in enumerate(table.get("auto_declare", []))
        ),
    )


def _auto_declare(index: int, rule: object) -> AutoDeclareRule:
    key = f"alerts.auto_declare[{index}]"
    if not isinstance(rule, dict):
        raise ConfigError(key, "must be a table with sources and min_severity")
    return AutoDeclareRule(
        sources=_string_list(f"{key}.sources", rule.get("sources", [])),
        min_severity=_severity(f"{key}.min_severity", rule.get("min_severity", "sev2")),
        private=bool(rule.get("private", False)),
    )


def parse_close(table: Mapping[str, Any]) -> CloseSettings:
    required = _string_list("close.required", table.get("required", ["summary"]))
    unknown = [name for name in required if name not in CLOSE_FIELDS]
    if unknown:
        raise ConfigError("close.required", f"unknown field {unknown[0]!r}; known: "
                          + ", ".join(CLOSE_FIELDS))  # fmt: skip
    hours = table.get("archive_after_hours", 24)
    if not isinstance(hours, int | float) or isinstance(hours, bool) or hours < 0:
        raise ConfigError("close.archive_after_hours", f"must be 0 (off) or more, not {hours!r}")
    regulatory = table.get("require_regulatory_decisions", True)
    if not isinstance(regulatory, bool):
        raise ConfigError("close.require_regulatory_decisions", "must be true or false")
    return CloseSettings(required=required, require_regulatory_decisions=regulatory,
                         archive_after_hours=float(hours))  # fmt: skip


def parse_reports(
    table: Mapping[str, Any], env_token: str | None, config_path: str | None
) -> ReportSettings:
    token = env_token or table.get("access_token") or None
    if token is not None and (not isinstance(token, str) or len(token) < 16):
        raise ConfigError("reports.access_token", "must be a string of at least 16 characters")
    folder = table.get("template_dir")
    if folder is None:
        return ReportSettings(access_token=token)
    if not isinstance(folder, str) or not folder:
        raise ConfigError("reports.template_dir", "must be a folder path")
    path = Path(folder)
    if not path.is_absolute() and config_path:
        path = Path(config_path).parent / path  # relative to the TOML file
    if not path.is_dir():
        raise ConfigError("reports.template_dir", f"folder not found: {path}")
    return ReportSettings(access_token=token, template_dir=path)


# -- [updates] and [regulatory] ------------------------------------------------------------------
_REGIME_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_CONTACT_ID = re.compile(r"^[UWS][A-Z0-9]{2,}$")


def parse_updates(document: Mapping[str, Any]) -> UpdateSettings:
    table = _table(document, "updates")
    codename = table.get("private_codename")
    if codename is not None and (not isinstance(codename, str) or not codename.strip()):
        raise ConfigError("updates.private_codename", "must be a non-empty string")
    details = table.get("private_details", False)
    if not isinstance(details, bool):
        raise ConfigError("updates.private_details", "must be true or false")
    regulatory = _table(document, "regulatory")
    return UpdateSettings(
        cadence_minutes=_cadence(table.get("cadence_minutes", {})),
        stakeholder_channels=_stakeholder_channels(table.get("stakeholder_channels", {})),
        no_commander_minutes=_positive_int(document, "updates.no_commander_minutes", 10),
        review_after_days=_positive_int(document, "updates.review_after_days", 3),
        private_codename=codename,
        private_details=details,
        regimes=_regimes(regulatory.get("regimes", [])),
        regulatory_contacts=_contacts("regulatory.contacts", regulatory.get("contacts", [])),
    )


def _cadence(table: object) -> dict[Severity, int | None]:
    """cadence_minutes = {sev1 = 30, sev4 = 0}: 0 means no update reminders."""
    if not isinstance(table, dict):
        raise ConfigError("updates.cadence_minutes", "must be a table like {sev1 = 30}")
    cadence = dict(DEFAULT_CADENCE_MINUTES)
    for name, minutes in table.items():
        key = f"updates.cadence_minutes.{name}"
        if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes < 0:
            raise ConfigError(key, f"must be minutes (0: no reminders), not {minutes!r}")
        cadence[_severity(key, name)] = minutes or None
    return cadence


def _stakeholder_channels(table: object) -> dict[Severity, tuple[str, ...]]:
    """stakeholder_channels = {sev1 = ["C1", "C2"], sev4 = []}"""
    if not isinstance(table, dict):
        raise ConfigError("updates.stakeholder_channels", "must be a table like {sev1 = [...]}")
    channels: dict[Severity, tuple[str, ...]] = {}
    for name, value in table.items():
        key = f"updates.stakeholder_channels.{name}"
        listed = [value] if isinstance(value, str) else value
        if not isinstance(listed, list):
            raise ConfigError(key, "must be a channel ID or a list of them")
        channels[_severity(key, name)] = tuple(str(_channel(key, c)) for c in listed)
    return channels


def _contacts(key: str, value: object) -> tuple[str, ...]:
    contacts = _string_list(key, value)
    for contact in contacts:
        if not _CONTACT_ID.match(contact):
            raise ConfigError(key, f"must hold user or user-group IDs (U…, S…), not {contact!r}")
    return contacts


def _regimes(listed: object) -> tuple[Regime, ...]:
    """[[regulatory.regimes]]: more regimes; one named like a built-in replaces it."""
    if not isinstance(listed, list):
        raise ConfigError("regulatory.regimes", "must be a list of tables ([[regulatory.regimes]])")
    regimes = {regime.name: regime for regime in BUILTIN_REGIMES}
    for index, table in enumerate(listed):
        regime = _regime(f"regulatory.regimes[{index}]", table)
        regimes[regime.name] = regime
    return tuple(regimes.values())


def _regime(key: str, table: object) -> Regime:
    if not isinstance(table, dict):
        raise ConfigError(key, "must be a table with name and deadlines")
    name = table.get("name")
    if not isinstance(name, str) or not _REGIME_NAME.match(name.lower()):
        raise ConfigError(f"{key}.name", "must be a short name of letters, digits, - or _")
    title = table.get("title", name.upper())
    if not isinstance(title, str) or not title:
        raise ConfigError(f"{key}.title", "must be a non-empty string")
    deadlines = table.get("deadlines")
    if not isinstance(deadlines, list) or not deadlines:
        raise ConfigError(f"{key}.deadlines", "must list at least one {label, hours}")
    return Regime(
        name=name.lower(),
        title=title,
        deadlines=tuple(_deadline(f"{key}.deadlines[{i}]", d) for i, d in enumerate(deadlines)),
        remind=_contacts(f"{key}.remind", table.get("remind", [])),
    )


def _deadline(key: str, table: object) -> Deadline:
    if not isinstance(table, dict):
        raise ConfigError(key, "must be a table with label and hours")
    label, hours = table.get("label"), table.get("hours")
    if not isinstance(label, str) or not label.strip():
        raise ConfigError(f"{key}.label", "must be a non-empty string")
    if not isinstance(hours, int) or isinstance(hours, bool) or hours <= 0:
        raise ConfigError(f"{key}.hours", f"must be a positive whole number, not {hours!r}")
    return Deadline(label.strip(), hours)
