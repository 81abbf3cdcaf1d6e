"""Slack delivers again, people click twice: nothing happens twice.

Slack redelivers an event with the same event_id (and X-Slack-Retry-Num) when it believes the ack
was lost; a responder double-clicks Declare on a triage card. (Slack never retries a slash
command, so there is nothing to deduplicate there.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable

import pytest
from sqlalchemy import func, select

from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.sandbox.driver import Reply
from bridgekeeper.store.models import Incident, SeenEvent
from tests.alerting import Start, bridgekeepers, generic, post, triage_channel
from tests.conftest import Running
from tests.services.test_lifecycle import declare, timeline

pytestmark = pytest.mark.faults


@pytest.fixture
async def serve(db_url: str, emulator: SlackEmulator) -> AsyncIterator[Start]:
    async with bridgekeepers(db_url, emulator) as start:
        yield start


async def pinned_entries(running: Running) -> list[str]:
    return [e.text for e in await timeline(running) if e.kind == "pinned"]


async def test_a_redelivered_event_is_acked_and_changes_nothing(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    channel = await declare(running)
    ts = running.slack.post_user_message(channel.id, "U0BOB", "attacker IP is 203.0.113.7").ts
    first = await running.driver.reaction_added(
        user="U0ALICE", channel=channel.id, ts=ts, event_id="Ev0PIN1"
    )
    await running.settle()
    calls, entries = len(running.slack.calls), len(await timeline(running))

    with caplog.at_level(logging.INFO, logger="bridgekeeper.slack.redelivery"):
        retries = [
            await running.driver.reaction_added(
                user="U0ALICE", channel=channel.id, ts=ts, event_id="Ev0PIN1", retry_num=n
            )
            for n in (1, 2, 3)
        ]
        await running.settle()
    assert [r.status for r in (first, *retries)] == [200] * 4
    assert all(r.elapsed < 1.0 for r in retries)
    assert await pinned_entries(running) == ["attacker IP is 203.0.113.7"]
    assert len(await timeline(running)) == entries
    assert len(running.slack.calls) == calls  # not even a look at Slack
    assert caplog.text.count("Ev0PIN1 delivered again") == 3
    async with running.bk.db.sessions() as session:
        assert await session.get(SeenEvent, "Ev0PIN1") is not None


async def test_a_retry_racing_the_first_delivery_adds_one_entry(running: Running) -> None:
    channel = await declare(running)
    ts = running.slack.post_user_message(channel.id, "U0CAROL", "found the phishing mail").ts
    await asyncio.gather(
        *(
            running.driver.reaction_added(
                user="U0ALICE", channel=channel.id, ts=ts, event_id="Ev0RACE", retry_num=n
            )
            for n in (None, 1, 2)
        )
    )
    await running.settle()
    assert await pinned_entries(running) == ["found the phishing mail"]


async def test_two_people_pinning_one_message_add_it_once(running: Running) -> None:
    """Different events (two reactions) about one message: idempotent by the message itself."""
    channel = await declare(running)
    ts = running.slack.post_user_message(channel.id, "U0BOB", "db dump found on pastebin").ts
    await asyncio.gather(
        running.driver.reaction_added(user="U0ALICE", channel=channel.id, ts=ts),
        running.driver.reaction_added(user="U0CAROL", channel=channel.id, ts=ts),
    )
    await running.settle()
    assert await pinned_entries(running) == ["db dump found on pastebin"]


async def test_declare_clicked_twice_makes_one_incident(serve: Start) -> None:
    app = await serve()
    answer = await post(app, "generic", generic("Impossible travel for admin", severity="sev2"))
    assert answer.status == 202
    alert_id = answer.body["alerts"][0]["alert_id"]
    await app.settle()
    triage = triage_channel(app)
    [card] = app.slack.messages(triage)

    def click(user: str) -> Awaitable[Reply]:
        return app.driver.block_action(
            user=user,
            action_id="alert_declare",
            value=str(alert_id),
            channel=triage,
            message_ts=card.ts,
        )

    replies = await asyncio.gather(click("U0ALICE"), click("U0ALICE"), click("U0BOB"))
    assert all(r.status == 200 for r in replies)
    await app.settle()
    later = await click("U0CAROL")
    await app.settle()
    assert later.status == 200

    async with app.bk.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Incident)) == 1
    bridges = [c for c in app.slack.channels.values() if c.name.startswith("inc-")]
    assert [c.name for c in bridges] == ["inc-1-impossible-travel-for-admin"]
    assert len(app.slack.calls_to("conversations.create")) == 1
    assert len(bridges[0].pins) == 1
