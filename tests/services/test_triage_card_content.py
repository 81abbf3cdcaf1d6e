"""What a triage card shows beyond the title: the entities a security alert names (the
attacker's IP, the account) and Markdown emphasis as Slack's, never as markup it did not mean."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bridgekeeper.sandbox import SlackEmulator
from tests.alerting import bridgekeepers, card_texts, generic, post
from tests.conftest import Running


@pytest.fixture
async def app(db_url: str, emulator: SlackEmulator) -> AsyncIterator[Running]:
    async with bridgekeepers(db_url, emulator) as start:
        yield await start()


async def test_entities_and_emphasis_on_the_card(app: Running) -> None:
    body = generic("Brute force on vpn-01", description="**412** failed logins from 203.0.113.7")
    body["severity"] = "high"
    body["entities"] = {
        "hosts": ["vpn-01"],
        "ips": ["203.0.113.7", "198.51.100.2"],
        "accounts": ["svc-deploy", "<!channel>"],
    }
    assert (await post(app, "generic", body)).status == 202
    await app.settle()
    [card] = card_texts(app)
    assert "*IPs:* 203.0.113.7, 198.51.100.2" in card
    assert "svc-deploy" in card and "<!channel>" not in card and "&lt;!channel&gt;" in card
    assert "> *412* failed logins" in card and "**412**" not in card


async def test_an_alert_without_entities_shows_no_entity_line(app: Running) -> None:
    assert (await post(app, "generic", generic("Disk full on db-01"))).status == 202
    await app.settle()
    [card] = card_texts(app)
    assert "*IPs:*" not in card and "*Accounts:*" not in card
