"""`POST /alerts/datadog`: Datadog Webhooks integration, with our recommended payload template
or Datadog's default one (title, body, date, id: the monitor and its scope read from the title).

Every value arrives as a string (ids, epoch-millisecond dates). A `$VARIABLE` left unrendered
counts as missing.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from bridgekeeper.domain.alerts import fields, grouping, severities
from bridgekeeper.domain.alerts.model import Alert, AlertStatus, PayloadError
from bridgekeeper.domain.incidents import Severity
from bridgekeeper.domain.text import is_digits

SOURCE = "datadog"
TYPE_SEVERITY = {
    "error": Severity.SEV2,
    "warning": Severity.SEV3,
    "info": Severity.SEV4,
    "success": Severity.SEV4,
}
TITLE_PREFIX = re.compile(
    r"^(\s*\[(P[1-5]|Re-Triggered|Triggered|Recovered|Re-Warn|Warn|Warning|Re-No Data|No Data"
    r"|Renotify|Alert|OK)\b[^\]]{0,500}\])+\s*",
    re.IGNORECASE,
)
TITLE_SCOPE = re.compile(r"^\s*\[[^\]{]*\bon\s*\{([^}]{1,500})\}")
UNRENDERED = re.compile(r"\$[A-Z_]+")
MONITOR_URL = "https://app.datadoghq.com/monitors/{}"
STATUS_LINK = re.compile(r"\[Monitor Status\]\((https?://[^)\s]{1,2000})\)")  # the body's footer
DATADOG_SITES = ("datadoghq.com", "datadoghq.eu", "ddog-gov.com")


def parse(payload: object, *, received_at: datetime) -> list[Alert]:
    body = fields.require_payload_object(payload)
    dedup = _dedup_key(body)
    status = _status(body)
    severity_raw, severity = _severity(body)
    hosts = _hosts(body)
    updated_at = fields.time_at(body, "last_updated", "date") or received_at
    return [
        Alert(
            source=SOURCE,
            external_id=fields.truncate(dedup, fields.TEXT_MAX),
            dedup_key=f"{SOURCE}:{fields.truncate(dedup, fields.TEXT_MAX)}",
            title=_title(body),
            severity=severity,
            source_severity=severity_raw,
            status=status,
            description=fields.paragraph(_description(body)),
            resource=_resource(body, hosts),
            entities=fields.entity_map(hosts, [], []),
            link=_link(body),
            started_at=fields.time_at(body, "date", "last_updated") or received_at,
            ended_at=updated_at if status is AlertStatus.RESOLVED else None,
            delivery_id=fields.truncate(_value(body, "id"), fields.TEXT_MAX) or None,
            correlation_keys=grouping.correlation_keys(hosts=hosts),
            raw=body,
        )
    ]


def _resource(body: dict[str, Any], hosts: list[str]) -> str | None:
    named = _value(body, "host_name") or _value(body, "alert_scope") or next(iter(hosts), "")
    return fields.truncate(named, fields.TEXT_MAX) or None


def _value(body: dict[str, Any], name: str) -> str:
    value = fields.text_at(body, name)
    return "" if UNRENDERED.fullmatch(value) else value


def _dedup_key(body: dict[str, Any]) -> str:
    """alert_cycle_key (one trigger-to-recovery cycle); else monitor id + scope; else aggreg_key."""
    cycle = _value(body, "alert_cycle_key")
    if cycle:
        return cycle
    monitor, scope = _value(body, "alert_id"), _value(body, "alert_scope")
    if monitor:
        return f"{monitor}:{scope}" if scope else monitor
    aggregation = _value(body, "aggreg_key")
    if aggregation:
        return aggregation
    title = _value(body, "alert_title") or _value(body, "title")
    if title:  # Datadog's default payload: the monitor's name and the scope in its title
        return "title:" + fields.stable_hash([TITLE_PREFIX.sub("", title), _title_scope(title)])
    raise PayloadError(
        'alert_cycle_key is missing: add "alert_cycle_key": "$ALERT_CYCLE_KEY" to the '
        "webhook payload template"
    )


def _status(body: dict[str, Any]) -> AlertStatus:
    transition = _value(body, "alert_transition").lower()
    if transition:
        return AlertStatus.RESOLVED if transition == "recovered" else AlertStatus.FIRING
    title = _value(body, "alert_title") or _value(body, "title")
    recovered = _value(body, "alert_type").lower() == "success" or title.lower().startswith(
        "[recovered"
    )
    return AlertStatus.RESOLVED if recovered else AlertStatus.FIRING


def _severity(body: dict[str, Any]) -> tuple[str, Severity]:
    priority = _value(body, "alert_priority")
    severity = severities.lookup(priority, severities.PRIORITY_SEVERITY)
    if severity is not None:
        return priority, severity
    alert_type = _value(body, "alert_type")
    severity = severities.lookup(alert_type, TYPE_SEVERITY)
    return alert_type or priority, severity or severities.DEFAULT_SEVERITY


def _title(body: dict[str, Any]) -> str:
    raw = fields.one_line(_value(body, "alert_title") or _value(body, "title"), 2000)
    stripped = TITLE_PREFIX.sub("", raw)
    monitor = _value(body, "alert_id")
    fallback = f"Datadog monitor {monitor}" if monitor else "Datadog alert"
    return fields.one_line(stripped or raw or fallback)


def _description(body: dict[str, Any]) -> str:
    message = _value(body, "body").strip()
    message = message.removeprefix("%%%").removesuffix("%%%").strip()
    return message or _value(body, "alert_status")


def _hosts(body: dict[str, Any]) -> list[str]:
    """host_name, and every `host:` in the scope and tags (tags: a comma string or a list)."""
    tags = fields.get(body, "tags")
    title = _value(body, "alert_title") or _value(body, "title")
    words = [*_value(body, "alert_scope").split(","), *_tag_list(tags), *_title_scope(title)]
    tagged = [word.strip()[5:] for word in words if word.strip().lower().startswith("host:")]
    return fields.unique(h for h in [_value(body, "host_name"), *tagged] if h.strip())


def _title_scope(title: str) -> list[str]:
    """`[Triggered on {host:web-01,env:prod}] CPU high` -> [host:web-01, env:prod]."""
    match = TITLE_SCOPE.search(title)
    return [part.strip() for part in match[1].split(",")] if match else []


def _tag_list(tags: object) -> list[str]:
    if isinstance(tags, str):
        return tags.split(",")
    return fields.texts(tags)


def _link(body: dict[str, Any]) -> str | None:
    """Our payload's `link`, else the monitor of `alert_id`, else (Datadog's default payload,
    a test notification) the "Monitor Status" link at the foot of the message."""
    link, monitor = fields.http_url(_value(body, "link")), _value(body, "alert_id")
    if link or is_digits(monitor):
        return link or MONITOR_URL.format(monitor)
    return _footer_link(_value(body, "body"))


def _footer_link(message: str) -> str | None:
    """The last "Monitor Status" link, if it leads to a Datadog site: the message may quote a
    log line or an event carrying a link of the same name before Datadog's own footer."""
    found = [fields.http_url(url) for url in STATUS_LINK.findall(message)]
    if not found or found[-1] is None:
        return None
    host = (urlsplit(found[-1]).hostname or "").lower()
    return found[-1] if host.endswith(tuple(f".{site}" for site in DATADOG_SITES)) else None
