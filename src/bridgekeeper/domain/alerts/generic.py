"""`POST /alerts/generic`: bridgekeeper's own simple format (see docs/alert-formats.md).

    {"title": "Disk almost full on db-01",          required
     "description": "...", "severity": "sev2",       sev1..sev4 | critical|high|medium|low|info
     "status": "firing",                             firing | resolved
     "dedup_key": "db-01/disk", "id": "evt-42", "resource": "db-01",
     "link": "https://...", "entities": {"hosts": [], "ips": [], "accounts": []},
     "started_at": "2025-11-14T10:00:00Z", "ended_at": "..."}

Strict, since we define it: a present field of the wrong type or value is a PayloadError.
"""

from __future__ import annotations

from datetime import datetime

from bridgekeeper.domain.alerts import fields, grouping, severities
from bridgekeeper.domain.alerts.model import Alert, AlertStatus, PayloadError
from bridgekeeper.domain.incidents import Severity

SOURCE = "generic"
SEVERITIES = severities.OWN_SEVERITY | {
    "critical": Severity.SEV1,
    "high": Severity.SEV2,
    "medium": Severity.SEV3,
    "low": Severity.SEV4,
    "info": Severity.SEV4,
}
ENTITY_KINDS = ("hosts", "ips", "accounts")
# Fields other tools send that would change the alert's meaning: refused rather than ignored.
NOT_OURS = {
    "state": "status (firing or resolved)",
    "priority": "severity (sev1..sev4, critical, high, medium, low, info)",
}


def parse(payload: object, *, received_at: datetime) -> list[Alert]:
    body = fields.require_payload_object(payload)
    for name, instead in NOT_OURS.items():
        if name in body:
            raise PayloadError(f"{name} is not a field of the generic format: use {instead}")
    title = _required_text(body, "title")
    status = _status(body)
    resource = _optional_text(body, "resource")
    external_id = _optional_text(body, "id")
    dedup = _optional_text(body, "dedup_key") or external_id or _derived_key(title, resource)
    entities = _entities(body)
    started_at = _time(body, "started_at") or received_at
    ended_at = (_time(body, "ended_at") or received_at) if status is AlertStatus.RESOLVED else None
    severity_raw, severity = _severity(body)
    alert = Alert(
        source=SOURCE,
        external_id=fields.truncate(external_id or dedup, fields.TEXT_MAX),
        dedup_key=f"{SOURCE}:{fields.truncate(dedup, fields.TEXT_MAX)}",
        title=fields.one_line(title),
        severity=severity,
        source_severity=severity_raw,
        status=status,
        description=fields.paragraph(_optional_text(body, "description") or ""),
        resource=fields.normalise_resource(resource) if resource else None,
        entities=entities,
        link=_link(body),
        started_at=started_at,
        ended_at=ended_at,
        correlation_keys=_keys(resource, entities),
        raw=body,
    )
    return [alert]


def _optional_text(body: dict[str, object], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise PayloadError(f"{name} must be a string")
    return fields.text(value) or None


def _required_text(body: dict[str, object], name: str) -> str:
    value = _optional_text(body, name)
    if not value:
        raise PayloadError(f"{name} is missing")
    return value


def _severity(body: dict[str, object]) -> tuple[str, Severity]:
    raw = _optional_text(body, "severity")
    if raw is None:
        return "", severities.DEFAULT_SEVERITY
    severity = severities.lookup(raw, SEVERITIES)
    if severity is None:
        raise PayloadError("severity must be one of sev1..sev4, critical, high, medium, low, info")
    return raw, severity


def _status(body: dict[str, object]) -> AlertStatus:
    raw = (_optional_text(body, "status") or "firing").lower()
    if raw not in ("firing", "resolved"):
        raise PayloadError("status must be firing or resolved")
    return AlertStatus(raw)


def _time(body: dict[str, object], name: str) -> datetime | None:
    value = body.get(name)
    if value is None:
        return None
    moment = fields.parse_time(value) if isinstance(value, str) else None
    if moment is None:
        raise PayloadError(f"{name} must be an ISO 8601 timestamp, e.g. 2025-11-14T10:00:00Z")
    return moment


def _link(body: dict[str, object]) -> str | None:
    if body.get("link") is None:
        return None
    link = fields.http_url(body.get("link"))
    if link is None:
        raise PayloadError("link must be an http(s) URL")
    return link


def _entities(body: dict[str, object]) -> dict[str, list[str]]:
    value = body.get("entities")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PayloadError("entities must be an object of lists: hosts, ips, accounts")
    lists = {kind: _string_list(value.get(kind), f"entities.{kind}") for kind in ENTITY_KINDS}
    return fields.entity_map(lists["hosts"], lists["ips"], lists["accounts"])


def _string_list(value: object, path: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise PayloadError(f"{path} must be a list of strings")
    return [item.strip() for item in value if item.strip()]


def _derived_key(title: str, resource: str | None) -> str:
    return fields.stable_hash([title.lower(), (resource or "").lower()])


def _keys(resource: str | None, entities: dict[str, list[str]]) -> frozenset[str]:
    resources = [resource] if resource else []
    return grouping.correlation_keys(resources=resources, hosts=entities.get("hosts", []))
