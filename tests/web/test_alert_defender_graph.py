"""`POST /alerts/defender` end to end with a Defender XDR alert from Microsoft Graph: a page as
Graph lists it, posted by a Logic App, gives a triage card (a High alert: the published one is
Low, under the triage threshold), and the same alert resolved later resolves it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bridgekeeper.sandbox import SlackEmulator
from tests.alerting import alert, alerts, bridgekeepers, card_texts, post
from tests.conftest import Running
from tests.domain.test_alert_defender_graph import one


@pytest.fixture
async def app(db_url: str, emulator: SlackEmulator) -> AsyncIterator[Running]:
    async with bridgekeepers(db_url, emulator) as start:
        yield await start()


async def test_a_graph_page_is_carded_and_its_resolve_resolves_it(app: Running) -> None:
    fired = await post(app, "defender", {"value": [one(severity="high")]})
    assert fired.status == 202, fired.body
    [entry] = fired.body["alerts"]
    assert entry["result"] == "new"
    await app.settle()
    [card] = card_texts(app)
    assert "Suspicious execution of hidden file" in card and "Microsoft Defender" in card
    resolved = await post(app, "defender", one(severity="high", status="resolved"))
    assert (resolved.body["alert_id"], resolved.body["result"]) == (entry["alert_id"], "resolved")
    assert (await alert(app, entry["alert_id"])).resolved_at is not None
    assert len(await alerts(app)) == 1
