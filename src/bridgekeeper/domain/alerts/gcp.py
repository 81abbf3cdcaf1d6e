"""`POST /alerts/gcp`: a Google Cloud Monitoring webhook notification (schema version 1.2).

One incident per request: `incident.state` is "open" or "closed"; `incident.incident_id` is
stable across both, so it is the dedup key. The policy's severity ("Critical", "Error",
"Warning", "No severity") sets ours unless its user labels name one (`severity`,
`incident_severity`). Cloud Monitoring names no delivery id: a repeat is an occurrence.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bridgekeeper.domain.alerts import fields, grouping, severities
from bridgekeeper.domain.alerts.model import Alert, AlertStatus
from bridgekeeper.domain.incidents import Severity

SOURCE = "gcp"
POLICY_SEVERITY = {  # the alerting policy's severity level, as the notification spells it
    "critical": Severity.SEV2,
    "error": Severity.SEV3,
    "warning": Severity.SEV4,
}
LABEL_SEVERITY = severities.OWN_SEVERITY | severities.PRIORITY_SEVERITY | severities.LABEL_SEVERITY
HOST_LABELS = ("instance_name", "host", "hostname", "node_name")
GENERATED_NAME = re.compile(r".* labels \{.*\}")  # Monitoring's name for an unnamed resource
GENERATED_MAX = 500  # longer names are not Monitoring's (and the pattern need not scan a megabyte)


def parse(payload: object, *, received_at: datetime) -> list[Alert]:
    body = fields.require_payload_object(payload)
    incident = fields.require_object(fields.get(body, "incident"), "incident")
    incident_id = fields.require_text(incident, "incident_id", "incident.incident_id")
    status = _status(incident)
    severity_raw, severity = _severity(incident)
    resource = _resource(incident)
    started_at = fields.time_at(incident, "started_at") or received_at
    ended_at = fields.time_at(incident, "ended_at") or received_at
    key = fields.truncate(incident_id, fields.TEXT_MAX)
    return [
        Alert(
            source=SOURCE,
            external_id=key,
            dedup_key=f"{SOURCE}:{key}",
            title=fields.one_line(_title(incident)),
            severity=severity,
            source_severity=severity_raw,
            status=status,
            description=fields.paragraph(_description(incident)),
            resource=fields.truncate(resource, fields.TEXT_MAX) or None,
            link=fields.first_url(fields.get(incident, "url")),
            started_at=started_at,
            ended_at=ended_at if status is AlertStatus.RESOLVED else None,
            correlation_keys=grouping.correlation_keys(hosts=_hosts(incident)),
            raw=body,
        )
    ]


def _status(incident: dict[str, Any]) -> AlertStatus:
    state = fields.text_at(incident, "state").lower()
    return AlertStatus.RESOLVED if state == "closed" else AlertStatus.FIRING


def _severity(incident: dict[str, Any]) -> tuple[str, Severity]:
    labels = fields.obj_at(incident, "policy_user_labels")
    for name in ("incident_severity", "severity"):
        raw = fields.text_at(labels, name)
        severity = severities.lookup(raw, LABEL_SEVERITY) if raw else None
        if severity is not None:
            return raw, severity
    raw = fields.text_at(incident, "severity")
    return raw, severities.lookup(raw, POLICY_SEVERITY) or severities.DEFAULT_SEVERITY


def _title(incident: dict[str, Any]) -> str:
    """The documentation's subject when the policy sets one, else the policy and its resource."""
    subject = fields.text(fields.dig(incident, "documentation", "subject"))
    if subject:
        return subject
    policy = _policy_name(incident)
    resource = _readable(
        fields.text_at(incident, "resource_display_name", "resource_name"), incident
    )
    if policy and resource and resource.lower() not in policy.lower():
        return f"{policy} on {resource}"
    return policy or fields.text_at(incident, "summary") or "Google Cloud Monitoring incident"


def _policy_name(incident: dict[str, Any]) -> str:
    """`policy_name` is the display name in notifications; a resource name is kept as is."""
    return fields.text_at(incident, "policy_name") or fields.text(
        fields.dig(incident, "policy", "displayName")
    )


def _description(incident: dict[str, Any]) -> str:
    documentation = fields.get(incident, "documentation")
    content = fields.text_at(documentation, "content") or fields.text(documentation)
    condition = fields.text_at(incident, "condition_name")
    observed = fields.text_at(incident, "observed_value")
    threshold = fields.text_at(incident, "threshold_value")
    return fields.join_lines(
        fields.text_at(incident, "summary"),
        f"Condition: {condition}" if condition else "",
        f"Observed: {observed}" + (f" (threshold {threshold})" if threshold else "")
        if observed
        else "",
        f"Project: {fields.text_at(incident, 'scoping_project_id')}"
        if fields.text_at(incident, "scoping_project_id")
        else "",
        content,
    )


def _resource(incident: dict[str, Any]) -> str:
    name = fields.text_at(incident, "resource_name", "resource_display_name", "resource_id")
    return _readable(name, incident)


def _readable(name: str, incident: dict[str, Any]) -> str:
    """A resource without a display name is named by its type and labels ("Uptime Check URL
    labels {host=shop.example.com}"): its host label says it better."""
    hosts = _hosts(incident)
    generated = len(name) <= GENERATED_MAX and GENERATED_NAME.fullmatch(name)
    return hosts[0] if hosts and generated else name


def _hosts(incident: dict[str, Any]) -> list[str]:
    """Host-like labels of the resource and the metric (a VM's instance name, a node...)."""
    hosts = []
    for labels in (
        fields.obj_at(fields.obj_at(incident, "resource"), "labels"),
        fields.obj_at(fields.obj_at(incident, "metric"), "labels"),
    ):
        hosts += [fields.host_name(fields.text_at(labels, name)) for name in HOST_LABELS]
    return [host for host in fields.unique(hosts) if host and fields.looks_like_host(host)]
