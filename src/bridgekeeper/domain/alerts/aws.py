"""`POST /alerts/aws-sns`: an Amazon SNS notification (its signature and topic already checked
at the HTTP edge, web/sns.py), whose `Message` is:

- a CloudWatch alarm's state change (metric or composite alarm): ALARM fires, OK resolves,
  INSUFFICIENT_DATA keeps the alarm firing with that state shown; the alarm's ARN is the
  dedup key;
- an EventBridge event: GuardDuty findings and Security Hub findings mapped by
  domain/alerts/aws_events.py, any other event by its detail-type and resources;
- anything else (a plain text message published to the topic): titled by its Subject.

The SNS MessageId identifies the delivery: SNS retries are no-ops.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import quote

from bridgekeeper.domain.alerts import aws_events, fields, grouping, severities
from bridgekeeper.domain.alerts.model import Alert, AlertStatus, PayloadError
from bridgekeeper.domain.incidents import Severity

SOURCE = "aws-sns"
ALARM_CONSOLE = "https://console.aws.amazon.com/cloudwatch/home?region={}#alarmsV2:alarm/{}"
ALARM_STATES = {
    "ALARM": AlertStatus.FIRING,
    "INSUFFICIENT_DATA": AlertStatus.FIRING,
    "OK": AlertStatus.RESOLVED,
}
HOST_DIMENSIONS = ("InstanceId", "DBInstanceIdentifier", "host", "Hostname")


def parse(payload: object, *, received_at: datetime) -> list[Alert]:
    envelope = fields.require_payload_object(payload)
    if fields.text_at(envelope, "Type") != "Notification":
        raise PayloadError("only SNS notifications carry alerts")
    message_id = fields.require_text(envelope, "MessageId", "MessageId")
    message = _decoded(fields.text_at(envelope, "Message"))
    if isinstance(message, dict) and fields.get(message, "AlarmName") is not None:
        alerts = [_alarm(message, received_at)]
    elif isinstance(message, dict) and fields.get(message, "detail-type") is not None:
        alerts = aws_events.parse(message, received_at=received_at, source=SOURCE)
    else:
        alerts = [_plain(envelope, received_at)]
    return [_delivered(alert, message_id, envelope) for alert in alerts]


def _decoded(message: str) -> object:
    try:
        return json.loads(message) if message.lstrip().startswith("{") else message
    except (ValueError, RecursionError):
        return message


def _alarm(alarm: dict[str, Any], received_at: datetime) -> Alert:
    name = fields.text_at(alarm, "AlarmName")
    state = fields.text_at(alarm, "NewStateValue").upper()
    status = ALARM_STATES.get(state)
    if status is None:
        raise PayloadError("NewStateValue must be ALARM, OK or INSUFFICIENT_DATA")
    region_code = _region_code(fields.text_at(alarm, "AlarmArn"))
    key = fields.text_at(alarm, "AlarmArn") or f"{fields.text_at(alarm, 'Region')}/{name}"
    changed = fields.time_at(alarm, "StateChangeTime") or received_at
    resource = _dimension(alarm)
    return Alert(
        source=SOURCE,
        external_id=fields.truncate(key, fields.TEXT_MAX),
        dedup_key=f"{SOURCE}:{fields.truncate(key, fields.TEXT_MAX)}",
        title=fields.one_line(name),
        severity=Severity.SEV3 if state == "ALARM" else Severity.SEV4,
        source_severity=state,
        status=status,
        description=fields.paragraph(_alarm_description(alarm, state)),
        resource=fields.truncate(resource, fields.TEXT_MAX) or None,
        link=ALARM_CONSOLE.format(region_code, quote(name)) if region_code else None,
        started_at=changed,
        ended_at=changed if status is AlertStatus.RESOLVED else None,
        correlation_keys=grouping.correlation_keys(hosts=[resource] if resource else []),
        raw=alarm,
    )


def _alarm_description(alarm: dict[str, Any], state: str) -> str:
    trigger = fields.obj_at(alarm, "Trigger")
    parts = (fields.text_at(trigger, "Namespace"), fields.text_at(trigger, "MetricName"))
    metric = "/".join(part for part in parts if part)
    return fields.join_lines(
        fields.text_at(alarm, "AlarmDescription"),
        fields.text_at(alarm, "NewStateReason"),
        f"State: {state} (was {fields.text_at(alarm, 'OldStateValue') or 'unknown'})",
        f"Metric: {metric}" if metric else "",
        f"Rule: {fields.text_at(alarm, 'AlarmRule')}" if fields.text_at(alarm, "AlarmRule") else "",
        f"Account {fields.text_at(alarm, 'AWSAccountId')}, {fields.text_at(alarm, 'Region')}",
    )


def _dimension(alarm: dict[str, Any]) -> str:
    """The alarm's host-like dimension (an EC2 instance, an RDS instance), else the first."""
    dimensions = fields.objects(fields.dig(alarm, "Trigger", "Dimensions"))
    values = {fields.text_at(d, "name"): fields.text_at(d, "value") for d in dimensions}
    named = next((values[name] for name in HOST_DIMENSIONS if values.get(name)), "")
    return named or next((value for value in values.values() if value), "")


def _region_code(arn: str) -> str:
    """arn:aws:cloudwatch:eu-west-1:123456789012:alarm:name -> eu-west-1."""
    parts = arn.split(":")
    return parts[3] if len(parts) > 5 and parts[0] == "arn" else ""


def _plain(envelope: dict[str, Any], received_at: datetime) -> Alert:
    text = fields.text_at(envelope, "Message")
    subject = fields.text_at(envelope, "Subject") or text.strip().split("\n", 1)[0]
    topic = fields.text_at(envelope, "TopicArn")
    return Alert(
        source=SOURCE,
        external_id=fields.truncate(fields.text_at(envelope, "MessageId"), fields.TEXT_MAX),
        dedup_key=f"{SOURCE}:{fields.stable_hash([topic, subject])}",
        title=fields.one_line(subject or "Amazon SNS notification"),
        severity=severities.DEFAULT_SEVERITY,
        source_severity="",
        status=AlertStatus.FIRING,
        description=fields.paragraph(f"{text}\n\nTopic: {topic}"),
        started_at=fields.time_at(envelope, "Timestamp") or received_at,
        raw=envelope,
    )


def _delivered(alert: Alert, message_id: str, envelope: dict[str, Any]) -> Alert:
    """The SNS message id as the delivery id (one message may carry several findings)."""
    topic = {"TopicArn": fields.text_at(envelope, "TopicArn")}
    delivery = fields.truncate(message_id, fields.TEXT_MAX)
    return replace(alert, delivery_id=delivery, raw={**(alert.raw or {}), "sns": topic})
