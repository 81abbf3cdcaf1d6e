"""kill -9 of a real `bridgekeeper serve` process: after restart, exactly one channel and card."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bridgekeeper.sandbox import SlackDriver, SlackEmulator
from bridgekeeper.store.db import Database
from bridgekeeper.store.models import Effect, Incident
from tests.conftest import SIGNING_SECRET
from tests.faults.servers import Server, wait_for

pytestmark = pytest.mark.faults


# A lane the killed process was delivering is taken over once its claim runs out (15 s unless
# configured): the shortest allowed, so the restarted process need not wait long for it.
CLAIM_SECONDS = 10


@pytest.fixture
async def server(db_url: str, emulator: SlackEmulator, tmp_path: Path) -> AsyncIterator[Server]:
    config = tmp_path / "bridgekeeper.toml"
    config.write_text(f"[outbox]\nclaim_seconds = {CLAIM_SECONDS}\n")
    env = {"BRIDGEKEEPER_CONFIG": str(config)}
    first = Server(db_url=db_url, api_url=emulator.api_url, log=tmp_path / "server.log", env=env)
    yield first
    await first.stop()


async def db_counts(db_url: str) -> tuple[int, int]:
    """(incidents, pending effects)"""
    db = Database(db_url)
    try:
        async with db.sessions() as session:
            incidents = await session.scalar(select(func.count()).select_from(Incident))
            pending = await session.scalar(
                select(func.count()).select_from(Effect).where(Effect.status == "pending")
            )
        return int(incidents or 0), int(pending or 0)
    finally:
        await db.dispose()


def status_cards(slack: SlackEmulator) -> list[object]:
    return [
        m
        for c in slack.channels.values()
        for m in c.messages
        if "Incident 1:" in json.dumps(m.blocks)
    ]


async def declared_once(slack: SlackEmulator) -> bool:
    await wait_for(
        lambda: any(c.pins for c in slack.channels.values() if c.name.startswith("inc-1"))
    )
    await asyncio.sleep(0.5)  # anything doubled would show by now
    bridges = [c for c in slack.channels.values() if c.name.startswith("inc-1")]
    return len(bridges) == 1 and len(status_cards(slack)) == 1 and len(bridges[0].pins) == 1


@pytest.mark.slow(11)
async def test_killed_after_commit_before_slack_calls(
    server: Server, emulator: SlackEmulator, db_url: str
) -> None:
    emulator.add_channel("general", members=["U0ALICE"])
    await server.start()
    emulator.outage(503)  # commits happen, Slack calls cannot
    driver = SlackDriver(emulator, f"{server.url}/slack/events", SIGNING_SECRET)
    reply = await driver.command(
        "declare Suspicious login sev2", user="U0ALICE", channel=next(iter(emulator.channels))
    )
    assert reply.status == 200
    for _ in range(100):
        if (await db_counts(db_url))[0] == 1:
            break
        await asyncio.sleep(0.05)
    server.kill()
    incidents, pending = await db_counts(db_url)
    assert incidents == 1 and pending >= 4  # channel, invite, card, topic all still to do
    assert emulator.channel_by_name("inc-1-suspicious-login") is None

    emulator.recover()
    await server.start()
    assert await declared_once(emulator)
    channel = emulator.channel_by_name("inc-1-suspicious-login")
    assert channel is not None and "U0ALICE" in channel.members and "SEV2" in channel.topic


@pytest.mark.slow(13)
async def test_killed_while_slack_was_answering(
    server: Server, emulator: SlackEmulator, db_url: str
) -> None:
    """Slack posted the card but the answer never reached the bot: no second card on restart."""
    emulator.add_channel("general", members=["U0ALICE"])
    await server.start()
    emulator.delay("chat.postMessage", 60, times=1)  # applied at once, answered late
    driver = SlackDriver(emulator, f"{server.url}/slack/events", SIGNING_SECRET)
    await driver.command(
        "declare Suspicious login sev2", user="U0ALICE", channel=next(iter(emulator.channels))
    )
    await wait_for(lambda: len(status_cards(emulator)) == 1)
    server.kill()

    await server.start()
    assert await declared_once(emulator)
    assert len(emulator.calls_to("conversations.create")) == 1
