"""A delivery whose answer was lost is tried again by the outbox, which looks for the message
before posting it again: what Slack made is not posted twice, and what it did not is posted."""

from __future__ import annotations

import json

from sqlalchemy import select

from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.store.models import Effect
from tests.conftest import Running
from tests.updating import desk_for, dm


async def test_a_post_answered_too_late_is_not_posted_again(running: Running) -> None:
    await running.command("declare Suspicious login sev2")
    await running.settle()
    [bridge] = [c for c in running.slack.channels.values() if c.name.startswith("inc-1")]
    running.bk.gateway.timeout = 0.5  # Slack posts at once but answers after we stop waiting
    running.slack.delay("chat.postMessage", 2.0, times=1)
    await running.command("note Rotated the leaked key", channel=bridge.id)
    await running.settle(timeout=30)
    notes = [m for m in bridge.messages if "Rotated the leaked key" in json.dumps(m.blocks)]
    assert len(notes) == 1


async def test_a_direct_message_that_failed_is_sent_on_its_retry(
    db_url: str, emulator: SlackEmulator
) -> None:
    """The bot may not read a person's direct messages (Slack answers channel_not_found): the
    retry posts, rather than parking the message as if the channel were gone."""
    async with desk_for(db_url, emulator) as desk:
        bridge = await desk.declare("Suspicious login sev3")
        await desk.command("role commander <@U0BOB>", channel=bridge.id)
        await desk.close()
        emulator.fail("chat.postMessage", status=500, times=1, channel="U0BOB")
        await desk.at(days=3)  # the review reminder, to the commander
        assert not [t for t in dm(desk.slack, "U0BOB") if "post-incident review" in t]
        await desk.at(minutes=1)  # its retry is due
        async with desk.running.bk.db.sessions() as session:
            parked = list(await session.scalars(select(Effect).where(Effect.status == "parked")))
        assert parked == []
        [review] = [t for t in dm(desk.slack, "U0BOB") if "post-incident review" in t]
        assert "Incident 1 closed 3 days ago" in review
