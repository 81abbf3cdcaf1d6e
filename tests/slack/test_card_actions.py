"""Status card buttons open modals; a bad value shows inline; a good one changes things."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from bridgekeeper.config import ProcessSettings
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.sandbox.state import Channel
from tests.conftest import Running, bridgekeepers
from tests.helpers import status_card
from tests.services.test_lifecycle import card, declare, in_bridge, incident_row, timeline

pytestmark = pytest.mark.both_transports


def select(value: str) -> dict[str, object]:
    return {"value": {"type": "static_select", "selected_option": {"value": value}}}


def text(value: str) -> dict[str, object]:
    return {"value": {"type": "plain_text_input", "value": value}}


async def click(running: Running, channel: Channel, action: str, user: str = "U0ALICE") -> str:
    pinned = status_card(running.slack, channel)
    buttons = [e for b in pinned.blocks if b["type"] == "actions" for e in b["elements"]]
    [button] = [b for b in buttons if b["action_id"] == action]
    before = set(running.slack.views)
    await running.driver.block_action(
        user=user, action_id=action, value=button["value"], channel=channel.id, message_ts=pinned.ts
    )
    await running.settle()
    [view_id] = set(running.slack.views) - before
    return view_id


async def test_severity_button_validates_inline_then_changes(running: Running) -> None:
    channel = await declare(running)
    await in_bridge(running, channel, "role commander <@U0ALICE>")
    view_id = await click(running, channel, "card_severity")
    assert running.slack.views[view_id].view["title"]["text"] == "Change severity"

    reply = await running.driver.view_submission(
        user="U0ALICE", view_id=view_id, values={"severity": select("sev1"), "reason": text("")}
    )
    assert reply.body["response_action"] == "errors" and "reason" in reply.body["errors"]
    assert (await incident_row(running)).severity == "sev2"

    await running.driver.view_submission(
        user="U0ALICE",
        view_id=view_id,
        values={"severity": select("sev1"), "reason": text("data left the network")},
    )
    await running.settle()
    assert (await incident_row(running)).severity == "sev1"
    assert "SEV1" in card(running, channel)
    [change] = [e for e in await timeline(running) if e.kind == "severity_changed"]
    assert change.text == "data left the network"


async def test_severity_button_refuses_without_permission(running: Running) -> None:
    channel = await declare(running)
    pinned = status_card(running.slack, channel)
    [button] = [
        e
        for b in pinned.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "card_severity"
    ]
    reply = await running.driver.block_action(
        user="U0DAVE",
        action_id="card_severity",
        value=button["value"],
        channel=channel.id,
        message_ts=pinned.ts,
    )
    await running.settle()
    assert not running.slack.views
    told = [p.body for p in running.slack.response_posts if p.url == reply.response_url]
    assert "Only the commander" in json.dumps(told)


async def test_severity_modal_refuses_inline_once_permission_is_gone(running: Running) -> None:
    channel = await declare(running)
    view_id = await click(running, channel, "card_severity")
    await in_bridge(running, channel, "role commander <@U0BOB>")  # Alice hands over meanwhile
    reply = await running.driver.view_submission(
        user="U0ALICE",
        view_id=view_id,
        values={"severity": select("sev1"), "reason": text("I think so")},
    )
    assert reply.body["response_action"] == "errors"
    assert "commander" in json.dumps(reply.body["errors"])
    assert (await incident_row(running)).severity == "sev2"


async def test_stage_role_and_note_buttons(running: Running) -> None:
    channel = await declare(running)
    stage = await click(running, channel, "card_stage")
    await running.driver.view_submission(
        user="U0ALICE", view_id=stage, values={"stage": select("assess"), "note": text("")}
    )
    role = await click(running, channel, "card_role")
    await running.driver.view_submission(
        user="U0ALICE",
        view_id=role,
        values={
            "role": select("scribe"),
            "user": {"value": {"type": "users_select", "selected_user": "U0CAROL"}},
        },
    )
    note = await click(running, channel, "card_note")
    empty = await running.driver.view_submission(
        user="U0ALICE", view_id=note, values={"text": text("  ")}
    )
    assert empty.body["response_action"] == "errors"
    await running.driver.view_submission(
        user="U0ALICE", view_id=note, values={"text": text("EDR isolated the host")}
    )
    await running.settle()
    kinds = [(e.kind, e.text) for e in await timeline(running)]
    assert ("stage_changed", "") in kinds and ("note", "EDR isolated the host") in kinds
    assert "Scribe:* <@U0CAROL>" in card(running, channel)
    assert "U0CAROL" in channel.members


@pytest.mark.parametrize("chosen", ["bot", "U0GONE", "U0ALICE"])
async def test_the_role_form_gives_roles_to_people_and_says_why_not_by_the_picker(
    running: Running, chosen: str
) -> None:
    """Slack's user picker lists bots and deactivated accounts too: a bot made commander (the
    bridgekeeper bot itself) would hold the incident, and nobody could close it."""
    running.slack.add_user("U0GONE", "gone", deleted=True)
    user = running.slack.bot_user_id if chosen == "bot" else chosen
    channel = await declare(running)
    view_id = await click(running, channel, "card_role")
    reply = await running.driver.view_submission(
        user="U0ALICE",
        view_id=view_id,
        values={
            "role": select("commander"),
            "user": {"value": {"type": "users_select", "selected_user": user}},
        },
    )
    await running.settle()
    assert reply.body["response_action"] == "errors" and list(reply.body["errors"]) == ["user"]
    said = reply.body["errors"]["user"]
    assert ("already commander" if chosen == "U0ALICE" else "not a bot") in said
    assert "<@" not in said
    assert [e for e in await timeline(running) if e.kind == "role_assigned"] == []


async def test_the_role_form_gives_the_role_its_option_stands_for(
    db_url: str, emulator: SlackEmulator
) -> None:
    """An option stands for its role by the role's place in the list: the role given is the
    one chosen, whole, as configured (a name of 40 characters, the longest taken)."""
    long_role = "Communications lead for the board (x40)"
    roles = ("commander", long_role, "x" * 40)
    async with bridgekeepers(db_url, emulator) as start:
        running = await start(process=replace(ProcessSettings(), roles=roles))
        channel = await declare(running)
        view_id = await click(running, channel, "card_role")
        view = emulator.views[view_id].view
        [options] = [b["element"]["options"] for b in view["blocks"] if b["block_id"] == "role"]
        assert [o["text"]["text"] for o in options] == list(roles)
        assert [o["value"] for o in options] == ["0", "1", "2"]
        picked = next(o["value"] for o in options if o["text"]["text"].startswith("Communic"))
        await running.driver.view_submission(
            user="U0ALICE",
            view_id=view_id,
            values={
                "role": select(picked),
                "user": {"value": {"type": "users_select", "selected_user": "U0CAROL"}},
            },
        )
        await running.settle()
        assigned = [e.data for e in await timeline(running) if e.kind == "role_assigned"]
        assert assigned == [{"role": long_role, "user": "U0CAROL", "previous": None}]
