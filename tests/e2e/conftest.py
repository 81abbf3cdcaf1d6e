"""End to end: bridgekeeper calls the emulator's Web API over HTTP here, as it calls Slack's
(elsewhere the emulator answers in the test's process: tests/conftest.py `start_bridgekeeper`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bridgekeeper.sandbox import SlackEmulator
from tests.conftest import Running, start_bridgekeeper, test_settings


@pytest.fixture
async def running(db_url: str, emulator: SlackEmulator, transport: str) -> AsyncIterator[Running]:
    settings = test_settings(db_url=db_url, api_url=emulator.api_url)
    app = await start_bridgekeeper(settings, emulator, transport=transport, web_api_over_http=True)
    yield app
    await app.stop()
