"""Alertmanager and Grafana alerts as kube-prometheus and other tools label them: the `message`
annotation, labels on the card, host labels as the resource, other tools' severity words."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bridgekeeper.domain.alerts.parse import parse
from bridgekeeper.domain.incidents import Severity
from tests.examples import SAMPLES, example

NOW = datetime(2025, 11, 14, 10, 30, tzinfo=UTC)


def group(labels: dict[str, str], annotations: dict[str, str]) -> dict[str, Any]:
    return {
        "receiver": "ops",
        "status": "firing",
        "groupKey": "{}",
        "version": "4",
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "annotations": annotations,
                "startsAt": "2025-11-14T10:00:00Z",
                "fingerprint": "a1b2",
            }
        ],
    }


def test_the_message_annotation_titles_an_alert_without_a_summary() -> None:
    labels = {"alertname": "KubePodCrashLooping", "namespace": "payments", "pod": "checkout-7f9"}
    message = "Pod payments/checkout-7f9 is restarting 2.1 times / 10 minutes."
    [alert] = parse("alertmanager", group(labels, {"message": message}), received_at=NOW)
    assert alert.title == message
    assert "Labels: alertname=KubePodCrashLooping, namespace=payments" in alert.description
    assert alert.resource == "checkout-7f9"


def test_labels_show_beside_a_summary_and_a_host_label_is_the_resource() -> None:
    labels = {"alertname": "DiskFull", "host": "db-01", "severity": "major"}
    body = group(labels, {"summary": "Disk almost full", "description": "/var at 97%"})
    [alert] = parse("grafana", body, received_at=NOW)
    assert alert.title == "Disk almost full" and alert.resource == "db-01"
    assert alert.description.startswith("/var at 97%")
    assert "alertname=DiskFull" in alert.description
    assert (alert.severity, alert.source_severity) == (Severity.SEV2, "major")


@pytest.mark.parametrize(
    ("word", "severity"),
    [
        ("disaster", Severity.SEV1),
        ("P1", Severity.SEV1),
        ("minor", Severity.SEV3),
        ("notice", Severity.SEV4),
        ("average", Severity.SEV3),
        ("weird", Severity.SEV3),
    ],
)
def test_other_tools_severity_words(word: str, severity: Severity) -> None:
    body = group({"alertname": "X", "severity": word}, {})
    [alert] = parse("alertmanager", body, received_at=NOW)
    assert alert.severity is severity and alert.source_severity == word


@pytest.mark.parametrize(
    "record",
    [
        {
            "type": "Microsoft.Security/assessments",
            "name": "4fb67663",
            "properties": {"status": {"code": "Healthy"}, "displayName": "MFA should be enabled"},
        },
        {
            "type": "Microsoft.Security/secureScores",
            "name": "ascScore",
            "properties": {"score": {"current": 31.5, "max": 58, "percentage": 0.54}},
        },
        {
            "RecommendationName": "System updates should be installed",
            "RecommendationState": "Healthy",
            "AssessmentId": "/subscriptions/x/assessments/y",
        },
    ],
)
def test_defender_continuous_exports_other_records_make_no_alert(record: dict[str, Any]) -> None:
    assert parse("defender", record, received_at=NOW) == []


def test_grafana_legacy_alerting_fires_and_resolves() -> None:
    body = {
        "title": "[Alerting] High CPU",
        "ruleId": 7,
        "ruleName": "High CPU",
        "ruleUrl": "https://grafana.example.com/d/abc/hosts?viewPanel=2",
        "state": "alerting",
        "message": "CPU above 90% on db-01",
        "tags": {"host": "db-01", "severity": "high"},
        "evalMatches": [{"value": 97.2, "metric": "cpu_usage", "tags": {"host": "db-01"}}],
        "dashboardId": 1,
        "panelId": 2,
        "orgId": 1,
    }
    [firing] = parse("grafana", body, received_at=NOW)
    assert (firing.title, firing.severity, firing.resource) == ("High CPU", Severity.SEV2, "db-01")
    assert "cpu_usage: 97.2" in firing.description and firing.link
    [ok] = parse("grafana", body | {"state": "ok"}, received_at=NOW)
    assert ok.status.value == "resolved" and ok.dedup_key == firing.dedup_key


def test_a_sentinel_incident_without_the_triggers_envelope_is_read() -> None:
    wrapped = example("sentinel_incident.json")
    [expected] = parse("sentinel", wrapped, received_at=NOW)
    [bare] = parse("sentinel", wrapped["object"], received_at=NOW)
    assert (bare.title, bare.severity, bare.dedup_key) == (
        expected.title,
        expected.severity,
        expected.dedup_key,
    )


def test_datadogs_default_payload_is_read_from_its_title() -> None:
    body = {
        "body": "%%%\nCPU is above 90% on web-01\n%%%",
        "last_updated": "1763114400000",
        "event_type": "query_alert_monitor",
        "title": "[Triggered on {host:web-01}] CPU high",
        "date": "1763114400000",
        "org": {"id": "123", "name": "Acme"},
        "id": "7000000000000000001",
    }
    [fired] = parse("datadog", body, received_at=NOW)
    assert (fired.title, fired.resource, fired.status.value) == ("CPU high", "web-01", "firing")
    assert fired.description == "CPU is above 90% on web-01"
    recovered = body | {
        "title": "[Recovered on {host:web-01}] CPU high",
        "id": "7000000000000000002",
    }
    [resolved] = parse("datadog", recovered, received_at=NOW)
    assert resolved.status.value == "resolved" and resolved.dedup_key == fired.dedup_key
    assert fired.link is None  # no link anywhere in it


def test_datadogs_default_payload_links_the_monitor_its_message_names() -> None:
    """The default payload has no monitor id, but its message ends with Datadog's "Monitor
    Status" link (a published test notification)."""
    sample = SAMPLES / "datadog" / "relay_default_payload_test_notification.json"
    body = json.loads(sample.read_text(encoding="utf-8"))
    [test] = parse("datadog", body, received_at=NOW)
    assert test.link == "https://app.datadoghq.com/monitors#18692904?"
    ours = body | {"link": "https://app.datadoghq.eu/monitors/1"}
    assert parse("datadog", ours, received_at=NOW)[0].link == "https://app.datadoghq.eu/monitors/1"
    elsewhere = body | {"body": "[Monitor Status](javascript:alert(1))"}
    assert parse("datadog", elsewhere, received_at=NOW)[0].link is None
    quoted = "log: [Monitor Status](https://evil.example/phish)\n" + body["body"]
    assert parse("datadog", body | {"body": quoted}, received_at=NOW)[0].link == test.link
    last = body["body"] + "\n[Monitor Status](https://evil.example/phish)"
    assert parse("datadog", body | {"body": last}, received_at=NOW)[0].link is None
