"""What Azure Monitor's non-metric alerts say in `alertContext` (common alert schema), by
`essentials.monitoringService`: the event a responder needs, beyond the rule's name.

- Service Health: the incident's title, service, region, type and tracking id; it resolves
  when its stage or status says Resolved (its monitorCondition stays Fired); one alert per
  tracking id, whatever number of updates Azure sends.
- Resource Health: "<resource> is unavailable", the cause and the change; one alert per
  resource (each event is an alert instance of its own), which Available resolves.
- Activity Log (administrative, policy, autoscale): who did what, on what, with what result.
- Activity Log - Security (Defender for Cloud's alerts through an activity log alert rule): the
  threat, the machine, the file and what was done; its severity is the threat's, not the rule's.
- Smart detection (Application Insights): the detected against the normal value.

Service Health and Resource Health events carry no meaningful rule severity (such rules are
usually Sev3 or Sev4, below the triage threshold): their severity comes from the event.
"""

from __future__ import annotations

import json
import re
from contextlib import suppress
from dataclasses import dataclass, field
from html import unescape
from typing import Any

from bridgekeeper.domain.alerts import fields, severities
from bridgekeeper.domain.incidents import Severity


@dataclass(frozen=True)
class Context:
    title: str = ""
    lines: tuple[str, ...] = ()
    resolved: bool | None = None  # None: as monitorCondition says
    severity: tuple[str, Severity] | None = None  # None: the rule's severity
    dedup: str = ""  # "": the alert id
    entities: dict[str, list[str]] = field(default_factory=dict)  # hosts, ips, accounts


def read(essentials: dict[str, Any], context: dict[str, Any]) -> Context:
    service = fields.text_at(essentials, "monitoringService").lower().replace(" ", "")
    reader = READERS.get(service)
    if reader is None and service.startswith("activitylog"):
        reader = _activity_log
    return reader(context, essentials) if reader else Context()


def _service_health(context: dict[str, Any], essentials: dict[str, Any]) -> Context:
    props = fields.obj_at(context, "properties")
    stage = fields.text_at(props, "stage") or fields.text_at(props, "status")
    kind = fields.text_at(props, "incidentType")
    tracking = fields.text_at(props, "trackingId")
    return Context(
        title=fields.text_at(props, "title"),
        lines=(
            _pair("Service", fields.text_at(props, "service")),
            _pair("Region", fields.text_at(props, "region")),
            _pair("Type", kind),
            _pair("Stage", stage),
            _pair("Tracking ID", tracking),
            _plain(fields.text_at(props, "communication")),
        ),
        resolved=stage.lower() in ("resolved", "complete", "rca")
        or fields.text_at(context, "status").lower() == "resolved",
        severity=(kind or "Service Health", _service_health_severity(kind)),
        dedup=f"servicehealth:{tracking.lower()}" if tracking else "",
    )


def _service_health_severity(kind: str) -> Severity:
    if kind.lower() in ("incident", "security", "actionrequired"):
        return Severity.SEV2
    return Severity.SEV3  # maintenance, information, advisory


def _resource_health(context: dict[str, Any], essentials: dict[str, Any]) -> Context:
    props = fields.obj_at(context, "properties")
    now = fields.text_at(props, "currentHealthStatus")
    before = fields.text_at(props, "previousHealthStatus")
    targets = fields.texts(fields.get(essentials, "alertTargetIDs"))
    resource = targets[0].rstrip("/") if targets else ""
    name = resource.rsplit("/", 1)[-1] if resource else "The resource"
    severity = Severity.SEV2 if now.lower() == "unavailable" else Severity.SEV3
    return Context(
        title=f"{name} is {now.lower()}" if now else fields.text_at(props, "title"),
        lines=(
            fields.text_at(props, "title"),
            fields.text_at(props, "details"),
            _pair("Health", f"{now} (was {before})" if before else now),
            _pair("Cause", fields.text_at(props, "cause")),
        ),
        resolved=now.lower() == "available",
        severity=(now or "Resource Health", severity),
        dedup=f"resource-health:{resource.lower()}" if resource else "",
    )


def _activity_log(context: dict[str, Any], essentials: dict[str, Any]) -> Context:
    return Context(
        lines=(
            _pair("Operation", fields.text_at(context, "operationName")),
            _pair("Caller", fields.text_at(context, "caller")),
            _pair("Status", fields.text_at(context, "status")),
            _pair("Scope", fields.text(fields.dig(context, "authorization", "scope"))),
            _pair("Level", fields.text_at(context, "level")),
        )
    )


def _security(context: dict[str, Any], essentials: dict[str, Any]) -> Context:
    """A Defender for Cloud alert as the activity log carries it: the threat in `properties`."""
    props = fields.obj_at(context, "properties")
    threat = fields.text_at(props, "category", "alertDisplayName") or "Security alert"
    entity = fields.text_at(props, "compromisedEntity")
    raw = fields.text_at(props, "severity")
    severity = severities.lookup(raw, severities.SECURITY_SEVERITY)
    return Context(
        title=f"{threat} on {entity}" if entity else threat,
        lines=(
            _pair("Threat status", fields.text_at(props, "threatStatus")),
            _pair("Action taken", fields.text_at(props, "actionTaken")),
            _pair("File", fields.text_at(props, "filePath")),
            _pair("Detected by", fields.text_at(props, "protectionType")),
            _pair("Remediation", "; ".join(_steps(fields.get(props, "remediationSteps")))),
        ),
        resolved=fields.text_at(context, "status").lower() in ("resolved", "dismissed"),
        severity=(raw, severity) if severity else None,
        entities=fields.entity_map(
            [entity] if entity else [],
            fields.texts(fields.get(props, "attackerIPAddress", "clientIpAddress")),
            fields.texts(fields.get(props, "userName", "accountName")),
        ),
    )


def _steps(value: object) -> list[str]:
    """Remediation steps: a list, or a list written as a JSON string (as the activity log does)."""
    if isinstance(value, str) and value.lstrip().startswith("["):
        with suppress(ValueError):
            value = json.loads(value)
    return fields.texts(value)


def _smart_detection(context: dict[str, Any], essentials: dict[str, Any]) -> Context:
    return Context(
        title=fields.text_at(context, "DetectionSummary"),
        lines=(
            _pair("Detected", fields.text_at(context, "DetectedValue")),
            _pair("Normal", fields.text_at(context, "NormalValue")),
            _pair("Detector", fields.text_at(context, "DetectorName")),
            fields.text_at(context, "SmartDetectorLink"),
        ),
    )


def _plain(html: str) -> str:
    """Service Health's communication is HTML: its text, one paragraph a line."""
    text = re.sub(r"<(br|/p|/li|/h\d)\s*/?>", "\n", html, flags=re.IGNORECASE)
    return unescape(re.sub(r"<[^>]*>", "", text)).strip()


def _budget(context: dict[str, Any], essentials: dict[str, Any]) -> Context:
    """A Cost Management budget crossing one of its thresholds (actual or forecast spend)."""
    data = fields.obj_at(context, "AlertData")
    name = fields.text_at(data, "BudgetName") or "A budget"
    kind = fields.text_at(data, "ThresholdType") or "Actual"
    at = fields.text_at(data, "NotificationThresholdAmount")
    threshold = at or fields.text_at(data, "BudgetThreshold")
    spent = fields.text_at(data, "SpentAmount")
    amount = f" {spent}" if spent else ""
    return Context(
        title=f"Budget {name}: {kind.lower()} spend{amount} past the {threshold} threshold",
        lines=(
            _pair("Budget", fields.text_at(data, "BudgetThreshold")),
            _pair("Scope", fields.text_at(data, "Scope")),
            _pair("Created by", fields.text_at(data, "BudgetCreator")),
        ),
        resolved=False,
        severity=(f"{kind} budget", Severity.SEV3),
        dedup=f"budget:{fields.text_at(data, 'BudgetId').lower()}:{kind.lower()}:{at}",
    )


def _pair(label: str, value: str) -> str:
    return f"{label}: {value}" if value else ""


READERS = {  # by monitoringService, lower case without spaces
    "servicehealth": _service_health,
    "resourcehealth": _resource_health,
    "smartdetector": _smart_detection,
    "costalerts": _budget,
    "activitylog-security": _security,
}
