"""The access model's edges: triage-card buttons on an alert inside a private incident, a role
holder who leaves, a leave racing a membership look-up, and managers while Slack errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bridgekeeper.config import AutoDeclareRule
from bridgekeeper.domain.incidents import Severity
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.services import access as access_module
from bridgekeeper.store import members
from tests import alerting
from tests.conftest import MANAGERS, Running
from tests.helpers import eventually
from tests.services import test_triage as triage
from tests.services.test_access import (
    SECRET,
    click,
    declare,
    entries,
    incident,
    say,
)

pytestmark = pytest.mark.both_transports

DAVE, ALICE, BOB, CAROL = "U0DAVE", "U0ALICE", "U0BOB", "U0CAROL"
PRIVATE_GENERIC = AutoDeclareRule(sources=("generic",), min_severity=Severity.SEV1, private=True)


def triage_texts(managed: Running) -> str:
    channel = alerting.triage_channel(managed)
    return json.dumps([m.text + json.dumps(m.blocks) for m in managed.slack.messages(channel)])


def told(managed: Running, reply: Any) -> str:
    return json.dumps([p.body for p in managed.slack.response_posts if p.url == reply.response_url])


async def hidden_alert(managed: Running) -> int:
    """An alert rule declares private incident 1; a second alert on the same resource joins it
    without a card of its own. Returns the second alert's id."""
    first = await alerting.post(
        managed,
        "generic",
        alerting.generic(
            "Payroll DB anomaly", severity="sev1", resource="payroll-db", dedup_key="a1"
        ),
    )
    assert first.body["result"] == "new" and first.body["incident"] is None  # private: unnamed
    assert (await alerting.alert(managed, first.body["alert_id"])).incident_number == 1
    second = await alerting.post(
        managed,
        "generic",
        alerting.generic(SECRET, severity="sev3", resource="payroll-db", dedup_key="a2"),
    )
    assert second.body["result"] == "attached"
    await managed.settle()
    assert SECRET not in triage_texts(managed)
    return int(second.body["alert_id"])


async def button(managed: Running, action: str, alert_id: int, user: str = DAVE) -> str:
    reply = await managed.driver.block_action(
        user=user, action_id=action, value=str(alert_id), channel=alerting.triage_channel(managed)
    )
    await managed.settle()
    return told(managed, reply)


async def test_triage_buttons_answer_an_outsider_as_for_a_missing_alert(
    db_url: str, emulator: SlackEmulator, transport: str
) -> None:
    async with alerting.bridgekeepers(db_url, emulator, transport) as start:
        running = await start(auto_declare=(PRIVATE_GENERIC,))
        alert_id = await hidden_alert(running)
        for action in ("alert_declare", "alert_ack", "alert_dismiss", "alert_link"):
            assert await button(running, action, alert_id) == await button(running, action, 999)
        assert not running.slack.views
        assert SECRET not in triage_texts(running)
        row = await alerting.alert(running, alert_id)
        assert row.triage == "new" and row.acknowledged_by is None


async def test_a_second_click_on_declare_tells_an_outsider_nothing(
    db_url: str, emulator: SlackEmulator, transport: str
) -> None:
    async with alerting.bridgekeepers(db_url, emulator, transport) as start:
        running = await start(auto_declare=(AutoDeclareRule(("generic",), Severity.SEV1, True),))
        alert_id, ts = await triage.carded(running, title=SECRET)  # sev2: a card, declared by hand
        await triage.click(running, "alert_declare", alert_id, ts, user=ALICE)
        await running.settle()  # Alice's declaration is done: Dave's click comes second
        reply = await running.driver.block_action(
            user=DAVE,
            action_id="alert_declare",
            value=str(alert_id),
            channel=alerting.triage_channel(running),
            message_ts=ts,
        )
        await running.settle()
        assert (await incident(running)).private
        assert SECRET not in told(running, reply) and "Incident 1" not in told(running, reply)


async def test_a_role_holder_who_left_is_out(managed: Running) -> None:
    bridge = await declare(managed, f"{SECRET} sev1 private")
    await say(managed, "role scribe <@U0BOB>", user=ALICE, channel=bridge.id)
    bridge.members.discard(BOB)
    await managed.driver.event(
        {
            "type": "member_left_channel",
            "user": BOB,
            "channel": bridge.id,
            "channel_type": "G",
            "event_ts": "1.000002",
        }
    )
    await managed.settle()
    assert "That incident is not there" in await click(managed, bridge, "card_note", BOB)


async def test_a_leave_during_a_membership_look_up_sticks(managed: Running) -> None:
    bridge = await declare(managed, f"{SECRET} sev1 private")
    bridge.members.add(DAVE)  # in the channel; bridgekeeper does not know yet
    managed.slack.delay("conversations.members", 1.5)
    await managed.driver.command("note racing", user=DAVE, channel=bridge.id)
    await eventually(lambda: managed.slack.calls_to("conversations.members"))  # in flight
    bridge.members.discard(DAVE)
    await managed.driver.event(
        {
            "type": "member_left_channel",
            "user": DAVE,
            "channel": bridge.id,
            "channel_type": "G",
            "event_ts": "1.000003",
        }
    )
    await managed.settle()
    await eventually(lambda: not managed.bk.incidents.access.channels.busy)  # Slack answered
    row = await incident(managed)
    async with managed.bk.db.sessions() as session:
        assert not await members.is_member(session=session, incident_id=row.id, user=DAVE)


async def test_managers_are_nobody_while_slack_cannot_say_who_they_are(
    managed: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    bridge = await declare(managed, f"{SECRET} sev1 private")
    assert "not there" not in await click(managed, bridge, "card_note", CAROL)  # a manager
    managed.slack.usergroups[MANAGERS].users.remove(CAROL)
    managed.slack.fail("usergroups.users.list", times=100, status=200, error="fatal_error")
    monkeypatch.setattr(access_module, "MANAGERS_TTL", 0.0)
    assert "That incident is not there" in await click(managed, bridge, "card_note", CAROL)
    assert [e.kind for e in await entries(managed)] == ["declared"]


async def test_the_public_triage_card_does_not_name_a_private_incident(
    db_url: str, emulator: SlackEmulator, transport: str
) -> None:
    async with alerting.bridgekeepers(db_url, emulator, transport) as start:
        running = await start()
        await declare(running, f"{SECRET} sev1 private")
        alert_id, ts = await triage.carded(running)
        await triage.click(running, "alert_link", alert_id, ts)
        await running.settle()
        await running.driver.view_submission(
            user=ALICE,
            view_id=triage.open_view(running, "alert_link"),
            values={"incident": triage.selected("1")},
        )
        await running.settle()
        assert (await alerting.alert(running, alert_id)).incident_id is not None
        card = triage.card(running, ts)
        assert "private incident" in card and "incident 1" not in card and ALICE not in card
