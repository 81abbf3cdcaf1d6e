"""The Opsgenie-compatible Alert API: a client written for Opsgenie creates, acknowledges, notes
and closes an alert, and the triage card follows. Requests: tests/samples/opsgenie (README)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bridgekeeper.sandbox import SlackEmulator
from tests.alerting import alert, alerts, bridgekeepers, card_texts, post, triage_channel
from tests.conftest import ALERT_TOKEN, Running
from tests.examples import SAMPLES
from tests.services.test_lifecycle import timeline


def sample(name: str) -> Any:
    return json.loads((SAMPLES / "opsgenie" / name).read_text(encoding="utf-8"))


@pytest.fixture
async def app(db_url: str, emulator: SlackEmulator) -> AsyncIterator[Running]:
    async with bridgekeepers(db_url, emulator) as start:
        yield await start()


async def call(
    app: Running, path: str, body: Any = None, key: str = ALERT_TOKEN
) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"GenieKey {key}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{app.url}/v2/alerts{path}", json=body, headers=headers) as response,
    ):
        return response.status, await response.json()


async def test_create_acknowledge_note_close_as_an_opsgenie_client_would(app: Running) -> None:
    status, created = await call(app, "", sample("create.json"))
    assert status == 202 and created["result"] == "Request will be processed"
    assert created["requestId"] and isinstance(created["took"], float)
    await app.settle()
    [card] = card_texts(app)
    assert "Checkout API 5xx rate above 5%" in card and "SEV1" in card
    assert "region: eu-west-1" in card and "Opsgenie API" in card

    by_alias = "/checkout-api-5xx/{}?identifierType=alias"
    assert (await call(app, by_alias.format("acknowledge"), {"user": "Monitoring Script"}))[
        0
    ] == 202
    assert (await call(app, by_alias.format("notes"), {"note": "Rolled back v2.14"}))[0] == 202
    await app.settle()
    [card] = card_texts(app)
    assert "Acknowledged by Monitoring Script" in card and "Rolled back v2.14" in card

    [row] = await alerts(app)
    assert (await call(app, f"/{row.id}/close", {"note": "fixed"}))[0] == 202  # by id
    await app.settle()
    assert (await alert(app, row.id)).status == "resolved"
    assert "*Status:* resolved" in card_texts(app)[0]


async def test_alertmanagers_integration_creates_again_as_a_repeat_then_closes_by_alias(
    app: Running,
) -> None:
    body = sample("alertmanager_create.json")
    for _ in range(2):
        assert (await call(app, "", body))[0] == 202
    [row] = await alerts(app)
    assert row.occurrences == 2 and row.title.startswith("[FIRING:1] NodeFilesystemAlmostFull")
    assert "host:db-01" in row.correlation_keys
    status, _ = await call(app, f"/{body['alias']}/close?identifierType=alias")
    assert status == 202 and (await alert(app, row.id)).status == "resolved"


async def test_a_note_on_an_alert_in_an_incident_goes_on_its_timeline(app: Running) -> None:
    await call(app, "", sample("create.json"))
    await app.settle()
    [row] = await alerts(app)
    card = next(m for m in app.slack.messages(triage_channel(app)))
    await app.driver.block_action(
        user="U0ALICE",
        action_id="alert_declare",
        value=str(row.id),
        channel=triage_channel(app),
        message_ts=card.ts,
    )
    await app.settle()
    note = {"note": "Synthetics green again", "user": "Monitoring Script"}
    assert (await call(app, "/checkout-api-5xx/notes?identifierType=alias", note))[0] == 202
    await app.settle()
    notes = [e.text for e in await timeline(app) if e.kind == "note"]
    assert notes and "Synthetics green again" in notes[0] and "Monitoring Script" in notes[0]


@pytest.mark.parametrize(
    ("path", "body", "key", "status", "said"),
    [
        ("", {"message": "x"}, "wrong", 401, "authenticate"),
        ("", {"alias": "no message"}, ALERT_TOKEN, 422, "message is missing"),
        ("", {"message": "x" * 131}, ALERT_TOKEN, 422, "longer than 130"),
        ("", {"message": "x", "priority": "P9"}, ALERT_TOKEN, 422, "priority"),
        ("/nope/close?identifierType=alias", {}, ALERT_TOKEN, 404, "does not exist"),
        ("/42/close?identifierType=name", {}, ALERT_TOKEN, 422, "identifierType"),
        ("/checkout-api-5xx/notes?identifierType=alias", {}, ALERT_TOKEN, 422, "note"),
    ],
)
async def test_bad_requests_are_answered_as_opsgenie_does_and_change_nothing(
    app: Running, path: str, body: dict[str, Any], key: str, status: int, said: str
) -> None:
    answered, reply = await call(app, path, body, key=key)
    assert answered == status and said in reply["message"], reply
    assert reply["requestId"] and await alerts(app) == []


async def test_the_api_cannot_close_another_sources_alert(app: Running) -> None:
    fired = await post(app, "generic", {"title": "Disk full on db-01", "severity": "sev2"})
    alert_id = fired.body["alert_id"]
    assert (await call(app, f"/{alert_id}/close"))[0] == 404
    assert (await alert(app, alert_id)).status == "firing"


async def test_the_opsgenie_documentations_requests(app: Running) -> None:
    status, _ = await call(app, "", sample("docs_create.json"))
    assert status == 202
    [row] = await alerts(app)
    assert (row.title, row.severity) == ("An example alert message", "sev1")
    assert row.resource == "An example entity"
    await app.settle()
    [card] = card_texts(app)
    assert "An example alert message" in card and "SEV1" in card

    alias = "/Life%20is%20too%20short%20for%20no%20alias/{}?identifierType=alias"
    action = sample("docs_action.json")
    for step in ("acknowledge", "notes", "close"):
        assert (await call(app, alias.format(step), action))[0] == 202, step
    await app.settle()
    assert (await alert(app, row.id)).status == "resolved"
    assert "Action executed via Alert API" in card_texts(app)[0]
