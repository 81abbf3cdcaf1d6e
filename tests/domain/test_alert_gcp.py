"""Google Cloud Monitoring (webhook schema 1.2): samples in tests/samples/gcp, see its README."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bridgekeeper.domain.alerts.model import Alert, AlertStatus
from bridgekeeper.domain.alerts.parse import parse
from bridgekeeper.domain.incidents import Severity
from tests.examples import SAMPLES

NOW = datetime(2025, 11, 14, 10, 30, tzinfo=UTC)


def sample(name: str) -> Any:
    return json.loads((SAMPLES / "gcp" / name).read_text(encoding="utf-8"))


def one(payload: Any) -> Alert:
    [alert] = parse("gcp", payload, received_at=NOW)
    return alert


def test_an_open_incident_is_a_firing_alert_a_responder_can_act_on() -> None:
    alert = one(sample("open.json"))
    assert alert.title == "Checkout VM CPU above 90% on checkout-vm-03"
    assert (alert.severity, alert.source_severity) == (Severity.SEV2, "Critical")
    assert alert.status is AlertStatus.FIRING and alert.ended_at is None
    assert alert.dedup_key == "gcp:0.ntb8r1k2x4qp"
    assert alert.resource == "shop-prod-381204 checkout-vm-03"
    assert alert.link and alert.link.startswith("https://console.cloud.google.com/monitoring/")
    assert alert.started_at == datetime(2025, 11, 14, 10, 0, tzinfo=UTC)
    assert "value of 0.973" in alert.description
    assert "Observed: 0.973 (threshold 0.9)" in alert.description
    assert "Runbook: https://runbooks.example.com/checkout-cpu" in alert.description
    assert "host:checkout-vm-03" in alert.correlation_keys


def test_the_closed_incident_resolves_the_same_alert() -> None:
    opened, closed = one(sample("open.json")), one(sample("closed.json"))
    assert closed.dedup_key == opened.dedup_key
    assert closed.status is AlertStatus.RESOLVED
    assert closed.ended_at == datetime(2025, 11, 14, 10, 30, tzinfo=UTC)


def test_the_short_notification_gets_a_title_and_the_default_severity() -> None:
    alert = one(sample("minimal.json"))
    assert alert.title == "billing latency on billing-api appserver"
    assert alert.severity is Severity.SEV3 and alert.source_severity == ""
    assert alert.description.startswith("Request latency for billing-api appserver")
    assert "Check the database first." in alert.description


def test_a_severity_label_on_the_policy_wins_over_its_level() -> None:
    payload = sample("open.json")
    payload["incident"]["policy_user_labels"]["severity"] = "sev1"
    assert one(payload).severity is Severity.SEV1
    payload["incident"]["policy_user_labels"] = {}
    payload["incident"]["severity"] = "Warning"
    assert one(payload).severity is Severity.SEV4


def test_a_closed_incident_without_an_end_time_ends_when_received() -> None:
    payload = sample("minimal.json")
    payload["incident"]["state"] = "closed"
    assert one(payload).ended_at == NOW
