"""A hidden private incident and a missing one take the same time to refuse, however slow Slack
is: who is in a bridge channel is answered from stored membership, and Slack is asked about it
only in the background."""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

import pytest
from sqlalchemy import event

from bridgekeeper.store import members
from tests.conftest import Running
from tests.helpers import eventually
from tests.services.test_access import SECRET, declare, entries, incident, say

SLOW = 3.0  # seconds Slack takes to say who is in a channel
TRIES = 4
DAVE = "U0DAVE"  # in no private incident


async def refused_after(managed: Running, text: str) -> float:
    """Seconds from the command to its "There is no incident" answer."""
    started = time.monotonic()
    reply = await managed.command(text, user=DAVE)

    def answered() -> bool:
        posts = [p.body for p in managed.slack.response_posts if p.url == reply.response_url]
        return "There is no incident" in json.dumps([reply.body, *posts])

    await eventually(answered)
    return time.monotonic() - started


@pytest.mark.slow(4)
async def test_a_hidden_incident_is_refused_as_fast_as_a_missing_one(managed: Running) -> None:
    for n in range(TRIES):  # one each: a look-up per channel is not answered from a cache
        await declare(managed, f"{SECRET} {n} sev1 private")
    managed.slack.delay("conversations.members", SLOW, times=100)
    hidden, missing = [], []
    for n in range(1, TRIES + 1):
        hidden.append(await refused_after(managed, f"timeline #{n}"))
        missing.append(await refused_after(managed, f"timeline #{90 + n}"))
    assert statistics.median(hidden) < statistics.median(missing) + SLOW / 2
    assert statistics.median(hidden) < SLOW / 2  # nobody waited for Slack
    await eventually(lambda: not managed.bk.incidents.access.channels.busy)


async def test_members_in_the_bridge_channel_are_not_kept_waiting_either(
    managed: Running,
) -> None:
    bridge = await declare(managed, f"{SECRET} sev1 private")
    managed.slack.delay("conversations.members", SLOW, times=100)
    started = time.monotonic()
    told = await say(managed, "note still on it", user="U0ALICE", channel=bridge.id)
    assert "There is no" not in told and time.monotonic() - started < SLOW / 2
    assert not managed.slack.calls_to("conversations.members")  # a stored member: nothing asked


async def test_an_outsider_stays_out_after_slack_is_asked(managed: Running) -> None:
    await declare(managed, f"{SECRET} sev1 private")
    assert "There is no incident 1" in await say(managed, "note #1 let me in", user=DAVE)
    access = managed.bk.incidents.access
    await eventually(
        lambda: managed.slack.calls_to("conversations.members") and not access.channels.busy
    )
    assert "There is no incident 1" in await say(managed, "note #1 let me in", user=DAVE)
    row = await incident(managed)
    async with managed.bk.db.sessions() as session:
        assert not await members.is_member(session=session, incident_id=row.id, user=DAVE)
    assert [e.kind for e in await entries(managed)] == ["declared"]


async def test_the_database_is_asked_the_same_for_a_hidden_and_a_missing_incident(
    managed: Running,
) -> None:
    await declare(managed, f"{SECRET} sev1 private")
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM incidents" in statement or "incident_members" in statement:  # not the worker's
            statements.append(statement)

    engines = managed.bk.db.engines
    for engine in engines:
        event.listen(engine, "before_cursor_execute", seen)
    try:
        hidden_answer = await say(managed, "note #1 let me in", user=DAVE)
        hidden = list(statements)
        statements.clear()
        missing_answer = await say(managed, "note #99 let me in", user=DAVE)
        missing = list(statements)
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", seen)
    assert "There is no incident 1" in hidden_answer and "There is no incident 99" in missing_answer
    assert hidden  # the statements were seen
    assert hidden == missing  # the same statements, whether hidden or missing
    assert len([s for s in hidden if "incident_members" in s]) == 1  # read with the incident


@pytest.mark.slow(6)
async def test_a_burst_of_refusals_asks_slack_once(managed: Running) -> None:
    bridge = await declare(managed, f"{SECRET} sev1 private")
    managed.slack.delay("conversations.members", SLOW / 4, times=100)
    for n in range(6):
        assert "There is no incident 1" in await say(managed, f"note #1 try {n}", user=DAVE)
    assert len(managed.slack.calls_to("conversations.members")) == 1  # the next waits its turn
    bridge.members.add(DAVE)  # added in Slack during the burst; the event lost
    await eventually(lambda: len(managed.slack.calls_to("conversations.members")) == 2, 15)
    assert "There is no" not in await say(managed, "note made it", user=DAVE, channel=bridge.id)
