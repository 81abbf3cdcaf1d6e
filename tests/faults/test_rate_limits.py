"""Slack's rate limits: a burst is delivered whole, and no call is made inside a Retry-After window.

The emulator counts every call that reaches it while a 429's Retry-After is still running as a
violation (`rate_limit_violations`): a well-behaved client has none, even with many concurrent
deliveries.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.slack.gateway import SlackGateway
from tests.conftest import BOT_TOKEN, start_bridgekeeper
from tests.conftest import test_settings as settings_for

pytestmark = pytest.mark.faults
BURST = 30


async def test_thirty_incidents_at_once_all_get_channels_and_cards(
    db_url: str, limited_slack: SlackEmulator
) -> None:
    settings = settings_for(db_url=db_url, api_url=limited_slack.api_url)
    app, runner = await start_bridgekeeper(settings, limited_slack)
    # Tier 2 lets 20 creations through at once; on a slow machine the burst may spread out
    # enough to stay under it, so one 429 is made certain.
    limited_slack.fail("conversations.create", status=429, times=1, retry_after=1)
    try:
        replies = await asyncio.gather(
            *(app.command(f"declare Burst incident {n}") for n in range(BURST))
        )
        assert [r.status for r in replies] == [200] * BURST
        await app.settle(timeout=90)

        bridges = [c for c in limited_slack.channels.values() if c.name.startswith("inc-")]
        assert sorted(int(c.name.split("-")[1]) for c in bridges) == list(range(1, BURST + 1))
        for channel in bridges:
            assert "U0ALICE" in channel.members and "Detect" in channel.topic
            [card] = [m for m in channel.messages if m.ts in channel.pins]
            assert f"Incident {channel.name.split('-')[1]}:" in str(card.blocks)
        assert any(c.http_status == 429 for c in limited_slack.calls), "the burst was not limited"
        assert limited_slack.rate_limit_violations == []
        assert [c for c in limited_slack.calls if not c.ok and c.http_status != 429] == []
    finally:
        await runner.cleanup()
        await app.bk.stop()


async def test_concurrent_callers_all_wait_out_a_429(emulator: SlackEmulator) -> None:
    """Six deliveries to one method at once; the first gets a 429: none calls again too early."""
    channels = [emulator.add_channel(f"room-{n}", members=["UBOT"]) for n in range(6)]
    emulator.fail("conversations.setTopic", status=429, retry_after=1)
    gateway = SlackGateway(token=BOT_TOKEN, api_url=emulator.api_url)
    try:
        started = time.monotonic()
        await asyncio.gather(*(gateway.set_topic(c, f"topic {c}") for c in channels))
        took = time.monotonic() - started
    finally:
        await gateway.close()
    assert all(emulator.channels[c].topic == f"topic {c}" for c in channels)
    assert emulator.rate_limit_violations == []
    assert len(emulator.calls_to("conversations.setTopic")) == 7  # six, plus the one refused
    assert took >= 1.0
