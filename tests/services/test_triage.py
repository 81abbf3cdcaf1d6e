"""The triage card's buttons and modals, clicked through signed block_actions and view
submissions against the running server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bridgekeeper.config import AutoDeclareRule
from bridgekeeper.domain.incidents import Severity
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.sandbox.driver import Reply
from tests.alerting import alert, bridgekeepers, generic, incidents, post, timeline, triage_channel
from tests.conftest import Running

pytestmark = pytest.mark.both_transports

STARTED = "2025-11-14T10:00:00Z"


@pytest.fixture
async def app(db_url: str, emulator: SlackEmulator, transport: str) -> AsyncIterator[Running]:
    async with bridgekeepers(db_url, emulator, transport) as start:
        yield await start()


async def carded(app: Running, title: str = "Brute force on vpn-01") -> tuple[int, str]:
    """Post an alert and wait for its card: (alert id, card ts)."""
    answer = await post(app, "generic", generic(title, started_at=STARTED, dedup_key=title))
    await app.settle()
    card = next(
        m for m in app.slack.messages(triage_channel(app)) if title in m.blocks[0]["text"]["text"]
    )
    return answer.body["alert_id"], card.ts


async def click(app: Running, action: str, alert_id: int, ts: str, user: str = "U0ALICE") -> Reply:
    reply = await app.driver.block_action(
        user=user,
        action_id=action,
        value=str(alert_id),
        channel=triage_channel(app),
        message_ts=ts,
    )
    assert reply.status == 200
    return reply


def card(app: Running, ts: str) -> str:
    [message] = [m for m in app.slack.messages(triage_channel(app)) if m.ts == ts]
    return json.dumps(message.blocks)


def buttons(app: Running, ts: str) -> list[str]:
    [message] = [m for m in app.slack.messages(triage_channel(app)) if m.ts == ts]
    return [e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


def open_view(app: Running, callback_id: str) -> str:
    [view] = [
        v
        for v in app.slack.views.values()
        if v.view.get("callback_id") == callback_id and not v.closed
    ]
    return view.id


def selected(value: str) -> dict[str, Any]:
    return {"value": {"type": "static_select", "selected_option": {"value": value}}}


def typed(value: str) -> dict[str, Any]:
    return {"value": {"type": "plain_text_input", "value": value}}


# -- acknowledge ---------------------------------------------------------------------------------
async def test_acknowledge_records_who_and_when_and_updates_the_card(app: Running) -> None:
    alert_id, ts = await carded(app)
    assert buttons(app, ts) == ["alert_declare", "alert_ack", "alert_dismiss", "alert_link"]
    await click(app, "alert_ack", alert_id, ts)
    await app.settle()
    stored = await alert(app, alert_id)
    assert stored.triage == "acknowledged" and stored.acknowledged_by == "U0ALICE"
    assert stored.acknowledged_at is not None and stored.acknowledged_at >= stored.first_seen
    assert "Acknowledged by <@U0ALICE>" in card(app, ts)
    assert buttons(app, ts) == ["alert_declare", "alert_dismiss", "alert_link"]
    assert len(app.slack.calls_to("chat.postMessage")) == 1  # updated in place

    await click(app, "alert_ack", alert_id, ts, user="U0BOB")
    await app.settle()
    assert (await alert(app, alert_id)).acknowledged_by == "U0ALICE"


# -- dismiss -------------------------------------------------------------------------------------
async def test_dismiss_asks_for_a_disposition_in_a_modal(app: Running) -> None:
    alert_id, ts = await carded(app)
    await click(app, "alert_dismiss", alert_id, ts)
    await app.settle()
    view_id = open_view(app, "alert_dismiss")
    options = app.slack.views[view_id].view["blocks"][1]["element"]["options"]
    assert [o["value"] for o in options] == [
        "false_positive",
        "benign",
        "expected",
        "duplicate",
        "other",
    ]

    refused = await app.driver.view_submission(
        user="U0ALICE",
        view_id=view_id,
        values={"disposition": selected("other"), "comment": typed("")},
    )
    assert refused.body["response_action"] == "errors"
    assert "Other" in refused.body["errors"]["comment"]
    assert not app.slack.views[view_id].closed
    assert (await alert(app, alert_id)).triage == "new"

    accepted = await app.driver.view_submission(
        user="U0ALICE",
        view_id=view_id,
        values={"disposition": selected("false_positive"), "comment": typed("our <!here> scanner")},
    )
    assert accepted.status == 200 and app.slack.views[view_id].closed
    await app.settle()
    stored = await alert(app, alert_id)
    assert (stored.triage, stored.disposition, stored.triaged_by) == (
        "dismissed",
        "false_positive",
        "U0ALICE",
    )
    assert stored.triage_comment == "our <!here> scanner"
    text = card(app, ts)
    assert "Dismissed by <@U0ALICE>" in text and "false positive" in text
    assert "&lt;!here&gt; scanner" in text and buttons(app, ts) == []
    assert app.slack.unsafe_mentions() == []


async def test_a_rise_in_severity_shows_on_the_card_at_once(app: Running) -> None:
    title = "Brute force on vpn-01"
    _, ts = await carded(app, title)
    await post(app, "generic", generic(title, started_at=STARTED, dedup_key=title, severity="sev1"))
    await app.settle()
    assert "*Severity:* SEV1" in card(app, ts)


# -- declare -------------------------------------------------------------------------------------
async def test_declare_makes_an_incident_detected_when_the_alert_was_first_seen(
    app: Running,
) -> None:
    alert_id, ts = await carded(app, "Impossible travel for svc-backup")
    reply = await click(app, "alert_declare", alert_id, ts)
    await app.settle()
    [incident] = await incidents(app)
    assert incident.title == "Impossible travel for svc-backup" and incident.severity == "sev2"
    assert incident.detected_at == datetime(2025, 11, 14, 10, 0, tzinfo=UTC)
    assert incident.declared_by == "U0ALICE"
    stored = await alert(app, alert_id)
    assert (stored.incident_id, stored.incident_number, stored.triage) == (
        incident.id,
        1,
        "declared",
    )
    kinds = [e.kind for e in await timeline(app, incident.id)]
    assert kinds[:2] == ["declared", "alert_attached"]
    channel = app.slack.channel_by_name("inc-1-impossible-travel-for-svc-backup")
    assert channel is not None and "U0ALICE" in channel.members
    assert "Declared as incident 1 by <@U0ALICE>" in card(app, ts) and buttons(app, ts) == []
    told = [p for p in app.slack.response_posts if p.url == reply.response_url]
    assert told and "Incident 1 declared" in json.dumps(told[0].body)


async def test_declare_clicked_twice_makes_one_incident(app: Running) -> None:
    alert_id, ts = await carded(app)
    await click(app, "alert_declare", alert_id, ts)
    await app.settle()
    await click(app, "alert_declare", alert_id, ts, user="U0BOB")
    await app.settle()
    assert len(await incidents(app)) == 1

    other_id, other_ts = await carded(app, "Mass download from sharepoint")
    await asyncio.gather(
        click(app, "alert_declare", other_id, other_ts),
        click(app, "alert_declare", other_id, other_ts, user="U0BOB"),
    )
    await app.settle()
    assert [i.number for i in await incidents(app)] == [1, 2]
    assert len(app.slack.calls_to("conversations.create")) == 2


async def test_a_second_declare_joins_the_incident_the_first_made(app: Running) -> None:
    """Bob clicks Declare on his copy of the card just after Alice: one incident, and Bob,
    told so, is in its bridge channel (he was told he had been invited, and was not)."""
    alert_id, ts = await carded(app)
    await click(app, "alert_declare", alert_id, ts)
    await app.settle()
    reply = await click(app, "alert_declare", alert_id, ts, user="U0BOB")
    await app.settle()
    told = json.dumps([p.body for p in app.slack.response_posts if p.url == reply.response_url])
    assert "Incident 1 was already declared from this alert" in told
    [incident] = await incidents(app)
    assert "U0BOB" in app.slack.channels[incident.channel_id or ""].members


# -- link ----------------------------------------------------------------------------------------
async def test_link_attaches_the_alert_to_an_open_incident(app: Running) -> None:
    await app.command("declare Database outage sev3")
    await app.settle()
    alert_id, ts = await carded(app)
    await click(app, "alert_link", alert_id, ts)
    await app.settle()
    view_id = open_view(app, "alert_link")
    options = app.slack.views[view_id].view["blocks"][1]["element"]["options"]
    assert [(o["value"], o["text"]["text"]) for o in options] == [
        ("1", "Incident 1: Database outage")
    ]

    await app.driver.view_submission(
        user="U0BOB", view_id=view_id, values={"incident": selected("1")}
    )
    await app.settle()
    [incident] = await incidents(app)
    stored = await alert(app, alert_id)
    assert (stored.incident_id, stored.triage, stored.triaged_by) == (
        incident.id,
        "linked",
        "U0BOB",
    )
    entries = await timeline(app, incident.id)
    attached = [e for e in entries if e.kind == "alert_attached"]
    assert [(e.actor, e.data["alert_id"]) for e in attached] == [("U0BOB", alert_id)]
    assert incident.severity == "sev3"  # Bob may not change it: see below
    assert "Linked to incident 1 by <@U0BOB>" in card(app, ts)


async def link(app: Running, title: str, user: str) -> int:
    alert_id, ts = await carded(app, title)
    await click(app, "alert_link", alert_id, ts, user=user)
    await app.settle()
    view_id = open_view(app, "alert_link")
    await app.driver.view_submission(user=user, view_id=view_id, values={"incident": selected("1")})
    await app.settle()
    return alert_id


async def test_a_link_raises_the_severity_only_for_whom_may_change_it(app: Running) -> None:
    """Alice commands the incident, Bob holds no role: his link does not raise it (he may not
    change the severity); hers does, in her name, the alert as the reason."""
    await app.command("declare Database outage sev4")
    await app.settle()
    await link(app, "Brute force on vpn-01", "U0BOB")  # a SEV2 alert
    [incident] = await incidents(app)
    assert incident.severity == "sev4"
    alert_id = await link(app, "Brute force on vpn-02", "U0ALICE")
    [incident] = await incidents(app)
    assert incident.severity == "sev2"
    changes = [e for e in await timeline(app, incident.id) if e.kind == "severity_changed"]
    assert [(e.actor, e.text) for e in changes] == [("U0ALICE", f"alert {alert_id}")]


async def test_a_link_to_an_incident_closed_while_the_form_was_open_says_so(
    app: Running,
) -> None:
    """The form stays open with the reason under the field; it closed with no word, and Bob
    believed the alert linked."""
    await app.command("declare Database outage sev3")
    await app.settle()
    alert_id, ts = await carded(app)
    await click(app, "alert_link", alert_id, ts, user="U0BOB")
    await app.settle()
    view_id = open_view(app, "alert_link")
    [incident] = await incidents(app)
    await app.command("close Replica promoted", channel=incident.channel_id)
    await app.settle()
    reply = await app.driver.view_submission(
        user="U0BOB", view_id=view_id, values={"incident": selected("1")}
    )
    assert reply.body["response_action"] == "errors"
    assert reply.body["errors"]["incident"].startswith(
        "Incident 1 is closed, so nothing was changed"
    )
    assert (await alert(app, alert_id)).incident_id is None


async def test_link_with_no_open_incident_says_so(app: Running) -> None:
    alert_id, ts = await carded(app)
    await click(app, "alert_link", alert_id, ts)
    await app.settle()
    view = app.slack.views[open_view(app, "alert_link")].view
    assert view.get("submit") is None
    assert "no open incidents" in json.dumps(view["blocks"])


async def test_declare_keeps_incidents_from_private_sources_private(
    db_url: str, emulator: SlackEmulator, transport: str
) -> None:
    """A source the auto-declare rules keep private (a security tool) stays private when an
    alert from it is declared by hand, below the rule's threshold."""
    rule = AutoDeclareRule(sources=("generic",), min_severity=Severity.SEV1, private=True)
    async with bridgekeepers(db_url, emulator, transport) as start:
        app = await start(auto_declare=(rule,))
        alert_id, ts = await carded(app)
        await click(app, "alert_declare", alert_id, ts)
        await app.settle()
        [incident] = await incidents(app)
        assert incident.private
        channel = app.slack.channel_by_name(incident.channel_name or "")
        assert channel is not None and channel.is_private
