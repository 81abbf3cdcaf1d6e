"""`POST /alerts/gcp` end to end: Cloud Monitoring's webhook (token in the URL, as its webhook
channels are configured) gives a triage card; the closed notification resolves it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bridgekeeper.sandbox import SlackEmulator
from tests.alerting import alert, alerts, bridgekeepers, card_texts, post
from tests.conftest import ALERT_TOKEN, Running
from tests.domain.test_alert_gcp import sample


@pytest.fixture
async def app(db_url: str, emulator: SlackEmulator) -> AsyncIterator[Running]:
    async with bridgekeepers(db_url, emulator) as start:
        yield await start()


async def test_an_open_then_closed_incident_cards_then_resolves(app: Running) -> None:
    query = f"?auth_token=unused&token={ALERT_TOKEN}"
    fired = await post(app, "gcp", sample("open.json"), token=None, query=query)
    assert fired.status == 202, fired.body
    alert_id = fired.body["alerts"][0]["alert_id"]
    await app.settle()
    [card] = card_texts(app)
    assert "Checkout VM CPU above 90% on checkout-vm-03" in card and "SEV2" in card
    assert "Google Cloud Monitoring" in card

    closed = await post(app, "gcp", sample("closed.json"), token=None, query=query)
    assert closed.body["alerts"][0] == {
        "alert_id": alert_id,
        "result": "resolved",
        "incident": None,
    }
    await app.settle()
    assert "*Status:* resolved" in card_texts(app)[0]
    assert (await alert(app, alert_id)).resolved_at is not None


async def test_a_notification_without_an_incident_is_refused_and_nothing_stored(
    app: Running,
) -> None:
    answer = await post(app, "gcp", {"version": "1.2"})
    assert answer.status == 422 and "incident" in answer.body["error"]
    refused = await post(app, "gcp", sample("open.json"), token="wrong")
    assert refused.status == 401
    assert await alerts(app) == []


async def test_published_uptime_check_notifications_open_then_close(app: Running) -> None:
    fired = await post(app, "gcp", sample("uptime_check_open.json"))
    assert fired.status == 202, fired.body
    alert_id = fired.body["alerts"][0]["alert_id"]
    stored = await alert(app, alert_id)
    assert stored.title == "api - noc - users on myhost" and stored.resource == "myhost"
    await app.settle()
    [card] = card_texts(app)
    assert "api - noc - users on myhost" in card and "is failing" in card

    closed = await post(app, "gcp", sample("uptime_check_closed.json"))
    assert closed.body["alerts"][0]["result"] == "resolved"
    assert (await alert(app, alert_id)).status == "resolved"


async def test_a_published_metric_threshold_incident_shows_what_was_observed(
    app: Running,
) -> None:
    fired = await post(app, "gcp", sample("cloudforet_open.json"))
    assert fired.status == 202, fired.body
    stored = await alert(app, fired.body["alerts"][0]["alert_id"])
    assert stored.title.startswith("choonho-server-cpu-alert-policy-test on ")
    assert "Observed: 0.790 (threshold 0.5)" in stored.description
    assert "Server High CPU Usage" in stored.description
    await app.settle()
    assert any("choonho-server-cpu-alert-policy-test" in card for card in card_texts(app))
