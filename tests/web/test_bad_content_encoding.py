"""A body whose Content-Encoding it does not honour (gzip that is not gzip) is a client's error:
400 on every route that reads a body, never a 500, and nothing stored."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bridgekeeper.sandbox import SlackEmulator
from tests.alerting import alerts, bridgekeepers
from tests.conftest import ALERT_TOKEN, Running


@pytest.fixture
async def app(db_url: str, emulator: SlackEmulator) -> AsyncIterator[Running]:
    async with bridgekeepers(db_url, emulator) as start:
        yield await start()


@pytest.mark.parametrize(
    ("path", "auth"),
    [
        ("/alerts/generic", f"Bearer {ALERT_TOKEN}"),
        ("/alerts/aws-sns", ""),
        ("/v2/alerts", f"GenieKey {ALERT_TOKEN}"),
        ("/heartbeats/nightly?interval=5m", f"Bearer {ALERT_TOKEN}"),
        ("/slack/events", ""),
    ],
)
async def test_a_body_that_is_not_gzip_but_says_it_is_gets_400(
    app: Running, path: str, auth: str
) -> None:
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    if auth:
        headers["Authorization"] = auth
    async with (
        aiohttp.ClientSession(auto_decompress=False) as session,
        session.post(f"{app.url}{path}", data=b'{"title": "x"}', headers=headers) as response,
    ):
        assert response.status == 400, (response.status, await response.text())
    assert await alerts(app) == []
