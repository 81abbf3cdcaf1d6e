"""`POST /alerts/alertmanager`: Prometheus Alertmanager webhook (version "4").

One request carries a group of alerts; each becomes its own `Alert`. Grafana's webhook is the
same body with extra fields, so `grafana.py` reuses `parse_group` with its own `Flavour`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from bridgekeeper.domain.alerts import fields, grouping, severities
from bridgekeeper.domain.alerts.model import Alert, AlertStatus, PayloadError
from bridgekeeper.domain.incidents import Severity

SOURCE = "alertmanager"
HOST_LABELS = ("instance", "host", "hostname", "nodename", "node")
RESOURCE_LABELS = (
    "azure_resource_id",
    "resource",
    "instance",
    "host",
    "hostname",
    "nodename",
    "node",
    "pod",
    "service",
)
SHOWN_LABELS_MAX = 12
SEVERITY_LABELS = (  # (label, vocabulary), first match wins
    ("incident_severity", severities.OWN_SEVERITY),
    ("priority", severities.PRIORITY_SEVERITY),
    (
        "severity",
        severities.OWN_SEVERITY | severities.LABEL_SEVERITY | severities.PRIORITY_SEVERITY,
    ),
)
MAX_ALERTS = 1000


@dataclass(frozen=True)
class Flavour:
    source: str
    link_fields: tuple[str, ...]  # per alert, first http(s) one wins; then envelope externalURL
    extra_description: Callable[[dict[str, Any]], str] = lambda item: ""


def _prometheus(item: dict[str, Any]) -> str:
    url = fields.first_url(fields.get(item, "generatorURL"))
    return f"Prometheus: {url}" if url else ""


# The card's "Open in alertmanager" goes to the alert in Alertmanager (the envelope's
# externalURL); Prometheus's generatorURL is in the description.
ALERTMANAGER = Flavour(source=SOURCE, link_fields=(), extra_description=_prometheus)


def alert_page(external_url: object, labels: dict[str, str]) -> str | None:
    """Alertmanager's page of this alert: its UI filtered on the alert's labels."""
    base = fields.first_url(external_url)
    if base is None or not labels:
        return base
    matchers = ",".join(f'{name}="{value}"' for name, value in sorted(labels.items()))
    page = f"{base.rstrip('/')}/#/alerts?filter={quote('{' + matchers + '}', safe='')}"
    return page if fields.http_url(page) else base


def parse(payload: object, *, received_at: datetime) -> list[Alert]:
    return parse_group(payload, received_at=received_at, flavour=ALERTMANAGER)


def parse_group(payload: object, *, received_at: datetime, flavour: Flavour) -> list[Alert]:
    body = fields.require_payload_object(payload)
    items = fields.require_list(fields.get(body, "alerts"), "alerts")
    if len(items) > MAX_ALERTS:
        raise PayloadError(f"alerts holds {len(items)} alerts, more than {MAX_ALERTS}")
    envelope = {key: value for key, value in body.items() if key != "alerts"}
    alerts = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise PayloadError(f"alerts[{index}] must be an object")
        alerts.append(_alert(item, envelope, flavour, received_at))
    return alerts


def _alert(
    item: dict[str, Any], envelope: dict[str, Any], flavour: Flavour, received_at: datetime
) -> Alert:
    labels = _strings(fields.get(item, "labels"))
    annotations = _strings(fields.get(item, "annotations"))
    fingerprint = fields.text_at(item, "fingerprint") or fields.stable_hash(sorted(labels.items()))
    status = _status(item, envelope, received_at)
    severity_raw, severity = label_severity(labels)
    hosts = [fields.host_name(labels[name]) for name in HOST_LABELS if labels.get(name)]
    ended_at = fields.time_at(item, "endsAt") or received_at
    return Alert(
        source=flavour.source,
        external_id=fields.truncate(fingerprint, fields.TEXT_MAX),
        dedup_key=f"{flavour.source}:{fields.truncate(fingerprint, fields.TEXT_MAX)}",
        title=fields.one_line(_title(labels, annotations, flavour.source)),
        severity=severity,
        source_severity=severity_raw,
        status=status,
        description=fields.paragraph(
            _description(annotations, labels, flavour.extra_description(item))
        ),
        resource=_resource(labels),
        entities=fields.entity_map(hosts, [], []),
        link=fields.first_url(
            *(fields.get(item, name) for name in flavour.link_fields),
            alert_page(fields.get(envelope, "externalURL"), labels)
            if flavour.source == SOURCE
            else fields.get(envelope, "externalURL"),
        ),
        started_at=fields.time_at(item, "startsAt") or received_at,
        ended_at=ended_at if status is AlertStatus.RESOLVED else None,
        correlation_keys=_keys(labels, hosts, envelope, flavour.source),
        raw={**envelope, "alerts": [item]},
    )


def _strings(value: object) -> dict[str, str]:
    """A label/annotation map with every value as text (non-string values are dropped)."""
    if not isinstance(value, dict):
        return {}
    pairs = ((str(key), fields.text(item)) for key, item in value.items())
    return {key: item for key, item in pairs if item}


def _status(item: dict[str, Any], envelope: dict[str, Any], received_at: datetime) -> AlertStatus:
    """The alert's own status; else a resolved group (all its alerts are); else endsAt passed."""
    own = fields.text_at(item, "status").lower()
    if own in ("firing", "resolved"):
        return AlertStatus(own)
    group = fields.text_at(envelope, "status").lower()
    state = fields.text_at(envelope, "state").lower()
    ends_at = fields.time_at(item, "endsAt")
    if group == "resolved" or state == "ok" or (ends_at is not None and ends_at <= received_at):
        return AlertStatus.RESOLVED
    return AlertStatus.FIRING


def label_severity(labels: dict[str, str]) -> tuple[str, Severity]:
    """incident_severity=SEVn overrides, then priority=Pn, then the `severity` label."""
    for name, table in SEVERITY_LABELS:
        raw = labels.get(name, "")
        severity = severities.lookup(raw, table) if raw else None
        if severity is not None:
            return raw, severity
    return labels.get("severity", ""), severities.DEFAULT_SEVERITY


def _title(labels: dict[str, str], annotations: dict[str, str], source: str) -> str:
    summary = annotations.get("summary") or annotations.get("title") or annotations.get("message")
    if summary:
        return summary
    name = labels.get("alertname", "")
    instance = labels.get("instance", "")
    if name and instance:
        return f"{name} on {instance}"
    return name or f"{source.capitalize()} alert"


def _description(annotations: dict[str, str], labels: dict[str, str], extra: str) -> str:
    """The description (or the kube-prometheus `message` the title did not use), the labels
    (the alert's name and where it fired, which a summary often leaves out), the runbook."""
    runbook = annotations.get("runbook_url", "")
    titled_by_message = not (annotations.get("summary") or annotations.get("title"))
    message = "" if titled_by_message else annotations.get("message", "")
    shown = list(labels.items())[:SHOWN_LABELS_MAX]
    return fields.join_lines(
        annotations.get("description") or message,
        extra,
        "Labels: " + ", ".join(f"{k}={v}" for k, v in shown) if shown else "",
        f"Runbook: {runbook}" if runbook else "",
    )


def _resource(labels: dict[str, str]) -> str | None:
    for name in RESOURCE_LABELS:
        if labels.get(name):
            return fields.truncate(fields.normalise_resource(labels[name]), fields.TEXT_MAX)
    return None


def _keys(
    labels: dict[str, str], hosts: list[str], envelope: dict[str, Any], source: str
) -> frozenset[str]:
    # Not the sender's groupKey: a route groups by alert name across hosts, so it would pull
    # unrelated machines into one incident.
    resources = grouping.arm_resources([labels.get("azure_resource_id", "")])
    return grouping.correlation_keys(resources=resources, hosts=hosts, other=[])
