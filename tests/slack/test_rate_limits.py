"""Slack's rate limits under load: the gateway paces each bucket instead of drawing 429s.

Posts to different channels go out at once; a burst to one channel is spread out at Slack's
pace and never refused; a 429 holds its bucket for every caller, and every replica sharing a
PostgreSQL database, until Retry-After has passed. And no Slack call is made while a database
transaction is open.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.slack.gateway import SlackGateway
from bridgekeeper.slack.rate_limiter import RateLimiter
from bridgekeeper.store.db import Database
from bridgekeeper.store.rate_buckets import SharedBuckets
from tests.conftest import BOT_TOKEN, PG_URL
from tests.faults.servers import wait_for

POST = "chat.postMessage"


@pytest.fixture
async def strict_slack() -> AsyncIterator[SlackEmulator]:
    """A Slack enforcing its rate limits at their real pace."""
    slack = SlackEmulator(bot_token=BOT_TOKEN, enforce_rate_limits=True)
    await slack.start()
    yield slack
    await slack.stop()


@pytest.fixture
async def gateway(strict_slack: SlackEmulator) -> AsyncIterator[SlackGateway]:
    gateway = SlackGateway(token=BOT_TOKEN, api_url=strict_slack.api_url)
    yield gateway
    await gateway.close()


async def post(gateway: SlackGateway, channel: str, text: str) -> str:
    return await gateway.post(channel, text=text, blocks=[])


def texts(slack: SlackEmulator, channel: str) -> list[str]:
    return sorted(m.text for m in slack.channels[channel].messages)


async def test_posts_to_several_channels_go_out_at_once(
    strict_slack: SlackEmulator, gateway: SlackGateway
) -> None:
    """Six channels, each answer a second late: all six are posted in about a second."""
    channels = [strict_slack.add_channel(f"room-{n}", members=["UBOT"]) for n in range(6)]
    strict_slack.delay(POST, 1.0, times=6)
    started = time.monotonic()
    await asyncio.gather(*(post(gateway, c, "status") for c in channels))
    took = time.monotonic() - started
    assert all(texts(strict_slack, c) == ["status"] for c in channels)
    assert 1.0 <= took < 3.0, f"posts to different channels waited for each other ({took:.1f}s)"


@pytest.mark.slow(3)
async def test_a_burst_to_one_channel_is_paced_not_refused(
    strict_slack: SlackEmulator, gateway: SlackGateway
) -> None:
    """Six notes at once into one channel: Slack allows three, then one a second. Every note
    arrives, none is refused, and the last one about three seconds after the first."""
    channel = strict_slack.add_channel("inc-1", members=["UBOT"])
    # The connections the burst takes, opened first: opened by the burst, on a loaded machine,
    # they had its first posts reach Slack so late that the fourth came too soon after them.
    warm = [strict_slack.add_channel(f"warm-{n}", members=["UBOT"]) for n in range(3)]
    await asyncio.gather(*(post(gateway, other, "warm") for other in warm))
    notes = [f"note {n}" for n in range(6)]
    await asyncio.gather(*(post(gateway, channel, note) for note in notes))
    calls = [c for c in strict_slack.calls_to(POST) if c.args.get("channel") == channel]
    assert texts(strict_slack, channel) == notes
    assert [c.http_status for c in calls] == [200] * 6
    assert calls[-1].at - calls[0].at >= 2.5


@pytest.mark.slow(4)
async def test_a_429_holds_that_channel_for_every_caller_until_retry_after(
    strict_slack: SlackEmulator, gateway: SlackGateway
) -> None:
    """Slack refuses a post with Retry-After 2: the posts to that channel that come after wait
    it out, while another channel's post goes at once."""
    held = strict_slack.add_channel("inc-1", members=["UBOT"])
    other = strict_slack.add_channel("inc-2", members=["UBOT"])
    strict_slack.fail(POST, status=429, retry_after=2, channel=held)
    first = asyncio.create_task(post(gateway, held, "first"))
    await wait_for(lambda: strict_slack.calls_to(POST), timeout=10)
    refused_at = strict_slack.calls_to(POST)[0].at
    await post(gateway, other, "elsewhere")
    assert strict_slack.clock() - refused_at < 1.5, "another channel was held too"
    await asyncio.gather(first, *(post(gateway, held, f"later {n}") for n in range(2)))
    assert texts(strict_slack, held) == ["first", "later 0", "later 1"]
    again = [c for c in strict_slack.calls_to(POST)[1:] if c.args["channel"] == held]
    assert all(c.at - refused_at >= 2.0 for c in again)
    assert strict_slack.rate_limit_violations == []


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="replicas share buckets in PostgreSQL")
async def test_two_replicas_together_stay_within_one_channels_limit(
    strict_slack: SlackEmulator, db_url: str
) -> None:
    """Two replicas each post three notes into one channel at once: six in all, three at
    once and then one a second between them, none refused."""
    channel = strict_slack.add_channel("inc-1", members=["UBOT"])
    databases = [Database(db_url), Database(db_url)]
    limiters = [RateLimiter(SharedBuckets(db)) for db in databases]
    gateways = [
        SlackGateway(token=BOT_TOKEN, api_url=strict_slack.api_url, limiter=limiter)
        for limiter in limiters
    ]
    try:
        await asyncio.gather(
            *(
                post(g, channel, f"replica {r} note {n}")
                for r, g in enumerate(gateways)
                for n in range(3)
            )
        )
    finally:
        for g, db in zip(gateways, databases, strict=True):
            await g.close()
            await db.dispose()
    calls = strict_slack.calls_to(POST)
    assert len(texts(strict_slack, channel)) == 6
    assert [c.http_status for c in calls] == [200] * 6
    assert calls[-1].at - calls[0].at >= 2.5


async def test_slack_is_never_called_inside_a_database_transaction(
    strict_slack: SlackEmulator, gateway: SlackGateway, db_url: str
) -> None:
    channel = strict_slack.add_channel("inc-1", members=["UBOT"])
    db = Database(db_url)
    try:
        async with db.transaction():
            with pytest.raises(RuntimeError, match=r"chat\.postMessage"):
                await post(gateway, channel, "too early")
        await post(gateway, channel, "after the commit")
    finally:
        await db.dispose()
    assert texts(strict_slack, channel) == ["after the commit"]
