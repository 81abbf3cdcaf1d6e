"""EventBridge events carried by SNS (domain/alerts/aws.py): GuardDuty findings, Security Hub
findings (one alert per finding), and any other event by its detail-type and resources."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bridgekeeper.domain.alerts import fields, grouping, severities
from bridgekeeper.domain.alerts.model import Alert, AlertStatus
from bridgekeeper.domain.incidents import Severity

GUARDDUTY_CONSOLE = "https://console.aws.amazon.com/guardduty/home?region={}#/findings?fId={}"
LABEL_SEVERITY = {  # Security Hub's Severity.Label, and GuardDuty's bands
    "critical": Severity.SEV1,
    "high": Severity.SEV2,
    "medium": Severity.SEV3,
    "low": Severity.SEV4,
    "informational": Severity.SEV4,
}
CLOSED_WORKFLOW = frozenset({"resolved", "suppressed"})
MAX_FINDINGS = 100


def parse(event: dict[str, Any], *, received_at: datetime, source: str) -> list[Alert]:
    kind = fields.text_at(event, "detail-type")
    detail = fields.obj_at(event, "detail")
    if kind == "GuardDuty Finding":
        return [_guardduty(event, detail, received_at, source)]
    if kind.startswith("Security Hub Findings"):
        findings = fields.objects(fields.get(detail, "findings"))[:MAX_FINDINGS]
        return [_security_hub(finding, received_at, source) for finding in findings]
    return [_other(event, kind, received_at, source)]


def guardduty_band(score: float) -> str:
    """GuardDuty's severity bands: 9-10 critical, 7-8.9 high, 4-6.9 medium, else low."""
    bands = ((9.0, "critical"), (7.0, "high"), (4.0, "medium"))
    return next((name for floor, name in bands if score >= floor), "low")


def _guardduty(
    event: dict[str, Any], detail: dict[str, Any], received_at: datetime, source: str
) -> Alert:
    finding_id = fields.text_at(detail, "id") or fields.text_at(event, "id")
    score = _number(fields.get(detail, "severity"))
    band = guardduty_band(score)
    instance = fields.text(fields.dig(detail, "resource", "instanceDetails", "instanceId"))
    region = fields.text_at(detail, "region") or fields.text_at(event, "region")
    archived = fields.flag(fields.dig(detail, "service", "archived"))
    return _alert(
        source,
        f"guardduty:{finding_id}",
        received_at,
        title=fields.text_at(detail, "title") or fields.text_at(detail, "type"),
        severity=(f"{band} ({score:g})", LABEL_SEVERITY[band]),
        resolved=archived,
        description=fields.join_lines(
            fields.text_at(detail, "description"),
            f"Finding type: {fields.text_at(detail, 'type')}",
            f"Account {fields.text_at(detail, 'accountId')}, {region}",
        ),
        resource=instance or fields.text(fields.dig(detail, "resource", "resourceType")),
        link=GUARDDUTY_CONSOLE.format(region, finding_id) if region and finding_id else None,
        at=fields.time_at(detail, "updatedAt", "createdAt"),
        raw=event,
    )


def _security_hub(finding: dict[str, Any], received_at: datetime, source: str) -> Alert:
    label = fields.text(fields.dig(finding, "Severity", "Label")) or _normalized_label(finding)
    product = fields.text_at(finding, "ProductName") or fields.text(
        fields.dig(finding, "ProductFields", "aws/securityhub/ProductName")
    )
    workflow = fields.text(fields.dig(finding, "Workflow", "Status")).lower()
    resources = fields.objects(fields.get(finding, "Resources"))
    closed = (
        workflow in CLOSED_WORKFLOW
        or fields.text_at(finding, "RecordState").upper() == "ARCHIVED"
        or fields.text(fields.dig(finding, "Compliance", "Status")).upper() == "PASSED"
    )
    return _alert(
        source,
        f"securityhub:{fields.text_at(finding, 'Id')}",
        received_at,
        title=fields.text_at(finding, "Title") or "Security Hub finding",
        severity=(label, LABEL_SEVERITY.get(label.lower(), severities.DEFAULT_SEVERITY)),
        resolved=closed,
        description=fields.join_lines(
            fields.text_at(finding, "Description"),
            f"Product: {product}" if product else "",
            f"Workflow: {workflow}" if workflow else "",
        ),
        resource=fields.text_at(resources[0], "Id") if resources else "",
        link=fields.first_url(fields.dig(finding, "Remediation", "Recommendation", "Url")),
        at=fields.time_at(finding, "UpdatedAt", "CreatedAt"),
        raw=finding,
    )


def _normalized_label(finding: dict[str, Any]) -> str:
    """The label of an older finding that gives only Severity.Normalized (0-100), by the
    bands the AWS Security Finding Format documents."""
    score = fields.dig(finding, "Severity", "Normalized")
    if isinstance(score, bool) or not isinstance(score, int | float):
        return ""
    bands = ((90, "CRITICAL"), (70, "HIGH"), (40, "MEDIUM"), (1, "LOW"))
    return next((label for floor, label in bands if score >= floor), "INFORMATIONAL")


def _other(event: dict[str, Any], kind: str, received_at: datetime, source: str) -> Alert:
    resources = fields.texts(fields.get(event, "resources"))
    origin = fields.text_at(event, "source")
    return _alert(
        source,
        f"event:{fields.stable_hash([origin, kind, resources[:1]])}",
        received_at,
        title=f"{kind} ({resources[0].rsplit(':', 1)[-1]})" if resources else kind,
        severity=("", severities.DEFAULT_SEVERITY),
        resolved=False,
        description=fields.join_lines(f"Source: {origin}", *resources[:10]),
        resource=resources[0] if resources else "",
        link=None,
        at=fields.time_at(event, "time"),
        raw=event,
    )


def _alert(
    source: str,
    key: str,
    received_at: datetime,
    *,
    title: str,
    severity: tuple[str, Severity],
    resolved: bool,
    description: str,
    resource: str,
    link: str | None,
    at: datetime | None,
    raw: dict[str, Any],
) -> Alert:
    when = at or received_at
    host = resource if resource.startswith("i-") else ""
    return Alert(
        source=source,
        external_id=fields.truncate(key, fields.TEXT_MAX),
        dedup_key=f"{source}:{fields.truncate(key, fields.TEXT_MAX)}",
        title=fields.one_line(title or "AWS event"),
        severity=severity[1],
        source_severity=severity[0],
        status=AlertStatus.RESOLVED if resolved else AlertStatus.FIRING,
        description=fields.paragraph(description),
        resource=fields.truncate(resource, fields.TEXT_MAX) or None,
        link=link,
        started_at=when,
        ended_at=when if resolved else None,
        correlation_keys=grouping.correlation_keys(hosts=[host] if host else []),
        raw=raw,
    )


def _number(value: object) -> float:
    try:
        return float(value) if isinstance(value, int | float | str) else 0.0
    except ValueError:
        return 0.0
