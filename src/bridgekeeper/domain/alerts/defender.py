"""`POST /alerts/defender`: a Defender for Cloud security alert.

Two shapes: PascalCase `SecurityAlert` (workflow automation Logic App, continuous export), and
the ARM/REST resource `{id, name, type, properties{...camelCase...}}`. Keys are looked up
case-insensitively, so one code path reads both. A Defender XDR alert from Microsoft Graph is
read by defender_graph.py.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bridgekeeper.domain.alerts import defender_graph, fields, grouping, severities
from bridgekeeper.domain.alerts.model import Alert, AlertStatus, PayloadError
from bridgekeeper.domain.incidents import Severity

SOURCE = "defender"
RESOLVED = frozenset({"resolved", "dismissed"})
MAX_STEPS = 20
# Fields of continuous export's other records (recommendations, scores, compliance).
EXPORTED_NON_ALERTS = (
    "RecommendationName",
    "RecommendationState",
    "AssessmentId",
    "SecureScorePercentage",
    "ComplianceState",
)


def parse(payload: object, *, received_at: datetime) -> list[Alert]:
    body = fields.require_payload_object(payload)
    if defender_graph.is_graph(body):
        return defender_graph.parse(body, received_at=received_at)
    if not_an_alert(body):
        return []
    alert, arm = _alert_part(body)
    alert_id = fields.text_at(alert, "SystemAlertId") or (
        fields.text_at(body, "name") if arm else ""
    )
    if not alert_id:
        raise PayloadError(
            "properties.systemAlertId is missing" if arm else "SystemAlertId is missing"
        )
    status = _status(alert)
    severity_raw, severity = _severity(alert)
    entities = fields.typed_entities(fields.get(alert, "Entities"))
    resources = _resources(alert, entities)
    hosts = _hosts(alert, entities, resources)
    started_at = fields.time_at(alert, "StartTimeUtc", "TimeGenerated", "TimeGeneratedUtc")
    return [
        Alert(
            source=SOURCE,
            external_id=fields.truncate(alert_id, fields.TEXT_MAX),
            dedup_key=f"{SOURCE}:{fields.truncate(alert_id.lower(), fields.TEXT_MAX)}",
            title=fields.one_line(_title(alert)),
            severity=severity,
            source_severity=severity_raw,
            status=status,
            description=fields.paragraph(_description(alert)),
            resource=_resource(resources, alert),
            entities=fields.entity_map(hosts, _ips(entities), _accounts(entities)),
            link=fields.first_url(fields.get(alert, "AlertUri")),
            started_at=started_at or received_at,
            ended_at=received_at if status is AlertStatus.RESOLVED else None,
            correlation_keys=_keys(alert, alert_id, resources, hosts),
            raw=body,
        )
    ]


def not_an_alert(body: dict[str, Any]) -> bool:
    """What continuous export streams beside alerts: recommendations (assessments), secure
    scores, regulatory compliance. Only alerts make alerts."""
    kind = fields.text_at(body, "type").lower()
    if kind.startswith("microsoft.security/"):
        return not kind.endswith("/alerts")
    if fields.get(body, "SystemAlertId") is not None:
        return False
    return any(fields.get(body, name) is not None for name in EXPORTED_NON_ALERTS)


def _alert_part(body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The alert's fields, and whether they came from the ARM shape's `properties`."""
    properties = fields.get(body, "properties")
    if fields.get(body, "SystemAlertId") is None and isinstance(properties, dict):
        return properties, True
    return body, False


def _status(alert: dict[str, Any]) -> AlertStatus:
    raw = fields.text_at(alert, "Status").lower()
    return AlertStatus.RESOLVED if raw in RESOLVED else AlertStatus.FIRING


def _severity(alert: dict[str, Any]) -> tuple[str, Severity]:
    raw = fields.text_at(alert, "Severity", "AlertSeverity")
    severity = severities.lookup(raw, severities.SECURITY_SEVERITY) or severities.DEFAULT_SEVERITY
    if severity is Severity.SEV2 and _escalated(alert):
        severity = Severity.SEV1
    return raw, severity


def _escalated(alert: dict[str, Any]) -> bool:
    """High becomes SEV1 when Defender already grouped it or its intent is Impact-class."""
    tactics = fields.texts(fields.get(alert, "Intent")) + fields.texts(fields.get(alert, "Tactics"))
    return fields.flag(fields.get(alert, "IsIncident")) or severities.tactics_escalate(tactics)


def _title(alert: dict[str, Any]) -> str:
    return (
        fields.text_at(alert, "AlertDisplayName", "AlertName", "AlertType")
        or "Defender for Cloud alert"
    )


def _description(alert: dict[str, Any]) -> str:
    steps = _remediation_steps(fields.get(alert, "RemediationSteps"))
    remediation = fields.join_lines("Remediation:", *steps) if steps else ""
    dismissed = fields.text_at(alert, "Status").lower() == "dismissed"
    note = "Dismissed in Defender for Cloud (false positive)." if dismissed else ""
    return fields.join_lines(fields.text_at(alert, "Description"), remediation, note)


def _remediation_steps(value: object) -> list[str]:
    """An array, or (Activity Log variant) a JSON string holding one."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return fields.texts(value)
    return fields.texts(value)[:MAX_STEPS]


def _of_type(entities: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in entities if fields.text_at(e, "Type", "kind").lower() == kind]


def _hosts(
    alert: dict[str, Any], entities: list[dict[str, Any]], resources: list[str]
) -> list[str]:
    names = [
        fields.text_at(host, "HostName", "NetBiosName")
        or fields.arm_host(fields.text_at(host, "AzureID"))
        or ""
        for host in _of_type(entities, "host")
    ]
    compromised = fields.text_at(alert, "CompromisedEntity")
    if fields.looks_like_host(compromised) and not fields.names_no_machine(compromised, resources):
        names.append(compromised)
    return [name for name in names if name]


def _ips(entities: list[dict[str, Any]]) -> list[str]:
    return [fields.text_at(ip, "Address") for ip in _of_type(entities, "ip")]


def _accounts(entities: list[dict[str, Any]]) -> list[str]:
    return [fields.account_name(account) for account in _of_type(entities, "account")]


def _resources(alert: dict[str, Any], entities: list[dict[str, Any]]) -> list[str]:
    identifiers = [
        fields.text_at(item, "AzureResourceId")
        for item in fields.objects(fields.get(alert, "ResourceIdentifiers"))
        if fields.text_at(item, "Type").lower() == "azureresource"
    ]
    candidates = [
        fields.text_at(alert, "AzureResourceId"),
        *identifiers,
        fields.text(fields.dig(alert, "ExtendedProperties", "EffectiveAzureResourceId")),
        *(fields.text_at(host, "AzureID") for host in _of_type(entities, "host")),
    ]
    return [fields.normalise_resource(c) for c in candidates if fields.is_arm_id(c)]


def _resource(resources: list[str], alert: dict[str, Any]) -> str | None:
    resource = resources[0] if resources else fields.text_at(alert, "CompromisedEntity")
    return fields.truncate(resource, fields.TEXT_MAX) if resource else None


def _keys(
    alert: dict[str, Any], alert_id: str, resources: list[str], hosts: list[str]
) -> frozenset[str]:
    other = [f"defender-alert:{alert_id.lower()}"]
    correlation = fields.text_at(alert, "CorrelationKey")
    if correlation:
        other.append(f"defender-correlation:{correlation}")
    return grouping.correlation_keys(resources=resources, hosts=hosts, other=other)
