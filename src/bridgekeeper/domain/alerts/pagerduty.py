"""`POST /alerts/pagerduty`: PagerDuty V3 webhook, one event per request.

Only incident events carry alert state. Notes, responder requests, status updates and pings
(`data.type` other than "incident") parse to no alert at all: `[]`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bridgekeeper.domain.alerts import fields, grouping, severities
from bridgekeeper.domain.alerts.model import Alert, AlertStatus
from bridgekeeper.domain.incidents import Severity

SOURCE = "pagerduty"
URGENCY_SEVERITY = {"high": Severity.SEV2, "low": Severity.SEV4}
STATE_EVENTS = frozenset(
    {
        "incident.triggered",
        "incident.acknowledged",
        "incident.unacknowledged",
        "incident.resolved",
        "incident.reopened",
        "incident.escalated",
        "incident.reassigned",
        "incident.delegated",
        "incident.priority_updated",
    }
)
DEFENDER_ALERT_ID = re.compile(r"\d{10,20}_[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}")
HOST_MARK = re.compile(r"[0-9.-]")  # "on vm-web-01" names a host, "on Monday" does not


def parse(payload: object, *, received_at: datetime) -> list[Alert]:
    body = fields.require_payload_object(payload)
    event = fields.require_object(fields.get(body, "event"), "event")
    event_type = fields.require_text(event, "event_type", "event.event_type").lower()
    data = fields.require_object(fields.get(event, "data"), "event.data")
    if not _is_incident(event_type, data):
        return []
    incident_id = fields.require_text(data, "id", "event.data.id")
    status = _status(event_type, data)
    severity_raw, severity = _severity(data)
    title = _title(data)
    service = fields.obj_at(data, "service")
    occurred_at = fields.time_at(event, "occurred_at") or received_at
    return [
        Alert(
            source=SOURCE,
            external_id=fields.truncate(incident_id, fields.TEXT_MAX),
            dedup_key=f"{SOURCE}:{fields.truncate(incident_id, fields.TEXT_MAX)}",
            title=fields.one_line(title),
            severity=severity,
            source_severity=severity_raw,
            status=status,
            description=fields.paragraph(_description(data, service)),
            resource=fields.truncate(fields.text_at(service, "summary"), fields.TEXT_MAX) or None,
            link=fields.first_url(fields.get(data, "html_url")),
            started_at=fields.time_at(data, "created_at") or occurred_at,
            ended_at=occurred_at if status is AlertStatus.RESOLVED else None,
            delivery_id=fields.truncate(fields.text_at(event, "id"), fields.TEXT_MAX) or None,
            correlation_keys=_keys(data, title),
            raw=body,
        )
    ]


def _is_incident(event_type: str, data: dict[str, Any]) -> bool:
    data_type = fields.text_at(data, "type").lower()
    if data_type:
        return data_type == "incident" and event_type.startswith("incident.")
    return event_type in STATE_EVENTS


def _status(event_type: str, data: dict[str, Any]) -> AlertStatus:
    resolved = event_type == "incident.resolved" or (
        event_type != "incident.reopened" and fields.text_at(data, "status").lower() == "resolved"
    )
    return AlertStatus.RESOLVED if resolved else AlertStatus.FIRING


def _severity(data: dict[str, Any]) -> tuple[str, Severity]:
    """The priority (P1..P5, or SEV1..SEV4 if the account names them so), else the urgency."""
    priority = fields.text(fields.dig(data, "priority", "summary"))
    severity = severities.lookup(priority, severities.PRIORITY_SEVERITY, severities.OWN_SEVERITY)
    if severity is not None:
        return priority, severity
    urgency = fields.text_at(data, "urgency")
    severity = severities.lookup(urgency, URGENCY_SEVERITY)
    if severity is not None:
        return urgency, severity
    return priority or urgency, severities.DEFAULT_SEVERITY


def _title(data: dict[str, Any]) -> str:
    number = fields.text_at(data, "number")
    fallback = f"PagerDuty incident #{number}" if number else "PagerDuty incident"
    return fields.text_at(data, "title", "summary") or fallback


def _description(data: dict[str, Any], service: dict[str, Any]) -> str:
    number = fields.text_at(data, "number")
    service_name = fields.text_at(service, "summary")
    policy = fields.text(fields.dig(data, "escalation_policy", "summary"))
    return fields.join_lines(
        f"PagerDuty incident #{number}" if number else "",
        f"Service: {service_name}" if service_name else "",
        f"Escalation policy: {policy}" if policy else "",
    )


def _keys(data: dict[str, Any], title: str) -> frozenset[str]:
    """The upstream incident_key when it is an Azure alert GUID or a Defender alert id, and a
    host named at the end of the title."""
    incident_key = fields.text_at(data, "incident_key")
    other = []
    guid = fields.guid_of(incident_key) if incident_key else None
    if guid:
        other.append(f"azure-alert:{guid}")
    if DEFENDER_ALERT_ID.fullmatch(incident_key.lower()):
        other.append(f"defender-alert:{incident_key.lower()}")
    return grouping.correlation_keys(hosts=_title_host(title), other=other)


def _title_host(title: str) -> list[str]:
    """`... fired on vm-web-01` -> [vm-web-01]: the word after a final "on", if host-like."""
    words = fields.one_line(title).split(" ")
    if len(words) < 2 or words[-2].lower() != "on":
        return []
    host = fields.host_name(words[-1])
    return [host] if fields.looks_like_host(host) and HOST_MARK.search(host) else []
