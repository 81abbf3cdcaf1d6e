"""Alert sources defined in the configuration (`[sources.<name>]`), for tools without a built-in
mapping: each field is a Jinja expression over the JSON body, rendered in a sandbox.

    [sources.uptime-kuma]
    title = "{{ monitor.name }} is down"
    status = "{{ heartbeat.status }}"
    resolved_values = ["1"]
    severity = "sev2"
    dedup_key = "{{ monitor.id }}"

A field that names nothing in the body renders empty; `title` must not. Severity: the rendered
text through `severity_map` (the tool's words to sev1..sev4), then the usual words (SEVn, Pn,
critical/high/warning...); unknown words keep the default and are shown on the card.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bridgekeeper.domain.alerts import fields, grouping, severities
from bridgekeeper.domain.alerts.model import Alert, AlertStatus, PayloadError
from bridgekeeper.domain.incidents import Severity

TEMPLATE_FIELDS = (
    "title",
    "description",
    "severity",
    "status",
    "dedup_key",
    "resource",
    "link",
    "started_at",
)
_ENV = ImmutableSandboxedEnvironment(undefined=ChainableUndefined, autoescape=False)


@dataclass(frozen=True)
class CustomSource:
    name: str
    title: str
    description: str = ""
    severity: str = ""
    severity_map: Mapping[str, Severity] = field(default_factory=dict)
    status: str = ""
    resolved_values: tuple[str, ...] = ("resolved", "ok", "closed", "recovered", "up")
    dedup_key: str = ""
    resource: str = ""
    link: str = ""
    started_at: str = ""
    auth: str = "token"  # one of AUTH_MODES: how the sender proves it has the source's token


AUTH_MODES = ("token", "header", "basic")
"""`token`: `Authorization: Bearer <token>` or `?token=<token>`; `header`: the header only (the
token never in a URL, where proxies log it); `basic`: HTTP Basic authentication whose password
is the token (for tools that offer only a user and password)."""


def check_template(text: str) -> str | None:
    """Why this template cannot be used, or None."""
    try:
        _compiled(text)
    except TemplateError as exc:
        return str(exc.message or exc)
    return None


def parse(source: CustomSource, payload: object, *, received_at: datetime) -> list[Alert]:
    body = fields.require_payload_object(payload)
    values = {name: _render(source, name, body) for name in TEMPLATE_FIELDS}
    title = values["title"]
    if not title:
        raise PayloadError(f"the title of source {source.name} renders empty for this body")
    resolved = values["status"].lower() in {v.lower() for v in source.resolved_values}
    started_at = fields.parse_time(values["started_at"]) or received_at
    key = values["dedup_key"] or fields.stable_hash([title, values["resource"]])
    resource = values["resource"]
    host = fields.host_name(resource) if resource else ""
    return [
        Alert(
            source=source.name,
            external_id=fields.truncate(key, fields.TEXT_MAX),
            dedup_key=f"{source.name}:{fields.truncate(key, fields.TEXT_MAX)}",
            title=fields.one_line(title),
            severity=_severity(source, values["severity"]),
            source_severity=fields.one_line(values["severity"], 60),
            status=AlertStatus.RESOLVED if resolved else AlertStatus.FIRING,
            description=fields.paragraph(values["description"]),
            resource=fields.truncate(resource, fields.TEXT_MAX) or None,
            link=fields.http_url(values["link"]),
            started_at=started_at,
            ended_at=received_at if resolved else None,
            correlation_keys=grouping.correlation_keys(
                hosts=[host] if host and fields.looks_like_host(host) else []
            ),
            raw=body,
        )
    ]


def _render(source: CustomSource, name: str, body: dict[str, Any]) -> str:
    template = getattr(source, name)
    if not template:
        return ""
    try:
        return _compiled(template).render(body=body, **_names(body)).strip()
    except (TemplateError, TypeError, ValueError, ArithmeticError) as exc:
        raise PayloadError(f"{name} of source {source.name} cannot be rendered: {exc}") from None


def _names(body: dict[str, Any]) -> dict[str, Any]:
    """The body's top-level keys that can be names in an expression (`monitor.name`)."""
    return {k: v for k, v in body.items() if str(k).isidentifier() and k != "body"}


def _severity(source: CustomSource, raw: str) -> Severity:
    mapped = {key.lower(): value for key, value in source.severity_map.items()}
    found = severities.lookup(raw, mapped, *severities.WORDS) if raw else None
    return found or severities.DEFAULT_SEVERITY


@lru_cache(maxsize=512)
def _compiled(text: str) -> Any:
    return _ENV.from_string(text)
