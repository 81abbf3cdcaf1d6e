"""`POST /alerts/sentinel`: a Sentinel incident, as a playbook's incident trigger body.

Envelope: {eventUniqueId, objectSchemaType, objectEventType: Create|Update, workspaceInfo,
object{id, name, etag, type, properties{title, severity, status, alerts[], relatedEntities[]}}};
or the incident resource alone ({id, name, type, properties}), as the REST API returns it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bridgekeeper.domain.alerts import fields, grouping, severities
from bridgekeeper.domain.alerts.model import Alert, AlertStatus, PayloadError
from bridgekeeper.domain.incidents import Severity

SOURCE = "sentinel"


def parse(payload: object, *, received_at: datetime) -> list[Alert]:
    body = fields.require_payload_object(payload)
    incident = fields.require_object(_incident_part(body), "object")
    props = fields.require_object(fields.get(incident, "properties"), "object.properties")
    name = _incident_name(incident)
    status = _status(props)
    severity_raw, severity = _severity(props)
    entities = _related_entities(props)
    alerts = [
        fields.obj_at(alert, "properties") for alert in fields.objects(fields.get(props, "alerts"))
    ]
    hosts = _hosts(entities, alerts)
    resources = _resources(entities)
    ended_at = fields.time_at(props, "closedTimeUtc", "lastModifiedTimeUtc") or received_at
    return [
        Alert(
            source=SOURCE,
            external_id=fields.truncate(name, fields.TEXT_MAX),
            dedup_key=f"{SOURCE}:{fields.truncate(name.lower(), fields.TEXT_MAX)}",
            title=fields.one_line(_title(props)),
            severity=severity,
            source_severity=severity_raw,
            status=status,
            description=fields.paragraph(_description(props, status)),
            resource=fields.first_resource(resources, hosts),
            entities=fields.entity_map(hosts, _ips(entities), _accounts(entities)),
            link=fields.first_url(
                fields.get(props, "incidentUrl"), *(fields.get(a, "alertLink") for a in alerts)
            ),
            started_at=fields.time_at(props, "firstActivityTimeUtc", "createdTimeUtc")
            or received_at,
            ended_at=ended_at if status is AlertStatus.RESOLVED else None,
            delivery_id=fields.truncate(fields.text_at(body, "eventUniqueId"), fields.TEXT_MAX)
            or None,
            correlation_keys=_keys(alerts, resources, hosts),
            raw=body,
        )
    ]


def _incident_part(body: dict[str, Any]) -> object:
    """The trigger's `object`; else the body itself when it is the incident resource (the REST
    API's or a Logic App's "Get incident" output, posted without the trigger's envelope)."""
    wrapped = fields.get(body, "object")
    if wrapped is None and isinstance(fields.get(body, "properties"), dict):
        return body
    return wrapped


def _incident_name(incident: dict[str, Any]) -> str:
    """The incident GUID: `object.name`, else the last segment of the ARM `object.id`."""
    name = fields.text_at(incident, "name") or fields.text_at(incident, "id").rstrip("/")
    name = name.rsplit("/", 1)[-1]
    if not name:
        raise PayloadError("object.name is missing")
    return name


def _status(props: dict[str, Any]) -> AlertStatus:
    closed = fields.text_at(props, "status").lower() == "closed"
    return AlertStatus.RESOLVED if closed else AlertStatus.FIRING


def _severity(props: dict[str, Any]) -> tuple[str, Severity]:
    raw = fields.text_at(props, "severity")
    severity = severities.lookup(raw, severities.SECURITY_SEVERITY) or severities.DEFAULT_SEVERITY
    if severity is Severity.SEV2 and _escalated(props):
        severity = Severity.SEV1
    return raw, severity


def _escalated(props: dict[str, Any]) -> bool:
    """High becomes SEV1 with Impact-class tactics or alerts from two or more products."""
    extra = fields.obj_at(props, "additionalData")
    products = {p.lower() for p in fields.texts(fields.get(extra, "alertProductNames"))}
    tactics = fields.texts(fields.get(extra, "tactics"))
    return len(products) >= 2 or severities.tactics_escalate(tactics)


def _title(props: dict[str, Any]) -> str:
    number = fields.text_at(props, "incidentNumber")
    return fields.text_at(props, "title") or f"Sentinel incident {number}".strip()


def _description(props: dict[str, Any], status: AlertStatus) -> str:
    description = fields.text_at(props, "description")
    if status is not AlertStatus.RESOLVED:
        return description
    classification = " ".join(
        part
        for part in (
            fields.text_at(props, "classification"),
            fields.text_at(props, "classificationReason"),
        )
        if part
    )
    closed = f"Closed as {classification}." if classification else "Closed."
    return fields.join_lines(description, closed, fields.text_at(props, "classificationComment"))


def _related_entities(props: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(kind lower-cased, properties) of each related entity."""
    return [
        (fields.text_at(entity, "kind").lower(), fields.obj_at(entity, "properties"))
        for entity in fields.objects(fields.get(props, "relatedEntities"))
    ]


def _of_kind(entities: list[tuple[str, dict[str, Any]]], kind: str) -> list[dict[str, Any]]:
    return [props for entity_kind, props in entities if entity_kind == kind]


def _hosts(entities: list[tuple[str, dict[str, Any]]], alerts: list[dict[str, Any]]) -> list[str]:
    names = [
        fields.text_at(host, "hostName", "friendlyName")
        or fields.arm_host(fields.text_at(host, "azureID"))
        or ""
        for host in _of_kind(entities, "host")
    ]
    compromised = [fields.text_at(alert, "compromisedEntity") for alert in alerts]
    resources = [fields.text_at(r, "resourceId") for r in _of_kind(entities, "azureresource")]
    return [name for name in names if name] + [
        c
        for c in compromised
        if fields.looks_like_host(c) and not fields.names_no_machine(c, resources)
    ]


def _ips(entities: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [fields.text_at(ip, "address") for ip in _of_kind(entities, "ip")]


def _accounts(entities: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [fields.account_name(account) for account in _of_kind(entities, "account")]


def _resources(entities: list[tuple[str, dict[str, Any]]]) -> list[str]:
    ids = (fields.text_at(host, "azureID") for host in _of_kind(entities, "host"))
    return [fields.normalise_resource(i) for i in ids if fields.is_arm_id(i)]


def _keys(alerts: list[dict[str, Any]], resources: list[str], hosts: list[str]) -> frozenset[str]:
    provider_ids = (fields.text_at(alert, "providerAlertId") for alert in alerts)
    other = [f"defender-alert:{pid.lower()}" for pid in provider_ids if pid]
    return grouping.correlation_keys(resources=resources, hosts=hosts, other=other)
