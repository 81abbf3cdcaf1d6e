"""The TOML file's alert intake tables: [alerts] (tokens, triage, storms, auto-declaring),
[sources.<name>] (alert sources defined by mappings), [cloudevents] and the names of
[heartbeats]."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from bridgekeeper.config.types import (
    Length,
    Positive,
    SecretText,
    SeverityName,
    Shown,
    Table,
    Text,
    choice,
    problem,
)
from bridgekeeper.domain.alerts.custom import AUTH_MODES, check_template
from bridgekeeper.domain.alerts.heartbeat import NAME as HEARTBEAT_NAME
from bridgekeeper.domain.alerts.heartbeat import SOURCE as HEARTBEAT
from bridgekeeper.domain.alerts.parse import SOURCES as BUILT_IN_SOURCES
from bridgekeeper.domain.incidents import Severity

SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")


class AutoDeclare(Table):
    sources: Annotated[list[Text], Field(min_length=1)] = Field(
        description="alert sources this rule applies to (e.g. defender, sentinel)"
    )
    min_severity: SeverityName = Field(
        Severity.SEV2, description="alerts at this severity or worse declare an incident at once"
    )
    private: bool = Field(False, description="declare the incident private")


class Alerts(Table):
    token: SecretText | None = Field(
        None,
        description="shared secret for the alert webhooks "
        "(else BRIDGEKEEPER_ALERT_TOKEN); none: webhooks refuse everything",
    )
    tokens: dict[str, SecretText] = Field(
        {}, description='per-source tokens, e.g. { pagerduty = "...", grafana = "..." }'
    )
    pagerduty_secrets: list[SecretText] = Field(
        [], description="PagerDuty V3 webhook signing secrets"
    )
    grafana_secret: SecretText | None = Field(None, description="Grafana HMAC secret")
    triage_threshold: SeverityName = Field(
        Severity.SEV3, description="triage cards for alerts at this severity or worse"
    )
    grouping_window_minutes: Length = Field(
        60, description="repeats of an alert within this many minutes are grouped"
    )
    max_body_bytes: Positive = Field(
        1024 * 1024, description="largest alert body accepted (webhooks, the Alert API, heartbeats)"
    )
    card_refresh_seconds: Length = Field(
        20, description="a repeating alert's triage card is updated at most this often"
    )
    retry_seconds: Length = Field(
        300,
        description="a body stored whose answer never reached "
        "its sender (who will retry) is a redelivery if it comes again within this many "
        "seconds",
    )
    triage_cards_per_minute: Positive = Field(
        20,
        description="past this many new triage cards a minute, new alerts go into one digest card",
    )
    sns_topics: list[str] = Field(
        [],
        description="AWS SNS topic ARNs whose messages "
        "/alerts/aws-sns takes (shell-style patterns, e.g. arn:aws:sns:*:123456789012:*); "
        "none: SNS is refused",
    )
    auto_declare: list[AutoDeclare] = Field(
        [],
        description="[[alerts.auto_declare]] rules: alerts that declare an incident without triage",
    )


def _template(value: str) -> str:
    reason = check_template(value)
    if reason is not None:
        raise problem("template", reason=reason)
    return value


Template = Annotated[str, AfterValidator(_template), Shown("Jinja expression")]


def _source_name(value: str) -> str:
    if not SOURCE_NAME.fullmatch(value) or value in (*BUILT_IN_SOURCES, HEARTBEAT):
        raise problem("source_name", built_in=sorted(BUILT_IN_SOURCES))
    return value


SourceName = Annotated[str, AfterValidator(_source_name)]


def _heartbeat_name(value: str) -> str:
    if not HEARTBEAT_NAME.fullmatch(value):
        raise problem("heartbeat_name")
    return value


HeartbeatName = Annotated[str, AfterValidator(_heartbeat_name)]


class EventMapping(Table):
    title: Template = Field(description='the alert\'s title, e.g. "{{ monitor.name }} is down"')
    description: Template = Field("", description="the description")
    severity: Template = Field(
        "",
        description="the tool's severity; mapped by severity_map, "
        "then the usual words (sev1..sev4, P1..P5, critical, high, warning...)",
    )
    severity_map: dict[str, SeverityName] = Field(
        {}, description='the tool\'s severity words to sev1..sev4, e.g. { Disaster = "sev1" }'
    )
    status: Template = Field("", description="firing unless it renders one of resolved_values")
    resolved_values: list[str] = Field(
        ["resolved", "ok", "closed", "recovered", "up"],
        description="what status renders when the alert has resolved",
    )
    dedup_key: Template = Field(
        "",
        description="identifies the alert from firing to resolved; default: the title and resource",
    )
    resource: Template = Field("", description="the affected host or resource")
    link: Template = Field("", description="an http(s) link back to the tool")
    started_at: Template = Field(
        "", description="when it started (ISO 8601 or epoch seconds); default: when received"
    )


class Source(EventMapping):
    auth: Annotated[Literal[AUTH_MODES], choice(AUTH_MODES)] = Field(  # type: ignore[valid-type]
        "token",
        description="token: Authorization: Bearer <token> or ?token=<token>; header: the "
        "header only; basic: HTTP Basic authentication, the token as the password",
    )


class CloudEvents(Table):
    types: dict[Text, EventMapping] = Field(
        {},
        description='[cloudevents.types."<type>"]: how '
        "events of a type map to alerts, with the keys of [sources.<name>] over the event "
        "(data.<field>, subject, source)",
    )
