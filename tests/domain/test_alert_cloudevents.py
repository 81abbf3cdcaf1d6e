"""CloudEvents mapped to alerts: samples in tests/samples/cloudevents, see its README."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bridgekeeper.domain.alerts.model import Alert, AlertStatus, PayloadError
from bridgekeeper.domain.alerts.parse import parse
from bridgekeeper.domain.incidents import Severity
from tests.examples import SAMPLES

NOW = datetime(2025, 11, 14, 10, 30, tzinfo=UTC)
VM = (
    "/subscriptions/7d2f1c3a-5b8e-4e6f-9a1b-2c3d4e5f6a7b/resourcegroups/rg-prod-web"
    "/providers/microsoft.compute/virtualmachines/vm-web-01"
)


def sample(name: str) -> Any:
    return json.loads((SAMPLES / "cloudevents" / name).read_text(encoding="utf-8"))


def one(payload: Any, source: str = "cloudevents") -> Alert:
    [alert] = parse(source, [payload] if source == "cloudevents" else payload, received_at=NOW)
    return alert


def test_resource_health_unavailable_fires_and_available_resolves_it() -> None:
    down, up = (
        one(sample("resource_health_unavailable.json")),
        one(sample("resource_health_available.json")),
    )
    assert down.title == "vm-web-01 is unavailable" and down.severity is Severity.SEV2
    assert down.status is AlertStatus.FIRING and down.resource == VM
    assert "Availability: Unavailable (was Available)" in down.description
    assert "host:vm-web-01" in down.correlation_keys
    assert up.dedup_key == down.dedup_key and up.status is AlertStatus.RESOLVED
    assert down.delivery_id != up.delivery_id


def test_a_health_annotation_says_why() -> None:
    alert = one(sample("resource_health_annotated.json"))
    assert alert.title == "vm-web-01: Unexpected host failure"
    assert alert.severity is Severity.SEV4
    assert "host server running this virtual machine failed" in alert.description


def test_a_falco_event_names_the_rule_and_the_host() -> None:
    alert = one(sample("falco.json"))
    assert alert.title == "Terminal shell in container on node-pool-a-3"
    assert (alert.severity, alert.source_severity) == (Severity.SEV4, "Notice")
    assert "A shell was spawned in a container" in alert.description
    assert alert.started_at == datetime(2025, 11, 14, 10, 5, 12, 345678, tzinfo=UTC)
    assert alert.delivery_id == "falco.org#3f1c9e2a-7b4d-4c8e-9a1f-2d3e4f5a6b7c"


def test_any_other_event_follows_the_documented_rules() -> None:
    alert = one(sample("deploy_failed.json"))
    assert alert.title == "Deployment of checkout v2.14.0 failed"
    assert alert.severity is Severity.SEV2 and alert.resource == "deploy-runner-2"
    assert alert.link == "https://deploy.example.com/runs/8812"
    resolved = sample("deploy_failed.json") | {"id": "deploy-8813"}
    resolved["data"] = resolved["data"] | {"status": "resolved"}
    assert one(resolved).status is AlertStatus.RESOLVED
    assert one(resolved).dedup_key == alert.dedup_key  # same source, type and subject


def test_an_event_without_data_fields_is_titled_by_its_subject_or_type() -> None:
    bare = {"specversion": "1.0", "id": "1", "source": "/x", "type": "com.example.ping"}
    assert one(bare).title == "com.example.ping"
    assert one(bare | {"subject": "db-01 backup"}).title == "db-01 backup"
    assert one(bare | {"data": "plain text"}).title == "plain text"


def test_a_cloudevent_posted_to_generic_is_read_as_one() -> None:
    alert = one(sample("falco.json"), source="generic")
    assert alert.source == "cloudevents" and alert.title.startswith("Terminal shell")


@pytest.mark.parametrize(
    ("event", "said"),
    [
        ({"specversion": "1.0", "id": "1", "source": "/x"}, "type is missing"),
        ({"specversion": "0.3", "id": "1", "source": "/x", "type": "t"}, "specversion"),
        ("not an event", "must be an object"),
    ],
)
def test_a_malformed_event_is_refused_by_name(event: Any, said: str) -> None:
    with pytest.raises(PayloadError, match=said):
        parse("cloudevents", [event], received_at=NOW)
