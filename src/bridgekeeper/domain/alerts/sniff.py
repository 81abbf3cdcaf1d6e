"""What a body refused by one source looks like, so the answer can say where it should go.

`looks_like(payload)` names the tool that sends bodies of this shape and the route that takes
them (or that none does yet), from a few fields each tool always sends. It is only used to
explain a refusal: a body is never routed by guessing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bridgekeeper.domain.alerts import defender_graph, fields


@dataclass(frozen=True)
class Shape:
    name: str  # what the body looks like, as people call it
    route: str | None  # the route that takes it, or None: not supported
    fix: str = ""  # what to change at the sender, when the route is right but the shape is not


def _has(*paths: str) -> Callable[[dict[str, Any]], bool]:
    """Every dotted path is present (`event.event_type`)."""
    return lambda body: all(fields.dig(body, *path.split(".")) is not None for path in paths)


def _schema(*ids: str) -> Callable[[dict[str, Any]], bool]:
    return lambda body: fields.text_at(body, "schemaId").lower() in ids


def _type(prefix: str) -> Callable[[dict[str, Any]], bool]:
    return lambda body: fields.text_at(body, "type").lower().startswith(prefix)


def _sns(kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda body: fields.text_at(body, "Type") == kind and _has("TopicArn")(body)


AZURE = "/alerts/azure-monitor"
SNS = "/alerts/aws-sns"
AZURE_SCHEMAS = (
    "azuremonitorcommonalertschema",
    "azuremonitormetricalert",
    "microsoft.insights/activitylogs",
    "microsoft.insights/logalert",
)
GROUPS = Shape("an Alertmanager or Grafana webhook", "/alerts/alertmanager or /alerts/grafana")
DEFENDER = Shape("a Defender for Cloud alert", "/alerts/defender")
DEFENDER_XDR = Shape("a Microsoft Defender XDR alert from Microsoft Graph", "/alerts/defender")
SENTINEL = Shape("a Sentinel incident", "/alerts/sentinel")
SHAPES: tuple[tuple[Callable[[dict[str, Any]], bool], Shape], ...] = (
    (_sns("SubscriptionConfirmation"), Shape("an AWS SNS subscription confirmation", SNS)),
    (_sns("Notification"), Shape("an AWS SNS notification", SNS)),
    (_has("specversion", "id", "source", "type"), Shape("a CloudEvent", "/alerts/cloudevents")),
    (_schema(*AZURE_SCHEMAS), Shape("an Azure Monitor alert", AZURE)),
    (_has("receiver", "groupKey", "alerts"), GROUPS),
    (_has("ruleName", "state", "evalMatches"), Shape("a legacy Grafana alert", "/alerts/grafana")),
    (_has("event", "event.event_type"), Shape("a PagerDuty webhook", "/alerts/pagerduty")),
    (_has("incident", "version"), Shape("a Google Cloud Monitoring notification", "/alerts/gcp")),
    (_has("SystemAlertId"), DEFENDER),
    (_has("AlertDisplayName"), DEFENDER),
    (defender_graph.is_graph, DEFENDER_XDR),  # what /alerts/defender reads as one, or a page
    (_has("object", "objectSchemaType"), SENTINEL),
    (_type("microsoft.securityinsights/incidents"), SENTINEL),
    (_has("alert_transition"), Shape("a Datadog webhook", "/alerts/datadog")),
    (_has("message", "alias"), Shape("an Opsgenie create-alert request", "/v2/alerts")),
)


def looks_like(payload: object) -> Shape | None:
    if not isinstance(payload, dict):
        return None
    return next((shape for test, shape in SHAPES if test(payload)), None)


def advice(payload: object, route: str) -> str:
    """One sentence for a refusal ("" when the body looks like nothing known, or like what the
    route takes)."""
    shape = looks_like(payload)
    if shape is not None and shape.fix and shape.route:
        elsewhere = "" if route in shape.route else f", and post it to {shape.route}"
        return f"this looks like {shape.name}: {shape.fix}{elsewhere}"
    if shape is None or (shape.route and route in shape.route):
        return ""
    if shape.route is None:
        return f"this looks like {shape.name}, which bridgekeeper does not take yet"
    return f"this looks like {shape.name}: post it to {shape.route}"
