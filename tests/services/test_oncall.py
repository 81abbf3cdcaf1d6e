"""`/incident oncall`, overrides and the calendar feed, as Slack and a calendar app use them:
signed commands to a running bridgekeeper, its replies, its rows and its .ics parsed back."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from sqlalchemy import select

from bridgekeeper.clock import FrozenClock
from bridgekeeper.config.settings import OnCallSettings, ProcessSettings
from bridgekeeper.domain.oncall import Layer, Team, Window
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.store.models import OnCallOverride
from tests.conftest import MANAGERS, Running, bridgekeepers
from tests.helpers import calendar

PARIS = ZoneInfo("Europe/Paris")
PAYMENTS = Team(
    "payments",
    PARIS,
    (
        Layer("primary", ("U0ALICE", "U0BOB"), date(2026, 3, 2), time(9), days=1),
        Layer(
            "office",
            ("U0CAROL",),
            date(2026, 3, 2),
            time(9),
            days=7,
            window=Window(frozenset({5, 6}), time(10), time(12)),  # weekend mornings
        ),
    ),
)
STORES = Team(
    "stores", ZoneInfo("UTC"), (Layer("all", ("U0DAVE",), date(2026, 1, 1), time(0), days=7),)
)
TUESDAY_3PM = datetime(2026, 3, 3, 15, tzinfo=PARIS)  # Bob's day: Monday Alice, Tuesday Bob


def paris(day: int, hour: int) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=PARIS)


@pytest.fixture
async def rota(db_url: str, emulator: SlackEmulator) -> AsyncIterator[Running]:
    """bridgekeeper with two teams' rotas; Carol manages incidents, so she may set overrides;
    Alice reads Slack in Paris time."""
    emulator.add_usergroup(MANAGERS, "incident-managers", ["U0CAROL"])
    emulator.users["U0ALICE"].tz = "Europe/Paris"
    process = replace(ProcessSettings(), incident_managers_group=MANAGERS)
    process = replace(process, permissions={**process.permissions, "oncall": ("managers",)})
    oncall = OnCallSettings(teams=(PAYMENTS, STORES), feed_weeks=1)
    async with bridgekeepers(db_url, emulator) as start:
        yield await start(
            clock=FrozenClock(TUESDAY_3PM.astimezone(UTC)), process=process, oncall=oncall
        )


async def say(running: Running, text: str, user: str = "U0ALICE") -> str:
    """Everything the user was told after `/incident <text>`: the ack and later replies."""
    reply = await running.command(text, user=user)
    await running.settle()
    assert reply.status == 200
    posts = [p.body for p in running.slack.response_posts if p.url == reply.response_url]
    return json.dumps([reply.body, *posts], ensure_ascii=False)


async def overrides(running: Running) -> list[OnCallOverride]:
    async with running.bk.db.sessions() as session:
        return list(await session.scalars(select(OnCallOverride).order_by(OnCallOverride.id)))


async def feed(running: Running, team: str, token: str | None) -> tuple[int, bytes]:
    query = {"token": token} if token is not None else {}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{running.url}/oncall/{team}.ics", params=query) as response,
    ):
        return response.status, await response.read()


def events(body: bytes) -> list[tuple[str, datetime, datetime]]:
    parsed = calendar(body)
    return [
        (
            str(e["summary"]),
            e.decoded("dtstart").astimezone(PARIS),
            e.decoded("dtend").astimezone(PARIS),
        )
        for e in parsed.walk("VEVENT")
    ]


async def test_oncall_shows_now_and_next_in_the_readers_time_zone(rota: Running) -> None:
    told = await say(rota, "oncall payments")
    assert "On call for payments* (times in Europe/Paris)" in told
    assert "Now: <@U0BOB> until Wed 04 Mar 09:00" in told
    assert "Next: <@U0ALICE> from Wed 04 Mar 09:00 until Thu 05 Mar 09:00" in told
    assert "By layer now: primary: <@U0BOB>, office: nobody" in told
    assert rota.slack.messages(rota.general) == []  # ephemeral: nothing posted in the channel


async def test_a_reader_without_a_time_zone_sees_utc(rota: Running) -> None:
    told = await say(rota, "oncall payments", user="U0DAVE")
    assert "Now: <@U0BOB> until Wed 04 Mar 08:00" in told


async def test_an_override_across_a_handoff_shows_in_slack_and_in_the_feed(rota: Running) -> None:
    told = await say(
        rota,
        "oncall override payments <@U0DAVE> from 2026-03-03 20:00 until 2026-03-04 12:00",
        user="U0CAROL",
    )
    assert "Override #1: <@U0DAVE> is on call for payments from Tue 03 Mar 19:00 UTC" in told
    [row] = await overrides(rota)
    assert (row.user_id, row.created_by) == ("U0DAVE", "U0CAROL")
    assert (row.starts_at, row.ends_at) == (paris(3, 20), paris(4, 12))

    told = await say(rota, "oncall payments")
    assert "Now: <@U0BOB> until Tue 03 Mar 20:00" in told
    assert "Next: <@U0DAVE> from Tue 03 Mar 20:00 until Wed 04 Mar 12:00 (override)" in told
    assert "Next: <@U0ALICE> from Wed 04 Mar 12:00 until Thu 05 Mar 09:00" in told

    status, body = await feed(rota, "payments", rota.bk.oncall.feed_token("payments"))
    assert status == 200
    shifts = events(body)
    assert ("On call for payments: bob", paris(3, 15), paris(3, 20)) in shifts
    assert ("On call for payments: dave (override)", paris(3, 20), paris(4, 12)) in shifts
    assert ("On call for payments: alice", paris(4, 12), paris(5, 9)) in shifts
    assert ("On call for payments: carol", paris(7, 10), paris(7, 12)) in shifts  # the layer
    assert max(end for *_, end in shifts) == paris(10, 15)  # feed_weeks = 1


async def test_the_feed_keeps_nine_oclock_across_the_dst_change(rota: Running) -> None:
    rota.bk.clock.set(paris(27, 15).astimezone(UTC))  # type: ignore[attr-defined]
    status, body = await feed(rota, "payments", rota.bk.oncall.feed_token("payments"))
    assert status == 200
    starts = [start for _, start, _ in events(body)[1:]]
    assert {start.time() for start in starts if start.weekday() < 5} == {time(9)}
    assert {start.time() for start in starts} == {time(9), time(10), time(12)}  # weekend layer
    assert paris(29, 9) in starts  # Paris moved to summer time that night
    assert paris(30, 9) in starts


async def test_removing_an_override_gives_the_shift_back_to_the_rota(rota: Running) -> None:
    await say(rota, "oncall override payments <@U0DAVE> until 2026-03-03 18:00", user="U0CAROL")
    told = await say(rota, "oncall overrides")
    assert "#1 payments: <@U0DAVE> from Tue 03 Mar 15:00 until Tue 03 Mar 18:00" in told

    told = await say(rota, "oncall override remove 1", user="U0CAROL")
    assert "Override #1 (<@U0DAVE> for payments) is removed" in told
    assert "There are no current or coming on-call overrides." in await say(
        rota, "oncall overrides"
    )
    assert "Now: <@U0BOB> until Wed 04 Mar 09:00" in await say(rota, "oncall payments")
    [row] = await overrides(rota)
    assert (row.removed_by, row.removed_at) == ("U0CAROL", TUESDAY_3PM)
    assert "There is no current override #1" in await say(
        rota, "oncall override remove 1", user="U0CAROL"
    )


async def test_only_those_allowed_may_set_or_remove_overrides(rota: Running) -> None:
    told = await say(
        rota, "oncall override payments <@U0DAVE> until 2026-03-04 12:00", user="U0BOB"
    )
    assert "Only those named in [permissions] oncall" in told
    await say(rota, "oncall override payments <@U0DAVE> until 2026-03-04 12:00", user="U0CAROL")
    told = await say(rota, "oncall override remove 1", user="U0BOB")
    assert "Only those named in [permissions] oncall" in told
    [row] = await overrides(rota)
    assert row.removed_at is None


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("oncall override payments <@U0DAVE> until noon", "`noon` isn't a time"),
        ("oncall override payments <@U0DAVE>", "Say until when"),
        ("oncall override payments dave until", "Mention who is on call instead"),
        ("oncall override payments <@U0DAVE> until 2026-03-01 12:00", "would end before"),
        ("oncall override billing <@U0DAVE> until 2026-03-04 12:00", "no on-call team `billing`"),
        ("oncall override payments <@U0NOBODY> until 2026-03-04 12:00", "no Slack user"),
    ],
)
async def test_bad_overrides_are_explained_and_change_nothing(
    rota: Running, text: str, said: str
) -> None:
    told = await say(rota, text, user="U0CAROL")
    assert said in told
    assert await overrides(rota) == []
    assert rota.slack.messages(rota.general) == []


async def test_which_team_when_there_are_several(rota: Running) -> None:
    told = await say(rota, "oncall")
    assert "Say which team: payments, stores." in told
    told = await say(rota, "oncall <b>")
    assert "no on-call team `&lt;b&gt;`" in told


async def test_the_feed_needs_its_own_token(rota: Running) -> None:
    payments = rota.bk.oncall.feed_token("payments")
    assert payments != rota.bk.oncall.feed_token("stores")
    assert (await feed(rota, "payments", None))[0] == 404
    assert (await feed(rota, "payments", "x" * 32))[0] == 404
    assert (await feed(rota, "payments", "\u00e9"))[0] == 404  # as for no team: not a 500
    assert (await feed(rota, "stores", payments))[0] == 404
    assert (await feed(rota, "billing", payments))[0] == 404
    assert (await feed(rota, "stores", rota.bk.oncall.feed_token("stores")))[0] == 200


async def test_without_a_key_there_is_no_feed(db_url: str, emulator: SlackEmulator) -> None:
    """Socket Mode has no signing secret: without [oncall] feed_token too, anyone could make a
    team's token from nothing, so no feed is served, nor offered."""
    oncall = OnCallSettings(teams=(PAYMENTS, STORES), feed_weeks=1)
    async with bridgekeepers(db_url, emulator, "socket") as start:
        keyless = await start(clock=FrozenClock(TUESDAY_3PM.astimezone(UTC)), oncall=oncall)
        made = hmac.new(b"", b"oncall:stores", hashlib.sha256).hexdigest()[:32]
        assert (await feed(keyless, "stores", made))[0] == 404
        told = await say(keyless, "oncall stores")
        assert "Now: <@U0DAVE>" in told and ".ics" not in told


async def test_the_reply_links_to_the_feed(rota: Running) -> None:
    told = await say(rota, "oncall stores")
    token = rota.bk.oncall.feed_token("stores")
    assert f"/oncall/stores.ics?token={token}" in told
    status, body = await feed(rota, "stores", token)
    assert status == 200
    assert calendar(body)["x-wr-calname"] == "On call: stores"
