"""Alert payloads: the shared examples beside the repository (one firing payload for each of
seven sources), and the published samples kept with the tests (every source)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "alerts"
SAMPLES = Path(__file__).resolve().parent / "samples"  # published shapes, kept with the tests
EXAMPLE_SOURCES = {
    "alertmanager_firing.json": "alertmanager",
    "azure_monitor_fired.json": "azure-monitor",
    "datadog.json": "datadog",
    "defender_alert.json": "defender",
    "grafana_firing.json": "grafana",
    "pagerduty_v3_triggered.json": "pagerduty",
    "sentinel_incident.json": "sentinel",
}
# One published sample for each source, kept with the tests (a clone without ../shared has these).
SAMPLE_FOR = {
    "gcp": SAMPLES / "gcp" / "open.json",
    "cloudevents": SAMPLES / "cloudevents" / "falco.json",
    "opsgenie": SAMPLES / "opsgenie" / "create.json",
    "aws-sns": SAMPLES / "aws" / "sns_notification.json",
    "alertmanager": SAMPLES / "alertmanager" / "zulip_alert.json",
    "azure-monitor": SAMPLES / "azure-monitor" / "docs_test_action_log_v2_fired.json",
    "datadog": SAMPLES / "datadog" / "relay_default_payload_test_notification.json",
    "defender": SAMPLES / "defender" / "asc_docs_workflow_automation_alert.json",
    "grafana": SAMPLES / "grafana" / "docs_webhook_firing.json",
    "pagerduty": SAMPLES / "pagerduty" / "zulip_triggered_v3.json",
    "sentinel": SAMPLES / "sentinel" / "swimlane_list_incidents_new.json",
}


def sample_for(source: str) -> Any:
    """The source's published sample, decoded anew (so a test may change it)."""
    return json.loads(SAMPLE_FOR[source].read_text(encoding="utf-8"))


def example(name: str) -> Any:
    """One of the shared examples beside the checkout, decoded anew; without it the test is
    skipped, naming the missing file (every source also has a published sample here)."""
    path = EXAMPLES / name
    if not path.is_file():
        pytest.skip(f"the shared alert examples are not beside the checkout: no {path}")
    return json.loads(path.read_text(encoding="utf-8"))
