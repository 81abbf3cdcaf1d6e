"""Closing, reopening and archiving an incident: through signed HTTP, the modal and the emulator."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from bridgekeeper.clock import FrozenClock
from bridgekeeper.config import CloseSettings
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.sandbox.state import Channel
from bridgekeeper.services.reports import sha256
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store.models import Incident, Report, TimelineEntry
from tests.conftest import USERS, Running, Start, bridgekeepers

pytestmark = pytest.mark.both_transports


@pytest.fixture
async def serve(db_url: str, emulator: SlackEmulator, transport: str) -> AsyncIterator[Start]:
    async with bridgekeepers(db_url, emulator, transport) as start:
        yield start


# -- helpers ------------------------------------------------------------------------------------
async def declare(running: Running, title: str = "Suspicious login", sev: str = "sev2") -> Channel:
    await running.command(f"declare {title} {sev}")
    await running.settle()
    return [c for c in running.slack.channels.values() if c.name.startswith("inc-")][-1]


async def say(
    running: Running,
    channel: Channel | str,
    text: str,
    user: str = "U0ALICE",
    *,
    timeout: float = 10.0,
) -> str:
    """Run `/incident <text>` and return everything the user was told (ack and later replies),
    once its work is done (within `timeout` seconds)."""
    where = channel if isinstance(channel, str) else channel.id
    reply = await running.command(text, user=user, channel=where)
    await running.settle(timeout=timeout)
    assert reply.status == 200
    posts = [p.body for p in running.slack.response_posts if p.url == reply.response_url]
    return json.dumps([reply.body, *posts], ensure_ascii=False)


async def incident(running: Running, number: int = 1) -> Incident:
    async with running.bk.db.sessions() as session:
        found = await incident_store.get(session=session, number=number)
        assert found is not None
        return found


async def entries(running: Running, number: int = 1) -> list[TimelineEntry]:
    async with running.bk.db.sessions() as session:
        found = await incident_store.get(session=session, number=number)
        assert found is not None
        return await incident_store.timeline(session=session, incident_id=found.id)


async def reports(running: Running, number: int = 1) -> list[Report]:
    async with running.bk.db.sessions() as session:
        found = await incident_store.get(session=session, number=number)
        assert found is not None
        query = select(Report).where(Report.incident_id == found.id)
        return list(await session.scalars(query.order_by(Report.version, Report.format)))


def text_input(value: str) -> dict[str, Any]:
    return {"value": {"type": "plain_text_input", "value": value}}


def close_values(
    *,
    summary: str = "Rotated the leaked key and blocked the attacker's IP.",
    root_cause: str = "An API key committed to a public repository.",
    went_well: str = "Fast containment.",
    to_improve: str = "Secret scanning on every push.",
    disposition: str | None = "resolved",
    follow_ups: tuple[tuple[str | None, str], ...] = (("U0BOB", "Enable secret scanning"),),
) -> dict[str, dict[str, Any]]:
    values = {
        "summary": text_input(summary),
        "root_cause": text_input(root_cause),
        "went_well": text_input(went_well),
        "to_improve": text_input(to_improve),
        "disposition": {
            "value": {
                "type": "static_select",
                "selected_option": {"value": disposition} if disposition else None,
            }
        },
    }
    for slot, (owner, what) in enumerate(follow_ups, start=1):
        values[f"follow_up_{slot}_owner"] = {
            "value": {"type": "users_select", "selected_user": owner}
        }
        values[f"follow_up_{slot}_text"] = text_input(what)
    return values


async def open_close_form(running: Running, channel: Channel, user: str = "U0ALICE") -> str:
    """`/incident close` with no text: the modal opens; returns its view id."""
    before = set(running.slack.views)
    await say(running, channel, "close", user=user)
    [view_id] = [v for v in running.slack.views if v not in before]
    assert running.slack.views[view_id].view["callback_id"] == "incident_close"
    return view_id


async def close_with_form(
    running: Running, channel: Channel, user: str = "U0ALICE", **values: Any
) -> str:
    view_id = await open_close_form(running, channel, user)
    reply = await running.driver.view_submission(
        user=user, view_id=view_id, values=close_values(**values)
    )
    assert reply.status == 200
    await running.settle()
    return view_id


def channel_text(running: Running, channel: str) -> str:
    return json.dumps([[m.text, m.blocks] for m in running.slack.messages(channel)])


# -- closing through the modal ------------------------------------------------------------------
def closed_count(severity: str) -> float:
    """bridgekeeper_incidents_closed_total as this process's /metrics shows it."""
    labels = {"severity": severity}
    return REGISTRY.get_sample_value("bridgekeeper_incidents_closed_total", labels) or 0.0


async def test_close_through_the_modal_stores_the_report_and_shares_it(running: Running) -> None:
    channel = await declare(running)
    await say(running, channel, "role commander <@U0ALICE>")
    counted = closed_count("sev2")
    view_id = await close_with_form(running, channel)
    assert closed_count("sev2") == counted + 1  # once the close committed
    assert running.slack.views[view_id].closed and not running.slack.views[view_id].errors

    closed = await incident(running)
    assert closed.status == "closed" and closed.closed_by == "U0ALICE"
    assert closed.root_cause == "An API key committed to a public repository."
    assert closed.disposition == "resolved"
    assert closed.follow_ups == [{"owner": "U0BOB", "text": "Enable secret scanning"}]
    assert (await entries(running))[-1].kind == "closed"

    rows = await reports(running)
    assert [(r.version, r.format) for r in rows] == [(1, "html"), (1, "json"), (1, "md")]
    assert all(r.sha256 == sha256(r.body) for r in rows)
    assert all(r.timeline_head == closed.timeline_head for r in rows)

    posted = channel_text(running, channel.id)
    assert "Incident 1 closed" in posted and "Rotated the leaked key" in posted
    assert "Enable secret scanning" in posted and "<@U0BOB>" in posted
    [shared] = [f for f in running.slack.files if channel.id in f.channels]
    assert shared.filename == "incident-1-report-v1.md"
    md = next(r for r in rows if r.format == "md")
    assert shared.content.decode() == md.body
    assert md.sha256 in (shared.initial_comment or "")
    assert "· closed ·" in channel.topic


async def test_the_modal_shows_what_is_missing_under_each_field(serve: Start) -> None:
    close = CloseSettings(required=("summary", "root_cause", "disposition"))
    running = await serve(close=close)
    channel = await declare(running)
    await say(running, channel, "role commander <@U0ALICE>")
    view_id = await open_close_form(running, channel)
    values = close_values(root_cause="", disposition=None, follow_ups=(("U0BOB", ""),))
    reply = await running.driver.view_submission(user="U0ALICE", view_id=view_id, values=values)
    await running.settle()
    assert reply.body["response_action"] == "errors"
    errors = running.slack.views[view_id].errors
    assert set(errors) == {"follow_up_1_text"}  # the form's own problems come first
    assert "follow-up" in errors["follow_up_1_text"]

    values = close_values(root_cause="", disposition=None)
    await running.driver.view_submission(user="U0ALICE", view_id=view_id, values=values)
    await running.settle()
    errors = running.slack.views[view_id].errors
    assert set(errors) == {"root_cause", "disposition"}
    assert "Required" in errors["root_cause"]
    assert not running.slack.views[view_id].closed
    assert (await incident(running)).status == "open" and not await reports(running)

    await running.driver.view_submission(user="U0ALICE", view_id=view_id, values=close_values())
    await running.settle()
    assert running.slack.views[view_id].closed
    assert (await incident(running)).status == "closed"


async def test_the_modal_refuses_someone_without_permission(running: Running) -> None:
    channel = await declare(running)
    await say(running, channel, "role commander <@U0ALICE>")
    view_id = await open_close_form(running, channel)
    reply = await running.driver.view_submission(
        user="U0DAVE", view_id=view_id, values=close_values()
    )
    await running.settle()
    assert reply.body["response_action"] == "errors"
    assert "commander" in running.slack.views[view_id].errors["summary"]
    assert (await incident(running)).status == "open"


async def test_close_needs_permission_like_severity(running: Running) -> None:
    channel = await declare(running)
    refused = await say(running, channel, "close it was nothing", user="U0DAVE")
    assert "commander" in refused and "nothing was changed" in refused
    views = len(running.slack.views)
    refused = await say(running, channel, "close", user="U0DAVE")
    assert "commander" in refused and len(running.slack.views) == views  # no modal either
    assert (await incident(running)).status == "open"


# -- the short form and the gate ------------------------------------------------------------------
async def test_close_with_a_summary_leaves_the_rest_not_recorded(running: Running) -> None:
    channel = await declare(running)
    await say(running, channel, "role commander <@U0ALICE>")
    reply = await say(running, channel, "close Key rotated, <b>no</b> data left")
    assert "Incident 1 is closed" in reply and "version 1" in reply
    closed = await incident(running)
    assert closed.resolution_summary == "Key rotated, <b>no</b> data left"
    assert closed.root_cause is None and closed.disposition is None
    md = next(r for r in await reports(running) if r.format == "md").body
    root_cause = md.split("## Root cause and contributing factors")[1].split("##")[0]
    assert "_not recorded_" in root_cause
    assert "What went well: _not recorded_" in md
    assert "Disposition: _not recorded_" in md
    assert "Key rotated, \\<b\\>no\\</b\\> data left" in md


async def test_the_gate_lists_what_is_missing_and_changes_nothing(serve: Start) -> None:
    close = CloseSettings(required=("summary", "root_cause", "disposition"))
    running = await serve(close=close)
    channel = await declare(running)
    await say(running, channel, "role commander <@U0ALICE>")
    refused = await say(running, channel, "close Key rotated")
    assert "Incident 1 can't close yet" in refused and "nothing was changed" in refused
    assert "the root cause" in refused and "the disposition" in refused
    assert "the resolution summary" not in refused
    assert "/incident close` without text" in refused
    assert (await incident(running)).status == "open"
    assert not await reports(running)
    assert all(e.kind != "closed" for e in await entries(running))


async def test_an_undecided_regulatory_clock_blocks_closing(running: Running) -> None:
    channel = await declare(running)
    await say(running, channel, "role commander <@U0ALICE>")
    await say(running, channel, "notify gdpr")
    refused = await say(running, channel, "close Key rotated")
    assert "can't close yet" in refused and "gdpr" in refused
    assert "notify none gdpr" in refused
    view_id = await open_close_form(running, channel)
    await running.driver.view_submission(user="U0ALICE", view_id=view_id, values=close_values())
    await running.settle()
    assert "gdpr" in running.slack.views[view_id].errors["summary"]
    assert (await incident(running)).status == "open"

    await say(running, channel, "notify none gdpr only test accounts were touched")
    closed = await say(running, channel, "close Key rotated")
    assert "Incident 1 is closed" in closed


# -- reopening ----------------------------------------------------------------------------------
async def test_reopen_then_close_again_makes_a_second_version(running: Running) -> None:
    channel = await declare(running)
    await say(running, channel, "role commander <@U0ALICE>")
    await say(running, channel, "stage diagnose")
    await say(running, channel, "close First fix")
    nothing = await say(running, channel, "reopen", user="U0ALICE")
    assert "reopen" in nothing.lower() and (await incident(running)).status == "closed"
    refused = await say(running, channel, "reopen the attacker is back", user="U0DAVE")
    assert "commander" in refused and (await incident(running)).status == "closed"

    reopened = await say(running, channel, "reopen the attacker is back")
    assert "Incident 1 is open again" in reopened
    row = await incident(running)
    assert row.status == "open" and row.stage == "diagnose" and row.closed_at is None
    assert (await entries(running))[-1].kind == "reopened"
    assert (await entries(running))[-1].text == "the attacker is back"
    assert "reopened incident 1: the attacker is back" in channel_text(running, channel.id)
    again = await say(running, channel, "reopen twice")
    assert "is open, so there is nothing to reopen" in again

    await close_with_form(running, channel, summary="Second fix")
    rows = await reports(running)
    assert sorted({r.version for r in rows}) == [1, 2]
    first = next(r for r in rows if r.version == 1 and r.format == "md").body
    second = next(r for r in rows if r.version == 2 and r.format == "md").body
    assert "First fix" in first and "Second fix" not in first
    assert "Second fix" in second and "reopened the incident: the attacker is back" in second
    files = sorted(f.filename for f in running.slack.files)
    assert files == ["incident-1-report-v1.md", "incident-1-report-v2.md"]


# -- archiving ----------------------------------------------------------------------------------
async def test_the_channel_is_archived_after_the_delay(serve: Start) -> None:
    clock = FrozenClock()
    running = await serve(clock=clock)
    channel = await declare(running)
    await say(running, channel, "role commander <@U0ALICE>")
    await say(running, channel, "close Key rotated")
    due = (await incident(running)).archive_due_at
    assert due is not None and (due - clock.now()).total_seconds() == 24 * 3600
    assert "archived 2026-01-02 09:00 UTC" in channel_text(running, channel.id)

    clock.advance(hours=23, minutes=59)
    assert await running.bk.archiving.run_due_archives(clock.now()) == 0
    await running.settle()
    assert not channel.is_archived

    clock.advance(minutes=1)
    assert await running.bk.archiving.run_due_archives(clock.now()) == 1
    assert await running.bk.archiving.run_due_archives(clock.now()) == 0  # once
    await running.settle()
    assert channel.is_archived
    assert "being archived" in channel_text(running, channel.id)
    assert (await entries(running))[-1].kind == "archived"

    # reopening from elsewhere brings the channel back
    await say(running, running.general, "reopen 1 more hosts found")
    assert not channel.is_archived
    assert (await incident(running)).archive_due_at is None


async def test_archiving_can_be_turned_off(serve: Start) -> None:
    clock = FrozenClock()
    running = await serve(clock=clock, close=CloseSettings(archive_after_hours=0))
    channel = await declare(running)
    await say(running, channel, "role commander <@U0ALICE>")
    await say(running, channel, "close Key rotated")
    assert (await incident(running)).archive_due_at is None
    clock.advance(days=30)
    assert await running.bk.archiving.run_due_archives(clock.now()) == 0
    await running.settle()
    assert not channel.is_archived


async def test_stakeholders_hear_of_the_close_and_a_private_incident_stays_private(
    serve: Start, emulator: SlackEmulator
) -> None:
    stakeholders = emulator.add_channel("stakeholders", members=["UBOT", *USERS])
    running = await serve(stakeholder_channel=stakeholders)
    public = await declare(running, "Outage of the shop")
    await say(running, public, "role commander <@U0ALICE>")
    await say(running, public, "close Restarted the database")
    told = channel_text(running, stakeholders)
    assert "Outage of the shop" in told and "is resolved and closed" in told

    secret = await declare(running, "Insider case", "sev2 private")
    await say(running, secret, "role commander <@U0ALICE>")
    await say(running, secret, "close HR took over")
    told = channel_text(running, stakeholders)
    assert "Incident 2 is resolved and closed" in told
    assert "Insider case" not in told and "HR took over" not in told


async def test_the_close_form_is_prefilled_after_a_reopen(running: Running) -> None:
    channel = await declare(running)
    await say(running, channel, "role commander <@U0ALICE>")
    await close_with_form(running, channel, root_cause="A leaked key & <weak> review")
    await say(running, channel, "reopen more hosts")
    view_id = await open_close_form(running, channel)
    blocks = {b.get("block_id"): b for b in running.slack.views[view_id].view["blocks"]}
    assert blocks["root_cause"]["element"]["initial_value"] == "A leaked key & <weak> review"
    assert blocks["follow_up_1_owner"]["element"]["initial_user"] == "U0BOB"
