"""Alert payloads: the shared examples beside the repository (one firing payload for each of
seven sources), and the published samples kept with the tests (every source)."""

from __future__ import annotations

from pathlib import Path

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
