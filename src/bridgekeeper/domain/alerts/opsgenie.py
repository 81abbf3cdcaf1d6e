"""The Opsgenie Alert API's requests (`POST /v2/alerts` and the actions on one alert), read into
alerts, so an integration written for Opsgenie works by changing its base URL.

Create: `message` (required, 130 characters at most in Opsgenie) is the title; `alias` is the
dedup key (Opsgenie's own de-duplication), else the message and entity; `priority` P1..P5
(default P3); `entity` the resource; `description`, `details`, `tags`, `source` and `note` the
description. The actions (close, acknowledge, add note) name the alert by its id or its alias
(`identifierType`), and may say who (`user`) and why (`note`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bridgekeeper.domain.alerts import fields, grouping, severities
from bridgekeeper.domain.alerts.model import Alert, AlertStatus, PayloadError

SOURCE = "opsgenie"
MESSAGE_MAX = 130
ALIAS_MAX = 512
IDENTIFIER_TYPES = ("id", "alias", "tiny")


@dataclass(frozen=True)
class Action:
    """Close, acknowledge or add a note, as a client asked for it."""

    identifier: str
    identifier_type: str  # id or alias ("tiny" ids are our ids)
    user: str
    note: str
    source: str


def parse(payload: object, *, received_at: datetime) -> list[Alert]:
    """A create request: one alert."""
    body = fields.require_payload_object(payload)
    message = fields.text_at(body, "message")
    if not message:
        raise PayloadError("message is missing")
    if len(message) > MESSAGE_MAX:
        raise PayloadError(f"message is longer than {MESSAGE_MAX} characters")
    alias = fields.text_at(body, "alias")
    if len(alias) > ALIAS_MAX:
        raise PayloadError(f"alias is longer than {ALIAS_MAX} characters")
    entity = fields.text_at(body, "entity")
    priority = fields.text_at(body, "priority") or "P3"
    severity = severities.lookup(priority, severities.PRIORITY_SEVERITY)
    if severity is None:
        raise PayloadError("priority must be one of P1, P2, P3, P4 or P5")
    key = alias or fields.stable_hash([message, entity])
    return [
        Alert(
            source=SOURCE,
            external_id=fields.truncate(key, fields.TEXT_MAX),
            dedup_key=alias_key(key),
            title=fields.one_line(message),
            severity=severity,
            source_severity=priority,
            status=AlertStatus.FIRING,
            description=fields.paragraph(_description(body)),
            resource=fields.truncate(entity, fields.TEXT_MAX) or None,
            started_at=received_at,
            correlation_keys=grouping.correlation_keys(hosts=_hosts(entity, body)),
            raw=body,
        )
    ]


def alias_key(alias: str) -> str:
    return f"{SOURCE}:{fields.truncate(alias, fields.TEXT_MAX)}"


def action(identifier: str, identifier_type: str, payload: object) -> Action:
    """An action's request: the identifier from the path and query, the rest from the body."""
    body = payload if isinstance(payload, dict) else {}
    kind = (identifier_type or "id").lower()
    if kind not in IDENTIFIER_TYPES:
        raise PayloadError("identifierType must be id, alias or tiny")
    return Action(
        identifier=identifier.strip(),
        identifier_type="alias" if kind == "alias" else "id",
        user=fields.one_line(fields.text_at(body, "user"), 100),
        note=fields.paragraph(fields.text_at(body, "note"), 25_000),
        source=fields.one_line(fields.text_at(body, "source"), 100),
    )


def resolution(stored_dedup_key: str, title: str, received_at: datetime) -> Alert:
    """A close: the alert with this dedup key resolved now."""
    return Alert(
        source=SOURCE,
        external_id=stored_dedup_key.removeprefix(f"{SOURCE}:"),
        dedup_key=stored_dedup_key,
        title=title,
        severity=severities.DEFAULT_SEVERITY,
        source_severity="",
        status=AlertStatus.RESOLVED,
        started_at=received_at,
        ended_at=received_at,
    )


def _description(body: dict[str, Any]) -> str:
    details = fields.get(body, "details")
    pairs = details.items() if isinstance(details, dict) else []
    tags = fields.texts(fields.get(body, "tags"))
    return fields.join_lines(
        fields.text_at(body, "description"),
        *(f"{fields.text(k)}: {fields.text(v)}" for k, v in list(pairs)[:50]),
        f"Tags: {', '.join(tags[:50])}" if tags else "",
        f"Source: {fields.text_at(body, 'source')}" if fields.text_at(body, "source") else "",
        f"Note: {fields.text_at(body, 'note')}" if fields.text_at(body, "note") else "",
    )


def _hosts(entity: str, body: dict[str, Any]) -> list[str]:
    """The entity, and a host named in the details (Alertmanager passes its labels there)."""
    details = fields.obj_at(body, "details")
    named = [entity, *(fields.text_at(details, name) for name in ("host", "hostname", "instance"))]
    hosts = [fields.host_name(value) for value in named if value]
    return [host for host in fields.unique(hosts) if host and fields.looks_like_host(host)]
