"""Pages of a team with a PagerDuty routing key, through the PagerDuty Events API v2 emulator:
trigger, acknowledge and resolve under one dedup key, retried after faults without doubles."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import replace

import pytest

from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.sandbox.pagerduty import PagerDutyEmulator, problems
from tests.conftest import Running
from tests.services.test_paging import (
    ONCALL,
    at,
    declare,
    dms,
    page_dm,
    pages,
    paging_desk,
    press,
    say,
)

ROUTING_KEY = "R0PAYMENTS0INTEGRATION0KEY012345"
ROUTED = replace(ONCALL, pagerduty_keys={"payments": ROUTING_KEY})


@pytest.fixture
async def pagerduty() -> AsyncIterator[PagerDutyEmulator]:
    emulator = PagerDutyEmulator(routing_keys={ROUTING_KEY})
    await emulator.start()
    yield emulator
    await emulator.stop()


def routed(
    db_url: str, slack: SlackEmulator, pagerduty: PagerDutyEmulator
) -> AbstractAsyncContextManager[Running]:
    return paging_desk(db_url, slack, oncall=ROUTED, pagerduty_events_url=pagerduty.events_url)


async def retried(running: Running) -> None:
    """Let the outbox's backoff pass (the clock is frozen) and deliver what is due again."""
    await at(running, 1)


async def test_trigger_acknowledge_and_resolve_share_one_dedup_key(
    db_url: str, emulator: SlackEmulator, pagerduty: PagerDutyEmulator
) -> None:
    async with routed(db_url, emulator, pagerduty) as running:
        bridge = await declare(running, "Checkout down sev1")
        reply = await say(running, "page payments cards failing", channel=bridge.id)
        assert "PagerDuty is paged too" in reply
        [page] = await pages(running)
        [trigger] = pagerduty.events
        assert trigger["event_action"] == "trigger" and trigger["routing_key"] == ROUTING_KEY
        assert trigger["dedup_key"] == page.dedup_key == "bridgekeeper-1-page-1"
        payload = trigger["payload"]
        assert payload["summary"] == "Incident 1 (SEV1): Checkout down, paging payments"
        assert (payload["source"], payload["severity"]) == ("bridgekeeper", "critical")
        assert payload["custom_details"]["message"] == "cards failing"
        assert trigger["links"][0]["href"].endswith(f"channel={bridge.id}")

        channel, message = page_dm(emulator, "U0BOB")
        await press(running, "U0BOB", page_id=page.id, channel=channel, message_ts=message.ts)
        assert [e["event_action"] for e in pagerduty.events] == ["trigger", "acknowledge"]
        assert pagerduty.alert(page.dedup_key).status == "acknowledged"  # type: ignore[union-attr]

        await say(running, "close Rolled back the release", channel=bridge.id)
        assert [e["event_action"] for e in pagerduty.events] == [
            "trigger",
            "acknowledge",
            "resolve",
        ]
        assert {e["dedup_key"] for e in pagerduty.events} == {page.dedup_key}
        [alert] = pagerduty.alerts
        assert alert.status == "resolved" and alert.events == ["trigger", "acknowledge", "resolve"]


async def test_500s_and_a_429_then_success_are_one_event_each(
    db_url: str,
    emulator: SlackEmulator,
    pagerduty: PagerDutyEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with routed(db_url, emulator, pagerduty) as running:
        bridge = await declare(running)
        pagerduty.fail(500, times=2)
        await say(running, "page payments", channel=bridge.id)
        await retried(running)
        await retried(running)
        assert caplog.text.count("failed: HTTP 500") == 2
        assert len(pagerduty.events) == 1 and len(pagerduty.alerts) == 1

        pagerduty.fail(429)
        [page] = await pages(running)
        channel, message = page_dm(emulator, "U0BOB")
        await press(running, "U0BOB", page_id=page.id, channel=channel, message_ts=message.ts)
        await retried(running)
        assert "failed: HTTP 429" in caplog.text
        assert [e["event_action"] for e in pagerduty.events] == ["trigger", "acknowledge"]
        assert pagerduty.alerts[0].status == "acknowledged"


async def test_a_lost_answer_is_retried_into_the_same_alert(
    db_url: str, emulator: SlackEmulator, pagerduty: PagerDutyEmulator
) -> None:
    async with routed(db_url, emulator, pagerduty) as running:
        bridge = await declare(running)
        pagerduty.lose_answers(1)
        await say(running, "page payments", channel=bridge.id)
        await retried(running)
        assert len(pagerduty.events) == 2  # PagerDuty saw the trigger twice...
        [alert] = pagerduty.alerts  # ...and folded it by its dedup key
        assert alert.status == "triggered"


async def test_an_event_pagerduty_refuses_waits_for_an_operator(
    db_url: str,
    emulator: SlackEmulator,
    pagerduty: PagerDutyEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pagerduty.routing_keys = {"R0ANOTHER0INTEGRATION0KEY0123456"}
    async with routed(db_url, emulator, pagerduty) as running:
        bridge = await declare(running)
        await say(running, "page payments", channel=bridge.id)
        await retried(running)
        assert pagerduty.events == []
        timeline = await say(running, "timeline", channel=bridge.id)
        assert "PagerDuty refused an event of a page (HTTP 400)" in timeline
        assert ROUTING_KEY not in timeline and ROUTING_KEY not in caplog.text
        assert "parked: HTTP 400" in caplog.text
        assert len(dms(emulator, "U0BOB", "paged you")) == 1  # Slack is paged all the same


async def test_a_team_without_a_routing_key_pages_slack_only(
    db_url: str, emulator: SlackEmulator, pagerduty: PagerDutyEmulator
) -> None:
    async with routed(db_url, emulator, pagerduty) as running:
        bridge = await declare(running)
        reply = await say(running, "page night", channel=bridge.id)
        assert "PagerDuty" not in reply and pagerduty.events == []
        [page] = await pages(running)
        assert not page.pagerduty


def test_the_emulator_checks_events_as_pagerduty_documents_them() -> None:
    good = {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "dedup_key": "k",
        "payload": {"summary": "s", "source": "x", "severity": "error"},
    }
    assert problems(good, {ROUTING_KEY}) == []
    short = {**good, "routing_key": "short"}
    assert problems(short, set()) == [
        "Length of 'routing_key' is incorrect (should be 32 characters)"
    ]
    long = {**good, "payload": {**good["payload"], "summary": "x" * 1025}}  # type: ignore[dict-item]
    assert "too long" in problems(long, set())[0]
    loud = {**good, "payload": {**good["payload"], "severity": "sev1"}}  # type: ignore[dict-item]
    assert "severity" in problems(loud, set())[0]
    assert "dedup_key" in problems({**good, "event_action": "resolve", "dedup_key": None}, set())[0]


async def test_closing_resolves_the_alert_of_a_page_nobody_acknowledged(
    db_url: str, emulator: SlackEmulator, pagerduty: PagerDutyEmulator
) -> None:
    """Slack's escalation ran out of levels with nobody acknowledging: PagerDuty still
    escalates its alert, so the close resolves it as it does an open page's."""
    async with routed(db_url, emulator, pagerduty) as running:
        bridge = await declare(running)
        await say(running, "page payments", channel=bridge.id)
        for _ in range(3):
            await at(running, 10)
        [page] = await pages(running)
        assert page.status == "exhausted"
        await say(running, "close Rolled back the release", channel=bridge.id)
        await at(running, 1)
        assert [e["event_action"] for e in pagerduty.events] == ["trigger", "resolve"]
