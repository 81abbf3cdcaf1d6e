"""Payloads published by the vendors and by other projects (tests/samples, each folder's
README says where from): each is read as the alerts its sender meant, with no ../shared beside
the checkout."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bridgekeeper.domain.alerts.model import Alert
from bridgekeeper.domain.alerts.parse import parse
from bridgekeeper.domain.incidents import Severity
from tests.examples import SAMPLES

NOW = datetime(2026, 1, 1, tzinfo=UTC)
S1, S2, S3, S4 = Severity.SEV1, Severity.SEV2, Severity.SEV3, Severity.SEV4
PUBLISHED = [  # folder (= route), file, then each alert's title, severity and status
    ("alertmanager", "alertmanager_bot_firing.json", [("Something is on fire", S2, "firing")]),
    ("alertmanager", "alertmanager_bot_resolved.json", [("Something is on fire", S2, "resolved")]),
    (
        "alertmanager",
        "zulip_alert.json",
        [("High CPU core temperature", S2, "firing")] * 2,
    ),
    ("azure-monitor", "docs_metric_resolved.json", [("WCUS-R2-Gen2", S4, "resolved")]),
    (
        "azure-monitor",
        "docs_test_action_log_v2_fired.json",
        [("test-logAlertRule-v2 (test-computer)", S4, "firing")],
    ),
    (
        "azure-monitor",
        "docs_test_action_metric_static_fired.json",
        [("test-metricAlertRule (test-storageAccount)", S4, "firing")],
    ),
    ("datadog", "fluffy_triggered.json", [("Dock is almost out of memory...", S3, "firing")]),
    ("datadog", "fluffy_recovered.json", [("Dock is almost out of memory...", S3, "resolved")]),
    (
        "datadog",
        "relay_default_payload_test_notification.json",
        [("[TEST] Host Cluster Alert", S3, "firing")],
    ),
    (
        "defender",
        "asc_docs_workflow_automation_alert.json",
        [("Suspicious process detected", S2, "firing")],
    ),
    (
        "defender",
        "rest_api_example_get_alert_subscription_location.json",
        [("Azure Security Center test alert (not a threat)", S1, "firing")],
    ),
    (
        "defender",
        "graph_docs_list_alerts_v2.json",
        [("Suspicious execution of hidden file", S4, "firing")],
    ),
    (
        "defender",
        "sumologic_docs_continuous_export_alert.json",
        [("Creation of admission webhook configuration detected", S4, "firing")],
    ),
    (
        "grafana",
        "docs_webhook_firing.json",
        [
            ("This alert was triggered for zone us-1", S3, "firing"),
            ("This alert was triggered for zone eu-1", S3, "firing"),
        ],
    ),
    (
        "grafana",
        "zulip_alert_9_resolved.json",
        [("This is a summary field, failure on <no value>", S3, "resolved")],
    ),
    ("grafana", "zulip_alert_values_v11.json", [("High memory usage", S3, "firing")]),
    ("pagerduty", "docs_priority_updated.json", [("A little bump in the road", S1, "firing")]),
    ("pagerduty", "zulip_triggered_v3.json", [("Test Incident 3", S2, "firing")]),
    ("pagerduty", "zulip_resolved_v3.json", [("Test Incident", S2, "resolved")]),
    (
        "sentinel",
        "rest_api_example_get_incident_by_id_closed.json",
        [("My incident", S2, "resolved")],
    ),
    (
        "sentinel",
        "swimlane_list_incidents_new.json",
        [("Azure Sentinel update alert", S3, "firing")],
    ),
]


def published(folder: str, name: str) -> list[Alert]:
    payload: Any = json.loads((SAMPLES / folder / name).read_text(encoding="utf-8"))
    return parse(folder, payload, received_at=NOW)


@pytest.mark.parametrize(("folder", "name", "expected"), PUBLISHED)
def test_a_published_payload_gives_the_alerts_its_sender_meant(
    folder: str, name: str, expected: list[tuple[str, Severity, str]]
) -> None:
    alerts = published(folder, name)
    assert [(a.title, a.severity, a.status.value) for a in alerts] == expected
    assert len({a.dedup_key for a in alerts}) == len(alerts)  # one triage card each


def test_every_published_sample_is_checked() -> None:
    folders = {folder for folder, _, _ in PUBLISHED}
    on_disk = {(p.parent.name, p.name) for f in folders for p in (SAMPLES / f).glob("*.json")}
    assert on_disk == {(folder, name) for folder, name, _ in PUBLISHED}


@pytest.mark.parametrize(
    ("folder", "fired", "ended"),
    [
        ("alertmanager", "alertmanager_bot_firing.json", "alertmanager_bot_resolved.json"),
        ("datadog", "fluffy_triggered.json", "fluffy_recovered.json"),
    ],
)
def test_a_published_recovery_resolves_the_alert_that_fired(
    folder: str, fired: str, ended: str
) -> None:
    [firing], [resolved] = published(folder, fired), published(folder, ended)
    assert resolved.dedup_key == firing.dedup_key
    assert resolved.ended_at is not None and firing.ended_at is None
