"""Azure Monitor's older webhook forms, read as the common alert schema says the same things.

Action groups without the common alert schema send one of three forms, each marked by its
`schemaId`:

- `AzureMonitorMetricAlert`: a metric alert rule; `data.status` is Activated or Resolved and
  `data.context` holds the rule, the resource and the metric criteria (the same `allOf` list as
  the common schema's). It carries no alert id: the rule and the resource make one.
- `Microsoft.Insights/activityLogs`: an activity log event in `data.context.activityLog` (its
  `eventSource` says the kind: Administrative, Security, ServiceHealth, ResourceHealth...). It has
  no rule name: the operation is the title.
- `Microsoft.Insights/LogAlert`: a log search alert (`AlertRuleName`, `SearchQuery`,
  `ResultCount`...). It never resolves.

Classic metric alerts (retired in 2019) are not read.
"""

from __future__ import annotations

from typing import Any

from bridgekeeper.domain.alerts import fields
from bridgekeeper.domain.alerts.model import PayloadError
from bridgekeeper.domain.text import is_digits

SOURCES = {  # eventSource of an activity log event: monitoringService of the common schema
    "servicehealth": "ServiceHealth",
    "resourcehealth": "Resource Health",
}
LOG_SEVERITY = {
    "critical": "Sev0",
    "error": "Sev1",
    "warning": "Sev2",
    "informational": "Sev3",
    "verbose": "Sev4",
}


def to_common(body: dict[str, Any]) -> dict[str, Any] | None:
    """The common-schema body saying what an older form says; None when `body` is not one."""
    reader = READERS.get(fields.text_at(body, "schemaId").lower())
    data = fields.get(body, "data")
    if reader is None or not isinstance(data, dict):
        return None
    essentials, context = reader(data)
    essentials = {k: v for k, v in essentials.items() if v not in (None, "", [])}
    return {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {"essentials": essentials, "alertContext": context},
    }


def _metric(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    context = fields.require_object(fields.get(data, "context"), "data.context")
    rule = fields.require_text(context, "id", "data.context.id")
    resource = fields.text_at(context, "resourceId")
    resolved = fields.text_at(data, "status").lower() in ("resolved", "deactivated")
    at = fields.text_at(context, "timestamp")
    severity = fields.text_at(context, "severity")
    return {
        "alertId": f"{rule}|{resource}" if resource else rule,
        "alertRule": fields.text_at(context, "name"),
        "severity": f"Sev{severity}" if is_digits(severity) else severity,
        "signalType": "Metric",
        "monitorCondition": "Resolved" if resolved else "Fired",
        "monitoringService": "Platform",
        "alertTargetIDs": [resource] if resource else [],
        "configurationItems": fields.texts(fields.get(context, "resourceName")),
        "firedDateTime": None if resolved else at,
        "resolvedDateTime": at if resolved else None,
        "description": fields.text_at(context, "description"),
        "investigationLink": fields.text_at(context, "portalLink"),
    }, {
        "conditionType": fields.text_at(context, "conditionType"),
        "condition": fields.obj_at(context, "condition"),
    }


def _activity_log(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    context = fields.require_object(fields.get(data, "context"), "data.context")
    event = fields.require_object(fields.get(context, "activityLog"), "data.context.activityLog")
    kind = fields.text_at(event, "eventSource") or "Administrative"
    resource = fields.text_at(event, "resourceId")
    event_id = fields.text_at(event, "eventDataId", "correlationId")
    if not event_id:
        raise PayloadError("data.context.activityLog needs an eventDataId or a correlationId")
    return {
        "alertId": f"activitylog:{event_id}",
        "alertRule": fields.text_at(event, "operationName"),
        "severity": _level_severity(event),
        "signalType": "Activity Log",
        "monitorCondition": "Fired",
        "monitoringService": SOURCES.get(kind.lower(), f"Activity Log - {kind}"),
        "alertTargetIDs": [resource] if resource else [],
        "firedDateTime": fields.text_at(event, "eventTimestamp"),
        "description": fields.text_at(event, "description"),
    }, event


def _level_severity(event: dict[str, Any]) -> str:
    """The older form carries no rule severity: a Critical event is Sev1, any other gets the
    default (a Security or Service Health event's own severity still comes from its context)."""
    return "Sev1" if fields.text_at(event, "level").lower() == "critical" else ""


def _log_search(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    scope = fields.text_at(data, "WorkspaceId", "ApplicationId", "ResourceId")
    rule = fields.require_text(data, "AlertRuleName", "data.AlertRuleName")
    severity = fields.text_at(data, "Severity")
    resource = fields.text_at(data, "ResourceId")
    condition = {
        "searchQuery": fields.text_at(data, "SearchQuery"),
        "operator": fields.text_at(data, "AlertThresholdOperator"),
        "threshold": fields.text_at(data, "AlertThresholdValue"),
        "metricValue": fields.text_at(data, "ResultCount"),
    }
    return {
        "alertId": f"logalert:{scope}:{rule}",
        "alertRule": rule,
        "severity": LOG_SEVERITY.get(severity.lower(), f"Sev{severity}"),
        "signalType": "Log",
        "monitorCondition": "Fired",
        "monitoringService": "Log Analytics",
        "alertTargetIDs": [resource] if resource else [],
        "configurationItems": fields.texts(fields.get(data, "AffectedConfigurationItems")),
        "firedDateTime": fields.text_at(data, "SearchIntervalEndtimeUtc"),
        "description": fields.text_at(data, "Description"),
        "investigationLink": fields.text_at(
            data, "LinkToFilteredSearchResultsUI", "LinkToSearchResults"
        ),
    }, {"condition": {"allOf": [condition]}}


READERS = {
    "azuremonitormetricalert": _metric,
    "microsoft.insights/activitylogs": _activity_log,
    "microsoft.insights/logalert": _log_search,
}
