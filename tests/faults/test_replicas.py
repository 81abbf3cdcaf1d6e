"""Two `bridgekeeper serve` replicas on one PostgreSQL database, commands spread over both.

No update is lost, no channel is made twice, and only the holder of the worker lease delivers.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bridgekeeper.sandbox import SlackDriver, SlackEmulator
from bridgekeeper.sandbox.driver import Reply
from bridgekeeper.services import audit
from bridgekeeper.store.db import Database
from bridgekeeper.store.models import Effect, Incident, Lease, TimelineEntry
from tests.conftest import PG_URL, SIGNING_SECRET
from tests.faults.servers import Server, wait_for

pytestmark = [
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="two replicas need PostgreSQL"),
]
NOTES = 20


class Replicas:
    def __init__(self, servers: list[Server], slack: SlackEmulator, db_url: str) -> None:
        self.servers = servers
        self.slack = slack
        self.db = Database(db_url)
        self.drivers = [
            SlackDriver(slack, f"{s.url}/slack/events", SIGNING_SECRET) for s in servers
        ]
        self.general = slack.add_channel("general", members=["U0ALICE", "U0BOB"])

    async def command(self, replica: int, text: str, channel: str | None = None) -> Reply:
        driver = self.drivers[replica % len(self.drivers)]
        return await driver.command(text, user="U0ALICE", channel=channel or self.general)

    async def delivered(self, timeout: float = 30.0) -> None:
        """Every effect delivered (by whichever replica leads)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            async with self.db.sessions() as session:
                pending = await session.scalar(
                    select(func.count()).select_from(Effect).where(Effect.status == "pending")
                )
            if not pending:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"{pending} effects still pending")


@pytest.fixture
async def replicas(db_url: str, emulator: SlackEmulator, tmp_path: Path) -> AsyncIterator[Replicas]:
    servers = [
        Server(db_url=db_url, api_url=emulator.api_url, log=tmp_path / f"replica-{n}.log")
        for n in range(2)
    ]
    try:
        await asyncio.gather(*(s.start() for s in servers))
        both = Replicas(servers, emulator, db_url)
        yield both
        await both.db.dispose()
    finally:
        for server in servers:
            await server.stop()


async def test_notes_sent_to_both_replicas_are_all_kept_in_order(replicas: Replicas) -> None:
    await replicas.command(0, "declare Credential stuffing sev2")
    await wait_for(lambda: replicas.slack.channel_by_name("inc-1-credential-stuffing"))
    await replicas.delivered()
    bridge = replicas.slack.channel_by_name("inc-1-credential-stuffing")
    assert bridge is not None

    replies = await asyncio.gather(
        *(replicas.command(n, f"note finding {n}", channel=bridge.id) for n in range(NOTES))
    )
    assert [r.status for r in replies] == [200] * NOTES
    await wait_for(lambda: len(_posted_notes(replicas.slack, bridge.id)) == NOTES)
    await replicas.delivered()

    async with replicas.db.sessions() as session:
        entries = list(await session.scalars(select(TimelineEntry).order_by(TimelineEntry.seq)))
        incident = await session.scalar(select(Incident))
    notes = sorted(e.text for e in entries if e.kind == "note")
    assert notes == sorted(f"finding {n}" for n in range(NOTES))
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    assert (await audit.verify(replicas.db)).intact  # the hash chain has no fork
    assert incident is not None and incident.timeline_length == len(entries)
    assert sorted(_posted_notes(replicas.slack, bridge.id)) == notes  # each posted once


async def test_declarations_on_both_replicas_at_once_get_one_channel_each(
    replicas: Replicas,
) -> None:
    replies = await asyncio.gather(
        *(replicas.command(n, "declare Data exfiltration sev1") for n in range(6))
    )
    assert [r.status for r in replies] == [200] * 6
    await wait_for(lambda: len(_bridges(replicas.slack)) == 6)
    await replicas.delivered()
    await asyncio.sleep(1.0)  # a second deliverer would have doubled something by now

    names = sorted(c.name for c in _bridges(replicas.slack))
    assert names == sorted(f"inc-{n}-data-exfiltration" for n in range(1, 7))
    assert len([c for c in replicas.slack.calls_to("conversations.create") if c.ok]) == 6
    for channel in _bridges(replicas.slack):
        cards = [m for m in channel.messages if "Data exfiltration" in json.dumps(m.blocks)]
        assert len(cards) == 1 and channel.pins == [cards[0].ts]
    async with replicas.db.sessions() as session:
        numbers = list(await session.scalars(select(Incident.number).order_by(Incident.number)))
        [lease] = list(await session.scalars(select(Lease)))
    assert numbers == [1, 2, 3, 4, 5, 6]
    pids = {str(s.process.pid) for s in replicas.servers if s.process is not None}
    assert lease.holder.split(":")[1] in pids  # one replica leads and delivers


def _bridges(slack: SlackEmulator) -> list[object]:
    return [c for c in slack.channels.values() if c.name.startswith("inc-")]


def _posted_notes(slack: SlackEmulator, channel: str) -> list[str]:
    """The note texts posted in the bridge channel (":memo: <@U…>: text"), one message each or
    several folded into one."""
    bridge = slack.channels[channel]
    lines = [
        line
        for m in bridge.messages
        if m.ts not in bridge.pins
        for block in m.blocks
        for line in str((block.get("text") or {}).get("text", "")).splitlines()
    ]
    return [line.split(">: ", 1)[1] for line in lines if "finding" in line]
