"""`/incident page`, its escalation and its Acknowledge button, on a FrozenClock: signed
commands and clicks against a running bridgekeeper and the Slack emulator, real database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bridgekeeper.clock import FrozenClock
from bridgekeeper.config.settings import AutoDeclareRule, OnCallSettings
from bridgekeeper.domain.incidents import Severity
from bridgekeeper.domain.oncall import Layer, Team
from bridgekeeper.domain.oncall_routing import Route
from bridgekeeper.domain.paging import Policy
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.sandbox.state import Channel, Message
from bridgekeeper.store.models import TimelineEntry
from bridgekeeper.store.paging import Page
from tests.alerting import generic, post
from tests.conftest import Running, start_bridgekeeper
from tests.conftest import test_settings as settings_for
from tests.services.test_close import reports
from tests.updating import START, containing, dm

# Bob is on call (the primary layer covers the backup one); Carol is on the backup layer.
PAYMENTS = Team(
    "payments",
    ZoneInfo("UTC"),
    (
        Layer("backup", ("U0CAROL",), date(2026, 1, 1), time(0), days=7),
        Layer("primary", ("U0BOB",), date(2026, 1, 1), time(0), days=7),
    ),
)
NIGHT = Team(
    "night", ZoneInfo("UTC"), (Layer("all", ("U0BOB",), date(2026, 1, 1), time(0), days=7),)
)
THREE_LEVELS = Policy((("oncall",), ("other-layers",), ("U0DAVE",)), timedelta(minutes=10))
ONCALL = OnCallSettings(teams=(PAYMENTS, NIGHT), policies={"payments": THREE_LEVELS})
PAGED = "paged you"
ESCALATED = "Escalated to you"


@asynccontextmanager
async def paging_desk(
    db_url: str, slack: SlackEmulator, **overrides: object
) -> AsyncIterator[Running]:
    changes = {"oncall": ONCALL, **overrides}
    settings = replace(settings_for(db_url=db_url, api_url=slack.api_url), **changes)  # type: ignore[arg-type]
    running = await start_bridgekeeper(settings, slack, clock=FrozenClock(START))
    try:
        yield running
    finally:
        await running.stop()


async def say(running: Running, text: str, *, channel: str, user: str = "U0ALICE") -> str:
    reply = await running.command(text, user=user, channel=channel)
    await running.settle()
    posts = [p.body for p in running.slack.response_posts if p.url == reply.response_url]
    return json.dumps([reply.body, *posts], ensure_ascii=False)


async def declare(running: Running, text: str = "Payments failing sev1") -> Channel:
    await say(running, f"declare {text}", channel=running.general)
    return [c for c in running.slack.channels.values() if c.name.startswith("inc-")][-1]


async def at(running: Running, clock_minutes: float) -> None:
    """Move the clock on, fire what fell due, deliver it."""
    clock = running.bk.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(minutes=clock_minutes)
    await running.bk.scheduler.run_due()
    await running.settle()


def page_dm(slack: SlackEmulator, user: str) -> tuple[str, Message]:
    """The direct message a user got with an Acknowledge button: its channel and message."""
    [channel] = [c for c in slack.channels.values() if c.is_im and user in c.members]
    [message] = [m for m in channel.messages if "page_ack" in json.dumps(m.blocks)]
    return channel.id, message


async def press(
    running: Running, user: str, *, page_id: int, channel: str, message_ts: str | None = None
) -> str:
    reply = await running.driver.block_action(
        user=user, action_id="page_ack", value=str(page_id), channel=channel, message_ts=message_ts
    )
    await running.settle()
    posts = [p.body for p in running.slack.response_posts if p.url == reply.response_url]
    return json.dumps(posts, ensure_ascii=False)


async def pages(running: Running) -> list[Page]:
    async with running.bk.db.sessions() as session:
        return list(await session.scalars(select(Page).order_by(Page.id)))


async def kinds(running: Running) -> list[str]:
    async with running.bk.db.sessions() as session:
        query = select(TimelineEntry.kind).order_by(TimelineEntry.incident_id, TimelineEntry.seq)
        return [k for k in await session.scalars(query) if k.startswith("page_")]


def dms(slack: SlackEmulator, user: str, needle: str) -> list[str]:
    return [text for text in dm(slack, user) if needle in text]


async def test_a_page_acknowledged_in_time_does_not_escalate(
    db_url: str, emulator: SlackEmulator
) -> None:
    async with paging_desk(db_url, emulator) as running:
        bridge = await declare(running, "Checkout <b>down</b> & out sev1")
        reply = await say(running, "page payments card payments are failing", channel=bridge.id)
        assert "Paged <@U0BOB> (payments on call)" in reply and "10m" in reply
        [text] = dms(emulator, "U0BOB", PAGED)
        assert "<@U0ALICE> paged you as on-call for *payments*" in text
        assert "Checkout &lt;b&gt;down&lt;/b&gt; &amp; out" in text  # the title, escaped
        assert "card payments are failing" in text
        assert "U0BOB" in emulator.channels[bridge.id].members  # invited to the bridge
        assert containing(bridge, "paged <@U0BOB> (payments on call)")

        await at(running, 5)
        [page] = await pages(running)
        channel, message = page_dm(emulator, "U0BOB")
        told = await press(
            running, "U0BOB", page_id=page.id, channel=channel, message_ts=message.ts
        )
        assert "Acknowledged" in told
        [page] = await pages(running)
        assert (page.status, page.acked_by) == ("acknowledged", "U0BOB")
        assert page.acked_at == START + timedelta(minutes=5)
        assert containing(bridge, "<@U0BOB> acknowledged the page of payments after 5m")

        await at(running, 60)
        assert not dm(emulator, "U0CAROL") and not dm(emulator, "U0DAVE")
        assert await kinds(running) == ["page_sent", "page_acknowledged"]


async def test_an_unacknowledged_page_escalates_twice_then_stops(
    db_url: str, emulator: SlackEmulator
) -> None:
    async with paging_desk(db_url, emulator) as running:
        bridge = await declare(running)
        await say(running, "page payments", channel=bridge.id)
        assert len(dms(emulator, "U0BOB", PAGED)) == 1
        await at(running, 9.9)
        assert not dm(emulator, "U0CAROL")
        await at(running, 0.1)  # level 2: the other layer's on-call
        assert len(dms(emulator, "U0CAROL", ESCALATED)) == 1
        assert containing(bridge, "escalated to level 2, paging <@U0CAROL>")
        await at(running, 10)  # level 3: Dave by name
        assert len(dms(emulator, "U0DAVE", ESCALATED)) == 1
        assert containing(bridge, "escalated to level 3, paging <@U0DAVE>")
        assert {"U0BOB", "U0CAROL", "U0DAVE"} <= set(emulator.channels[bridge.id].members)
        await at(running, 10)  # no level 4, no repeat: exhausted
        assert containing(bridge, "Nobody acknowledged the page of payments at any level")
        [page] = await pages(running)
        assert page.status == "exhausted" and page.paged == ["U0BOB", "U0CAROL", "U0DAVE"]
        await at(running, 120)
        assert len(dms(emulator, "U0BOB", PAGED)) == 1
        assert len(dms(emulator, "U0CAROL", ESCALATED)) == 1
        assert len(dms(emulator, "U0DAVE", ESCALATED)) == 1
        assert await kinds(running) == [
            "page_sent",
            "page_escalated",
            "page_escalated",
            "page_exhausted",
        ]
        # too late to acknowledge: nothing changes
        channel, message = page_dm(emulator, "U0DAVE")
        told = await press(
            running, "U0DAVE", page_id=page.id, channel=channel, message_ts=message.ts
        )
        assert "exhausted" in told and len(await kinds(running)) == 4


async def test_repeat_starts_the_levels_again(db_url: str, emulator: SlackEmulator) -> None:
    oncall = replace(ONCALL, policies={"payments": replace(THREE_LEVELS, repeat=1)})
    async with paging_desk(db_url, emulator, oncall=oncall) as running:
        bridge = await declare(running)
        await say(running, "page payments", channel=bridge.id)
        await at(running, 10)
        await at(running, 10)
        await at(running, 10)  # round 2, level 1: Bob again
        assert len(dms(emulator, "U0BOB", ESCALATED)) == 1
        assert containing(bridge, "escalated to level 1 (round 2)")


async def test_a_restart_and_a_second_replica_neither_drop_nor_double_a_page(
    db_url: str, emulator: SlackEmulator
) -> None:
    clock = FrozenClock(START)
    settings = replace(settings_for(db_url=db_url, api_url=emulator.api_url), oncall=ONCALL)
    first = await start_bridgekeeper(settings, emulator, clock=clock)
    try:
        bridge = await declare(first)
        await say(first, "page payments", channel=bridge.id)
        await at(first, 10)
        assert len(dms(emulator, "U0CAROL", ESCALATED)) == 1
    finally:
        await first.stop()
    clock.advance(minutes=10)  # level 3 falls due while nobody runs
    again = await start_bridgekeeper(settings, emulator, clock=clock)
    replica = await start_bridgekeeper(settings, emulator, clock=clock)
    try:
        await asyncio.gather(again.bk.scheduler.run_due(), replica.bk.scheduler.run_due())
        await again.settle()
        await replica.settle()
        assert len(dms(emulator, "U0DAVE", ESCALATED)) == 1
        assert len(dms(emulator, "U0CAROL", ESCALATED)) == 1
        assert await kinds(again) == ["page_sent", "page_escalated", "page_escalated"]
    finally:
        await replica.stop()
        await again.stop()


async def test_an_outsider_of_a_private_incident_cannot_page_for_it(
    db_url: str, emulator: SlackEmulator
) -> None:
    async with paging_desk(db_url, emulator) as running:
        await declare(running, "Insider case sev2 private")
        hidden = await say(running, "page #1 payments", channel=running.general, user="U0DAVE")
        missing = await say(running, "page #7 payments", channel=running.general, user="U0DAVE")
        assert "not there" in hidden or "no incident 1" in hidden
        assert hidden.replace("1", "N") == missing.replace("7", "N")
        assert await pages(running) == [] and not dm(emulator, "U0BOB")


async def test_only_people_in_a_private_incident_may_acknowledge_its_page(
    db_url: str, emulator: SlackEmulator
) -> None:
    async with paging_desk(db_url, emulator) as running:
        bridge = await declare(running, "Insider case sev2 private")
        reply = await say(running, "page <@U0BOB> please join", channel=bridge.id)
        assert "Paged <@U0BOB>" in reply
        [page] = await pages(running)
        [text] = dms(emulator, "U0BOB", PAGED)
        assert "Insider case" in text  # the paged person is invited: they may read it

        stranger = await press(running, "U0DAVE", page_id=page.id, channel=running.general)
        nothing = await press(running, "U0DAVE", page_id=page.id + 99, channel=running.general)
        assert "not there" in stranger and stranger == nothing
        assert (await pages(running))[0].status == "triggered"

        channel, message = page_dm(emulator, "U0BOB")
        first = await press(
            running, "U0BOB", page_id=page.id, channel=channel, message_ts=message.ts
        )
        second = await press(
            running, "U0BOB", page_id=page.id, channel=channel, message_ts=message.ts
        )
        assert "Acknowledged" in first and "already acknowledged by <@U0BOB>" in second
        assert await kinds(running) == ["page_sent", "page_acknowledged"]
        await at(running, 60)  # a user page has one level: acknowledged, nothing more
        assert len(dm(emulator, "U0BOB")) == 1


async def test_bad_input_gets_the_usage_and_pages_nobody(
    db_url: str, emulator: SlackEmulator
) -> None:
    async with paging_desk(db_url, emulator) as running:
        bridge = await declare(running)
        nothing = await say(running, "page", channel=bridge.id)
        assert "Say whom to page" in nothing and "page <team|@someone>" in nothing.replace(
            "&lt;", "<"
        ).replace("&gt;", ">")
        odd = await say(running, "page Pay$ments now", channel=bridge.id)
        assert "isn't a team name or a mention" in odd
        unknown = await say(running, "page stores now", channel=bridge.id)
        assert "no on-call team `stores`" in unknown and "payments" in unknown
        nobody = await say(running, "page <@U0NOBODY>", channel=bridge.id)
        assert "no Slack user" in nobody
        outside = await say(running, "page payments", channel=running.general)
        assert "page" in outside and await pages(running) == []
        assert not dm(emulator, "U0BOB") and await kinds(running) == []


async def test_closing_resolves_open_pages_and_stops_their_escalation(
    db_url: str, emulator: SlackEmulator
) -> None:
    async with paging_desk(db_url, emulator) as running:
        bridge = await declare(running)
        await say(running, "page night", channel=bridge.id)
        closed = await say(running, "close Rolled back", channel=bridge.id)
        assert "closed" in closed.lower()
        [page] = await pages(running)
        assert page.status == "resolved"
        await at(running, 60)
        assert len(dm(emulator, "U0BOB")) == 1 and await kinds(running) == ["page_sent"]
        [report] = [r for r in await reports(running) if r.format == "md"]
        assert "alice · paged U0BOB (night on call)" in report.body


async def test_an_alert_whose_route_says_page_pages_its_team_when_declared(
    db_url: str, emulator: SlackEmulator
) -> None:
    routes = (
        Route("payments", labels={"service": "pay*"}, page=True),
        Route("night", labels={"service": "batch*"}),
    )
    base = settings_for(db_url=db_url, api_url=emulator.api_url).alerts
    alerts = replace(base, auto_declare=(AutoDeclareRule(("generic",), Severity.SEV2),))
    oncall = replace(ONCALL, routes=routes)
    async with paging_desk(db_url, emulator, oncall=oncall, alerts=alerts) as running:
        paged = generic("Card <declines> high", labels={"service": "payments-api"})
        quiet = generic("Batch late", labels={"service": "batch-etl"})
        assert (await post(running, "generic", paged)).status == 202
        assert (await post(running, "generic", quiet)).status == 202
        await running.settle()
        [text] = dms(emulator, "U0BOB", PAGED)
        assert "as on-call for *payments*" in text and "Card &lt;declines&gt; high" in text
        [page] = await pages(running)
        assert (page.team, page.created_by, page.message) == (
            "payments",
            "bridgekeeper",
            "Card <declines> high",
        )
        bridge = next(c for c in emulator.channels.values() if c.name.startswith("inc-1-"))
        assert "U0BOB" in emulator.channels[bridge.id].members
        await at(running, 10)
        assert len(dms(emulator, "U0CAROL", ESCALATED)) == 1


async def test_a_page_to_several_invites_each_that_can_be_invited(
    db_url: str, emulator: SlackEmulator
) -> None:
    """Erin left (her account is deactivated): Carol, paged with her, is still invited to the
    private bridge channel she was told to join; the one invitation stopped at Erin's."""
    emulator.add_user("U0ERIN", "erin", email="erin@example.com", deleted=True)
    storage = Team(
        "storage", ZoneInfo("UTC"), (Layer("all", ("U0BOB",), date(2026, 1, 1), time(0), days=7),)
    )
    leads = Policy((("U0ERIN", "U0CAROL"),), timedelta(minutes=10))
    oncall = OnCallSettings(teams=(storage,), policies={"storage": leads})
    async with paging_desk(db_url, emulator, oncall=oncall) as running:
        channel = await declare(running, "Storage cluster degraded sev1 private")
        await say(running, "page storage volumes read-only", channel=channel.id)
        assert "U0CAROL" in channel.members and "U0ERIN" not in channel.members
