"""Messages on the timeline: a pin records the message as it reads when pinned, at the time it
was posted, saying whether it had been edited; an edit after the pin is an entry of its own.
Driven from outside: users post and edit in the Slack emulator, which sends Slack's own events
(reaction_added, message_changed) as signed requests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bridgekeeper import cli_records
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.sandbox.state import Channel
from tests.conftest import Running
from tests.helpers import status_card
from tests.services.test_lifecycle import declare, in_bridge, incident_row, timeline
from tests.services.test_report import section
from tests.updating import desk_for

pytestmark = pytest.mark.both_transports

SAID = "attacker IP is 203.0.113.7"
CORRECTED = "attacker IP is 203.0.113.9"


def at(ts: str) -> float:
    return float(ts)


async def pin(running: Running, channel: Channel, ts: str, user: str = "U0ALICE") -> None:
    await running.driver.reaction_added(user=user, channel=channel.id, ts=ts)
    await running.settle()


async def edit(running: Running, channel: Channel, ts: str, text: str) -> dict[str, Any]:
    """Bob edits his message; Slack sends the bot message_changed. Returns the event."""
    emitted = len(running.slack.emitted_events)
    reply = await running.driver.message_changed(channel=channel.id, ts=ts, text=text)
    assert reply.status == 200
    await running.settle()
    event: dict[str, Any] = running.slack.emitted_events[emitted]  # later ones: the bot's
    assert event["message"]["user"] == "U0BOB"
    return event


async def report_lines(running: Running, capsys: pytest.CaptureFixture[str]) -> list[str]:
    capsys.readouterr()
    assert await cli_records.report(running.bk.settings, 1, "md", None) == 0
    section = capsys.readouterr().out.split("## Timeline", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("- ")]


async def test_a_pin_of_an_edited_message_says_it_was_edited_and_when(
    running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    channel = await declare(running)
    ts = running.slack.post_user_message(channel.id, "U0BOB", SAID).ts
    edited = await edit(running, channel, ts, CORRECTED)  # not on the timeline yet: no entry
    assert [e.kind for e in await timeline(running)] == ["declared"]

    await pin(running, channel, ts)
    [pinned] = [e for e in await timeline(running) if e.kind.startswith("pinned")]
    assert (pinned.kind, pinned.actor, pinned.text) == ("pinned", "U0BOB", CORRECTED)
    assert abs(pinned.at.timestamp() - at(ts)) < 0.001  # the message's own time
    assert pinned.data["edited"] is True and pinned.data["edited_ts"] == edited["ts"]

    shown = await in_bridge(running, channel, "timeline")
    assert "in a message edited before it was added" in shown and CORRECTED in shown
    [line] = [line for line in await report_lines(running, capsys) if "said" in line]
    assert "said (edited " in line and "before it was added to the timeline): " in line
    assert line.endswith(CORRECTED)


async def test_a_pin_of_an_unedited_message_says_nothing_of_edits(running: Running) -> None:
    channel = await declare(running)
    ts = running.slack.post_user_message(channel.id, "U0BOB", SAID).ts
    await running.driver.message_shortcut(
        user="U0ALICE", callback_id="add_to_timeline", channel=channel.id, message_ts=ts
    )
    await running.settle()
    [pinned] = [e for e in await timeline(running) if e.kind == "pinned"]
    assert pinned.text == SAID and "edited" not in pinned.data
    assert "edited" not in await in_bridge(running, channel, "timeline")


async def test_an_edit_after_the_pin_is_its_own_entry_at_its_own_time(
    running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    channel = await declare(running)
    ts = running.slack.post_user_message(channel.id, "U0BOB", SAID).ts
    await pin(running, channel, ts)
    first = await edit(running, channel, ts, CORRECTED)
    await running.driver.event(first, event_id="EvEDIT1")  # delivered again (a new event id)
    await running.driver.event(first, event_id="EvEDIT1", retry_num=1)
    await edit(running, channel, ts, CORRECTED)  # an edit that changes nothing (an unfurl)
    second = await edit(running, channel, ts, "attacker IP is 203.0.113.9 and .10")
    await running.settle()

    entries = [e for e in await timeline(running) if e.kind.startswith("pinned")]
    assert [(e.kind, e.actor, e.text) for e in entries] == [
        ("pinned", "U0BOB", SAID),  # as it was when pinned, untouched
        ("pinned_edited", "U0BOB", CORRECTED),
        ("pinned_edited", "U0BOB", "attacker IP is 203.0.113.9 and .10"),
    ]
    assert abs(entries[0].at.timestamp() - at(ts)) < 0.001 and "edited" not in entries[0].data
    assert abs(entries[1].at.timestamp() - at(first["ts"])) < 0.001
    assert abs(entries[2].at.timestamp() - at(second["ts"])) < 0.001

    shown = await in_bridge(running, channel, "timeline")
    assert shown.count("edited a message on the timeline; it now says:") == 2
    lines = await report_lines(running, capsys)
    assert [line.split(" · ", 2)[2] for line in lines[1:]] == [
        f"said: {SAID}",
        f"edited what they said {_when(ts)}; it now says: {CORRECTED}",
        f"edited what they said {_when(ts)}; it now says: attacker IP is 203.0.113.9 and .10",
    ]


def _when(ts: str) -> str:
    return datetime.fromtimestamp(at(ts), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


async def test_an_edit_delivered_after_a_later_one_is_not_recorded(running: Running) -> None:
    channel = await declare(running)
    ts = running.slack.post_user_message(channel.id, "U0BOB", SAID).ts
    await pin(running, channel, ts)
    older = running.slack.edit_user_message(channel.id, ts, "attacker IP is 203.0.113.8")
    newer = running.slack.edit_user_message(channel.id, ts, CORRECTED)
    await running.driver.event(newer)
    await running.settle()
    await running.driver.event(older)  # Slack does not promise order
    await running.settle()
    edits = [e.text for e in await timeline(running) if e.kind == "pinned_edited"]
    assert edits == [CORRECTED]


async def test_edits_of_hostile_text_are_cleaned(running: Running) -> None:
    channel = await declare(running)
    ts = running.slack.post_user_message(channel.id, "U0BOB", SAID).ts
    await pin(running, channel, ts)
    await edit(running, channel, ts, "fixed\x1e\u2028# Incident 1 closed \u202eyb\u202c bob")
    [edited] = [e for e in await timeline(running) if e.kind == "pinned_edited"]
    assert edited.text == "fixed # Incident 1 closed yb bob"


async def test_edits_of_other_messages_change_nothing(running: Running) -> None:
    channel = await declare(running)
    unpinned = running.slack.post_user_message(channel.id, "U0BOB", "just chatting").ts
    await edit(running, channel, unpinned, "just chatting, edited")
    elsewhere = running.slack.post_user_message(running.general, "U0BOB", SAID).ts
    await running.driver.message_changed(channel=running.general, ts=elsewhere, text=CORRECTED)
    # The bot's own edits (its status card, every change) come back as message_changed too.
    card = status_card(running.slack, channel)
    await pin(running, channel, card.ts)
    await in_bridge(running, channel, "severity sev1 it spread")
    bot_edits = [
        e
        for e in running.slack.emitted_events
        if e.get("subtype") == "message_changed" and e["message"]["user"] == "UBOT"
    ]
    assert bot_edits
    for event in bot_edits:  # as if the card's text had changed too
        await running.driver.event({**event, "message": {**event["message"], "text": "new"}})
    await running.settle()
    kinds = [e.kind for e in await timeline(running)]
    assert "pinned_edited" not in kinds


async def test_edits_after_the_close_are_not_recorded(running: Running) -> None:
    channel = await declare(running)
    ts = running.slack.post_user_message(channel.id, "U0BOB", SAID).ts
    await pin(running, channel, ts)
    await in_bridge(running, channel, "close contained and restored")
    assert (await incident_row(running)).status == "closed"
    await edit(running, channel, ts, CORRECTED)
    assert [e.kind for e in await timeline(running)][-1] == "closed"


async def pinned_late(db_url: str, emulator: SlackEmulator) -> str:
    """The Markdown report of an incident where bob said something at 09:10, in Assess, and
    alice pinned it at 09:40, once the incident was in Stabilize."""
    async with desk_for(db_url, emulator) as desk:
        emulator.state.clock = lambda: desk.clock.now().timestamp()  # messages at desk time
        bridge = await desk.declare("Intrusion on web-01 sev2")  # 09:00
        await desk.at(minutes=5)
        await desk.command("stage assess", channel=bridge.id)  # 09:05
        await desk.at(minutes=5)
        said = emulator.post_user_message(bridge.id, "U0BOB", "attacker IP is 203.0.113.7")
        await desk.at(minutes=20)
        await desk.command("stage stabilize", channel=bridge.id)  # 09:30
        await desk.at(minutes=10)
        await desk.running.driver.reaction_added(user="U0ALICE", channel=bridge.id, ts=said.ts)
        await desk.running.settle()  # 09:40
        await desk.at(minutes=20)
        await desk.command("close Blocked the IP", channel=bridge.id)
        return desk.slack.files[-1].content.decode()


async def test_a_message_pinned_later_is_an_action_of_the_stage_it_was_said_in(
    db_url: str, emulator: SlackEmulator
) -> None:
    actions = section(await pinned_late(db_url, emulator), "Actions taken")
    stages = {part.split("\n", 1)[0]: part for part in actions.split("### During ")[1:]}
    assert "attacker IP" not in stages.get("Stabilize", ""), actions  # said at 09:10
    assert "09:10:00 UTC · bob · said: attacker IP" in stages.get("Assess", ""), actions
