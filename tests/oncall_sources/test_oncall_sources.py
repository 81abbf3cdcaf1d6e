"""Teams whose on-call lives in PagerDuty or GoAlert: `/incident oncall`, the triage card, paging
and the calendar feed read it from the tools' emulators (real HTTP, their wire formats, faults),
people mapped to Slack users by e-mail through the Slack emulator; signed Slack requests, real
database, a FrozenClock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from bridgekeeper.clock import FrozenClock
from bridgekeeper.config.settings import OnCallSettings, ProcessSettings, ScheduleSource
from bridgekeeper.domain.oncall import Team
from bridgekeeper.domain.oncall_routing import Route
from bridgekeeper.domain.paging import Policy
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.sandbox.goalert import GoAlertEmulator
from bridgekeeper.sandbox.oncall_tools import Duty
from bridgekeeper.sandbox.pagerduty_rest import PagerDutyRestEmulator
from tests.alerting import card_texts, generic, post
from tests.conftest import MANAGERS, USERS, Running, bridgekeepers
from tests.helpers import calendar
from tests.services.test_oncall import feed, overrides, say
from tests.services.test_paging import ESCALATED, PAGED, at, declare, dms, paging_desk
from tests.services.test_paging import say as say_in
from tests.updating import START

PD_TOKEN = "u+pagerduty-read-only-key"
GA_TOKEN = "goalert-api-key-0123456789"
SCHEDULE = "PSCHED1"
POLICY = "PPOLICY2"
GA_SCHEDULE = "6f1c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f"
UTC_ZONE = ZoneInfo("UTC")
PLATFORM = Team("platform", UTC_ZONE, ())  # PagerDuty schedule
NETWORK = Team("network", UTC_ZONE, ())  # PagerDuty escalation policy
STORAGE = Team("storage", UTC_ZONE, ())  # GoAlert schedule


def day(offset: int, hour: int = 0) -> datetime:
    """Midnight (or an hour) of a day counted from START's (Monday 5 January 2026)."""
    return datetime(2026, 1, 5 + offset, hour, tzinfo=UTC)


def oncall_settings(
    pagerduty: PagerDutyRestEmulator, goalert: GoAlertEmulator, **changes: object
) -> OnCallSettings:
    settings = OnCallSettings(
        teams=(PLATFORM, NETWORK, STORAGE),
        routes=(Route("platform", frozenset({"generic"})),),
        sources={
            "platform": ScheduleSource("pagerduty", schedule=SCHEDULE),
            "network": ScheduleSource("pagerduty", escalation_policy=POLICY),
            "storage": ScheduleSource("goalert", schedule=GA_SCHEDULE),
        },
        feed_weeks=1,
        pagerduty_api_url=pagerduty.url,
        pagerduty_token=PD_TOKEN,
        goalert_url=goalert.url,
        goalert_token=GA_TOKEN,
    )
    return replace(settings, **changes)  # type: ignore[arg-type]


@pytest.fixture
async def pagerduty() -> AsyncIterator[PagerDutyRestEmulator]:
    """Bob is on call today, Carol tomorrow, then Erin, whom Slack does not know; the network
    policy has Carol at its first level and Bob at its second."""
    tool = PagerDutyRestEmulator(token=PD_TOKEN)
    tool.add_person("PBOB001", "Bob", "bob@example.com")
    tool.add_person("PCAROL1", "Carol", "carol@example.com")
    tool.add_person("PERIN01", "Erin <!here>\n[button x] Vale", "erin@elsewhere.example")
    tool.add_duty(Duty("PBOB001", SCHEDULE, day(0), day(1)))
    tool.add_duty(Duty("PCAROL1", SCHEDULE, day(1), day(2)))
    tool.add_duty(Duty("PERIN01", SCHEDULE, day(2), day(3)))
    tool.add_duty(Duty("PCAROL1", None, day(0), day(7), escalation_policy=POLICY, level=1))
    tool.add_duty(Duty("PBOB001", None, day(0), day(7), escalation_policy=POLICY, level=2))
    await tool.start()
    yield tool
    await tool.stop()


@pytest.fixture
async def goalert() -> AsyncIterator[GoAlertEmulator]:
    """Dave until Wednesday 09:00, then Alice."""
    tool = GoAlertEmulator(token=GA_TOKEN)
    tool.add_person("a1", "Alice", "alice@example.com")
    tool.add_person("d4", "Dave", "dave@example.com")
    tool.add_duty(Duty("d4", GA_SCHEDULE, day(-1, 9), day(2, 9)))
    tool.add_duty(Duty("a1", GA_SCHEDULE, day(2, 9), day(9, 9)))
    await tool.start()
    yield tool
    await tool.stop()


@pytest.fixture
async def desk(
    db_url: str,
    emulator: SlackEmulator,
    pagerduty: PagerDutyRestEmulator,
    goalert: GoAlertEmulator,
) -> AsyncIterator[Running]:
    """bridgekeeper reading both tools; Carol manages incidents (she may set overrides)."""
    async with bridgekeepers(db_url, emulator) as start:
        yield await start(**_started(emulator, oncall_settings(pagerduty, goalert)))


def _started(emulator: SlackEmulator, oncall: OnCallSettings) -> dict[str, object]:
    emulator.add_usergroup(MANAGERS, "incident-managers", ["U0CAROL"])
    triage = emulator.add_channel("alert-triage", members=["UBOT", *USERS])
    process = replace(ProcessSettings(), incident_managers_group=MANAGERS)
    process = replace(process, permissions={**process.permissions, "oncall": ("managers",)})
    return {
        "clock": FrozenClock(START),
        "process": process,
        "oncall": oncall,
        "triage_channel": triage,
    }


async def later(running: Running, minutes: float) -> None:
    """Move the frozen clock past the shifts' cache."""
    clock = running.bk.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(minutes=minutes)


async def test_oncall_shows_pagerduty_now_and_next_as_slack_users(desk: Running) -> None:
    told = await say(desk, "oncall platform")
    assert "On call for platform* (from PagerDuty, times in Etc/UTC)" in told
    assert "Now: <@U0BOB> until Tue 06 Jan 00:00" in told
    assert "Next: <@U0CAROL> from Tue 06 Jan 00:00 until Wed 07 Jan 00:00" in told
    # Erin has no Slack account with her e-mail: shown by name (escaped, on one line), not dropped
    erin = "Erin &lt;!here&gt; [button x] Vale (erin@elsewhere.example)"
    assert f"Next: {erin} from Wed 07 Jan 00:00" in told
    assert "<!here>" not in told


async def test_an_escalation_policys_first_level_is_its_on_call(desk: Running) -> None:
    told = await say(desk, "oncall network")
    assert "Now: <@U0CAROL> until Mon 12 Jan 00:00" in told
    assert "U0BOB" not in told  # the second level is not the on-call


async def test_oncall_shows_goalert_now_and_next(desk: Running) -> None:
    told = await say(desk, "oncall storage")
    assert "Now: <@U0DAVE> until Wed 07 Jan 09:00" in told
    assert "Next: <@U0ALICE> from Wed 07 Jan 09:00" in told


async def test_many_shifts_are_read_page_by_page_into_the_feed(
    db_url: str,
    emulator: SlackEmulator,
    pagerduty: PagerDutyRestEmulator,
    goalert: GoAlertEmulator,
) -> None:
    pagerduty.duties.clear()
    for hour in range(130):  # more than one page of 100
        person = "PBOB001" if hour % 2 else "PCAROL1"
        start = START + timedelta(hours=hour)
        pagerduty.add_duty(Duty(person, SCHEDULE, start, start + timedelta(hours=1)))
    async with bridgekeepers(db_url, emulator) as start_desk:
        running = await start_desk(**_started(emulator, oncall_settings(pagerduty, goalert)))
        status, body = await feed(running, "platform", running.bk.oncall.feed_token("platform"))
    assert status == 200
    events = list(calendar(body).walk("VEVENT"))
    assert len(events) == 130
    assert pagerduty.calls == 2
    last = max(e.decoded("dtstart") for e in events)
    assert last == START + timedelta(hours=129)


async def test_the_triage_card_names_the_pagerduty_on_call(desk: Running) -> None:
    assert (await post(desk, "generic", generic("Checkout errors"))).status == 202
    await desk.settle()
    [card] = card_texts(desk)
    assert "*On call (platform):* <@U0BOB>" in card


async def test_a_page_to_a_pagerduty_team_reaches_its_on_call(
    db_url: str,
    emulator: SlackEmulator,
    pagerduty: PagerDutyRestEmulator,
    goalert: GoAlertEmulator,
) -> None:
    oncall = oncall_settings(pagerduty, goalert)
    async with paging_desk(db_url, emulator, oncall=oncall) as running:
        bridge = await declare(running)
        reply = await say_in(running, "page platform checkout is down", channel=bridge.id)
        assert "Paged <@U0BOB> (platform on call)" in reply
        assert dms(emulator, "U0BOB", PAGED)
        assert not dms(emulator, "U0CAROL", PAGED)


async def test_an_escalation_pages_whoever_the_tool_has_on_call_by_then(
    db_url: str,
    emulator: SlackEmulator,
    pagerduty: PagerDutyRestEmulator,
    goalert: GoAlertEmulator,
) -> None:
    twice = Policy((("oncall",), ("oncall",)), timedelta(minutes=10))
    oncall = oncall_settings(pagerduty, goalert, policies={"platform": twice})
    async with paging_desk(db_url, emulator, oncall=oncall) as running:
        bridge = await declare(running)
        assert "Paged <@U0BOB>" in await say_in(running, "page platform", channel=bridge.id)
        pagerduty.duties[0] = Duty("PCAROL1", SCHEDULE, day(0), day(1))  # swapped in PagerDuty
        await at(running, 10)
        assert dms(emulator, "U0CAROL", ESCALATED)
        assert len(dms(emulator, "U0BOB", PAGED)) == 1


async def test_an_outsider_cannot_page_a_pagerduty_team_for_a_private_incident(
    db_url: str,
    emulator: SlackEmulator,
    pagerduty: PagerDutyRestEmulator,
    goalert: GoAlertEmulator,
) -> None:
    oncall = oncall_settings(pagerduty, goalert)
    async with paging_desk(db_url, emulator, oncall=oncall) as running:
        await declare(running, "Insider case sev2 private")
        hidden = await say_in(running, "page #1 platform", channel=running.general, user="U0DAVE")
        missing = await say_in(running, "page #7 platform", channel=running.general, user="U0DAVE")
        assert "not there" in hidden or "no incident 1" in hidden
        assert hidden.replace("1", "N") == missing.replace("7", "N")
        assert not dms(emulator, "U0BOB", PAGED)


async def test_an_outage_after_a_good_read_shows_the_shifts_last_read(
    desk: Running, pagerduty: PagerDutyRestEmulator
) -> None:
    assert "Now: <@U0BOB>" in await say(desk, "oncall platform")
    pagerduty.duties[0] = Duty("PCAROL1", SCHEDULE, day(0), day(1))  # a read now would say so
    pagerduty.outage(500)
    await later(desk, 2)
    told = await say(desk, "oncall platform")
    assert "Now: <@U0BOB> until Tue 06 Jan 00:00" in told
    assert pagerduty.calls == 2  # it did ask again

    pagerduty.outage(None)
    pagerduty.stall(2)  # slower than bridgekeeper waits
    desk.bk.schedules.timeout = 0.2
    await later(desk, 2)
    assert "Now: <@U0BOB> until Tue 06 Jan 00:00" in await say(desk, "oncall platform")
    assert pagerduty.calls == 3

    pagerduty.stall(0)  # answering again: the next read, a minute on, has the change
    await later(desk, 2)
    assert "Now: <@U0CAROL> until Wed 07 Jan 00:00" in await say(desk, "oncall platform")


async def test_with_no_shifts_read_yet_an_outage_is_said_plainly(
    desk: Running, pagerduty: PagerDutyRestEmulator, goalert: GoAlertEmulator
) -> None:
    pagerduty.outage(503)
    goalert.outage(502)
    told = await say(desk, "oncall platform")
    assert "could not be read from PagerDuty just now" in told
    assert "Traceback" not in told and "Now:" not in told
    assert "could not be read from GoAlert just now" in await say(desk, "oncall storage")

    assert (await post(desk, "generic", generic("Checkout errors"))).status == 202
    await desk.settle()
    [card] = card_texts(desk)
    assert "*On call (platform):* unknown: the schedule could not be read" in card

    pagerduty.outage(None)  # back: read again once the failed read is a minute old
    await later(desk, 2)
    assert "Now: <@U0BOB>" in await say(desk, "oncall platform")


async def test_a_wrong_token_is_said_plainly(
    db_url: str,
    emulator: SlackEmulator,
    pagerduty: PagerDutyRestEmulator,
    goalert: GoAlertEmulator,
) -> None:
    oncall = oncall_settings(
        pagerduty, goalert, pagerduty_token="not-the-key", goalert_token="not-the-key"
    )
    async with bridgekeepers(db_url, emulator) as start:
        running = await start(**_started(emulator, oncall))
        told = await say(running, "oncall platform")
        assert "PagerDuty refused bridgekeeper's API key" in told
        assert "GoAlert refused bridgekeeper's API key" in await say(running, "oncall storage")


async def test_overrides_are_refused_for_a_team_managed_in_a_tool(desk: Running) -> None:
    told = await say(
        desk, "oncall override platform <@U0ALICE> until 2026-01-05 18:00", user="U0CAROL"
    )
    assert "The on-call of platform is managed in PagerDuty" in told
    assert await overrides(desk) == []
    assert "Now: <@U0BOB>" in await say(desk, "oncall platform")


async def test_the_emulators_answer_as_the_tools_document(
    pagerduty: PagerDutyRestEmulator, goalert: GoAlertEmulator
) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{pagerduty.url}/oncalls") as answer:
            assert answer.status == 401
            assert (await answer.json())["error"]["message"] == "Unauthorized"
        headers = {"Authorization": f"Token token={PD_TOKEN}"}
        query = [("schedule_ids[]", SCHEDULE), ("limit", "2")]
        async with http.get(f"{pagerduty.url}/oncalls", params=query, headers=headers) as answer:
            page = await answer.json()
        assert [len(page["oncalls"]), page["more"], page["limit"]] == [2, True, 2]
        assert page["oncalls"][0]["user"]["type"] == "user_reference"  # no include[]=users
        url, bearer = f"{goalert.url}/api/graphql", {"Authorization": f"Bearer {GA_TOKEN}"}
        async with http.post(url, json={"query": "{ users { id } }"}) as answer:
            assert answer.status == 401
        async with http.post(url, json={"query": "{ users { id } }"}, headers=bearer) as answer:
            assert (await answer.json())["errors"][0]["message"] == "unsupported query"


async def test_a_name_from_the_tool_is_never_taken_for_a_slack_user(
    db_url: str,
    emulator: SlackEmulator,
    pagerduty: PagerDutyRestEmulator,
    goalert: GoAlertEmulator,
) -> None:
    """Someone on call in PagerDuty with no e-mail, whose name reads like a Slack user ID, is
    shown by that name and never paged: the Slack user of that ID is not who is on call."""
    pagerduty.add_person("PMALL01", "U0DAVE", "")
    pagerduty.duties[0] = Duty("PMALL01", SCHEDULE, day(0), day(1))
    oncall = oncall_settings(pagerduty, goalert)
    async with paging_desk(db_url, emulator, oncall=oncall) as running:
        bridge = await declare(running, "Insider case sev2 private")
        await say_in(running, "page platform", channel=bridge.id)
        assert not dms(emulator, "U0DAVE", PAGED)
        assert "U0DAVE" not in emulator.channels[bridge.id].members
        shown = await say_in(running, "oncall platform", channel=bridge.id)
        assert "U0DAVE (not in Slack)" in shown and "<@U0DAVE>" not in shown
