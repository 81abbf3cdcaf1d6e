"""Who may see and change an incident, driven from outside with signed slash commands, button
clicks, modal submissions and events: a private incident does not exist for anyone outside it,
and privileged actions are refused to those who do not hold them, on every path alike."""

from __future__ import annotations

import json

import pytest

from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.sandbox.state import Channel
from bridgekeeper.services.incidents import BOT_ACTOR
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store import members
from bridgekeeper.store.models import Incident, TimelineEntry
from tests import alerting
from tests.conftest import Running
from tests.helpers import eventually, settle
from tests.services import test_triage as triage

pytestmark = pytest.mark.both_transports

SECRET = "Payroll exfiltration by contractor"


async def say(managed: Running, text: str, *, user: str, channel: str | None = None) -> str:
    """What the user was told: the ack and every ephemeral follow-up."""
    reply = await managed.command(text, user=user, channel=channel)
    await managed.settle()
    assert reply.status == 200
    posts = [p.body for p in managed.slack.response_posts if p.url == reply.response_url]
    return json.dumps([reply.body, *posts])


async def declare(managed: Running, text: str, *, user: str = "U0ALICE") -> Channel:
    await say(managed, f"declare {text}", user=user)
    return [c for c in managed.slack.channels.values() if c.name.startswith("inc-")][-1]


async def incident(managed: Running, number: int = 1) -> Incident:
    async with managed.bk.db.sessions() as session:
        found = await incident_store.get(session=session, number=number)
        assert found is not None
        return found


async def entries(managed: Running, number: int = 1) -> list[TimelineEntry]:
    row = await incident(managed, number)
    async with managed.bk.db.sessions() as session:
        return await incident_store.timeline(session=session, incident_id=row.id)


def outside_since(managed: Running, bridge: Channel, mark: tuple[int, int]) -> str:
    """Every message, DM and ephemeral answer outside the bridge channel since `mark`."""
    channels = [c for c in managed.slack.channels.values() if c is not bridge]
    posted = [m.text + json.dumps(m.blocks) for c in channels for m in c.messages]
    answers = [json.dumps(p.body) for p in managed.slack.response_posts]
    return json.dumps(posted[mark[0] :] + answers[mark[1] :])


def mark(managed: Running, bridge: Channel) -> tuple[int, int]:
    posted = sum(len(c.messages) for c in managed.slack.channels.values() if c is not bridge)
    return posted, len(managed.slack.response_posts)


# -- a private incident does not exist for those outside it --------------------------------------
READS_AND_WRITES = [
    "timeline #{n}",
    "tasks #{n}",
    "roles #{n}",
    "summary #{n}",
    "report #{n}",
    "note #{n} we know",
    "task #{n} look around",
    "stage #{n} assess",
    "impact #{n} c=high",
    "severity #{n} sev1 mine now",
    "role #{n} commander <@U0DAVE>",
    "update #{n} all clear",
    "notify #{n} gdpr",
    "notify #{n} done gdpr",
    "notify #{n} dora classified",
    "close #{n} done",
    "reopen #{n} again",
    "timeline #{n} 2",
]


@pytest.mark.parametrize("command", READS_AND_WRITES)
async def test_private_incident_is_answered_like_a_missing_one(
    managed: Running, command: str
) -> None:
    bridge = await declare(managed, f"{SECRET} sev1 private")
    since = mark(managed, bridge)
    before = len(await entries(managed))
    missing = await say(managed, command.format(n=99), user="U0DAVE")
    hidden = await say(managed, command.format(n=1), user="U0DAVE")
    assert hidden == missing.replace("99", "1")
    assert "There is no incident 1" in hidden
    assert len(await entries(managed)) == before
    assert SECRET not in outside_since(managed, bridge, since)
    assert (await incident(managed)).severity == "sev1" and (
        await incident(managed)
    ).status == "open"


async def test_members_too_are_refused_a_private_incident_from_outside_its_channel(
    managed: Running,
) -> None:
    bridge = await declare(managed, f"{SECRET} sev1 private")
    since = mark(managed, bridge)
    for command in ("timeline #1", "summary #1", "note #1 from the lobby"):
        assert "There is no incident 1" in await say(managed, command, user="U0ALICE")
    assert SECRET not in outside_since(managed, bridge, since)
    assert [e.kind for e in await entries(managed)] == ["declared"]


async def test_list_and_stats_never_name_a_private_incident_to_outsiders(managed: Running) -> None:
    bridge = await declare(managed, f"{SECRET} sev1 private")
    since = mark(managed, bridge)
    await declare(managed, "Website slow sev3")
    listed = await say(managed, "list", user="U0DAVE")
    assert "Website slow" in listed and "*1*" not in listed and "private" not in listed
    stats = await say(managed, "stats", user="U0DAVE")
    assert "2 declared" in stats and SECRET not in stats
    mine = await say(managed, "list", user="U0ALICE")
    assert "*1*" in mine and "private incident" in mine and SECRET not in mine
    by_manager = await say(managed, "list", user="U0CAROL")
    assert "*1*" in by_manager
    assert SECRET not in outside_since(managed, bridge, since)


async def test_leading_number_in_a_bridge_channel_is_text(managed: Running) -> None:
    await declare(managed, f"{SECRET} sev1 private")
    second = await declare(managed, "Website slow sev3")
    await say(managed, "note 1 restarted the cache", user="U0ALICE", channel=second.id)
    await say(managed, "note #1 second try", user="U0ALICE", channel=second.id)
    notes = [e.text for e in await entries(managed, 2) if e.kind == "note"]
    assert notes == ["1 restarted the cache", "#1 second try"]
    assert [e.kind for e in await entries(managed, 1)] == ["declared"]


# -- privileged actions ------------------------------------------------------------------------
PRIVILEGED = [
    ("severity sev1 it is spreading", lambda i: i.severity == "sev1"),
    ("role deputy <@U0BOB>", None),
    ("update Contained, watching", None),
    ("notify gdpr", None),
    ("close contained and cleaned", lambda i: i.status == "closed"),
]


@pytest.mark.parametrize(("command", "changed"), PRIVILEGED)
@pytest.mark.parametrize("private", [False, True])
async def test_privileged_actions_are_refused_then_allowed(
    managed: Running, command: str, changed: object, private: bool
) -> None:
    bridge = await declare(managed, "Suspicious login sev2" + (" private" if private else ""))
    await say(managed, "role scribe <@U0BOB>", user="U0ALICE", channel=bridge.id)
    before = len(await entries(managed))
    refused = await say(managed, command, user="U0BOB", channel=bridge.id)
    assert "Only the commander, deputy or incident managers can" in refused
    assert "nothing was changed" in refused
    assert len(await entries(managed)) == before
    for allowed in ("U0CAROL", "U0ALICE"):  # the manager, then the commander
        if allowed == "U0CAROL" and command.startswith("close"):
            continue
        answer = await say(managed, command, user=allowed, channel=bridge.id)
        assert "Only the" not in answer
    assert len(await entries(managed)) > before
    if callable(changed):
        assert changed(await incident(managed))


async def test_reopen_is_privileged(managed: Running) -> None:
    bridge = await declare(managed, "Suspicious login sev2")
    await say(managed, "close contained", user="U0ALICE", channel=bridge.id)
    refused = await say(managed, "reopen it came back", user="U0BOB", channel=bridge.id)
    assert "Only the commander" in refused and (await incident(managed)).status == "closed"
    await say(managed, "reopen it came back", user="U0ALICE", channel=bridge.id)
    assert (await incident(managed)).status == "open"


async def test_a_vacant_command_may_be_taken_by_oneself_only(managed: Running) -> None:
    await managed.bk.incidents.declare(user=BOT_ACTOR, title="Impossible travel", private=False)
    await managed.settle()
    bridge = next(c for c in managed.slack.channels.values() if c.name.startswith("inc-1-"))
    refused = await say(managed, "role commander <@U0BOB>", user="U0DAVE", channel=bridge.id)
    assert "Only the commander" in refused
    await say(managed, "role commander <@U0DAVE>", user="U0DAVE", channel=bridge.id)
    again = await say(managed, "role commander <@U0BOB>", user="U0BOB", channel=bridge.id)
    assert "Only the commander" in again
    row = await incident(managed)
    async with managed.bk.db.sessions() as session:
        roles = await incident_store.current_roles(session=session, incident_id=row.id)
    assert roles == {"commander": "U0DAVE"}


async def test_members_act_on_a_private_incident_without_privilege(managed: Running) -> None:
    bridge = await declare(managed, f"{SECRET} sev1 private")
    await say(managed, "role scribe <@U0BOB>", user="U0ALICE", channel=bridge.id)
    for command in ("note seen on two hosts", "task reimage laptop", "stage assess"):
        assert "There is no" not in await say(managed, command, user="U0BOB", channel=bridge.id)
    kinds = [e.kind for e in await entries(managed)]
    assert {"note", "task_added", "stage_changed"} <= set(kinds)


# -- buttons and modals go through the same check ----------------------------------------------
def card_button(bridge: Channel, action: str) -> tuple[str, str]:
    [pinned] = [m for m in bridge.messages if m.ts in bridge.pins]
    [value] = [
        e["value"]
        for b in pinned.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action
    ]
    return value, pinned.ts


async def click(managed: Running, bridge: Channel, action: str, user: str) -> str:
    value, ts = card_button(bridge, action)
    reply = await managed.driver.block_action(
        user=user, action_id=action, value=value, channel=bridge.id, message_ts=ts
    )
    await managed.settle()
    return json.dumps([p.body for p in managed.slack.response_posts if p.url == reply.response_url])


@pytest.mark.parametrize(
    "action", ["card_severity", "card_stage", "card_role", "card_note", "card_update"]
)
async def test_replayed_card_buttons_open_nothing_for_outsiders(
    managed: Running, action: str
) -> None:
    bridge = await declare(managed, f"{SECRET} sev1 private")
    told = await click(managed, bridge, action, "U0DAVE")
    assert "That incident is not there" in told and SECRET not in told
    assert not managed.slack.views
    await click(managed, bridge, action, "U0ALICE")
    assert len(managed.slack.views) == 1


async def test_a_modal_submitted_by_an_outsider_changes_nothing(managed: Running) -> None:
    bridge = await declare(managed, f"{SECRET} sev1 private")
    await click(managed, bridge, "card_note", "U0ALICE")
    [view_id] = list(managed.slack.views)
    reply = await managed.driver.view_submission(
        user="U0DAVE",
        view_id=view_id,
        values={"text": {"value": {"type": "plain_text_input", "value": "planted"}}},
    )
    assert reply.body["response_action"] == "errors"
    assert "There is no incident 1" in json.dumps(reply.body)
    await managed.settle()
    assert [e.kind for e in await entries(managed)] == ["declared"]


async def test_snooze_is_privileged(managed: Running) -> None:
    bridge = await declare(managed, "Suspicious login sev1")
    row = await incident(managed)
    for user in ("U0BOB", "U0ALICE"):
        reply = await managed.driver.block_action(
            user=user, action_id="update_snooze_15", value=str(row.id), channel=bridge.id
        )
        await settle(managed.bk)
        told = json.dumps(
            [p.body for p in managed.slack.response_posts if p.url == reply.response_url]
        )
        if user == "U0BOB":
            assert "snooze the reminders" in told
        else:
            assert "Only the" not in told


# -- membership follows the bridge channel ------------------------------------------------------
async def test_membership_follows_joins_and_leaves(managed: Running) -> None:
    bridge = await declare(managed, f"{SECRET} sev1 private")
    assert "That incident is not there" in await click(managed, bridge, "card_note", "U0DAVE")
    bridge.members.add("U0DAVE")
    await managed.driver.event(
        {
            "type": "member_joined_channel",
            "user": "U0DAVE",
            "channel": bridge.id,
            "channel_type": "G",
            "event_ts": "1.000001",
        }
    )
    await managed.settle()
    assert "not there" not in await click(managed, bridge, "card_note", "U0DAVE")
    bridge.members.discard("U0DAVE")
    await managed.driver.event(
        {
            "type": "member_left_channel",
            "user": "U0DAVE",
            "channel": bridge.id,
            "channel_type": "G",
            "event_ts": "1.000002",
        }
    )
    await managed.settle()
    assert "That incident is not there" in await click(managed, bridge, "card_note", "U0DAVE")


async def test_a_join_retried_after_the_leave_does_not_let_the_leaver_back_in(
    managed: Running,
) -> None:
    """Dave is added to the private bridge channel and removed a moment later. Slack delivered
    the leave, but the join's first delivery did not get through (a timeout, a restart), so
    Slack sends the join again after the leave, with X-Slack-Retry-Num (FACTS.md §1.2). Dave,
    no longer in the channel, must still find no incident."""
    bridge = await declare(managed, f"{SECRET} sev1 private")
    join = {
        "type": "member_joined_channel",
        "user": "U0DAVE",
        "channel": bridge.id,
        "channel_type": "G",
        "event_ts": "1700000001.000100",
    }
    leave = {**join, "type": "member_left_channel", "event_ts": "1700000002.000100"}
    # Slack: added, then removed; only the leave reached bridgekeeper at first
    await managed.driver.event(leave, event_id="Ev0LEAVE")
    await managed.settle()
    assert "U0DAVE" not in bridge.members
    # Slack's retry of the join, a minute later
    await managed.driver.event(join, event_id="Ev0JOIN", retry_num=1)
    await managed.settle()
    row = await incident(managed)
    async with managed.bk.db.sessions() as session:
        still = await members.is_member(session=session, incident_id=row.id, user="U0DAVE")
    told = await click(managed, bridge, "card_note", "U0DAVE")
    assert not still and "That incident is not there" in told, told


async def test_a_member_bridgekeeper_did_not_see_join_is_let_in_after_a_look_up(
    managed: Running,
) -> None:
    bridge = await declare(managed, f"{SECRET} sev1 private")
    bridge.members.add("U0DAVE")  # invited by a person; the event never reached bridgekeeper
    await say(managed, "note knocking", user="U0DAVE", channel=bridge.id)  # may be refused

    async def stored() -> bool:
        row = await incident(managed)
        async with managed.bk.db.sessions() as session:
            return await members.is_member(session=session, incident_id=row.id, user="U0DAVE")

    await eventually(stored)  # Slack was asked in the background
    assert "There is no" not in await say(managed, "note I am in", user="U0DAVE", channel=bridge.id)
    assert "I am in" in [e.text for e in await entries(managed) if e.kind == "note"]
    assert managed.slack.calls_to("conversations.members")


async def test_the_declarer_commands_and_is_invited(managed: Running) -> None:
    bridge = await declare(managed, f"{SECRET} sev1 private", user="U0BOB")
    assert "U0BOB" in bridge.members and bridge.is_private
    roles = await say(managed, "roles", user="U0BOB", channel=bridge.id)
    assert "U0BOB" in roles and "commander" in roles


# -- the triage card's Link form -----------------------------------------------------------------
async def test_link_form_offers_only_incidents_the_user_may_know_of(
    db_url: str, emulator: SlackEmulator, transport: str
) -> None:
    async with alerting.bridgekeepers(db_url, emulator, transport) as start:
        running = await start()
        await declare(running, f"{SECRET} sev1 private")
        await declare(running, "Website slow sev3")
        alert_id, ts = await triage.carded(running)
        choices = {}
        for user in ("U0DAVE", "U0ALICE"):
            await triage.click(running, "alert_link", alert_id, ts, user=user)
            await running.settle()
            view = running.slack.views[triage.open_view(running, "alert_link")]
            options = view.view["blocks"][1]["element"]["options"]
            choices[user] = [o["text"]["text"] for o in options]
            view.closed = True
        assert choices["U0DAVE"] == ["Incident 2: Website slow"]
        assert choices["U0ALICE"] == ["Incident 2: Website slow", "Incident 1: private incident"]
        # a forged submission naming the private incident links nothing
        await triage.click(running, "alert_link", alert_id, ts, user="U0DAVE")
        await running.settle()
        forged = triage.open_view(running, "alert_link")
        await running.driver.view_submission(
            user="U0DAVE", view_id=forged, values={"incident": triage.selected("1")}
        )
        await running.settle()
        assert (await alerting.alert(running, alert_id)).incident_id is None
        assert not [e for e in await entries(running) if e.kind == "alert_attached"]


async def test_only_members_pin_to_a_private_incident(managed: Running) -> None:
    bridge = await declare(managed, f"{SECRET} sev1 private")
    ts = managed.slack.post_user_message(bridge.id, "U0ALICE", "laptop serial 4711").ts
    await managed.driver.reaction_added(user="U0DAVE", channel=bridge.id, ts=ts)
    await managed.settle()
    assert not [e for e in await entries(managed) if e.kind == "pinned"]
    await managed.driver.reaction_added(user="U0ALICE", channel=bridge.id, ts=ts)
    await managed.settle()
    [pinned] = [e for e in await entries(managed) if e.kind == "pinned"]
    assert pinned.data["pinned_by"] == "U0ALICE"


async def test_members_reopen_a_private_incident_from_outside_its_archived_channel(
    managed: Running,
) -> None:
    bridge = await declare(managed, f"{SECRET} sev1 private")
    await say(managed, "close contained", user="U0ALICE", channel=bridge.id)
    since = mark(managed, bridge)
    hidden = await say(managed, "reopen #1 it came back", user="U0DAVE")
    assert "There is no incident 1" in hidden and (await incident(managed)).status == "closed"
    answer = await say(managed, "reopen #1 it came back", user="U0ALICE")
    assert (await incident(managed)).status == "open"
    assert SECRET not in answer and SECRET not in outside_since(managed, bridge, since)
