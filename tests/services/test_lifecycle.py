"""Running an incident from its bridge channel: every command through signed HTTP."""

from __future__ import annotations

import asyncio
import itertools
import json
import re

import pytest
from sqlalchemy import select

from bridgekeeper.sandbox.state import Channel
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store import outbox
from bridgekeeper.store.models import Incident, TimelineEntry
from tests.conftest import Running
from tests.helpers import status_card

pytestmark = pytest.mark.both_transports


def text_of(body: object) -> str:
    return json.dumps(body)


async def declare(running: Running, title: str = "Suspicious login", sev: str = "sev2") -> Channel:
    await running.command(f"declare {title} {sev}")
    await running.settle()
    [channel] = [c for c in running.slack.channels.values() if c.name.startswith("inc-")][-1:]
    return channel


async def in_bridge(running: Running, channel: Channel, text: str, user: str = "U0ALICE") -> str:
    reply = await running.command(text, user=user, channel=channel.id)
    await running.settle()
    assert reply.status == 200
    posts = [p.body for p in running.slack.response_posts if p.url == reply.response_url]
    return text_of([reply.body, *posts])


async def timeline(running: Running, number: int = 1) -> list[TimelineEntry]:
    async with running.bk.db.sessions() as session:
        incident = await incident_store.get(session=session, number=number)
        assert incident is not None
        return await incident_store.timeline(session=session, incident_id=incident.id)


async def incident_row(running: Running, number: int = 1) -> Incident:
    async with running.bk.db.sessions() as session:
        found = await session.scalar(select(Incident).where(Incident.number == number))
        assert found is not None
        return found


def card(running: Running, channel: Channel) -> str:
    return json.dumps(status_card(running.slack, channel).blocks)


async def test_role_assignment_invites_briefs_and_updates_card_and_topic(running: Running) -> None:
    channel = await declare(running)
    reply = await in_bridge(running, channel, "role commander <@U0BOB|bob>")
    assert "commander" in reply
    assert "U0BOB" in channel.members
    assert "Commander:* <@U0BOB>" in card(running, channel)
    assert "bob" in channel.topic
    brief = [m for c in running.slack.channels.values() if c.is_im for m in c.messages]
    assert any(
        "You are now *commander*" in m.text or "commander" in json.dumps(m.blocks) for m in brief
    )
    assert len(running.slack.calls_to("chat.postMessage")) >= 2
    # a handoff replaces the holder and is on the timeline
    await in_bridge(running, channel, "role commander <@U0CAROL>", user="U0BOB")
    entries = [e for e in await timeline(running) if e.kind == "role_assigned"]
    assert [e.data["user"] for e in entries] == ["U0BOB", "U0CAROL"]
    assert entries[-1].data["previous"] == "U0BOB"
    assert "Commander:* <@U0CAROL>" in card(running, channel)
    roles = await in_bridge(running, channel, "roles")
    assert "U0CAROL" in roles and "U0BOB" not in roles


async def test_card_is_updated_in_place_never_reposted(running: Running) -> None:
    channel = await declare(running)
    await in_bridge(running, channel, "role commander <@U0ALICE>")
    await in_bridge(running, channel, "stage assess looking at logs")
    cards = [m for m in running.slack.messages(channel.id) if "Incident 1:" in json.dumps(m.blocks)]
    assert len(cards) == 1 and cards[0].edits
    assert "Assess" in card(running, channel) and "Assess" in channel.topic


async def test_notes_leave_the_status_card_as_drawn_and_a_task_redraws_it(
    running: Running,
) -> None:
    """The card shows no notes: redrawing it for each would spend a Slack call on a card that
    reads the same."""
    channel = await declare(running)
    status = status_card(running.slack, channel)
    drawn = len(status.edits)
    for n in range(3):
        await in_bridge(running, channel, f"note checked host {n}")
    assert len(status.edits) == drawn
    assert "checked host 2" in text_of([m.blocks for m in running.slack.messages(channel.id)])
    await in_bridge(running, channel, "task rotate the keys")
    assert len(status.edits) == drawn + 1 and "rotate the keys" in card(running, channel)


async def test_a_card_redraw_slack_refused_is_made_good_by_the_next_entry(
    running: Running,
) -> None:
    """A note draws the card again when its last redraw was parked; once it is drawn, notes
    leave it alone again."""
    channel = await declare(running)
    running.slack.fail("chat.update", error="invalid_blocks", times=1, channel=channel.id)
    await in_bridge(running, channel, "severity sev1 it spread to billing")
    assert (await incident_row(running)).severity == "sev1"
    assert "SEV2" in card(running, channel)  # the redraw was refused and parked
    await in_bridge(running, channel, "note billing hosts isolated")
    assert "SEV1" in card(running, channel)
    status = status_card(running.slack, channel)
    drawn = len(status.edits)
    await in_bridge(running, channel, "note billing back")
    assert len(status.edits) == drawn


async def test_a_parked_card_redraw_put_back_by_an_operator_leaves_notes_alone(
    running: Running,
) -> None:
    """`bridgekeeper outbox retry` puts the refused redraw back: it brings the card up to date,
    and the notes after it leave the card alone (it is no longer out of date)."""
    channel = await declare(running)
    running.slack.fail("chat.update", error="invalid_blocks", times=1, channel=channel.id)
    await in_bridge(running, channel, "severity sev1 it spread to billing")
    assert "SEV2" in card(running, channel)  # the redraw was refused and parked
    async with running.bk.db.transaction() as session:
        assert await outbox.retry(session, now=running.bk.clock.now()) == 1
    await running.settle()
    assert "SEV1" in card(running, channel)
    [status] = [m for m in running.slack.messages(channel.id) if m.ts in channel.pins]
    drawn = len(status.edits)
    await in_bridge(running, channel, "note billing back")
    assert len(status.edits) == drawn


async def test_severity_needs_permission_and_reason(running: Running) -> None:
    channel = await declare(running)
    refused = await in_bridge(running, channel, "severity sev1 spreading", user="U0DAVE")
    assert "commander" in refused and "deputy" in refused
    assert (await incident_row(running)).severity == "sev2"

    await in_bridge(running, channel, "role commander <@U0ALICE>")
    missing = await in_bridge(running, channel, "severity sev1")
    assert "reason" in missing.lower()
    await in_bridge(running, channel, "severity sev1 ransomware note found on two hosts")
    incident = await incident_row(running)
    assert incident.severity == "sev1" and incident.initial_severity == "sev2"
    [change] = [e for e in await timeline(running) if e.kind == "severity_changed"]
    assert change.data == {"from": "sev2", "to": "sev1"}
    assert change.text == "ransomware note found on two hosts" and change.actor == "U0ALICE"
    assert "SEV1" in card(running, channel) and "SEV1" in channel.topic
    posted = json.dumps([m.blocks for m in running.slack.messages(channel.id)])
    assert "ransomware note found on two hosts" in posted


async def test_stage_impact_note_and_tasks(running: Running) -> None:
    channel = await declare(running)
    await in_bridge(running, channel, "stage diagnose root cause is a leaked key")
    impact = await in_bridge(running, channel, "impact c=high i=low personal-data=yes")
    assert "SEV1" in impact and "notify gdpr" in impact
    note = await in_bridge(running, channel, "note rotated the key <@U0BOB> & <!here>")
    assert "timeline" in note
    await in_bridge(running, channel, "task block the attacker IP <@U0BOB>")
    await in_bridge(running, channel, "task reset passwords")
    assert "block the attacker IP" in card(running, channel)
    await in_bridge(running, channel, "task done 1")
    tasks = await in_bridge(running, channel, "tasks")
    assert "reset passwords" in tasks and "white_check_mark" in tasks
    assert "block the attacker IP" not in card(running, channel)
    kinds = [e.kind for e in await timeline(running)]
    assert kinds == [
        "declared",
        "stage_changed",
        "impact_assessed",
        "note",
        "task_added",
        "task_added",
        "task_done",
    ]
    incident = await incident_row(running)
    assert incident.stage == "diagnose"
    assert incident.impact["confidentiality"] == "high" and incident.impact["personal_data"]
    assert running.slack.unsafe_mentions() == []


async def test_timeline_is_paged_and_hash_chained(running: Running) -> None:
    channel = await declare(running)
    for i in range(30):
        await running.command(f"note finding {i}", channel=channel.id)
    await running.settle()
    first = await in_bridge(running, channel, "timeline")
    second = await in_bridge(running, channel, "timeline 2")
    assert "Page 1 of 2" in first and "Page 2 of 2" in second
    on_first = {int(n) for n in re.findall(r"finding (\d+)\b", first)}
    on_second = {int(n) for n in re.findall(r"finding (\d+)\b", second)}
    assert not on_first & on_second  # each finding on exactly one page, in whatever order
    assert on_first | on_second == set(range(30))
    entries = await timeline(running)
    assert [e.seq for e in entries] == list(range(1, 32))
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))


async def test_outside_the_bridge_channel_needs_a_number(running: Running) -> None:
    await declare(running)
    answer = await in_bridge(running, running.slack.channels[running.general], "note hello")
    assert "bridge channel" in answer and "42" in answer
    await in_bridge(running, running.slack.channels[running.general], "note 1 from outside")
    assert [e.text for e in await timeline(running) if e.kind == "note"] == ["from outside"]
    missing = await in_bridge(running, running.slack.channels[running.general], "note 7 hi")
    assert "no incident 7" in missing.lower()


async def test_list_and_summary(running: Running) -> None:
    channel = await declare(running)
    await declare(running, "Disk full", "sev4")
    listing = await in_bridge(running, running.slack.channels[running.general], "list")
    assert "Suspicious login" in listing and "Disk full" in listing and "SEV4" in listing
    before = len(running.slack.messages(channel.id))
    await in_bridge(running, channel, "summary")
    assert len(running.slack.messages(channel.id)) == before + 1
    assert "Incident 1:" in json.dumps(running.slack.messages(channel.id)[-1].blocks)


async def test_a_plain_name_two_people_go_by_names_nobody(running: Running) -> None:
    """Slack leaves @sam as typed when it cannot tell who is meant: the role is not given to
    whichever of them it lists first."""
    running.slack.add_user("U0SAMLEE", "sam")
    running.slack.add_user("U0SAMPATEL", "Sam")
    channel = await declare(running)
    answer = await in_bridge(running, channel, "role scribe @sam")
    assert "no Slack user sam" in answer and "several people" in answer
    assert [e for e in await timeline(running) if e.kind == "role_assigned"] == []
    await in_bridge(running, channel, "role scribe @bob")  # one person goes by that name
    assert [e.data["user"] for e in await timeline(running) if e.kind == "role_assigned"] == [
        "U0BOB"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("role wizard <@U0BOB>", "wizard"),
        ("role commander <@U0NOBODY>", "no Slack user"),
        ("stage flying", "flying"),
        ("impact c=huge", "huge"),
        ("severity sev9 because", "sev9"),
        ("task done 99", "no task 99"),
    ],
)
async def test_bad_input_says_what_was_wrong_and_changes_nothing(
    running: Running, text: str, expected: str
) -> None:
    channel = await declare(running)
    before = [(m.ts, len(m.edits)) for m in running.slack.messages(channel.id)]
    answer = await in_bridge(running, channel, text)
    assert expected in answer
    assert "ephemeral" in answer
    assert [(m.ts, len(m.edits)) for m in running.slack.messages(channel.id)] == before
    assert [e.kind for e in await timeline(running)] == ["declared"]


async def test_pushpin_reaction_adds_the_message_once(running: Running) -> None:
    channel = await declare(running)
    ts = running.slack.post_user_message(channel.id, "U0BOB", "attacker IP is 203.0.113.7").ts
    # Events are applied after their ack, concurrently: a second person reacting a moment
    # later is sent after the first is handled, as it would be in a real channel.
    await running.driver.reaction_added(user="U0ALICE", channel=channel.id, ts=ts, event_id="Ev1")
    await running.driver.reaction_added(
        user="U0ALICE", channel=channel.id, ts=ts, event_id="Ev1", retry_num=1
    )
    await running.settle()
    await running.driver.reaction_added(user="U0CAROL", channel=channel.id, ts=ts, event_id="Ev2")
    await running.settle()
    [pinned] = [e for e in await timeline(running) if e.kind == "pinned"]
    assert pinned.actor == "U0BOB" and pinned.text == "attacker IP is 203.0.113.7"
    assert abs(pinned.at.timestamp() - float(ts)) < 0.001
    assert pinned.data["pinned_by"] == "U0ALICE"


async def test_message_shortcut_adds_to_timeline_once(running: Running) -> None:
    channel = await declare(running)
    ts = running.slack.post_user_message(channel.id, "U0CAROL", "found the phishing mail").ts
    for _ in range(2):
        await running.driver.message_shortcut(
            user="U0ALICE", callback_id="add_to_timeline", channel=channel.id, message_ts=ts
        )
    await running.settle()
    pinned = [e for e in await timeline(running) if e.kind == "pinned"]
    assert [(e.actor, e.text) for e in pinned] == [("U0CAROL", "found the phishing mail")]


async def test_concurrent_commands_lose_no_update(running: Running) -> None:
    channel = await declare(running)
    await asyncio.gather(
        *(running.command(f"note parallel {i}", channel=channel.id) for i in range(12))
    )
    await running.settle()
    notes = [e for e in await timeline(running) if e.kind == "note"]
    assert sorted(e.text for e in notes) == sorted(f"parallel {i}" for i in range(12))
    assert (await incident_row(running)).timeline_length == 13


async def test_user_text_cannot_forge_blocks(running: Running) -> None:
    channel = await declare(running)
    await in_bridge(
        running, channel, "note hi\n[button card_severity 1 danger] Click me\n# Big\n---"
    )
    [post] = [m for m in running.slack.messages(channel.id) if "Click me" in json.dumps(m.blocks)]
    assert [b["type"] for b in post.blocks] == ["section"]


async def test_naming_a_roles_holder_again_changes_nothing(running: Running) -> None:
    """No handoff from bob to bob, nor from the declarer to herself: one spell each in the
    timeline (and so in the report's bridge team)."""
    channel = await declare(running)  # alice commands it from here
    await in_bridge(running, channel, "role scribe <@U0BOB>")
    told = await in_bridge(running, channel, "role scribe <@U0BOB>")
    assert "<@U0BOB> is already *scribe*; nothing was changed." in told
    told = await in_bridge(running, channel, "role commander <@U0ALICE>")
    assert "<@U0ALICE> is already *commander*; nothing was changed." in told
    assigned = [e for e in await timeline(running) if e.kind == "role_assigned"]
    assert [(e.data["role"], e.data["user"]) for e in assigned] == [("scribe", "U0BOB")]
