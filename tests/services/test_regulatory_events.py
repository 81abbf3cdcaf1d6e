"""Deadlines that count from events after awareness, driven through signed commands on a
FrozenClock: DORA's initial notification from the classification as major, the SEC's Form 8-K
from the materiality determination (US business days, across a weekend), later reports from the
one before; the refusals; the regimes suggested by the impact; and the report's outcomes."""

from __future__ import annotations

import json

from sqlalchemy import select

from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.store.models import NotificationClock
from tests.services.test_close import reports
from tests.services.test_regulatory import REMINDER, card, clock_row
from tests.updating import containing, desk_for


async def test_dora_initial_notification_runs_from_the_classification(
    db_url: str, emulator: SlackEmulator
) -> None:
    async with desk_for(db_url, emulator) as desk:  # Monday 5 January 2026, 09:00 UTC
        bridge = await desk.declare("Card payments failing sev1")
        started = await desk.command("notify dora", channel=bridge.id)
        assert "initial notification by 2026-01-06 09:00 UTC" in started  # 24 h after awareness
        await desk.at(hours=2)
        reply = await desk.command("notify dora classified", channel=bridge.id)
        assert "initial notification by 2026-01-05 15:00 UTC" in reply  # 4 h after classifying
        assert containing(bridge, "recorded the classification as a major incident")
        assert "2026-01-05 15:00 UTC" in card(bridge)
        again = await desk.command("notify dora classified", channel=bridge.id)
        assert "already recorded" in again
        timeline = await desk.command("timeline", channel=bridge.id)
        assert "recorded the classification for the DORA notification clock" in timeline

        await desk.at(hours=2)  # 13:00: past half time of the initial notification
        assert any("initial notification" in r for r in containing(bridge, REMINDER))
        await desk.at(minutes=30)
        done = await desk.command("notify done dora", channel=bridge.id)
        assert "intermediate report by 2026-01-08 13:30 UTC" in done  # 72 h after it was sent
        clock = await clock_row(desk, "dora")
        initial, intermediate, final = clock.deadlines
        assert initial["done_at"].startswith("2026-01-05T13:30")
        assert intermediate["due_at"].startswith("2026-01-08T13:30")
        assert final["due_at"].startswith("2026-02-08T13:30")  # a month after the one before


async def test_sec_form_8k_is_due_four_business_days_after_materiality(
    db_url: str, emulator: SlackEmulator
) -> None:
    async with desk_for(db_url, emulator) as desk:
        bridge = await desk.declare("Ransomware on the ERP sev1")
        started = await desk.command("notify sec", channel=bridge.id)
        assert "SEC Form 8-K Item 1.05 clock started" in started
        [posted] = containing(bridge, "started the *SEC Form 8-K Item 1.05*")
        assert "counts from the materiality determination" in posted
        assert "notify sec material" in posted
        assert "counts from the materiality determination" in card(bridge)
        await desk.at(days=4)  # Friday 9 January
        reply = await desk.command("notify sec material 2026-01-08 15:00", channel=bridge.id)
        # Thursday 15:00 UTC; Friday, then Monday to Wednesday: the weekend is skipped
        assert "file Form 8-K Item 1.05 by 2026-01-14 15:00 UTC" in reply
        assert "2026-01-14 15:00 UTC" in card(bridge)


async def test_an_event_starts_the_clock_from_the_declaration(
    db_url: str, emulator: SlackEmulator
) -> None:
    async with desk_for(db_url, emulator) as desk:
        bridge = await desk.declare("Exploited flaw in our router firmware sev2")
        await desk.at(hours=30)
        reply = await desk.command("notify cra fixed", channel=bridge.id)
        assert "Recorded: a corrective measure being available for EU CRA" in reply
        clock = await clock_row(desk, "cra")
        assert clock.aware_at.isoformat().startswith("2026-01-05T09:00")
        assert clock.deadlines[2]["due_at"].startswith("2026-01-20T15:00")  # 14 days after


async def test_refused_events_change_nothing(db_url: str, emulator: SlackEmulator) -> None:
    async with desk_for(db_url, emulator) as desk:
        bridge = await desk.declare("Lost backup tape sev3")
        wrong = await desk.command("notify gdpr classified", channel=bridge.id)
        assert "No GDPR deadline counts from the classification" in wrong
        future = await desk.command("notify dora classified 2030-01-01 10:00", channel=bridge.id)
        assert "in the future" in future
        garbled = await desk.command("notify dora classified yesterday", channel=bridge.id)
        assert "isn't a time" in garbled
        async with desk.running.bk.db.sessions() as session:
            assert not list(await session.scalars(select(NotificationClock)))
        assert not containing(bridge, "notification clock")


async def test_the_impact_suggests_the_regimes_that_may_apply(
    db_url: str, emulator: SlackEmulator
) -> None:
    facts = {"regulatory_facts": frozenset({"financial_entity", "listed_company"})}
    async with desk_for(db_url, emulator, updates=facts) as desk:
        bridge = await desk.declare("Customer records copied sev2")
        reply = await desk.command("impact c=high personal-data=yes", channel=bridge.id)
        assert "*GDPR* (`/incident notify gdpr`)" in reply
        assert "*DORA*" in reply and "*SEC Form 8-K Item 1.05*" in reply
        assert "NIS2" not in reply and "EU CRA" not in reply
        async with desk.running.bk.db.sessions() as session:  # a suggestion starts nothing
            assert not list(await session.scalars(select(NotificationClock)))


async def test_the_report_says_which_deadlines_were_met_missed_or_never_started(
    db_url: str, emulator: SlackEmulator
) -> None:
    async with desk_for(db_url, emulator) as desk:
        bridge = await desk.declare("Payment outage sev1")
        await desk.command("notify dora", channel=bridge.id)
        await desk.command("notify sec", channel=bridge.id)
        await desk.at(hours=30)  # the initial notification was due after 24 h
        for _ in range(3):
            await desk.command("notify done dora", channel=bridge.id)
            await desk.at(hours=1)
        await desk.command("notify none sec the incident was not material", channel=bridge.id)
        closed = await desk.command("close contained and restored", channel=bridge.id)
        assert "closed" in closed.lower()
        rows = {row.format: row.body for row in await reports(desk.running)}
        clocks = {c["regime"]: c for c in json.loads(rows["json"])["regulatory"]["clocks"]}
        assert [d["outcome"] for d in clocks["dora"]["deadlines"]] == ["missed", "met", "met"]
        [form_8k] = clocks["sec"]["deadlines"]
        assert (form_8k["outcome"], form_8k["waiting_for"]) == ("not_required", "materiality")
        assert "initial notification: due 2026-01-06 09:00:00 UTC" in rows["md"]
        assert "by alice: **missed the deadline**" in rows["md"]
        assert (
            "never started (it counts from the materiality determination), not sent: "
            "**not required**" in rows["md"]
        )
