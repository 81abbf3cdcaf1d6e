"""`POST /alerts/defender`, third shape: a Microsoft Defender XDR alert as Microsoft Graph's
security API gives it (`microsoft.graph.security.alert`, `GET /security/alerts_v2`).

Defender XDR does not post to a webhook: a Logic App, Power Automate flow or script reads the
alerts from Graph and posts each one, or the list's page (`{"value": [alert, ...]}`), as read.
Each alert becomes one; its evidence gives the devices, addresses, accounts and Azure resources.
An alert groups with the Defender for Cloud alert and the Sentinel incident it came from
(`providerAlertId`), and with the other alerts of its Defender incident (`incidentId`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bridgekeeper.domain.alerts import fields, grouping, severities
from bridgekeeper.domain.alerts.model import Alert, AlertStatus, PayloadError
from bridgekeeper.domain.incidents import Severity

SOURCE = "defender"
ODATA_TYPE = "microsoft.graph.security.alert"
GRAPH_ONLY = ("providerAlertId", "alertWebUrl", "serviceSource")  # fields no other shape has
MAX_ALERTS = 1000  # in one page, as for Alertmanager's groups
MAX_EVIDENCE = 1000  # evidence items read from one alert
PRODUCTS = {  # serviceSource -> the product, as the Defender portal names it
    "microsoftdefenderforendpoint": "Microsoft Defender for Endpoint",
    "microsoftdefenderforidentity": "Microsoft Defender for Identity",
    "microsoftdefenderforcloudapps": "Microsoft Defender for Cloud Apps",
    "microsoftdefenderforoffice365": "Microsoft Defender for Office 365",
    "microsoft365defender": "Microsoft Defender XDR",
    "azureadidentityprotection": "Microsoft Entra ID Protection",
    "microsoftappgovernance": "App governance",
    "datalossprevention": "Microsoft Purview Data Loss Prevention",
    "microsoftdefenderforcloud": "Microsoft Defender for Cloud",
}
RANSOMWARE = "ransomware"  # Defender for Endpoint's category, beside the MITRE tactics
CLOSED_AS = {  # classification of a resolved alert -> what the description says
    "falsepositive": "Resolved in Microsoft Defender as a false positive.",
    "informationalexpectedactivity": "Resolved in Microsoft Defender as expected activity.",
}


def is_graph(body: dict[str, Any]) -> bool:
    """Whether the body is a Graph security alert, or a page of them."""
    return _is_page(body) or _is_alert(body)


def _is_page(body: dict[str, Any]) -> bool:
    """A list page holding Graph security alerts (an empty one says it lists alerts_v2); not an
    ARM list of Defender for Cloud's records, nor a page of Graph's incidents."""
    page = fields.get(body, "value")
    if not isinstance(page, list) or fields.get(body, "SystemAlertId") is not None:
        return False
    if not page:
        return "alerts_v2" in fields.text_at(body, "@odata.context").lower()
    return any(isinstance(item, dict) and _is_alert(item) for item in page)


def _is_alert(body: dict[str, Any]) -> bool:
    if _odata_type(body) == ODATA_TYPE:
        return True
    return fields.get(body, "SystemAlertId") is None and any(
        fields.get(body, name) is not None for name in GRAPH_ONLY
    )


def parse(body: dict[str, Any], *, received_at: datetime) -> list[Alert]:
    if not _is_page(body):
        return [_alert(body, received_at, "")]
    page = fields.require_list(fields.get(body, "value"), "value")
    if len(page) > MAX_ALERTS:
        raise PayloadError(f"value holds {len(page)} alerts, more than {MAX_ALERTS}")
    return [_alert(_page_item(item, n), received_at, f"value[{n}].") for n, item in enumerate(page)]


def _page_item(item: object, n: int) -> dict[str, Any]:
    alert = fields.require_object(item, f"value[{n}]")
    if not _is_alert(alert):
        raise PayloadError(f"value[{n}] is not a Microsoft Graph security alert")
    return alert


def _alert(alert: dict[str, Any], received_at: datetime, path: str) -> Alert:
    alert_id = fields.text_at(alert, "id")
    if not alert_id:
        raise PayloadError(f"{path}id is missing")
    status = _status(alert)
    severity_raw = fields.text_at(alert, "severity")
    evidence = fields.objects(fields.get(alert, "evidence"))[:MAX_EVIDENCE]
    hosts, resources = _hosts(evidence), _resources(evidence)
    return Alert(
        source=SOURCE,
        external_id=fields.truncate(alert_id, fields.TEXT_MAX),
        dedup_key=f"{SOURCE}:{fields.truncate(alert_id.lower(), fields.TEXT_MAX)}",
        title=fields.one_line(fields.text_at(alert, "title") or "Microsoft Defender alert"),
        severity=_severity(alert, severity_raw),
        source_severity=severity_raw,
        status=status,
        description=fields.paragraph(_description(alert, status)),
        resource=fields.first_resource(resources, hosts),
        entities=fields.entity_map(hosts, _ips(evidence), _accounts(evidence)),
        link=fields.first_url(
            fields.get(alert, "alertWebUrl"), fields.get(alert, "incidentWebUrl")
        ),
        started_at=fields.time_at(alert, "firstActivityDateTime", "createdDateTime") or received_at,
        ended_at=_ended_at(alert, received_at) if status is AlertStatus.RESOLVED else None,
        correlation_keys=_keys(alert, resources, hosts),
        raw=alert,
    )


def _status(alert: dict[str, Any]) -> AlertStatus:
    resolved = fields.text_at(alert, "status").lower() == "resolved"
    return AlertStatus.RESOLVED if resolved else AlertStatus.FIRING


def _ended_at(alert: dict[str, Any], received_at: datetime) -> datetime:
    return fields.time_at(alert, "resolvedDateTime") or received_at


def _severity(alert: dict[str, Any], raw: str) -> Severity:
    """As Defender for Cloud's: High is a SEV1 when its category is Impact-class (or
    ransomware)."""
    severity = severities.lookup(raw, severities.SECURITY_SEVERITY) or severities.DEFAULT_SEVERITY
    category = fields.text_at(alert, "category")
    escalated = category.lower() == RANSOMWARE or severities.tactics_escalate([category])
    return Severity.SEV1 if severity is Severity.SEV2 and escalated else severity


def _description(alert: dict[str, Any], status: AlertStatus) -> str:
    """What fired it, the description, the MITRE techniques, the recommended actions, and how
    Defender closed it."""
    product = PRODUCTS.get(fields.text_at(alert, "serviceSource").lower(), "")
    techniques = ", ".join(fields.texts(fields.get(alert, "mitreTechniques"))[:20])
    actions = fields.text_at(alert, "recommendedActions")
    closed = fields.text_at(alert, "classification").lower()
    return fields.join_lines(
        f"Raised by {product}." if product else "",
        fields.text_at(alert, "description"),
        f"MITRE ATT&CK: {techniques}" if techniques else "",
        f"Recommended actions:\n{actions}" if actions else "",
        CLOSED_AS.get(closed, "") if status is AlertStatus.RESOLVED else "",
    )


def _odata_type(item: dict[str, Any]) -> str:
    """`#microsoft.graph.security.deviceEvidence` -> `microsoft.graph.security.deviceevidence`."""
    return fields.text_at(item, "@odata.type").lower().lstrip("#")


def _of_type(evidence: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    wanted = f"microsoft.graph.security.{kind}".lower()
    return [item for item in evidence if _odata_type(item) == wanted]


def _hosts(evidence: list[dict[str, Any]]) -> list[str]:
    devices = _of_type(evidence, "deviceEvidence")
    return [name for d in devices if (name := fields.text_at(d, "deviceDnsName", "hostName"))]


def _ips(evidence: list[dict[str, Any]]) -> list[str]:
    return [fields.text_at(ip, "ipAddress") for ip in _of_type(evidence, "ipEvidence")]


def _accounts(evidence: list[dict[str, Any]]) -> list[str]:
    users = _of_type(evidence, "userEvidence")
    return [_account(fields.obj_at(user, "userAccount")) for user in users]


def _account(account: dict[str, Any]) -> str:
    """`name@domain` (the user principal name), else `DOMAIN\\name`, else the display name."""
    principal = fields.text_at(account, "userPrincipalName")
    name, domain = fields.text_at(account, "accountName"), fields.text_at(account, "domainName")
    if principal:
        return principal
    if name:
        return f"{domain}\\{name}" if domain else name
    return fields.text_at(account, "displayName")


def _resources(evidence: list[dict[str, Any]]) -> list[str]:
    devices = _of_type(evidence, "deviceEvidence")
    clusters = _of_type(evidence, "kubernetesClusterEvidence")
    candidates = [
        *(fields.text(fields.dig(d, "vmMetadata", "resourceId")) for d in devices),
        *(fields.text_at(r, "resourceId") for r in _of_type(evidence, "azureResourceEvidence")),
        *(fields.text(fields.dig(c, "cloudResource", "resourceId")) for c in clusters),
    ]
    return [fields.normalise_resource(c) for c in candidates if fields.is_arm_id(c)]


def _keys(alert: dict[str, Any], resources: list[str], hosts: list[str]) -> frozenset[str]:
    """Its provider's alert (a Defender for Cloud alert, a Sentinel incident's alert) and its
    Defender incident, whose number is its tenant's."""
    provider_id = fields.text_at(alert, "providerAlertId").lower()
    incident_id = fields.text_at(alert, "incidentId").lower()
    tenant = fields.text_at(alert, "tenantId").lower()
    incident = f"{tenant}:{incident_id}" if tenant and incident_id else incident_id
    other = [f"defender-alert:{provider_id}", f"defender-incident:{incident}"]
    return grouping.correlation_keys(resources=resources, hosts=hosts, other=other)
