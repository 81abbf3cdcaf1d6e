"""End to end: bridgekeeper calls the emulator's Web API over HTTP here, as it calls Slack's
(elsewhere the emulator answers in the test's process: tests/conftest.py `start_bridgekeeper`)."""

from __future__ import annotations

import pytest


@pytest.fixture
def web_api_over_http() -> bool:
    return True
