"""Alert normalisers: the shared examples, resolved variants, grouping, bad shapes, fuzzing."""

from __future__ import annotations

import contextlib
import functools
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridgekeeper.domain.alerts import fields
from bridgekeeper.domain.alerts.grouping import correlation_keys, pick_incident, related
from bridgekeeper.domain.alerts.model import Alert, AlertStatus, PayloadError
from bridgekeeper.domain.alerts.parse import SOURCES, UnknownSource, parse
from bridgekeeper.domain.incidents import Severity
from tests.examples import EXAMPLE_SOURCES, EXAMPLES, SAMPLES, example, sample_for

NOW = datetime(2025, 11, 14, 10, 30, tzinfo=UTC)

VM_ID = (
    "/subscriptions/7d2f1c3a-5b8e-4e6f-9a1b-2c3d4e5f6a7b/resourcegroups/rg-prod-web"
    "/providers/microsoft.compute/virtualmachines/vm-web-01"
)
AZURE_ALERT_ID = (
    "/subscriptions/7d2f1c3a-5b8e-4e6f-9a1b-2c3d4e5f6a7b/providers/Microsoft.AlertsManagement"
    "/alerts/6f3e2f4c-9b1a-4c55-8c1e-2b7d0a9e4f11"
)
DEFENDER_ID = "2517125899166499999_5f3b7c2e-0d41-4a8e-9b6f-1c2d3e4f5a6b"
PROMETHEUS_URL = (
    "http://prometheus-0.monitoring.svc:9090/graph?g0.expr=100+-+%28avg+by+%28instance%29+%28rate"
    "%28node_cpu_seconds_total%7Bmode%3D%22idle%22%7D%5B2m%5D%29%29+%2A+100%29+%3E+90&g0.tab=1"
)


def alertmanager_page(instance: str) -> str:
    """The alert in Alertmanager's UI, filtered on its labels (not Prometheus's graph)."""
    labels = (
        f'alertname="HostHighCpuLoad",cluster="prod-westeurope",instance="{instance}",'
        'job="node",service="web",severity="critical",team="sre"'
    )
    page = "http://alertmanager.monitoring.svc:9093/#/alerts?filter="
    return page + quote("{" + labels + "}", safe="")


def test_the_prometheus_graph_is_in_an_alertmanager_alerts_description() -> None:
    alert = parse("alertmanager", example("alertmanager_firing.json"), received_at=NOW)[0]
    assert alert.link == alertmanager_page("vm-web-01:9100")
    assert f"Prometheus: {PROMETHEUS_URL}" in alert.description


def parse_one(source: str, payload: Any) -> Alert:
    alerts = parse(source, payload, received_at=NOW)
    assert len(alerts) == 1
    return alerts[0]


def example_alert(name: str, index: int = 0) -> Alert:
    return parse(EXAMPLE_SOURCES[name], example(name), received_at=NOW)[index]


# --- every example, mapped ------------------------------------------------------------------

EXPECTED = [
    # file, index, title, severity, source severity, dedup key, resource, link
    (
        "azure_monitor_fired.json",
        0,
        "vm-web-01-high-cpu",
        Severity.SEV2,
        "Sev1",
        f"azure-monitor:{AZURE_ALERT_ID.lower()}",
        VM_ID,
        "https://portal.azure.com/#blade/Microsoft_Azure_Monitoring_Alerts/AlertDetailsTemplateBlade"
        "/alertId/%2Fsubscriptions%2F7d2f1c3a-5b8e-4e6f-9a1b-2c3d4e5f6a7b%2Fproviders"
        "%2FMicrosoft.AlertsManagement%2Falerts%2F6f3e2f4c-9b1a-4c55-8c1e-2b7d0a9e4f11",
    ),
    (
        "defender_alert.json",
        0,
        "Suspicious process detected",
        Severity.SEV2,
        "High",
        f"defender:{DEFENDER_ID}",
        VM_ID,
        "https://portal.azure.com/#blade/Microsoft_Azure_Security_AzureDefenderForData/AlertBlade"
        f"/alertId/{DEFENDER_ID}/subscriptionId/7d2f1c3a-5b8e-4e6f-9a1b-2c3d4e5f6a7b"
        "/resourceGroup/rg-prod-web/referencedFrom/alertDeepLink/location/westeurope",
    ),
    (
        "sentinel_incident.json",
        0,
        "Suspicious process detected",
        Severity.SEV2,
        "High",
        "sentinel:9b2e6c41-7a3d-4e58-b1f0-3c8d2a5e7f19",
        VM_ID,
        "https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident/subscriptions"
        "/7d2f1c3a-5b8e-4e6f-9a1b-2c3d4e5f6a7b/resourceGroups/rg-sec-ops/providers"
        "/Microsoft.OperationalInsights/workspaces/law-sec-prod/providers"
        "/Microsoft.SecurityInsights/Incidents/9b2e6c41-7a3d-4e58-b1f0-3c8d2a5e7f19",
    ),
    (
        "alertmanager_firing.json",
        0,
        "Host high CPU load on vm-web-01:9100",
        Severity.SEV2,
        "critical",
        "alertmanager:b4a1f0c9e2d37a65",
        "vm-web-01:9100",
        alertmanager_page("vm-web-01:9100"),
    ),
    (
        "alertmanager_firing.json",
        1,
        "Host high CPU load on vm-web-02:9100",
        Severity.SEV2,
        "critical",
        "alertmanager:5e0c83d71fa4b926",
        "vm-web-02:9100",
        alertmanager_page("vm-web-02:9100"),
    ),
    (
        "grafana_firing.json",
        0,
        "checkout-api 5xx error rate is 12.4% (threshold 5%)",
        Severity.SEV2,
        "critical",
        "grafana:7c3b5e9a1d2f4086",
        "checkout-api",
        "https://grafana.contoso.com/alerting/grafana/fe2kx9q3l7ksgb/view?orgId=1",
    ),
    (
        "pagerduty_v3_triggered.json",
        0,
        "Sev1: vm-web-01-high-cpu fired on vm-web-01",
        Severity.SEV2,
        "P2",
        "pagerduty:Q2Z8RK7W0YV3LM",
        "Web Platform (prod)",
        "https://contoso.pagerduty.com/incidents/Q2Z8RK7W0YV3LM",
    ),
    (
        "datadog.json",
        0,
        "High CPU on web hosts",
        Severity.SEV2,
        "P2",
        "datadog:6912573284716112233",
        "vm-web-01",
        "https://app.datadoghq.com/event/event?id=7913377436215412345",
    ),
]


@pytest.mark.parametrize(
    ("name", "index", "title", "severity", "source_severity", "dedup_key", "resource", "link"),
    EXPECTED,
    ids=[f"{row[0]}[{row[1]}]" for row in EXPECTED],
)
def test_example_is_mapped(
    name: str,
    index: int,
    title: str,
    severity: Severity,
    source_severity: str,
    dedup_key: str,
    resource: str,
    link: str,
) -> None:
    alert = example_alert(name, index)
    assert alert.source == EXAMPLE_SOURCES[name]
    assert alert.title == title
    assert alert.severity is severity
    assert alert.source_severity == source_severity
    assert alert.status is AlertStatus.FIRING
    assert alert.dedup_key == dedup_key
    assert alert.resource == resource
    assert alert.link == link
    assert alert.ended_at is None
    assert alert.started_at is not None and alert.started_at.tzinfo is not None


PREFIX_SOURCES = {
    "azure_monitor": "azure-monitor",
    "defender": "defender",
    "sentinel": "sentinel",
    "alertmanager": "alertmanager",
    "grafana": "grafana",
    "pagerduty": "pagerduty",
    "datadog": "datadog",
}


def test_every_file_in_the_folder_parses() -> None:
    """Including variants added later (resolved, ARM, log alerts): parsed, status by file name."""
    example("azure_monitor_fired.json")
    for path in sorted(EXAMPLES.glob("*.json")):
        source = next((s for p, s in PREFIX_SOURCES.items() if path.name.startswith(p)), None)
        if source is None:
            continue  # opsgenie, cloudevents: no route
        alerts = parse(source, json.loads(path.read_text(encoding="utf-8")), received_at=NOW)
        assert alerts, path.name
        ended = any(word in path.name for word in ("resolved", "closed", "recovered"))
        expected = AlertStatus.RESOLVED if ended else AlertStatus.FIRING
        assert {alert.status for alert in alerts} == {expected}, path.name


def test_example_times_and_delivery_ids() -> None:
    azure = example_alert("azure_monitor_fired.json")
    assert azure.started_at == datetime(2025, 11, 14, 10, 7, 12, 441820, tzinfo=UTC)
    datadog = example_alert("datadog.json")
    assert datadog.started_at == datetime(2025, 11, 14, 10, 8, 12, tzinfo=UTC)
    assert datadog.delivery_id == "7913377436215412345"
    assert example_alert("pagerduty_v3_triggered.json").delivery_id == "01F8ZQK3M2X7VJ4N9C6B5D1TQE"
    sentinel = example_alert("sentinel_incident.json")
    assert sentinel.delivery_id == "e3a1c7d9-4b2f-4f6e-9c8a-7d5b3e1f0a92"
    assert example_alert("alertmanager_firing.json").started_at == datetime(
        2025, 11, 14, 10, 6, 45, 123000, tzinfo=UTC
    )


def test_example_entities() -> None:
    defender = example_alert("defender_alert.json")
    assert defender.entities == {
        "hosts": ["vm-web-01"],
        "ips": ["203.0.113.45"],
        "accounts": ["CONTOSO\\svc-deploy"],
    }
    assert example_alert("sentinel_incident.json").entities == defender.entities
    assert example_alert("alertmanager_firing.json").entities == {"hosts": ["vm-web-01"]}
    assert example_alert("datadog.json").entities == {"hosts": ["vm-web-01"]}


def test_descriptions_are_enriched_and_plain() -> None:
    azure = example_alert("azure_monitor_fired.json")
    assert "Percentage CPU GreaterThan 90 (value: 97.3125)" in azure.description
    defender = example_alert("defender_alert.json")
    assert "Remediation:" in defender.description and "1. Isolate" in defender.description
    datadog = example_alert("datadog.json")
    assert not datadog.description.startswith("%%%") and not datadog.description.endswith("%%%")
    grafana = example_alert("grafana_firing.json")
    assert "Values: A=0.1243, C=1" in grafana.description


def test_multi_alert_raw_keeps_the_envelope() -> None:
    payload = example("alertmanager_firing.json")
    second = parse("alertmanager", payload, received_at=NOW)[1]
    assert second.raw["groupKey"] == payload["groupKey"]
    assert second.raw["externalURL"] == payload["externalURL"]
    assert second.raw["alerts"] == [payload["alerts"][1]]


# --- resolved variants -----------------------------------------------------------------------


def azure_resolved(payload: dict[str, Any]) -> dict[str, Any]:
    essentials = payload["data"]["essentials"]
    essentials["monitorCondition"] = "Resolved"
    essentials["resolvedDateTime"] = "2025-11-14T10:25:00.1234567Z"
    return payload


def defender_status(status: str) -> Any:
    def change(payload: dict[str, Any]) -> dict[str, Any]:
        payload["Status"] = status
        return payload

    return change


def sentinel_closed(payload: dict[str, Any]) -> dict[str, Any]:
    payload["objectEventType"] = "Update"
    payload["eventUniqueId"] = "0f6a2b1c-8d7e-4a5b-9c3d-2e1f0a9b8c7d"
    props = payload["object"]["properties"]
    props.update(
        status="Closed",
        classification="TruePositive",
        classificationReason="SuspiciousActivity",
        classificationComment="Contained; machine re-imaged.",
        lastModifiedTimeUtc="2025-11-14T11:15:00Z",
    )
    return payload


def group_resolved(payload: dict[str, Any]) -> dict[str, Any]:
    payload["status"] = "resolved"
    payload["state"] = "ok"
    for alert in payload["alerts"]:
        alert["status"] = "resolved"
        alert["endsAt"] = "2025-11-14T10:21:45.123Z"
    return payload


def pagerduty_resolved(payload: dict[str, Any]) -> dict[str, Any]:
    payload["event"]["id"] = "01F8ZQM9ZZ7VJ4N9C6B5D1TQF"
    payload["event"]["event_type"] = "incident.resolved"
    payload["event"]["occurred_at"] = "2025-11-14T10:40:00Z"
    payload["event"]["data"]["status"] = "resolved"
    return payload


def datadog_recovered(payload: dict[str, Any]) -> dict[str, Any]:
    title = "[Recovered on {host:vm-web-01}] High CPU on web hosts"
    payload.update(
        alert_transition="Recovered",
        alert_type="success",
        alert_title=title,
        title=title,
        id="7913377436215499999",
        last_updated="1763115900000",
    )
    return payload


RESOLVED_VARIANTS = [
    ("azure_monitor_fired.json", azure_resolved),
    ("defender_alert.json", defender_status("Resolved")),
    ("defender_alert.json", defender_status("Dismissed")),
    ("sentinel_incident.json", sentinel_closed),
    ("alertmanager_firing.json", group_resolved),
    ("grafana_firing.json", group_resolved),
    ("pagerduty_v3_triggered.json", pagerduty_resolved),
    ("datadog.json", datadog_recovered),
]


@pytest.mark.parametrize(("name", "change"), RESOLVED_VARIANTS)
def test_resolved_variant_keeps_the_dedup_key(name: str, change: Any) -> None:
    source = EXAMPLE_SOURCES[name]
    firing = parse(source, example(name), received_at=NOW)
    resolved = parse(source, change(example(name)), received_at=NOW)
    assert [a.dedup_key for a in resolved] == [a.dedup_key for a in firing]
    for before, after in zip(firing, resolved, strict=True):
        assert after.status is AlertStatus.RESOLVED
        assert after.ended_at is not None
        assert after.title == before.title
        assert after.severity is before.severity


def test_defender_dismissed_says_false_positive() -> None:
    alert = parse_one("defender", defender_status("Dismissed")(example("defender_alert.json")))
    assert alert.description.endswith("Dismissed in Defender for Cloud (false positive).")


def test_resolved_times_come_from_the_source() -> None:
    azure = parse_one("azure-monitor", azure_resolved(example("azure_monitor_fired.json")))
    assert azure.ended_at == datetime(2025, 11, 14, 10, 25, 0, 123456, tzinfo=UTC)
    sentinel = parse_one("sentinel", sentinel_closed(example("sentinel_incident.json")))
    assert sentinel.ended_at == datetime(2025, 11, 14, 11, 15, tzinfo=UTC)
    assert "Closed as TruePositive SuspiciousActivity." in sentinel.description
    assert sentinel.delivery_id == "0f6a2b1c-8d7e-4a5b-9c3d-2e1f0a9b8c7d"
    grafana = parse("grafana", group_resolved(example("grafana_firing.json")), received_at=NOW)[0]
    assert grafana.ended_at == datetime(2025, 11, 14, 10, 21, 45, 123000, tzinfo=UTC)
    datadog = parse_one("datadog", datadog_recovered(example("datadog.json")))
    assert datadog.ended_at == datetime(2025, 11, 14, 10, 25, tzinfo=UTC)
    pagerduty = parse_one("pagerduty", pagerduty_resolved(example("pagerduty_v3_triggered.json")))
    assert pagerduty.ended_at == datetime(2025, 11, 14, 10, 40, tzinfo=UTC)


def test_grafana_state_ok_without_per_alert_status_is_resolved() -> None:
    payload = example("grafana_firing.json")
    payload["state"] = "ok"
    del payload["alerts"][0]["status"]
    assert parse("grafana", payload, received_at=NOW)[0].status is AlertStatus.RESOLVED


def test_mixed_alertmanager_group_uses_per_alert_status() -> None:
    payload = example("alertmanager_firing.json")
    payload["alerts"][1]["status"] = "resolved"
    payload["alerts"][1]["endsAt"] = "2025-11-14T10:20:00Z"
    first, second = parse("alertmanager", payload, received_at=NOW)
    assert first.status is AlertStatus.FIRING and first.ended_at is None
    assert second.status is AlertStatus.RESOLVED
    assert second.ended_at == datetime(2025, 11, 14, 10, 20, tzinfo=UTC)


def test_pagerduty_reopened_fires_again() -> None:
    payload = pagerduty_resolved(example("pagerduty_v3_triggered.json"))
    payload["event"]["event_type"] = "incident.reopened"
    assert parse_one("pagerduty", payload).status is AlertStatus.FIRING


# --- other real-world variants ---------------------------------------------------------------


def camel(value: Any) -> Any:
    """PascalCase keys -> camelCase, recursively (the ARM shape of a Defender alert)."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


def defender_arm(payload: dict[str, Any]) -> dict[str, Any]:
    props = camel(payload)
    props["status"] = "Active"
    props["timeGeneratedUtc"] = props.pop("timeGenerated")
    del props["azureResourceId"]
    alert_id = props.pop("systemAlertId")
    return {
        "id": f"/subscriptions/7d2f1c3a-5b8e-4e6f-9a1b-2c3d4e5f6a7b/resourceGroups/rg-prod-web"
        f"/providers/Microsoft.Security/locations/westeurope/alerts/{alert_id}",
        "name": alert_id,
        "type": "Microsoft.Security/Locations/alerts",
        "properties": props,
    }


def test_defender_arm_shape_matches_the_pascal_case_one() -> None:
    pascal = example_alert("defender_alert.json")
    arm = parse_one("defender", defender_arm(example("defender_alert.json")))
    assert arm.dedup_key == pascal.dedup_key
    assert (arm.title, arm.severity, arm.resource, arm.link) == (
        pascal.title,
        pascal.severity,
        pascal.resource,
        pascal.link,
    )
    assert arm.entities == pascal.entities
    assert arm.correlation_keys == pascal.correlation_keys
    assert arm.status is AlertStatus.FIRING
    resolved = defender_arm(example("defender_alert.json"))
    resolved["properties"]["status"] = "Resolved"
    assert parse_one("defender", resolved).status is AlertStatus.RESOLVED


def test_defender_keys_are_case_insensitive() -> None:
    payload = {key.upper(): value for key, value in example("defender_alert.json").items()}
    alert = parse_one("defender", payload)
    assert alert.title == "Suspicious process detected"
    assert alert.dedup_key == f"defender:{DEFENDER_ID}"
    assert alert.entities["hosts"] == ["vm-web-01"]


def test_defender_ref_entities_are_resolved() -> None:
    payload = example("defender_alert.json")
    host, account = payload["Entities"][0], payload["Entities"][1]
    account["Host"] = host  # the host defined only inside the account...
    payload["Entities"] = [
        account,
        {"$ref": "4"},
        {"$id": "9", "Address": "10.1.2.3", "type": "IP"},
    ]
    alert = parse_one("defender", payload)
    assert alert.entities == {
        "hosts": ["vm-web-01"],
        "ips": ["10.1.2.3"],
        "accounts": ["CONTOSO\\svc-deploy"],
    }


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"IsIncident": True}, Severity.SEV1),
        ({"IsIncident": "True"}, Severity.SEV1),
        ({"Intent": "Persistence, LateralMovement"}, Severity.SEV1),
        ({"Severity": "Medium"}, Severity.SEV3),
        ({"Severity": "Low"}, Severity.SEV4),
        ({"Severity": "Informational"}, Severity.SEV4),
        ({"Severity": None}, Severity.SEV3),
    ],
)
def test_defender_severity(change: dict[str, Any], expected: Severity) -> None:
    payload = example("defender_alert.json") | change
    assert parse_one("defender", payload).severity is expected


def test_defender_remediation_steps_as_json_string() -> None:
    payload = example("defender_alert.json")
    payload["RemediationSteps"] = json.dumps(["Do this.", "Then that."])
    assert "Do this.\nThen that." in parse_one("defender", payload).description


def test_sentinel_escalation() -> None:
    payload = example("sentinel_incident.json")
    payload["object"]["properties"]["additionalData"]["tactics"] = ["Execution", "Impact"]
    assert parse_one("sentinel", payload).severity is Severity.SEV1


def test_a_sentinel_alert_on_an_aks_cluster_names_no_host() -> None:
    """The alert's compromised entity is the cluster's name, and the cluster a related Azure
    resource: no host (and no `host:` key grouping it with a machine of that name)."""
    cluster = (
        "/subscriptions/1/resourceGroups/rg/providers/Microsoft.ContainerService"
        "/managedClusters/aks-prod"
    )

    def incident(compromised: str) -> dict[str, Any]:
        properties = {
            "title": "Privileged container detected",
            "severity": "High",
            "status": "New",
            "alerts": [{"properties": {"compromisedEntity": compromised}}],
            "relatedEntities": [{"kind": "AzureResource", "properties": {"resourceId": cluster}}],
        }
        return {"name": "5e0c2f1a", "properties": properties}

    on_cluster = parse_one("sentinel", incident("aks-prod"))
    assert "hosts" not in on_cluster.entities
    assert not any(key.startswith("host:") for key in on_cluster.correlation_keys)
    assert parse_one("sentinel", incident("vm-web-01")).entities["hosts"] == ["vm-web-01"]


def azure_log_alert(payload: dict[str, Any]) -> dict[str, Any]:
    workspace = (
        "/subscriptions/7d2f1c3a-5b8e-4e6f-9a1b-2c3d4e5f6a7b/resourcegroups/rg-sec-ops"
        "/providers/microsoft.operationalinsights/workspaces/law-sec-prod"
    )
    essentials = payload["data"]["essentials"]
    essentials.update(
        alertId=AZURE_ALERT_ID.replace("6f3e2f4c", "1a2b3c4d"),
        alertRule="failed-logons-burst",
        severity="Sev2",
        signalType="Log",
        monitoringService="Log Alerts V2",
        alertTargetIDs=[workspace],
        configurationItems=["vm-web-01"],
        description="",
    )
    payload["data"]["alertContext"] = {
        "condition": {
            "allOf": [
                {
                    "searchQuery": "SecurityEvent | where EventID == 4625",
                    "operator": "GreaterThan",
                    "threshold": "20",
                    "metricValue": 57,
                    "dimensions": [{"name": "Computer", "value": "vm-web-01.contoso.local"}],
                }
            ]
        }
    }
    return payload


def test_azure_log_alert_on_a_workspace_uses_the_machine() -> None:
    alert = parse_one("azure-monitor", azure_log_alert(example("azure_monitor_fired.json")))
    assert alert.title == "failed-logons-burst (vm-web-01)"
    assert alert.severity is Severity.SEV3
    assert alert.resource == "vm-web-01"
    assert "host:vm-web-01" in alert.correlation_keys
    assert not any("workspaces" in key for key in alert.correlation_keys)
    assert "SecurityEvent | where EventID == 4625 GreaterThan 20 (value: 57)" in alert.description


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Sev0", Severity.SEV1),
        ("Sev2", Severity.SEV3),
        ("Sev3", Severity.SEV4),
        ("Sev4", Severity.SEV4),
    ],
)
def test_azure_severity(raw: str, expected: Severity) -> None:
    payload = example("azure_monitor_fired.json")
    payload["data"]["essentials"]["severity"] = raw
    assert parse_one("azure-monitor", payload).severity is expected


def test_alertmanager_without_fingerprint_derives_a_stable_one() -> None:
    payload = example("alertmanager_firing.json")
    del payload["alerts"][0]["fingerprint"]
    first = parse("alertmanager", payload, received_at=NOW)[0]
    labels = payload["alerts"][0]["labels"]
    payload["alerts"][0]["labels"] = dict(reversed(list(labels.items())))
    payload["alerts"][0]["status"] = "resolved"
    again = parse("alertmanager", payload, received_at=NOW)[0]
    assert first.dedup_key == again.dedup_key
    assert first.dedup_key.startswith("alertmanager:") and len(first.dedup_key) > 20


@pytest.mark.parametrize(
    ("labels", "expected", "raw"),
    [
        ({"severity": "critical", "incident_severity": "SEV1"}, Severity.SEV1, "SEV1"),
        ({"severity": "warning", "priority": "P1"}, Severity.SEV1, "P1"),
        ({"severity": "warning"}, Severity.SEV3, "warning"),
        ({"severity": "info"}, Severity.SEV4, "info"),
        ({"severity": "page"}, Severity.SEV2, "page"),
        ({}, Severity.SEV3, ""),
        ({"severity": "whatever"}, Severity.SEV3, "whatever"),
    ],
)
def test_label_severity(labels: dict[str, str], expected: Severity, raw: str) -> None:
    payload = example("alertmanager_firing.json")
    alert = payload["alerts"][0]
    alert["labels"] = {k: v for k, v in alert["labels"].items() if k != "severity"} | labels
    parsed = parse("alertmanager", payload, received_at=NOW)[0]
    assert (parsed.severity, parsed.source_severity) == (expected, raw)


def test_alertmanager_title_falls_back_to_alertname_and_instance() -> None:
    payload = example("alertmanager_firing.json")
    payload["alerts"][0]["annotations"] = {}
    assert parse("alertmanager", payload, received_at=NOW)[0].title == (
        "HostHighCpuLoad on vm-web-01:9100"
    )


def test_empty_alert_group_gives_no_alerts() -> None:
    payload = example("alertmanager_firing.json")
    payload["alerts"] = []
    assert parse("alertmanager", payload, received_at=NOW) == []


def test_pagerduty_priority_null_uses_urgency() -> None:
    payload = example("pagerduty_v3_triggered.json")
    payload["event"]["data"]["priority"] = None
    alert = parse_one("pagerduty", payload)
    assert (alert.severity, alert.source_severity) == (Severity.SEV2, "high")
    payload["event"]["data"]["urgency"] = "low"
    assert parse_one("pagerduty", payload).severity is Severity.SEV4


def test_pagerduty_non_incident_events_give_no_alerts() -> None:
    payload = example("pagerduty_v3_triggered.json")
    payload["event"]["event_type"] = "incident.annotated"
    payload["event"]["data"] = {
        "incident": {"id": "Q2Z8RK7W0YV3LM", "type": "incident_reference"},
        "id": "PWL7QXS",
        "type": "incident_note",
        "content": "Looking at it",
    }
    assert parse("pagerduty", payload, received_at=NOW) == []
    ping = {"event": {"id": "x", "event_type": "pagey.ping", "data": {"message": "Hello"}}}
    assert parse("pagerduty", ping, received_at=NOW) == []


def test_datadog_variants() -> None:
    payload = example("datadog.json")
    payload["alert_priority"] = "$ALERT_PRIORITY"  # unrendered variable
    del payload["alert_cycle_key"]
    alert = parse_one("datadog", payload)
    assert (alert.severity, alert.source_severity) == (Severity.SEV2, "error")
    assert alert.dedup_key == "datadog:98765432:host:vm-web-01"
    payload["alert_type"] = "warning"
    payload["alert_transition"] = "Warn"
    payload["title"] = payload["alert_title"] = (
        "[P2] [Warn on {host:vm-web-01}] High CPU on web hosts"
    )
    warn = parse_one("datadog", payload)
    assert (warn.severity, warn.status, warn.title) == (
        Severity.SEV3,
        AlertStatus.FIRING,
        "High CPU on web hosts",
    )


def test_titles_are_plain_and_truncated() -> None:
    payload = {"title": "<b>&amp; *bold*</b>\n" + "x" * 1000, "description": "d" * 6000}
    alert = parse_one("generic", payload)
    assert alert.title.startswith("<b>&amp; *bold*</b> x")
    assert len(alert.title) == fields.TITLE_MAX and alert.title.endswith("…")
    assert len(alert.description) == fields.DESCRIPTION_MAX and alert.description.endswith("…")


# --- generic --------------------------------------------------------------------------------


def test_generic_full() -> None:
    payload = {
        "title": "Disk almost full on db-01",
        "description": "/var at 97%",
        "severity": "high",
        "status": "firing",
        "dedup_key": "db-01/disk/var",
        "id": "evt-42",
        "resource": VM_ID.upper(),
        "link": "https://grafana.example.com/d/disk",
        "entities": {"hosts": ["db-01"], "ips": ["10.0.0.5"], "accounts": []},
        "started_at": "2025-11-14T09:58:00+01:00",
    }
    alert = parse_one("generic", payload)
    assert alert.dedup_key == "generic:db-01/disk/var"
    assert alert.external_id == "evt-42"
    assert (alert.severity, alert.source_severity) == (Severity.SEV2, "high")
    assert alert.resource == VM_ID
    assert alert.entities == {"hosts": ["db-01"], "ips": ["10.0.0.5"]}
    assert alert.started_at == datetime(2025, 11, 14, 8, 58, tzinfo=UTC)
    assert {f"resource:{VM_ID}", "host:vm-web-01", "host:db-01"} <= alert.correlation_keys


def test_generic_minimal_defaults_and_stable_key() -> None:
    alert = parse_one("generic", {"title": "Something broke"})
    assert (alert.severity, alert.status, alert.source_severity) == (
        Severity.SEV3,
        AlertStatus.FIRING,
        "",
    )
    assert alert.started_at == NOW and alert.ended_at is None
    resolved = parse_one("generic", {"title": "Something broke", "status": "resolved"})
    assert resolved.dedup_key == alert.dedup_key
    assert resolved.status is AlertStatus.RESOLVED and resolved.ended_at == NOW


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("sev1", Severity.SEV1),
        ("SEV4", Severity.SEV4),
        ("critical", Severity.SEV1),
        ("medium", Severity.SEV3),
        ("low", Severity.SEV4),
        ("info", Severity.SEV4),
    ],
)
def test_generic_severity(raw: str, expected: Severity) -> None:
    assert parse_one("generic", {"title": "t", "severity": raw}).severity is expected


# --- wrong shapes ----------------------------------------------------------------------------


def _azure(**essentials: Any) -> dict[str, Any]:
    return {"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": essentials}}


WRONG_SHAPES = [
    ("generic", [], "must be a JSON object"),
    ("generic", {}, "title is missing"),
    ("generic", {"title": ["x"]}, "title must be a string"),
    ("generic", {"title": "t", "severity": "urgent"}, "severity must be one of"),
    ("generic", {"title": "t", "status": "open"}, "status must be firing or resolved"),
    ("generic", {"title": "t", "started_at": "yesterday"}, "started_at must be an ISO 8601"),
    ("generic", {"title": "t", "link": "javascript:alert(1)"}, "link must be an http(s) URL"),
    ("generic", {"title": "t", "entities": {"hosts": "a"}}, "entities.hosts must be a list"),
    ("generic", {"title": "t", "entities": []}, "entities must be an object"),
    ("azure-monitor", {}, "schemaId must be azureMonitorCommonAlertSchema (got missing)"),
    ("azure-monitor", {"schemaId": "AzureMonitorMetricAlert"}, "got AzureMonitorMetricAlert"),
    ("azure-monitor", {"schemaId": "azureMonitorCommonAlertSchema"}, "data is missing"),
    ("azure-monitor", {"schemaId": "azureMonitorCommonAlertSchema", "data": 1}, "data must be"),
    (
        "azure-monitor",
        {"schemaId": "azureMonitorCommonAlertSchema", "data": {}},
        "data.essentials is missing",
    ),
    ("azure-monitor", _azure(monitorCondition="Fired"), "data.essentials.alertId is missing"),
    ("azure-monitor", _azure(alertId="a"), "data.essentials.monitorCondition is missing"),
    ("azure-monitor", _azure(alertId="a", monitorCondition="x"), "must be Fired or Resolved"),
    ("defender", {"AlertDisplayName": "x"}, "SystemAlertId is missing"),
    ("defender", {"name": "", "properties": {}}, "properties.systemAlertId is missing"),
    ("sentinel", {}, "object is missing"),
    ("sentinel", {"object": {}}, "object.properties is missing"),
    ("sentinel", {"object": {"properties": {}}}, "object.name is missing"),
    ("alertmanager", {}, "alerts is missing"),
    ("alertmanager", {"alerts": {}}, "alerts must be a list"),
    ("alertmanager", {"alerts": [{}, 3]}, "alerts[1] must be an object"),
    ("grafana", {"alerts": "x"}, "alerts must be a list"),
    ("pagerduty", {}, "event is missing"),
    ("pagerduty", {"event": {"data": {}}}, "event.event_type is missing"),
    ("pagerduty", {"event": {"event_type": "incident.triggered"}}, "event.data is missing"),
    (
        "pagerduty",
        {"event": {"event_type": "incident.triggered", "data": {"type": "incident"}}},
        "event.data.id is missing",
    ),
    ("datadog", {"body": "x"}, "alert_cycle_key is missing"),
    ("datadog", "text", "must be a JSON object"),
]


@pytest.mark.parametrize(("source", "payload", "message"), WRONG_SHAPES)
def test_wrong_shape_is_a_payload_error(source: str, payload: Any, message: str) -> None:
    with pytest.raises(PayloadError) as error:
        parse(source, payload, received_at=NOW)
    assert message in str(error.value)


def test_unknown_source() -> None:
    with pytest.raises(UnknownSource) as error:
        parse("nagios", {}, received_at=NOW)
    assert error.value.source == "nagios"
    assert not isinstance(error.value, PayloadError)


def test_sources_are_the_routes() -> None:
    assert SOURCES == (
        "generic",
        "azure-monitor",
        "defender",
        "sentinel",
        "alertmanager",
        "grafana",
        "pagerduty",
        "datadog",
        "gcp",
        "cloudevents",
        "opsgenie",
        "aws-sns",
    )


# --- grouping --------------------------------------------------------------------------------

VM_WEB_01 = [
    ("azure_monitor_fired.json", 0),
    ("defender_alert.json", 0),
    ("sentinel_incident.json", 0),
    ("alertmanager_firing.json", 0),
    ("pagerduty_v3_triggered.json", 0),
    ("datadog.json", 0),
]


def test_vm_web_01_examples_share_keys() -> None:
    alerts = [example_alert(name, index) for name, index in VM_WEB_01]
    for alert in alerts:
        assert "host:vm-web-01" in alert.correlation_keys, alert.source
        for other in alerts:
            assert related(alert, other.correlation_keys)


def test_exact_cross_source_links() -> None:
    defender = example_alert("defender_alert.json")
    sentinel = example_alert("sentinel_incident.json")
    assert f"defender-alert:{DEFENDER_ID}" in defender.correlation_keys & sentinel.correlation_keys
    azure = example_alert("azure_monitor_fired.json")
    pagerduty = example_alert("pagerduty_v3_triggered.json")
    link = "azure-alert:6f3e2f4c9b1a4c558c1e2b7d0a9e4f11"
    assert link in azure.correlation_keys & pagerduty.correlation_keys
    assert f"resource:{VM_ID}" in azure.correlation_keys & defender.correlation_keys


def test_grafana_shares_nothing_with_vm_web_01() -> None:
    grafana = example_alert("grafana_firing.json")
    for name, index in VM_WEB_01:
        assert not related(grafana, example_alert(name, index).correlation_keys)


def test_alertmanager_group_does_not_merge_different_hosts() -> None:
    """A route's groupKey spans hosts (grouped by alert name): it is not a correlation key."""
    first, second = parse("alertmanager", example("alertmanager_firing.json"), received_at=NOW)
    assert "host:vm-web-02" in second.correlation_keys
    assert "host:vm-web-01" not in second.correlation_keys
    assert not first.correlation_keys & second.correlation_keys


def test_correlation_keys_normalise() -> None:
    keys = correlation_keys(
        resources=[VM_ID.upper(), "/subscriptions/x/resourceGroups/rg", "localhost", " Unknown"],
        hosts=["VM-WEB-01.contoso.com:9100", "10.0.0.5:9100", "", "localhost:9090"],
        other=["azure-alert:", "defender-alert:abc"],
    )
    assert keys == {
        f"resource:{VM_ID}",
        "host:vm-web-01",
        "fqdn:vm-web-01.contoso.com",  # the full name, beside its first label
        "host:10.0.0.5",
        "defender-alert:abc",
    }


def test_pick_incident() -> None:
    window = timedelta(minutes=60)
    keys = frozenset({"host:vm-web-01", "azure-alert:abc"})
    incidents = [
        (7, frozenset({"host:vm-web-01"}), NOW - timedelta(minutes=50)),
        (9, frozenset({"azure-alert:abc"}), NOW - timedelta(minutes=5)),
        (8, frozenset({"host:vm-web-01"}), NOW - timedelta(minutes=90)),  # too old
        (10, frozenset({"host:other"}), NOW),  # unrelated
    ]
    assert pick_incident(keys, incidents, now=NOW, window=window) == 9
    assert pick_incident(keys, incidents[:1] + incidents[2:], now=NOW, window=window) == 7
    assert pick_incident(keys, incidents[2:], now=NOW, window=window) is None
    assert pick_incident(frozenset(), incidents, now=NOW, window=window) is None
    tie = [(3, keys, NOW), (4, keys, NOW)]
    assert pick_incident(keys, tie, now=NOW, window=window) == 4


def test_hosts_of_one_name_in_two_domains_are_two_hosts() -> None:
    """A first label in common is the same host where at most one side knows its full name;
    where both do and the names differ, they are two machines."""
    window = timedelta(minutes=60)

    def keys(host: str) -> frozenset[str]:
        return correlation_keys(hosts=[host])

    corp = [(1, keys("web-01.corp.example.com"), NOW)]
    assert (
        pick_incident(keys("web-01.staging.example.net:9100"), corp, now=NOW, window=window) is None
    )
    for same in ("web-01", "WEB-01.corp.example.com:9100", "http://web-01.corp.example.com/"):
        assert pick_incident(keys(same), corp, now=NOW, window=window) == 1, same
    bare = [(2, keys("web-01"), NOW)]
    assert pick_incident(keys("web-01.staging.example.net"), bare, now=NOW, window=window) == 2
    both = keys("web-01.staging.example.net") | {"defender-alert:abc"}
    other_key = [(3, keys("web-01.corp.example.com") | {"defender-alert:abc"}, NOW)]
    assert pick_incident(both, other_key, now=NOW, window=window) == 3  # another key in common


# --- timestamps ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1763114892000", datetime(2025, 11, 14, 10, 8, 12, tzinfo=UTC)),
        (1763114892000, datetime(2025, 11, 14, 10, 8, 12, tzinfo=UTC)),
        ("1763114892", datetime(2025, 11, 14, 10, 8, 12, tzinfo=UTC)),
        ("2025-11-14T10:07:12.4418207Z", datetime(2025, 11, 14, 10, 7, 12, 441820, tzinfo=UTC)),
        ("2025-11-14T11:07:12+01:00", datetime(2025, 11, 14, 10, 7, 12, tzinfo=UTC)),
        ("2025-11-14T10:07:12", datetime(2025, 11, 14, 10, 7, 12, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", None),
        ("0001-01-01T00:00:00+01:00", None),
        ("9999-12-31T23:59:59-01:00", None),
        ("", None),
        ("soon", None),
        (True, None),
        (None, None),
        (float("inf"), None),
        ("99999999999999999999", None),
        ({"t": 1}, None),
    ],
)
def test_parse_time(value: object, expected: datetime | None) -> None:
    assert fields.parse_time(value) == expected


# --- property: any JSON value -> alerts or PayloadError ---------------------------------------

SHORT_TEXT = st.text(st.characters(max_codepoint=0x2FF), max_size=12)
KNOWN_KEYS = st.sampled_from(
    [
        "alerts",
        "data",
        "essentials",
        "alertId",
        "monitorCondition",
        "schemaId",
        "event",
        "event_type",
        "object",
        "properties",
        "name",
        "status",
        "labels",
        "Entities",
        "$ref",
        "$id",
        "Type",
        "title",
        "severity",
        "fingerprint",
        "alert_cycle_key",
        "SystemAlertId",
    ]
)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | SHORT_TEXT,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(KNOWN_KEYS | SHORT_TEXT, children, max_size=5)
    ),
    max_leaves=15,
)
INTERESTING_TEXT = st.sampled_from(
    [
        "0001-01-01T00:00:00Z",
        "1763114892000",
        "Resolved",
        "resolved",
        "Recovered",
        "High",
        "Sev0",
        "P1",
        "critical",
        "$ref",
        "4",
        "host",
        "incident",
        "incident.resolved",
        "/subscriptions/x/resourceGroups/r/providers/Microsoft.Compute/virtualMachines/vm",
        "javascript:alert(1)",
        "",
    ]
)
VALUES = JSON | INTERESTING_TEXT
GENERIC_EXAMPLE = {
    "title": "Disk almost full",
    "description": "d",
    "severity": "sev2",
    "status": "firing",
    "dedup_key": "k",
    "id": "i",
    "resource": "db-01",
    "link": "https://example.com",
    "entities": {"hosts": ["db-01"], "ips": [], "accounts": ["a"]},
    "started_at": "2025-11-14T10:00:00Z",
}
FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def check_contract(source: str, payload: object) -> None:
    try:
        alerts = parse(source, payload, received_at=NOW)
    except PayloadError as error:
        assert str(error)
        return
    assert isinstance(alerts, list)
    for alert in alerts:
        assert alert.source == source
        assert alert.dedup_key.startswith(f"{source}:")
        assert alert.title and len(alert.title) <= fields.TITLE_MAX
        assert len(alert.description) <= fields.DESCRIPTION_MAX
        assert alert.link is None or alert.link.startswith(("http://", "https://"))
        assert alert.started_at is not None and alert.started_at.tzinfo is not None
        assert (alert.ended_at is not None) == (alert.status is AlertStatus.RESOLVED)
        assert all(isinstance(key, str) for key in alert.correlation_keys)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


def mutate(payload: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    node = payload
    for step in path[:-1]:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return payload
    if isinstance(node, dict | list):
        with contextlib.suppress(IndexError, TypeError):
            node[path[-1]] = value
    return payload


MORE_SHAPES = {  # a source's other shapes, fuzzed too
    "defender": [SAMPLES / "defender" / "graph_docs_list_alerts_v2.json"],
}


@functools.cache
def examples_for(source: str) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """The source's examples as JSON text (copied per use by decoding), each with its paths:
    its published sample, and the shared example when it is beside the checkout."""
    if source == "generic":
        payloads: list[Any] = [GENERIC_EXAMPLE]
    else:
        shared = [EXAMPLES / name for name, named in EXAMPLE_SOURCES.items() if named == source]
        payloads = [sample_for(source)]
        payloads += [json.loads(p.read_text(encoding="utf-8")) for p in shared if p.is_file()]
        payloads += [json.loads(p.read_text(encoding="utf-8")) for p in MORE_SHAPES.get(source, ())]
    return [(json.dumps(payload), paths(payload)) for payload in payloads]


@st.composite
def mutated_example(draw: st.DrawFn, source: str) -> Any:
    """One of the source's examples with a few values (or whole sub-trees) replaced by
    arbitrary JSON."""
    text, candidates = draw(st.sampled_from(examples_for(source)))
    payload = json.loads(text)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        payload = mutate(payload, draw(st.sampled_from(candidates)), draw(VALUES))
    return payload


@pytest.mark.parametrize("source", SOURCES)
@FUZZ
@given(data=st.data())
def test_any_json_gives_alerts_or_payload_error(source: str, data: st.DataObject) -> None:
    payload = data.draw(JSON | mutated_example(source) | mutated_example(source), label="payload")
    check_contract(source, payload)
