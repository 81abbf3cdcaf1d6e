"""A Slack outage: commands are still answered at once; after Slack recovers every effect lands,
in order within each incident.

The bot runs on a FrozenClock, so the worker's backoff (2, 4, 8... seconds) passes when the test
moves the clock, not in real time.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bridgekeeper.clock import FrozenClock
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.sandbox.state import Channel
from bridgekeeper.store.models import Effect
from tests.conftest import Running, start_bridgekeeper
from tests.conftest import test_settings as settings_for

pytestmark = pytest.mark.faults
BRIDGE_OPENING = [
    "conversations.create",
    "conversations.invite",
    "chat.postMessage",  # the status card
    "pins.add",
    "conversations.setTopic",
]


@pytest.fixture
async def frozen(
    db_url: str, emulator: SlackEmulator
) -> AsyncIterator[tuple[Running, FrozenClock]]:
    clock = FrozenClock()
    settings = settings_for(db_url=db_url, api_url=emulator.api_url)
    app = await start_bridgekeeper(settings, emulator, clock=clock)
    yield app, clock
    await app.stop()


async def backed_off(app: Running, timeout: float = 20.0) -> None:
    """Wait until the worker has tried every incident's next effect and is backing off."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app.bk.worker.wake()
        await asyncio.sleep(0.05)
        async with app.bk.db.sessions() as session:
            pending = list(
                await session.scalars(
                    select(Effect).where(Effect.status == "pending").order_by(Effect.id)
                )
            )
        heads: dict[object, Effect] = {}
        for effect in pending:
            heads.setdefault(effect.incident_id or effect.id, effect)
        now = app.bk.clock.now()
        if app.bk.runner.in_flight == 0 and all(e.next_attempt_at > now for e in heads.values()):
            return
    raise AssertionError("the worker did not back off")


async def answered(slack: SlackEmulator, response_url: str | None, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not any(p.url == response_url and p.status == 200 for p in slack.response_posts):
        assert time.monotonic() < deadline, "the command was never answered"
        await asyncio.sleep(0.01)


def bridge_calls(slack: SlackEmulator, channel: Channel) -> list[str]:
    """The successful calls that changed one channel, in the order Slack received them (reads,
    such as a retried post checking the history first, are left out)."""
    return [
        call.method
        for call in slack.calls
        if call.ok
        and call.method != "conversations.history"
        and (call.args.get("channel") == channel.id or call.args.get("name") == channel.name)
    ]


def texts(channel: Channel) -> list[str]:
    """The messages posted in a channel, status card (pinned, kept current) left out."""
    return [json.dumps(m.blocks) + m.text for m in channel.messages if m.ts not in channel.pins]


@pytest.mark.slow(5)
async def test_commands_are_answered_during_an_outage_and_delivered_after(
    frozen: tuple[Running, FrozenClock], emulator: SlackEmulator
) -> None:
    app, clock = frozen
    emulator.outage(503)
    typed = [
        "declare Payment API down sev1",
        "declare Phishing wave sev2",
        "note 1 first finding",
        "note 2 mail gateway logs pulled",
        "note 1 second finding",
        "note 1 third finding",
    ]
    for text in typed:
        reply = await app.command(text)
        assert reply.status == 200 and reply.elapsed < 1.0, (text, reply)
        await answered(emulator, reply.response_url)  # a person reads the answer, then types on

    for _ in range(2):  # the outage lasts through several retries
        await backed_off(app)
        clock.advance(seconds=400)
    await backed_off(app)
    assert [c for c in emulator.channels.values() if c.name.startswith("inc-")] == []
    assert emulator.calls and all(c.http_status == 503 for c in emulator.calls)

    emulator.recover()
    clock.advance(seconds=400)
    await app.settle()

    payment = emulator.channel_by_name("inc-1-payment-api-down")
    phishing = emulator.channel_by_name("inc-2-phishing-wave")
    assert payment is not None and phishing is not None
    for channel in (payment, phishing):
        assert bridge_calls(emulator, channel)[:5] == BRIDGE_OPENING
        assert "U0ALICE" in channel.members and len(channel.pins) == 1
    order = ["first", "second", "third"]
    posted = [w for t in texts(payment) for w in order if f"{w} finding" in t]
    assert posted == order
    assert any("mail gateway logs pulled" in t for t in texts(phishing))
    assert len([c for c in emulator.calls_to("conversations.create") if c.ok]) == 2
