"""A Microsoft Defender XDR alert from Microsoft Graph (`alerts_v2`), posted to /alerts/defender
alone or as the page Graph lists them in: read as the alert it is, grouped with what it came
from, and a malformed one refused with the field named."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bridgekeeper.domain.alerts.model import Alert, AlertStatus, PayloadError
from bridgekeeper.domain.alerts.parse import parse
from bridgekeeper.domain.alerts.sniff import looks_like
from bridgekeeper.domain.incidents import Severity
from tests.examples import SAMPLES

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ALERT_ID = "da637551227677560813_-961444813"
TENANT = "b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c"
VM = (
    "/subscriptions/8700d3a3-3bb7-4fbe-a090-488a1ad04161/resourcegroups/wdatpapi-eus-stg"
    "/providers/microsoft.compute/virtualmachines/nirlavitests"
)


def page() -> dict[str, Any]:
    text = (SAMPLES / "defender" / "graph_docs_list_alerts_v2.json").read_text(encoding="utf-8")
    return dict(json.loads(text))


def one(**changes: Any) -> dict[str, Any]:
    """The published page's alert, with `changes`."""
    return {**copy.deepcopy(page()["value"][0]), **changes}


def read(payload: object) -> list[Alert]:
    return parse("defender", payload, received_at=NOW)


def test_an_alert_alone_reads_as_it_does_in_its_page() -> None:
    [alone], [paged] = read(one()), read(page())
    assert alone == paged
    assert (alone.title, alone.severity, alone.source_severity, alone.status) == (
        "Suspicious execution of hidden file",
        Severity.SEV4,
        "low",
        AlertStatus.FIRING,
    )
    assert alone.dedup_key == f"defender:{ALERT_ID}" and alone.external_id == ALERT_ID
    assert alone.link == f"https://security.microsoft.com/alerts/{ALERT_ID}?tid=" + (
        "b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c"
    )
    assert alone.started_at == datetime(2021, 4, 26, 7, 45, 50, 116000, tzinfo=UTC)
    assert alone.ended_at is None
    assert alone.resource == VM and alone.entities == {"hosts": ["tempDns"]}
    assert alone.description.startswith("Raised by Microsoft Defender for Endpoint.\nA hidden")
    assert "MITRE ATT&CK: T1564.001\nRecommended actions:\nCollect artifacts" in alone.description


def test_it_groups_with_its_device_its_defender_incident_and_its_provider_alert() -> None:
    [alert] = read(one())
    assert {
        f"resource:{VM}",
        "host:nirlavitests",
        "host:tempdns",
        f"defender-alert:{ALERT_ID}",
        f"defender-incident:{TENANT}:28282",  # incidents are numbered within their tenant
    } == set(alert.correlation_keys)


def test_a_defender_for_cloud_alert_seen_through_graph_groups_with_the_one_sent_direct() -> None:
    cloud = json.loads(
        (SAMPLES / "defender" / "asc_docs_workflow_automation_alert.json").read_text()
    )
    [direct] = read(cloud)
    [through_graph] = read(
        one(id="dc-1", providerAlertId=cloud["SystemAlertId"], incidentId="7", evidence=[])
    )
    assert direct.correlation_keys & through_graph.correlation_keys
    assert direct.dedup_key != through_graph.dedup_key  # two cards, one incident


def test_a_resolved_alert_ends_when_defender_resolved_it_and_says_false_positive() -> None:
    [alert] = read(
        one(
            status="resolved",
            classification="falsePositive",
            resolvedDateTime="2021-05-03T08:00:00Z",
        )
    )
    assert alert.status is AlertStatus.RESOLVED
    assert alert.ended_at == datetime(2021, 5, 3, 8, tzinfo=UTC)
    assert alert.description.endswith("Resolved in Microsoft Defender as a false positive.")
    [in_progress] = read(one(status="inProgress", classification="falsePositive"))
    assert in_progress.status is AlertStatus.FIRING and "false positive" not in (
        in_progress.description
    )


@pytest.mark.parametrize(
    ("severity", "category", "expected"),
    [
        ("high", "Impact", Severity.SEV1),
        ("high", "LateralMovement", Severity.SEV1),
        ("high", "DefenseEvasion", Severity.SEV2),
        ("medium", "Exfiltration", Severity.SEV3),
        ("informational", "Discovery", Severity.SEV4),
        ("unknownFutureValue", "Discovery", Severity.SEV3),
    ],
)
def test_severity_as_for_defender_for_cloud(
    severity: str, category: str, expected: Severity
) -> None:
    [alert] = read(one(severity=severity, category=category))
    assert alert.severity is expected and alert.source_severity == severity


def test_addresses_and_users_come_from_the_evidence() -> None:
    evidence = [
        {"@odata.type": "#microsoft.graph.security.ipEvidence", "ipAddress": "203.0.113.7"},
        {
            "@odata.type": "#microsoft.graph.security.userEvidence",
            "userAccount": {"accountName": "jdoe", "domainName": "CONTOSO"},
        },
        {
            "@odata.type": "#microsoft.graph.security.userEvidence",
            "userAccount": {"accountName": "ann", "userPrincipalName": "ann@contoso.com"},
        },
        {
            "@odata.type": "#microsoft.graph.security.azureResourceEvidence",
            "resourceId": "/subscriptions/1/resourceGroups/rg/providers/Microsoft.KeyVault"
            "/vaults/kv-prod",
        },
    ]
    [alert] = read(one(evidence=evidence))
    assert alert.entities == {
        "ips": ["203.0.113.7"],
        "accounts": ["CONTOSO\\jdoe", "ann@contoso.com"],
    }
    assert alert.resource == (
        "/subscriptions/1/resourcegroups/rg/providers/microsoft.keyvault/vaults/kv-prod"
    )


def test_a_page_of_several_alerts_gives_one_each() -> None:
    second = one(id="da2", title="Ransomware behavior detected", severity="high", category="Impact")
    alerts = read({"value": [one(), second]})
    assert [(a.title, a.severity) for a in alerts] == [
        ("Suspicious execution of hidden file", Severity.SEV4),
        ("Ransomware behavior detected", Severity.SEV1),
    ]


@pytest.mark.parametrize(
    ("payload", "said"),
    [
        ({"value": [one(), "not an alert"]}, "value[1] must be an object"),
        ({"value": [one(id="")]}, "value[0].id is missing"),
        ({"value": [one(), {"title": "Disk full"}]}, "value[1] is not a Microsoft Graph"),
        ({"value": [one()] * 1001}, "value holds 1001 alerts, more than 1000"),
        ({key: value for key, value in one().items() if key != "id"}, "id is missing"),
    ],
)
def test_a_malformed_graph_alert_is_refused_naming_the_field(payload: object, said: str) -> None:
    with pytest.raises(PayloadError, match=said.replace("[", r"\[").replace("]", r"\]")):
        read(payload)


def test_other_lists_are_not_taken_for_a_page_of_alerts() -> None:
    """An ARM list of Defender for Cloud's alerts or assessments, and a page of Graph's
    incidents, are refused as before: none of them is a page of Graph security alerts."""
    cloud = json.loads(
        (SAMPLES / "defender" / "rest_api_example_get_alert_subscription_location.json").read_text()
    )
    incident = {
        "id": "29",
        "incidentWebUrl": "https://security.microsoft.com/incidents/29",
        "severity": "high",
        "displayName": "Multi-stage incident",
    }
    assessment = {"type": "Microsoft.Security/assessments", "id": "/subscriptions/1/a/2"}
    for listed in (cloud, incident, assessment):
        with pytest.raises(PayloadError, match="SystemAlertId is missing"):
            read({"value": [listed]})
    with pytest.raises(PayloadError):
        read({"value": []})  # a page of what?


def test_an_empty_page_of_alerts_has_none() -> None:
    context = "https://graph.microsoft.com/v1.0/$metadata#security/alerts_v2"
    assert read({"@odata.context": context, "value": []}) == []


def test_how_defender_closed_it_is_said() -> None:
    [expected] = read(one(status="resolved", classification="informationalExpectedActivity"))
    assert expected.description.endswith("Resolved in Microsoft Defender as expected activity.")
    [open_one] = read(one(classification="informationalExpectedActivity"))
    assert "expected activity" not in open_one.description


def test_a_high_ransomware_alert_is_a_sev1() -> None:
    assert read(one(severity="high", category="Ransomware"))[0].severity is Severity.SEV1


def test_an_aks_clusters_evidence_gives_the_cluster_as_the_resource() -> None:
    cluster = (
        "/subscriptions/1/resourceGroups/rg/providers/Microsoft.ContainerService"
        "/managedClusters/aks-prod"
    )
    evidence = [
        {
            "@odata.type": "#microsoft.graph.security.kubernetesClusterEvidence",
            "name": "aks-prod",
            "cloudResource": {"resourceId": cluster},
        }
    ]
    [alert] = read(one(evidence=evidence))
    assert alert.resource == cluster.lower() and "hosts" not in alert.entities


def test_the_evidence_read_is_bounded() -> None:
    device = {"@odata.type": "#microsoft.graph.security.deviceEvidence"}
    evidence = [device | {"deviceDnsName": f"host-{n}"} for n in range(5000)]
    [alert] = read(one(evidence=evidence))
    assert len(alert.entities["hosts"]) <= 1000


def test_a_graph_alert_posted_elsewhere_is_recognised() -> None:
    for body in (one(), page()):
        shape = looks_like(body)
        assert shape is not None and shape.route == "/alerts/defender"
        assert "Defender XDR" in shape.name


def test_an_aks_cluster_named_as_the_compromised_entity_is_not_a_host() -> None:
    """Defender for Cloud names the cluster in `CompromisedEntity`: it is the alert's resource,
    not a machine, and must not group the alert with a host of that name."""
    sample = (SAMPLES / "defender" / "sumologic_docs_continuous_export_alert.json").read_text()
    [alert] = read(json.loads(sample))
    assert "hosts" not in alert.entities
    assert not any(key.startswith("host:") for key in alert.correlation_keys)
    assert alert.resource is not None and "/managedclusters/k8s--295-aks1-28-otc-dev-v4" in (
        alert.resource.lower()
    )
    machine = json.loads(sample) | {"CompromisedEntity": "vm-web-01"}
    [on_a_machine] = read(machine)
    assert on_a_machine.entities["hosts"] == ["vm-web-01"]
    # Microsoft's own sample names its VM `.../Microsoft.Compute/WebSrv1` (no type): a host still
    published = json.loads(
        (SAMPLES / "defender" / "asc_docs_workflow_automation_alert.json").read_text()
    )
    [websrv] = read(published)
    assert websrv.entities["hosts"] == ["WebSrv1"] and "host:websrv1" in websrv.correlation_keys
