"""`POST /alerts/cloudevents` end to end, in CloudEvents' three HTTP content modes, with Event
Grid's OPTIONS handshake; a redelivered event changes nothing; bad input names the problem."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bridgekeeper.config import load_settings
from bridgekeeper.sandbox import SlackEmulator
from tests.alerting import alert, alerts, bridgekeepers, card_texts, post
from tests.conftest import ALERT_TOKEN, Running
from tests.domain.test_alert_cloudevents import sample
from tests.examples import SAMPLES

STRUCTURED = {"Content-Type": "application/cloudevents+json; charset=utf-8"}
BATCH = {"Content-Type": "application/cloudevents-batch+json"}


@pytest.fixture
async def app(db_url: str, emulator: SlackEmulator) -> AsyncIterator[Running]:
    async with bridgekeepers(db_url, emulator) as start:
        yield await start()


def binary(event: dict[str, object]) -> tuple[bytes, dict[str, str]]:
    """The event in binary mode: attributes as ce-* headers, the data as the body."""
    unsent = ("data", "datacontenttype")
    headers = {f"ce-{k}": str(v) for k, v in event.items() if k not in unsent and v is not None}
    return json.dumps(event["data"]).encode(), {**headers, "Content-Type": "application/json"}


async def test_structured_then_batch_fire_and_resolve_a_resource_health_card(app: Running) -> None:
    fired = await post(
        app, "cloudevents", sample("resource_health_unavailable.json"), headers=STRUCTURED
    )
    assert fired.status == 202, fired.body
    alert_id = fired.body["alert_id"]
    await app.settle()
    [card] = card_texts(app)
    assert "vm-web-01 is unavailable" in card

    batch = [sample("resource_health_annotated.json"), sample("resource_health_available.json")]
    answer = await post(app, "cloudevents", batch, headers=BATCH)
    assert [a["result"] for a in answer.body["alerts"]] == ["new", "resolved"]
    assert answer.body["alerts"][1]["alert_id"] == alert_id
    await app.settle()
    assert (await alert(app, alert_id)).status == "resolved"
    annotation = await alert(app, answer.body["alerts"][0]["alert_id"])
    assert annotation.title == "vm-web-01: Unexpected host failure"  # SEV4: stored, no card


async def test_a_binary_mode_falco_event_is_carded_once_however_often_it_is_sent(
    app: Running,
) -> None:
    event = sample("falco.json")
    event["data"]["priority"] = "Critical"  # Notice is SEV4: stored without a card
    body, headers = binary(event)
    for _ in range(3):  # the SDK retries: the same source + id
        answer = await post(app, "cloudevents", body, headers=headers)
        assert answer.status == 202, answer.body
    assert [a.occurrences for a in await alerts(app)] == [1]
    await app.settle()
    [card] = card_texts(app)
    assert "Terminal shell in container on node-pool-a-3" in card


async def test_generic_takes_cloudevents_in_every_mode(app: Running) -> None:
    assert (await post(app, "generic", sample("deploy_failed.json"))).status == 202
    body, headers = binary(sample("falco.json"))
    assert (await post(app, "generic", body, headers=headers)).status == 202
    assert sorted(a.source for a in await alerts(app)) == ["cloudevents", "cloudevents"]


async def test_event_grid_handshake_needs_the_token(app: Running) -> None:
    origin = {"WebHook-Request-Origin": "eventgrid.azure.net"}
    async with aiohttp.ClientSession() as session:
        url = f"{app.url}/alerts/cloudevents?token={ALERT_TOKEN}"
        async with session.options(url, headers=origin) as response:
            assert response.status == 200
            assert response.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"
        async with session.options(f"{app.url}/alerts/cloudevents", headers=origin) as response:
            assert response.status == 401
        async with session.options(url) as response:
            assert response.status == 400


@pytest.mark.parametrize(
    ("body", "headers", "status", "said"),
    [
        (b"{not json", STRUCTURED, 400, "not valid JSON"),
        (b'{"specversion": "1.0", "id": "1", "source": "/x"}', STRUCTURED, 422, "type"),
        (b'{"specversion": "1.0"}', BATCH, 422, "JSON array"),
        (b'[{"specversion": "1.0", "id": "1"}]', BATCH, 422, "CloudEvent"),
        (b"{}", {"ce-specversion": "1.0", "ce-id": "1", "ce-type": "t"}, 422, "source"),
    ],
)
async def test_bad_events_are_refused_and_nothing_stored(
    app: Running, body: bytes, headers: dict[str, str], status: int, said: str
) -> None:
    answer = await post(app, "cloudevents", body, headers=headers)
    assert answer.status == status and said in answer.body["error"], answer.body
    assert await alerts(app) == []


MAPPING = """
[cloudevents.types."com.example.deploy.failed"]
title = "{{ data.service }} deploy {{ data.version }} failed"
severity = "{{ data.level }}"
severity_map = { red = "sev1", amber = "sev3" }
status = "{{ data.outcome }}"
resolved_values = ["rolled-back"]
dedup_key = "{{ data.service }}"
resource = "{{ subject }}"

[cloudevents.types."com.example.latency.high"]
title = "{{ data.service }} latency is high"
dedup_key = "{{ data.service }}"
"""


async def test_a_type_mapped_in_the_configuration_is_read_by_its_mapping(
    db_url: str, emulator: SlackEmulator, tmp_path: Path
) -> None:
    config = tmp_path / "bridgekeeper.toml"
    config.write_text(MAPPING, encoding="utf-8")
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "secret"}
    types = load_settings(env, config_path=str(config)).alerts.cloudevent_types
    event = {
        "specversion": "1.0",
        "id": "d-1",
        "source": "https://deploy.example.com",
        "type": "com.example.deploy.failed",
        "subject": "orders-api",
        "time": "2025-11-14T10:07:00Z",
        "data": {"service": "orders", "version": "v2.14", "level": "red", "outcome": "failed"},
    }
    async with bridgekeepers(db_url, emulator) as start:
        app = await start(cloudevent_types=types)
        fired = await post(app, "cloudevents", event, headers=STRUCTURED)
        stored = await alert(app, fired.body["alert_id"])
        assert (stored.title, stored.severity, stored.resource) == (
            "orders deploy v2.14 failed",
            "sev1",
            "orders-api",
        )
        latency = event | {"id": "l-1", "type": "com.example.latency.high"}
        slow = await post(app, "cloudevents", latency, headers=STRUCTURED)  # the same key text
        assert slow.body["result"] == "new" and slow.body["alert_id"] != stored.id
        back = event | {"id": "d-2", "data": event["data"] | {"outcome": "rolled-back"}}
        answer = await post(app, "cloudevents", back, headers=STRUCTURED)
        assert answer.body["result"] == "resolved" and answer.body["alert_id"] == stored.id
        assert (await alert(app, slow.body["alert_id"])).status == "firing"


async def test_the_event_grid_documentations_health_events_in_a_batch(app: Running) -> None:
    batch = [
        sample("eventgrid_docs_resource_annotated.json"),
        sample("eventgrid_docs_availability_status_changed.json"),
    ]
    answer = await post(app, "cloudevents", batch, headers=BATCH)
    assert answer.status == 202, answer.body
    annotated, available = [await alert(app, a["alert_id"]) for a in answer.body["alerts"]]
    assert annotated.title == "{vm-name}: Stopping and deallocating"
    assert annotated.severity == "sev4" and "Customer Initiated" in annotated.description
    assert available.title == "{vm-name} is available" and available.status == "resolved"
    assert available.resource is not None and available.resource.endswith("/{vm-name}")
    again = await post(app, "cloudevents", batch, headers=BATCH)  # Event Grid retries
    assert [a["alert_id"] for a in again.body["alerts"]] == [
        a["alert_id"] for a in answer.body["alerts"]
    ]
    assert [a.occurrences for a in await alerts(app)] == [1, 1]


async def test_the_specifications_examples_in_each_mode(app: Running) -> None:
    structured = await post(app, "cloudevents", sample("spec_json_data.json"), headers=STRUCTURED)
    assert structured.status == 202, structured.body
    published = sample("spec_batch.json")  # its data_base64 is a placeholder, not base64
    refused = await post(app, "cloudevents", published, headers=BATCH)
    assert refused.status == 422 and "data_base64" in refused.body["error"], refused.body
    assert len(await alerts(app)) == 1
    published[0]["data_base64"] = base64.b64encode(b"...raw binary bytes...").decode()
    batch = await post(app, "cloudevents", published, headers=BATCH)
    assert batch.status == 202, batch.body
    body, headers = binary(sample("spec_json_data.json") | {"id": "C234-binary"})
    assert (await post(app, "cloudevents", body, headers=headers)).status == 202
    rows = await alerts(app)  # the binary copy repeats the structured one: same type, same data
    assert sorted((a.title, a.occurrences) for a in rows) == [
        ("com.example.someevent", 1),
        ("com.example.someevent", 2),
        ("com.example.someotherevent", 1),
    ]
    await app.settle()
    assert any("com.example.someotherevent" in card for card in card_texts(app))


async def test_falcos_documented_output_as_falcosidekick_sends_it(app: Running) -> None:
    output = (SAMPLES / "cloudevents" / "falco_docs_output.json").read_bytes()
    headers = {  # Falcosidekick's CloudEvents output: binary mode, Falco's JSON as the data
        "ce-specversion": "1.0",
        "ce-id": "9c9b1b0e-8f47-4b3a-9d6f-1a2b3c4d5e6f",
        "ce-source": "falco.org",
        "ce-type": "falco.rule.output.v1",
        "ce-time": "2019-05-17T15:31:56.746609046Z",
        "Content-Type": "application/json",
    }
    answer = await post(app, "cloudevents", output, headers=headers)
    assert answer.status == 202, answer.body
    stored = await alert(app, answer.body["alert_id"])
    assert (stored.title, stored.severity, stored.source_severity) == (
        "Write below binary dir",
        "sev2",
        "Error",
    )
    assert "touch /bin/hack" in stored.description
    await app.settle()
    assert any("Write below binary dir" in card for card in card_texts(app))
