"""Slack's rate limits: a burst is delivered whole, and no call is made inside a Retry-After window.

The emulator counts every call that reaches it while a 429's Retry-After is still running as a
violation (`rate_limit_violations`): a well-behaved client, once it has seen a 429, has none,
even with many concurrent deliveries. (Calls already on their way when the 429 is sent would
count too, so each test lets its 429 come while no other call to that method is in flight.)
"""

from __future__ import annotations

import asyncio
import time

import pytest
from prometheus_client import REGISTRY

from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.slack.gateway import SlackGateway
from bridgekeeper.slack.rate_limiter import RateLimiter
from tests.conftest import BOT_TOKEN, start_bridgekeeper
from tests.conftest import test_settings as settings_for
from tests.faults.servers import wait_for

pytestmark = pytest.mark.faults
BURST = 30
RETRY_AFTER = 3  # seconds the injected 429 asks the bot to wait
IN_FLIGHT = 1.0  # seconds a call sent before the 429 was seen may still take to arrive


@pytest.mark.slow(12)
async def test_thirty_incidents_at_once_all_get_channels_and_cards(
    db_url: str, limited_slack: SlackEmulator
) -> None:
    settings = settings_for(db_url=db_url, api_url=limited_slack.api_url)
    app = await start_bridgekeeper(settings, limited_slack)
    try:
        replies = await asyncio.gather(
            *(app.command(f"declare Burst incident {n}") for n in range(BURST))
        )
        assert [r.status for r in replies] == [200] * BURST
        # Tier 2 lets 20 creations through at once, then the bot paces the rest. One of
        # those is refused, so a 429 is certain: it is waited out.
        await wait_for(lambda: len(limited_slack.calls_to("conversations.create")) >= 20)
        limited_slack.fail("conversations.create", status=429, times=1, retry_after=RETRY_AFTER)
        await app.settle(timeout=90)

        bridges = [c for c in limited_slack.channels.values() if c.name.startswith("inc-")]
        assert sorted(int(c.name.split("-")[1]) for c in bridges) == list(range(1, BURST + 1))
        for channel in bridges:
            assert "U0ALICE" in channel.members and "Detect" in channel.topic
            [card] = [m for m in channel.messages if m.ts in channel.pins]
            assert f"Incident {channel.name.split('-')[1]}:" in str(card.blocks)
        assert any(c.http_status == 429 for c in limited_slack.calls), "the burst was not limited"
        # Calls already on their way when the 429 came back cannot be recalled; after that,
        # nobody calls again before Retry-After has passed.
        refused_at = min(c.at for c in limited_slack.calls if c.http_status == 429)
        late = [c for c in limited_slack.rate_limit_violations if c.at - refused_at > IN_FLIGHT]
        assert late == []
        assert [c for c in limited_slack.calls if not c.ok and c.http_status != 429] == []
    finally:
        await app.stop()


async def test_callers_after_a_429_all_wait_it_out(emulator: SlackEmulator) -> None:
    """A delivery to one method gets a 429; five more come while it waits: none calls again
    too early. (They start once the bot has seen the 429: started as soon as the emulator had
    answered it, they could be on their way before it arrived, which no client can help.)"""
    channels = [emulator.add_channel(f"room-{n}", members=["UBOT"]) for n in range(6)]
    emulator.fail("conversations.setTopic", status=429, retry_after=1)
    limiter = RateLimiter(scale=60)  # Tier 2's pace after the hold, a minute a second
    gateway = SlackGateway(token=BOT_TOKEN, api_url=emulator.api_url, limiter=limiter)
    seen = ratelimited_count()
    try:
        started = time.monotonic()
        first = asyncio.create_task(gateway.set_topic(channels[0], f"topic {channels[0]}"))
        await wait_for(lambda: ratelimited_count() > seen, timeout=10)
        await asyncio.gather(first, *(gateway.set_topic(c, f"topic {c}") for c in channels[1:]))
        took = time.monotonic() - started
    finally:
        await gateway.close()
    assert all(emulator.channels[c].topic == f"topic {c}" for c in channels)
    assert emulator.rate_limit_violations == []
    assert len(emulator.calls_to("conversations.setTopic")) == 7  # six, plus the one refused
    assert took >= 1.0


def ratelimited_count() -> float:
    """The 429s the bot has seen for conversations.setTopic, as its /metrics counts them."""
    labels = {"method": "conversations.setTopic"}
    return REGISTRY.get_sample_value("bridgekeeper_slack_ratelimited_total", labels) or 0.0
