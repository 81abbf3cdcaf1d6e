"""Fixtures for the fault-injection tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bridgekeeper.sandbox import SlackEmulator
from tests.conftest import BOT_TOKEN, USERS


@pytest.fixture
async def limited_slack() -> AsyncIterator[SlackEmulator]:
    """A Slack that enforces its rate-limit tiers, 4 times faster than real time."""
    slack = SlackEmulator(bot_token=BOT_TOKEN, enforce_rate_limits=True, rate_limit_scale=4)
    slack.add_people(USERS)
    await slack.start()
    yield slack
    await slack.stop()
