"""Azure Monitor's non-metric alerts carry the event a responder needs: samples in
tests/samples/azure (README)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bridgekeeper.domain.alerts.model import Alert, AlertStatus
from bridgekeeper.domain.alerts.parse import parse
from bridgekeeper.domain.incidents import Severity
from tests.examples import SAMPLES

NOW = datetime(2025, 11, 14, 10, 30, tzinfo=UTC)


def body_of(name: str) -> Any:
    return json.loads((SAMPLES / "azure" / name).read_text(encoding="utf-8"))


def one(name: str) -> Alert:
    [alert] = parse("azure-monitor", body_of(name), received_at=NOW)
    return alert


def test_service_health_names_the_incident_and_resolves_from_its_context() -> None:
    active, resolved = one("service_health_active.json"), one("service_health_resolved.json")
    assert active.title == "Azure SQL Database - West Europe - Connectivity failures"
    assert active.severity is Severity.SEV2 and active.status is AlertStatus.FIRING
    for fact in (
        "Service: SQL Database",
        "Region: West Europe",
        "Tracking ID: 7T2M-H8Z",
        "Summary of impact: Starting at 09:40 UTC",
    ):
        assert fact in active.description
    assert "<p>" not in active.description
    assert resolved.status is AlertStatus.RESOLVED  # though its monitorCondition is Fired
    assert resolved.dedup_key == active.dedup_key  # one alert per tracking id


def test_resource_health_says_what_is_unavailable_and_why() -> None:
    alert = one("resource_health_unavailable.json")
    assert alert.title == "vm-web-01 is unavailable" and alert.severity is Severity.SEV2
    assert "Unexpected host failure" in alert.description
    assert "Health: Unavailable (was Available)" in alert.description
    assert "Cause: PlatformInitiated" in alert.description


def test_an_activity_log_alert_says_who_did_what() -> None:
    alert = one("activity_log_administrative.json")
    assert alert.title == "Key Vault deleted" and alert.severity is Severity.SEV2
    assert "Caller: mallory@contoso.com" in alert.description
    assert "Operation: Microsoft.KeyVault/vaults/delete" in alert.description
    assert "Status: Succeeded" in alert.description


def test_smart_detection_shows_the_detected_and_normal_values() -> None:
    alert = one("smart_detection.json")
    assert alert.title == "A spike in failed requests to POST /api/orders"
    assert "Detected: 23.4%" in alert.description
    assert "Normal: 0.8% in the last 24 hours" in alert.description


def test_a_budget_alert_says_what_was_spent_against_which_threshold() -> None:
    alert = one("budget_actual.json")
    assert (
        alert.title == "Budget payments-prod: actual spend $11,400.00 past the $10,000.00 threshold"
    )
    assert alert.status is AlertStatus.FIRING and alert.severity is Severity.SEV3
    assert "Your spend for budget payments-prod" in alert.description
    assert "Created by: finops@contoso.com" in alert.description


def test_a_defender_alert_in_activity_log_form_names_the_threat_and_the_machine() -> None:
    alert = one("activity_log_security.json")
    assert alert.title == "Trojan:Win32/Emotet.PC!MTB on vm-web-02"
    assert alert.severity is Severity.SEV2 and alert.source_severity == "High"  # not Sev4
    steps = "Remediation: Run a full scan of the machine; Reset the credentials of svc-web"
    for fact in (
        "Threat status: Quarantined",
        "Action taken: Blocked",
        "invoice_2025.doc.exe",
        steps,
    ):
        assert fact in alert.description
    assert alert.entities == {"hosts": ["vm-web-02"]}
    assert alert.status is AlertStatus.FIRING


def test_a_metric_alert_without_the_common_schema_fires_and_resolves_as_one_alert() -> None:
    fired, resolved = one("legacy_metric_activated.json"), one("legacy_metric_resolved.json")
    assert fired.title == "web CPU high (vm-web-03)" and fired.severity is Severity.SEV2
    assert "Percentage CPU GreaterThan 90 (value: 97.5)" in fired.description
    assert fired.resource is not None and fired.resource.endswith("virtualmachines/vm-web-03")
    assert fired.link is not None and fired.link.startswith("https://portal.azure.com/#resource")
    assert fired.status is AlertStatus.FIRING and resolved.status is AlertStatus.RESOLVED
    assert resolved.dedup_key == fired.dedup_key
    assert fired.raw["schemaId"] == "AzureMonitorMetricAlert"  # stored as it was sent


def test_an_activity_log_alert_without_the_common_schema_says_who_did_what() -> None:
    alert = one("legacy_activity_log.json")
    assert alert.title.startswith("Microsoft.Network/networkSecurityGroups/securityRules/write")
    assert "Caller: eve@contoso.com" in alert.description
    assert "Status: Succeeded" in alert.description
    assert alert.started_at == datetime(2025, 11, 14, 10, 20, tzinfo=UTC)
    assert alert.severity is Severity.SEV3  # the older form has no rule severity: the default


def test_a_log_search_alert_without_the_common_schema_shows_its_query_and_count() -> None:
    alert = one("legacy_log_alert.json")
    assert alert.title == "Failed sign-ins from one address (aad-tenant-contoso)"
    assert alert.severity is Severity.SEV3  # Warning is Sev2
    assert "SigninLogs | where ResultType != 0" in alert.description
    assert "Greater Than 20 (value: 57)" in alert.description
    assert alert.link is not None and alert.link.endswith("scope/ws-filtered")


def test_resource_health_is_one_alert_per_resource_that_available_resolves() -> None:
    down, up = one("resource_health_unavailable.json"), one("resource_health_available.json")
    assert down.status is AlertStatus.FIRING and up.status is AlertStatus.RESOLVED
    assert up.dedup_key == down.dedup_key  # though each event has an alert id of its own
    assert up.title == "vm-web-01 is available"


def legacy_health(event_id: str, now: str, before: str) -> Any:
    """A Resource Health event in the activity log webhook without the common schema."""
    vm = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-a"
    event = {
        "eventSource": "ResourceHealth",
        "eventDataId": event_id,
        "eventTimestamp": "2025-11-14T10:01:00.000+00:00",
        "level": "Informational",
        "operationName": "Microsoft.Resourcehealth/healthevent/Updated/action",
        "properties": {"currentHealthStatus": now, "previousHealthStatus": before},
        "resourceId": vm,
        "status": "Active",
    }
    return {
        "schemaId": "Microsoft.Insights/activityLogs",
        "data": {"status": "Activated", "context": {"activityLog": event}},
    }


def test_resource_health_without_the_common_schema_is_one_alert_per_resource_too() -> None:
    health = {"e1": ("Unavailable", "Available"), "e2": ("Available", "Unavailable")}
    down, up = (
        parse("azure-monitor", legacy_health(event, *change), received_at=NOW)[0]
        for event, change in health.items()
    )
    assert down.title == "vm-a is unavailable" and down.status is AlertStatus.FIRING
    assert up.status is AlertStatus.RESOLVED and up.dedup_key == down.dedup_key
