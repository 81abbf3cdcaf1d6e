"""`POST /alerts/azure-monitor` end to end for what is stateless on Azure's side: a Resource
Health event is an alert instance of its own, so the "Available" that follows "Unavailable" has
a new alert id and still resolves the alert the first one fired."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bridgekeeper.sandbox import SlackEmulator
from tests.alerting import alert, alerts, bridgekeepers, card_texts, post
from tests.conftest import Running
from tests.domain.test_alert_azure_kinds import body_of


@pytest.fixture
async def app(db_url: str, emulator: SlackEmulator) -> AsyncIterator[Running]:
    async with bridgekeepers(db_url, emulator) as start:
        yield await start()


async def test_a_resource_available_again_resolves_its_unavailable_alert(app: Running) -> None:
    fired = await post(app, "azure-monitor", body_of("resource_health_unavailable.json"))
    assert fired.status == 202 and fired.body["result"] == "new", fired.body
    await app.settle()
    back = await post(app, "azure-monitor", body_of("resource_health_available.json"))
    assert (back.body["alert_id"], back.body["result"]) == (fired.body["alert_id"], "resolved")
    stored = await alert(app, fired.body["alert_id"])
    assert stored.title == "vm-web-01 is unavailable" and stored.resolved_at is not None
    assert len(await alerts(app)) == 1
    await app.settle()
    [card] = card_texts(app)
    assert "*Status:* resolved" in card
