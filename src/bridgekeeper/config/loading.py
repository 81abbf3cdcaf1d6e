"""load_settings(): the environment and the TOML file, checked whole, mapped to Settings.

Every problem found is reported at once, one line each (ConfigError.problems); nothing is read
from the environment or the file anywhere else.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from bridgekeeper.config import alerts as alert_tables
from bridgekeeper.config import schema
from bridgekeeper.config.environment import (
    DEFAULT_DATABASE_URL,
    LogOnly,
    Variables,
    read_environment,
    with_async_driver,
)
from bridgekeeper.config.oncall import (
    to_pagerduty_keys,
    to_policies,
    to_routes,
    to_sources,
    to_teams,
)
from bridgekeeper.config.problems import config_error, describe, problems_of, unreadable
from bridgekeeper.config.regulatory import Regulatory, to_regimes
from bridgekeeper.config.settings import (
    AlertSettings,
    AutoDeclareRule,
    CloseSettings,
    ConsoleSettings,
    DatabaseSettings,
    HttpSettings,
    OnCallSettings,
    ProcessSettings,
    ReportSettings,
    Settings,
    TrackerSettings,
    UpdateSettings,
)
from bridgekeeper.domain.alerts.custom import CustomSource
from bridgekeeper.domain.incidents import Impact, Severity, Stage
from bridgekeeper.errors import ConfigError

CONFIG_VARIABLE = "BRIDGEKEEPER_CONFIG"


def load_settings(
    environ: Mapping[str, str] | None = None, *, config_path: str | None = None
) -> Settings:
    """The process environment and `.env` (or only `environ`), and the TOML file it names (or
    `config_path`). Raises ConfigError listing every problem."""
    checked = check(environ, config_path=config_path)
    return to_settings(*checked)


def check(
    environ: Mapping[str, str] | None = None, *, config_path: str | None = None
) -> tuple[Variables, schema.Document]:
    """The validated environment and document, or ConfigError with every problem found."""
    problems: list[tuple[str, str]] = []
    env: Variables | None = None
    try:
        env = read_environment(environ)
    except ValidationError as error:
        problems += problems_of(error, model=Variables, typed=False)
    path = config_path or (env.config_path if env else _raw_config_path(environ))
    document = None
    try:
        document = read_document(path)
    except ConfigError as error:
        problems += error.problems
    if env is not None and document is not None:
        problems += _tokens_missing(env, document)
    if problems or env is None or document is None:
        raise config_error(problems)
    if config_path:
        env = env.model_copy(update={"config_path": config_path})
    return env, document


def _tokens_missing(env: Variables, doc: schema.Document) -> list[tuple[str, str]]:
    """The API keys of the paging tools teams read their on-call from, where none is set."""
    used = {team.source for team in doc.oncall.teams.values()}
    tokens = {
        "pagerduty": ("BRIDGEKEEPER_PAGERDUTY_TOKEN", env.pagerduty_token),
        "goalert": ("BRIDGEKEEPER_GOALERT_TOKEN", env.goalert_token),
    }
    missing = [
        (name, source) for source, (name, value) in tokens.items() if source in used and not value
    ]
    return [(name, describe("source_token", source=source)) for name, source in missing]


def read_document(path: str | None) -> schema.Document:
    if not path:
        return schema.Document()
    try:
        with Path(path).open("rb") as handle:
            data = tomllib.load(handle)
    except (FileNotFoundError, IsADirectoryError):
        raise ConfigError(CONFIG_VARIABLE, describe("file_not_found", path=path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(CONFIG_VARIABLE, unreadable(path, exc)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(CONFIG_VARIABLE, describe("toml_syntax", reason=str(exc))) from None
    try:
        return schema.Document.model_validate(data, context={"base": Path(path).parent})
    except ValidationError as error:
        raise config_error(problems_of(error, model=schema.Document, typed=True)) from None


def _raw_config_path(environ: Mapping[str, str] | None) -> str | None:
    """The file named even when other variables are wrong, so its problems are listed too."""
    if environ is None:
        try:
            environ = {**dotenv_values(".env"), **os.environ}  # type: ignore[dict-item]
        except (OSError, UnicodeDecodeError):  # read_environment said why
            environ = os.environ
    return environ.get(CONFIG_VARIABLE) or None


def read_log_settings() -> tuple[str | None, str]:
    """LOG_LEVEL and LOG_FORMAT (environment and .env): for commands that read no other
    setting."""
    try:
        only = LogOnly()
        return only.log_level, only.log_format
    except ValidationError as error:
        raise config_error(problems_of(error, model=LogOnly, typed=False)) from None


def require_slack(settings: Settings, *, signed_requests: bool = True) -> None:
    """Serving real Slack needs the bot token, and the signing secret where Slack's requests
    come over HTTP (`serve` in HTTP mode; not `worker`); say which is missing."""
    if not settings.slack_bot_token:
        raise ConfigError("SLACK_BOT_TOKEN", describe("missing_bot_token"))
    if signed_requests and not settings.socket_mode and not settings.slack_signing_secret.strip():
        raise ConfigError("SLACK_SIGNING_SECRET", describe("missing_signing_secret"))


def database_url(raw: str | None) -> str:
    """Accept the URLs platforms hand out (postgres://...) and pick the async drivers."""
    if not raw:
        return DEFAULT_DATABASE_URL
    try:
        return with_async_driver(raw)
    except PydanticCustomError as error:
        raise ConfigError("DATABASE_URL", describe(error.type)) from None


# -- the checked values, as the dataclasses the rest of bridgekeeper reads ----------------------
def to_settings(env: Variables, doc: schema.Document) -> Settings:
    return Settings(
        slack_bot_token=env.slack_bot_token,
        slack_signing_secret=env.slack_signing_secret,
        slack_app_token=env.slack_app_token,
        slack_api_url=env.slack_api_url,
        database_url=env.database_url,
        triage_channel=env.triage_channel or doc.channels.triage,
        stakeholder_channel=env.stakeholder_channel or doc.channels.stakeholders,
        process=_process(doc),
        alerts=_alerts(doc.alerts, env.alert_token, doc.sources, doc.cloudevents.types),
        heartbeats=dict(doc.heartbeats),
        outbox_max_attempts=doc.outbox.max_attempts,
        outbox_claim_seconds=doc.outbox.claim_seconds,
        evidence_max_file_bytes=doc.evidence.max_file_bytes,
        config_path=env.config_path,
        close=CloseSettings(
            required=tuple(doc.close.required),
            require_regulatory_decisions=doc.close.require_regulatory_decisions,
            archive_after_hours=float(doc.close.archive_after_hours),
        ),
        reports=ReportSettings(
            access_token=env.report_token or doc.reports.access_token,
            template_dir=Path(doc.reports.template_dir) if doc.reports.template_dir else None,
        ),
        updates=_updates(doc.updates, doc.regulatory),
        http=HttpSettings(**doc.http.model_dump()),
        database=DatabaseSettings(**doc.database.model_dump()),
        log_level=env.log_level,
        log_format=env.log_format,
        metrics_token=env.metrics_token or doc.metrics.token,
        port=env.port,
        worker_health_port=env.worker_health_port,
        console=ConsoleSettings(
            enabled=doc.console.enabled,
            public_url=doc.console.public_url,
            session_hours=doc.console.session_hours,
            session_secret=env.session_secret,
            client_id=env.slack_client_id,
            client_secret=env.slack_client_secret,
        ),
        oncall=OnCallSettings(
            teams=to_teams(doc.oncall),
            routes=to_routes(doc.oncall),
            feed_token=doc.oncall.feed_token,
            feed_weeks=doc.oncall.feed_weeks,
            policies=to_policies(doc.oncall),
            pagerduty_keys=to_pagerduty_keys(doc.oncall),
            sources=to_sources(doc.oncall),
            pagerduty_api_url=doc.pagerduty.api_url,
            pagerduty_token=env.pagerduty_token,
            goalert_url=doc.goalert.url,
            goalert_token=env.goalert_token,
        ),
        trackers=_trackers(doc.trackers, env),
        pagerduty_events_url=doc.pagerduty.events_url,
    )


def _trackers(table: schema.Trackers, env: Variables) -> TrackerSettings:
    return TrackerSettings(
        kind=table.kind,
        url=table.url or "",
        project=table.project or "",
        token=env.tracker_token,
        email=table.email,
        webhook_secret=env.tracker_webhook_secret,
        labels=tuple(table.labels),
        users=dict(table.users),
        issue_type=table.issue_type,
        poll_minutes=table.poll_minutes,
    )


def _by_severity(table: schema.Table) -> dict[Severity, Any]:
    return {Severity(name): value for name, value in table.model_dump().items()}


def _process(doc: schema.Document) -> ProcessSettings:
    return ProcessSettings(
        severity_meanings=_by_severity(doc.severities),
        default_severity=doc.incidents.default_severity,
        roles=tuple(doc.incidents.roles),
        stages=(Stage.DETECT, Stage.ASSESS, Stage.DIAGNOSE, Stage.STABILIZE),
        channel_prefix=doc.channels.prefix,
        incident_managers_group=doc.incidents.managers_usergroup,
        permissions={a: tuple(names) for a, names in doc.permissions.model_dump().items()},
        impact_severity={Impact(level): s for level, s in doc.impact.model_dump().items()},
    )


def _alerts(
    table: alert_tables.Alerts,
    env_token: str | None,
    sources: Mapping[str, alert_tables.Source],
    event_types: Mapping[str, alert_tables.EventMapping],
) -> AlertSettings:
    return AlertSettings(
        token=table.token or env_token,
        source_tokens=dict(table.tokens),
        pagerduty_secrets=tuple(table.pagerduty_secrets),
        grafana_secret=table.grafana_secret or None,
        triage_threshold=table.triage_threshold,
        grouping_window_minutes=table.grouping_window_minutes,
        max_body_bytes=table.max_body_bytes,
        auto_declare=tuple(
            AutoDeclareRule(tuple(rule.sources), rule.min_severity, rule.private)
            for rule in table.auto_declare
        ),
        card_refresh_seconds=table.card_refresh_seconds,
        retry_seconds=table.retry_seconds,
        triage_cards_per_minute=table.triage_cards_per_minute,
        sns_topics=tuple(table.sns_topics),
        custom_sources={name: _source(name, source) for name, source in sources.items()},
        cloudevent_types={kind: _source(kind, source) for kind, source in event_types.items()},
    )


def _source(name: str, table: alert_tables.EventMapping) -> CustomSource:
    values = table.model_dump()
    return CustomSource(name=name, **{**values, "resolved_values": tuple(table.resolved_values)})


def _updates(table: schema.Updates, regulatory: Regulatory) -> UpdateSettings:
    channels = _by_severity(table.stakeholder_channels)
    return UpdateSettings(
        cadence_minutes={s: m or None for s, m in _by_severity(table.cadence_minutes).items()},
        stakeholder_channels={s: tuple(c) for s, c in channels.items() if c is not None},
        no_commander_minutes=table.no_commander_minutes,
        review_after_days=table.review_after_days,
        private_codename=table.private_codename,
        private_details=table.private_details,
        regimes=to_regimes(regulatory),
        regulatory_contacts=tuple(regulatory.contacts),
        regulatory_facts=frozenset(fact.strip() for fact in regulatory.applies),
    )
