"""`POST /alerts/cloudevents`: CloudEvents 1.0 events, one alert each.

The HTTP edge (web/cloudevents.py) reads the three content modes (structured, binary, batch)
into a list of events in their structured JSON form; this module maps each event. `source` +
`id` identify the delivery (a redelivery is a no-op). Known event types have their own
mapping (Azure Resource Health through Event Grid, Falco through Falcosidekick); any other
event is read from `data` by the documented rules:

- title: data.title, summary, message, name, rule; else the event's subject; else its type
- severity: data.severity, priority or level (SEVn, Pn, and the usual words)
- status: resolved when data.status/state says resolved, ok, closed or recovered
- dedup key: data.dedup_key, fingerprint, alert_id or id; else source + type + subject
- resource: data.resource, host or hostname; else the subject
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from bridgekeeper.domain.alerts import custom, fields, grouping, severities
from bridgekeeper.domain.alerts.custom import CustomSource
from bridgekeeper.domain.alerts.model import Alert, AlertStatus, PayloadError
from bridgekeeper.domain.incidents import Severity

SOURCE = "cloudevents"
MAX_EVENTS = 1000
RESOLVED_WORDS = frozenset({"resolved", "ok", "closed", "recovered"})


def parse(
    payload: object, *, received_at: datetime, types: Mapping[str, CustomSource] | None = None
) -> list[Alert]:
    """`payload`: one event in structured JSON form, or a list of them (a batch). `types`:
    the configuration's mappings by event type ([cloudevents.types."<type>"]), which come
    before the built-in ones."""
    events = payload if isinstance(payload, list) else [payload]
    if not events:
        return []
    if len(events) > MAX_EVENTS:
        raise PayloadError(f"a batch holds at most {MAX_EVENTS} events")
    return [_alert(event, index, received_at, types or {}) for index, event in enumerate(events)]


def is_cloudevent(body: object) -> bool:
    """A structured CloudEvent (what /alerts/generic hands over instead of guessing)."""
    return isinstance(body, dict) and all(
        isinstance(body.get(name), str) for name in ("specversion", "id", "source", "type")
    )


def _alert(
    event: object, index: int, received_at: datetime, types: Mapping[str, CustomSource]
) -> Alert:
    path = f"[{index}]"
    if not isinstance(event, dict):
        raise PayloadError(f"event {path} must be an object")
    for name in ("specversion", "id", "source", "type"):
        fields.require_text(event, name, f"{path}.{name}" if index else name)
    if fields.text_at(event, "specversion") != "1.0":
        raise PayloadError("specversion must be 1.0")
    data = fields.get(event, "data")
    kind = fields.text_at(event, "type")
    if kind in types:
        return _configured(types[kind], event, received_at)
    mapping = TYPE_MAPPINGS.get(kind.lower(), _generic)
    return mapping(event, _data_fields(event, data), received_at)


def _data_fields(event: dict[str, Any], data: object) -> dict[str, Any]:
    """An object's fields; text is the message; binary content (data_base64) says nothing."""
    if isinstance(data, dict):
        return data
    content_type = fields.text_at(event, "datacontenttype").lower()
    textual = not content_type or content_type.startswith("text/") or "json" in content_type
    return {"message": data} if textual else {}


def _configured(source: CustomSource, event: dict[str, Any], received_at: datetime) -> Alert:
    """A type the configuration maps: its expressions over the event (`data.rule`, `subject`)."""
    [alert] = custom.parse(source, event, received_at=received_at)
    started_at = alert.started_at if source.started_at else fields.time_at(event, "time")
    return replace(
        alert,
        source=SOURCE,
        dedup_key=f"{SOURCE}:{alert.dedup_key}",  # its type's name kept: types share no key
        started_at=started_at or received_at,
        delivery_id=_delivery(event),
    )


def _generic(event: dict[str, Any], data: dict[str, Any], received_at: datetime) -> Alert:
    subject = fields.text_at(event, "subject")
    title = fields.text_at(data, "title", "summary", "message", "name", "rule")
    resource = fields.text_at(data, "resource", "host", "hostname") or subject
    dedup = fields.text_at(data, "dedup_key", "fingerprint", "alert_id", "id")
    return _build(
        event,
        received_at,
        title=title or subject or fields.text_at(event, "type"),
        severity=_severity(fields.text_at(data, "severity", "priority", "level")),
        resolved=fields.text_at(data, "status", "state").lower() in RESOLVED_WORDS,
        dedup=dedup or _event_key(event),
        resource=resource,
        description=fields.text_at(data, "description", "details", "output"),
        link=fields.first_url(fields.get(data, "link"), fields.get(data, "url")),
    )


def _availability(event: dict[str, Any], data: dict[str, Any], received_at: datetime) -> Alert:
    """Azure Resource Health through Event Grid: a resource's availability changed."""
    properties = _health_properties(data)
    resource = fields.text_at(properties, "targetResourceId") or fields.text_at(event, "subject")
    state = fields.text_at(properties, "availabilityState") or "Unknown"
    before = fields.text_at(properties, "previousAvailabilityState")
    return _build(
        event,
        received_at,
        title=f"{_last_part(resource)} is {state.lower()}",
        severity=(state, Severity.SEV2 if state.lower() == "unavailable" else Severity.SEV3),
        resolved=state.lower() == "available",
        dedup=f"resource-health:{resource.lower()}",
        resource=fields.normalise_resource(resource),
        description=fields.join_lines(
            f"Availability: {state}" + (f" (was {before})" if before else ""),
            f"Resource type: {fields.text_at(properties, 'targetResourceType')}",
        ),
        link=None,
    )


def _annotation(event: dict[str, Any], data: dict[str, Any], received_at: datetime) -> Alert:
    """Azure Resource Health through Event Grid: why a resource's availability changed."""
    properties = _health_properties(data)
    resource = fields.text_at(properties, "targetResourceId") or fields.text_at(event, "subject")
    reason = fields.text_at(properties, "reason", "annotationName") or "Health annotation"
    return _build(
        event,
        received_at,
        title=f"{_last_part(resource)}: {reason}",
        severity=("", Severity.SEV4),
        resolved=False,
        dedup=f"resource-health:{resource.lower()}:{fields.text_at(properties, 'annotationName')}",
        resource=fields.normalise_resource(resource),
        description=fields.join_lines(
            fields.text_at(properties, "summary"),
            f"Context: {fields.text_at(properties, 'context')}",
            f"Category: {fields.text_at(properties, 'category')}",
        ),
        link=None,
    )


def _health_properties(data: dict[str, Any]) -> dict[str, Any]:
    return fields.obj_at(fields.obj_at(data, "resourceInfo"), "properties")


def _last_part(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1] or "Azure resource"


def _falco(event: dict[str, Any], data: dict[str, Any], received_at: datetime) -> Alert:
    """A Falco rule's output as Falcosidekick sends it (type falco.rule.output.v1)."""
    output_fields = fields.obj_at(data, "output_fields")
    host = fields.text_at(data, "hostname") or fields.text_at(output_fields, "host.name")
    rule = fields.text_at(data, "rule") or "Falco rule"
    return _build(
        event,
        received_at,
        title=f"{rule} on {host}" if host else rule,
        severity=_severity(fields.text_at(data, "priority")),
        resolved=False,
        dedup=f"falco:{rule}:{host}",  # the same rule on the same host again is a repeat
        resource=host,
        description=fields.text_at(data, "output"),
        link=None,
    )


def _build(
    event: dict[str, Any],
    received_at: datetime,
    *,
    title: str,
    severity: tuple[str, Severity],
    resolved: bool,
    dedup: str,
    resource: str,
    description: str,
    link: str | None,
) -> Alert:
    event_id = fields.truncate(fields.text_at(event, "id"), fields.TEXT_MAX)
    started_at = fields.time_at(event, "time") or received_at
    host = fields.host_name(resource) if resource else ""
    return Alert(
        source=SOURCE,
        external_id=event_id,
        dedup_key=f"{SOURCE}:{fields.truncate(dedup, fields.TEXT_MAX)}",
        title=fields.one_line(title),
        severity=severity[1],
        source_severity=severity[0],
        status=AlertStatus.RESOLVED if resolved else AlertStatus.FIRING,
        description=fields.paragraph(description),
        resource=fields.truncate(resource, fields.TEXT_MAX) or None,
        link=link,
        started_at=started_at,
        ended_at=started_at if resolved else None,
        delivery_id=_delivery(event),
        correlation_keys=grouping.correlation_keys(
            resources=[resource] if fields.is_arm_id(resource) else [],
            hosts=[host] if host and fields.looks_like_host(host) else [],
        ),
        raw=event,
    )


def _delivery(event: dict[str, Any]) -> str:
    event_id = fields.text_at(event, "id")
    return fields.truncate(f"{fields.text_at(event, 'source')}#{event_id}", 2000)


def _severity(raw: str) -> tuple[str, Severity]:
    return raw, severities.lookup(raw, *severities.WORDS) or severities.DEFAULT_SEVERITY


def _event_key(event: dict[str, Any]) -> str:
    parts = (fields.text_at(event, name) for name in ("source", "type", "subject"))
    return fields.stable_hash([part for part in parts if part])


Reader = Callable[[dict[str, Any], dict[str, Any], datetime], Alert]
HEALTH = "microsoft.resourcenotifications.healthresources."
TYPE_MAPPINGS: dict[str, Reader] = {
    HEALTH + "availabilitystatuschanged": _availability,
    HEALTH + "resourceannotated": _annotation,
    "falco.rule.output.v1": _falco,
}
