"""`POST /alerts/azure-monitor`: Azure Monitor action group, in the common alert schema or one of
the older forms `azure_legacy` reads as it."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from bridgekeeper.domain.alerts import azure_context, azure_legacy, fields, grouping, severities
from bridgekeeper.domain.alerts.model import Alert, AlertStatus, PayloadError
from bridgekeeper.domain.incidents import Severity
from bridgekeeper.domain.text import is_digits

SOURCE = "azure-monitor"
SCHEMA_ID = "azureMonitorCommonAlertSchema"
PORTAL_ALERT = (
    "https://portal.azure.com/#blade/Microsoft_Azure_Monitoring_Alerts/"
    "AlertDetailsTemplateBlade/alertId/{}"
)
HOST_DIMENSIONS = ("computer", "host", "hostname", "_resourceid")
CONDITIONS = {"fired": AlertStatus.FIRING, "resolved": AlertStatus.RESOLVED}


def parse(payload: object, *, received_at: datetime) -> list[Alert]:
    sent = fields.require_payload_object(payload)
    body = azure_legacy.to_common(sent) or sent
    _check_schema(body)
    data = fields.require_object(fields.get(body, "data"), "data")
    essentials = fields.require_object(fields.get(data, "essentials"), "data.essentials")
    alert_id = fields.require_text(essentials, "alertId", "data.essentials.alertId")
    context = azure_context.read(essentials, fields.obj_at(data, "alertContext"))
    status = AlertStatus.RESOLVED if context.resolved else _status(essentials, context)
    severity_raw, severity = context.severity or _severity(essentials)
    key = context.dedup or alert_id.lower()
    targets = fields.texts(fields.get(essentials, "alertTargetIDs"))
    items = fields.texts(fields.get(essentials, "configurationItems"))
    conditions = fields.objects(fields.dig(data, "alertContext", "condition", "allOf"))
    started_at = fields.time_at(essentials, "firedDateTime") or received_at
    ended_at = fields.time_at(essentials, "resolvedDateTime") or received_at
    alert = Alert(
        source=SOURCE,
        external_id=fields.truncate(alert_id, fields.TEXT_MAX),
        dedup_key=f"{SOURCE}:{fields.truncate(key, fields.TEXT_MAX)}",
        title=fields.one_line(context.title or _title(essentials, items)),
        severity=severity,
        source_severity=severity_raw,
        status=status,
        description=fields.paragraph(
            fields.join_lines(_description(essentials, conditions), *context.lines)
        ),
        resource=_resource(targets, items),
        link=fields.first_url(fields.get(essentials, "investigationLink"))
        or PORTAL_ALERT.format(quote(alert_id, safe="")),
        started_at=started_at,
        ended_at=ended_at if status is AlertStatus.RESOLVED else None,
        correlation_keys=_keys(alert_id, targets, items, conditions),
        entities=context.entities,
        raw=sent,
    )
    return [alert]


def _check_schema(body: dict[str, Any]) -> None:
    schema = fields.text_at(body, "schemaId")
    if schema.lower() != SCHEMA_ID.lower():
        shown = fields.one_line(schema, 80) or "missing"
        raise PayloadError(
            f"schemaId must be {SCHEMA_ID} (got {shown}): "
            "enable the common alert schema on the action group's webhook"
        )


def _status(essentials: dict[str, Any], context: azure_context.Context) -> AlertStatus:
    if context.resolved is not None and not fields.text_at(essentials, "monitorCondition"):
        return AlertStatus.FIRING  # its kind says it fired (a budget has no monitorCondition)
    condition = fields.require_text(
        essentials, "monitorCondition", "data.essentials.monitorCondition"
    )
    status = CONDITIONS.get(condition.lower())
    if status is None:
        raise PayloadError("data.essentials.monitorCondition must be Fired or Resolved")
    return status


def _severity(essentials: dict[str, Any]) -> tuple[str, Severity]:
    raw = fields.text_at(essentials, "severity")
    key = f"sev{raw}" if is_digits(raw) else raw
    return raw, severities.lookup(
        key, severities.AZURE_MONITOR_SEVERITY
    ) or severities.DEFAULT_SEVERITY


def _title(essentials: dict[str, Any], items: list[str]) -> str:
    rule = fields.text_at(essentials, "alertRule") or "Azure Monitor alert"
    item = items[0] if items else ""
    if item and not fields.is_arm_id(item) and item.lower() not in rule.lower():
        return f"{rule} ({item})"
    return rule


def _description(essentials: dict[str, Any], conditions: list[dict[str, Any]]) -> str:
    lines = [_condition_line(condition) for condition in conditions[:10]]
    return fields.join_lines(fields.text_at(essentials, "description"), *lines)


def _condition_line(condition: dict[str, Any]) -> str:
    subject = fields.text_at(condition, "metricName") or fields.one_line(
        fields.text_at(condition, "searchQuery"), 300
    )
    operator = fields.text_at(condition, "operator")
    threshold = fields.text_at(condition, "threshold")
    value = fields.text_at(condition, "metricValue")
    line = " ".join(part for part in (subject, operator, threshold) if part)
    return f"{line} (value: {value})" if line and value else line


def _resource(targets: list[str], items: list[str]) -> str | None:
    """The alert target; for a log alert on a workspace, the machine from configurationItems."""
    target = targets[0] if targets else ""
    if (not target or fields.is_workspace(target)) and items:
        target = items[0]
    return fields.truncate(fields.normalise_resource(target), fields.TEXT_MAX) if target else None


def _dimension_values(conditions: list[dict[str, Any]]) -> list[str]:
    values: list[str] = []
    for condition in conditions:
        for dimension in fields.objects(fields.get(condition, "dimensions")):
            if fields.text_at(dimension, "name").lower() in HOST_DIMENSIONS:
                values.append(fields.text_at(dimension, "value"))
    return [value for value in values if value]


def _keys(
    alert_id: str, targets: list[str], items: list[str], conditions: list[dict[str, Any]]
) -> frozenset[str]:
    names = items + _dimension_values(conditions)
    resources = grouping.arm_resources(targets + names)
    hosts = [name for name in names if not fields.is_arm_id(name)]
    guid = fields.guid_of(alert_id)
    other = [f"azure-alert:{guid}"] if guid else []
    return grouping.correlation_keys(resources=resources, hosts=hosts, other=other)
