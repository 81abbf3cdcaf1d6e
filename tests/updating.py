"""Helpers for the stakeholder-update, reminder and regulatory tests: a bridgekeeper on a
FrozenClock with a stakeholder channel, and ways to read what Slack users would see."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from bridgekeeper.clock import FrozenClock
from bridgekeeper.domain.incidents import Status
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.sandbox.state import Channel, Message
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store.models import Incident, ScheduledJob
from tests.conftest import USERS, Running, start_bridgekeeper, test_settings

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@dataclass
class Desk:
    """A running bridgekeeper whose time the test moves."""

    running: Running
    clock: FrozenClock
    stakeholders: str

    @property
    def slack(self) -> SlackEmulator:
        return self.running.slack

    async def command(self, text: str, *, user: str = "U0ALICE", channel: str | None = None) -> str:
        reply = await self.running.command(text, user=user, channel=channel)
        await self.running.settle()
        posts = [p.body for p in self.slack.response_posts if p.url == reply.response_url]
        return json.dumps([reply.body, *posts])

    async def declare(self, text: str = "Suspicious login sev2") -> Channel:
        await self.command(f"declare {text}")
        return [c for c in self.slack.channels.values() if c.name.startswith("inc-")][-1]

    async def at(self, **delta: float) -> int:
        """Move the clock on, fire what is due, deliver it; returns how many reminded."""
        self.clock.advance(**delta)
        fired = await self.running.bk.scheduler.run_due()
        await self.running.settle()
        return fired

    async def incident(self, number: int = 1) -> Incident:
        async with self.running.bk.db.sessions() as session:
            found = await incident_store.get(session=session, number=number)
            assert found is not None
            return found

    async def job(self, job_id: str) -> ScheduledJob | None:
        async with self.running.bk.db.sessions() as session:
            return await session.scalar(select(ScheduledJob).where(ScheduledJob.id == job_id))

    async def close(self, number: int = 1, user: str = "U0ALICE") -> None:
        """Close the incident the way the close command records it."""
        bk = self.running.bk
        async with bk.db.transaction() as session:
            incident = await incident_store.get(session=session, number=number, lock=True)
            assert incident is not None
            incident.status, incident.closed_at = Status.CLOSED, self.clock.now()
            await bk.incidents.record(
                session, incident=incident, actor=user, kind="closed", text="contained"
            )
        await self.running.settle()


def texts(channel: Channel | None) -> list[str]:
    """Every message of a channel as a Slack user reads it (the latest edit)."""
    assert channel is not None
    return [message_text(m) for m in channel.messages]


def message_text(message: Message) -> str:
    return json.dumps(message.blocks, ensure_ascii=False) if message.blocks else message.text


def containing(channel: Channel, needle: str) -> list[str]:
    return [t for t in texts(channel) if needle in t]


def dm(slack: SlackEmulator, user: str) -> list[str]:
    return [
        message_text(m)
        for c in slack.channels.values()
        if c.is_im and user in c.members
        for m in c.messages
    ]


@asynccontextmanager
async def desk_for(
    db_url: str,
    slack: SlackEmulator,
    *,
    updates: dict[str, Any] | None = None,
    clock: FrozenClock | None = None,
    stakeholders: str | None = None,
    **overrides: Any,
) -> AsyncIterator[Desk]:
    """A bridgekeeper on a FrozenClock (START unless given) with a stakeholder channel."""
    stakeholders = stakeholders or slack.add_channel("stakeholders", members=list(USERS))
    settings = test_settings(db_url=db_url, api_url=slack.api_url, stakeholder_channel=stakeholders)
    settings = replace(settings, updates=replace(settings.updates, **(updates or {})), **overrides)
    clock = clock or FrozenClock(START)
    running = await start_bridgekeeper(settings, slack, clock=clock)
    try:
        yield Desk(running, clock, stakeholders)
    finally:
        await running.stop()
