"""The environment variables (and a `.env` file in the working directory, which the real
environment overrides), read and checked by pydantic-settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from bridgekeeper.config.problems import unreadable
from bridgekeeper.config.types import (
    ChannelId,
    ReportToken,
    Secret,
    SecretText,
    Shown,
    choice,
    problem,
)
from bridgekeeper.domain.text import is_digits
from bridgekeeper.errors import ConfigError

DEFAULT_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///bridgekeeper.db"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")
_DRIVERS = (
    ("postgres://", "postgresql+asyncpg://"),
    ("postgresql://", "postgresql+asyncpg://"),
    ("sqlite://", "sqlite+aiosqlite://"),
)


def with_async_driver(raw: str) -> str:
    """Accept the URLs platforms hand out (postgres://...) and pick the async drivers."""
    url = next(
        (driver + raw[len(plain) :] for plain, driver in _DRIVERS if raw.startswith(plain)), raw
    )
    if not url.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
        raise problem("database_url")
    _well_formed(url)
    return url


def _well_formed(url: str) -> None:
    """A host and port that can be read, and for SQLite a file: an in-memory database would
    forget every accepted alert when the process stops."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # not a number, or out of range: ValueError
    except ValueError:
        raise problem("database_url_address") from None
    if parts.netloc.rpartition("@")[2].endswith(":"):
        raise problem("database_url_address")
    if parts.scheme.startswith("sqlite") and (
        parts.path in ("", "/", "/:memory:") or "mode=memory" in parts.query
    ):
        raise problem("database_url_memory")


def _api_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise problem("http_url")
    return url if url.endswith("/") else url + "/"


def _port(value: object) -> int:
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str) and is_digits(text) and 1 <= int(text) <= 65535:
        return int(text)
    if isinstance(text, int) and not isinstance(text, bool) and 1 <= text <= 65535:
        return text
    raise problem("port")


def port_or_off(value: object) -> int:
    """A port 1-65535, or 0 (none, or any free one: as the setting or option says)."""
    if value in (0, "0") or (isinstance(value, str) and value.strip() == "0"):
        return 0
    try:
        return _port(value)
    except ValueError:
        raise problem("port_or_off") from None


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


DatabaseUrl = Annotated[str, AfterValidator(with_async_driver), Secret(), Shown("database URL")]
Port = Annotated[int, BeforeValidator(_port), Shown("port")]
PortOrOff = Annotated[int, BeforeValidator(port_or_off), Shown("port")]
LogLevel = Annotated[Literal[LOG_LEVELS], choice(LOG_LEVELS), BeforeValidator(_upper)]  # type: ignore[valid-type]
LogFormat = Annotated[Literal[LOG_FORMATS], choice(LOG_FORMATS), BeforeValidator(_lower)]  # type: ignore[valid-type]


class Variables(BaseModel):
    """Every variable bridgekeeper reads (by name); an empty one counts as unset."""

    model_config = ConfigDict(extra="ignore", populate_by_name=False, frozen=True)

    slack_bot_token: SecretText = Field(
        "",
        alias="SLACK_BOT_TOKEN",
        description="the bot token (xoxb-...); required by serve and worker",
    )
    slack_signing_secret: SecretText = Field(
        "",
        alias="SLACK_SIGNING_SECRET",
        description="verifies requests from Slack; required in HTTP mode",
    )
    slack_app_token: SecretText | None = Field(
        None,
        alias="SLACK_APP_TOKEN",
        description="app-level token (xapp-...): when set, bridgekeeper uses Socket Mode",
    )
    slack_api_url: Annotated[str, AfterValidator(_api_url)] = Field(
        DEFAULT_API_URL,
        alias="SLACK_API_URL",
        description="Slack Web API base URL (GovSlack, a proxy, or the emulator in tests)",
    )
    database_url: DatabaseUrl = Field(
        DEFAULT_DATABASE_URL,
        alias="DATABASE_URL",
        description="sqlite:///path.db or postgresql://user:pass@host/db",
    )
    config_path: str | None = Field(
        None,
        alias="BRIDGEKEEPER_CONFIG",
        description="path of the TOML file; none: built-in defaults",
    )
    triage_channel: ChannelId | None = Field(
        None,
        alias="BRIDGEKEEPER_TRIAGE_CHANNEL",
        description="channel ID where alert triage cards go",
    )
    stakeholder_channel: ChannelId | None = Field(
        None,
        alias="BRIDGEKEEPER_STAKEHOLDER_CHANNEL",
        description="channel ID for stakeholder announcements",
    )
    alert_token: SecretText | None = Field(
        None,
        alias="BRIDGEKEEPER_ALERT_TOKEN",
        description="shared secret for the alert webhooks ([alerts] token takes precedence)",
    )
    report_token: ReportToken | None = Field(
        None,
        alias="BRIDGEKEEPER_REPORT_TOKEN",
        description="bearer token for GET /incidents/<n>/report, at least 16 characters",
    )
    log_level: LogLevel | None = Field(
        None,
        alias="LOG_LEVEL",
        description="DEBUG, INFO, "
        "WARNING or ERROR; default: INFO for serve and worker, WARNING for the others",
    )
    log_format: LogFormat = Field(
        "text",
        alias="LOG_FORMAT",
        description="text, or json: one "
        "JSON object a line (time, level, logger, message, and ids: incident_id, request_id, "
        "...)",
    )
    metrics_token: ReportToken | None = Field(
        None,
        alias="BRIDGEKEEPER_METRICS_TOKEN",
        description="bearer token for GET /metrics, at least 16 characters; none: /metrics is open",
    )
    port: Port = Field(3000, alias="PORT", description="HTTP port for serve (--port overrides)")
    worker_health_port: PortOrOff = Field(
        0,
        alias="WORKER_HEALTH_PORT",
        description="worker's port for /healthz, /readyz, /metrics (--health-port wins); 0: none",
    )
    slack_client_id: str | None = Field(
        None,
        alias="SLACK_CLIENT_ID",
        description="the app's client ID, for the web console's Sign in with Slack",
    )
    slack_client_secret: SecretText | None = Field(
        None,
        alias="SLACK_CLIENT_SECRET",
        description="the app's client secret, for the web console's Sign in with Slack",
    )
    session_secret: ReportToken | None = Field(
        None,
        alias="BRIDGEKEEPER_SESSION_SECRET",
        description="signs the web console's session cookies, at least 16 characters (32 "
        "random bytes are better); none: the console is off",
    )
    tracker_token: SecretText | None = Field(
        None,
        alias="BRIDGEKEEPER_TRACKER_TOKEN",
        description="the [trackers] API token (GitHub, GitLab, Jira Cloud with [trackers] "
        "email, or a Jira Data Center personal access token)",
    )
    tracker_webhook_secret: SecretText | None = Field(
        None,
        alias="BRIDGEKEEPER_TRACKER_WEBHOOK_SECRET",
        description="verifies the tracker's "
        "webhook at /trackers/<kind> (jira-dc: as ?secret=<it> in the webhook's URL); none: "
        "the webhook is off (the poll remains)",
    )
    pagerduty_token: SecretText | None = Field(
        None,
        alias="BRIDGEKEEPER_PAGERDUTY_TOKEN",
        description="a PagerDuty REST API key, to read the on-call of teams with source = "
        '"pagerduty"',
    )
    goalert_token: SecretText | None = Field(
        None,
        alias="BRIDGEKEEPER_GOALERT_TOKEN",
        description="a GoAlert API key (GraphQL), to read the on-call of teams with source = "
        '"goalert"',
    )


class LogOnly(BaseSettings):
    """LOG_LEVEL alone, for the commands that read no other setting (demo)."""

    model_config = SettingsConfigDict(
        env_file=".env", env_ignore_empty=True, case_sensitive=True, extra="ignore"
    )
    log_level: LogLevel | None = Field(None, alias="LOG_LEVEL")
    log_format: LogFormat = Field("text", alias="LOG_FORMAT")


class Environment(BaseSettings, Variables):
    """The variables read from the process environment and `.env` (which it overrides)."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_ignore_empty=True,
        case_sensitive=True,
        extra="ignore",
        populate_by_name=False,
        frozen=True,
    )


def read_environment(environ: Mapping[str, str] | None = None) -> Variables:
    """The process environment and `.env`; or only `environ` when given (no `.env`)."""
    if environ is None:
        try:
            return Environment()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(".env", unreadable(".env", exc)) from None
    given = {name: value for name, value in environ.items() if value != ""}
    return Variables.model_validate(given)
