"""The Alert API's body limit is [alerts] max_body_bytes (as for /alerts/...); `[http]
slack_max_body_bytes` is documented as the limit of /slack/events alone. The same body is
accepted or refused the same way whether it is sent with a Content-Length or chunked."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace

import aiohttp
import pytest

from bridgekeeper.sandbox import SlackEmulator
from tests.conftest import ALERT_TOKEN, Running, bridgekeepers
from tests.conftest import test_settings as settings_for

MB = 1024 * 1024


@pytest.fixture
async def app(db_url: str, emulator: SlackEmulator) -> AsyncIterator[Running]:
    base = settings_for(db_url=db_url, api_url=emulator.api_url).alerts
    async with bridgekeepers(db_url, emulator) as start:
        yield await start(alerts=replace(base, max_body_bytes=4 * MB))


async def chunked(body: bytes) -> AsyncIterator[bytes]:
    for at in range(0, len(body), 64 * 1024):
        yield body[at : at + 64 * 1024]


async def test_an_alert_api_body_within_the_alert_limit_is_taken_however_it_is_sent(
    app: Running,
) -> None:
    assert app.bk.settings.http.slack_max_body_bytes == MB
    body = json.dumps({"message": "Big details", "description": "d" * (2 * MB)}).encode()
    headers = {"Authorization": f"GenieKey {ALERT_TOKEN}", "Content-Type": "application/json"}
    statuses = []
    async with aiohttp.ClientSession() as session:
        for data in (body, chunked(body)):  # with a Content-Length, then chunked
            async with session.post(f"{app.url}/v2/alerts", data=data, headers=headers) as r:
                statuses.append(r.status)
    assert statuses == [202, 202]
