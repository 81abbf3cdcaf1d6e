"""`/incident declare` end to end: signed HTTP in, channel, invite, card, pin and topic out."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import func, select

from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store.models import Incident, TimelineEntry
from tests.conftest import Running
from tests.helpers import status_card


def _texts(reply_body: object) -> str:
    return json.dumps(reply_body)


async def count_incidents(app: Running) -> int:
    async with app.bk.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Incident)) or 0)


async def test_declare_creates_channel_card_pin_and_topic(running: Running) -> None:
    reply = await running.command("declare Suspicious login sev2")
    assert reply.status == 200
    assert "Suspicious login" in _texts(reply.body)
    await running.settle()

    channel = running.slack.channel_by_name("inc-1-suspicious-login")
    assert channel is not None and not channel.is_private
    assert "U0ALICE" in channel.members
    assert "SEV2" in channel.topic and "Detect" in channel.topic
    card = status_card(running.slack, channel)
    card_text = json.dumps(card.blocks)
    assert "Incident 1: Suspicious login" in card_text
    assert "SEV2" in card_text and "<@U0ALICE>" in card_text
    assert len(running.slack.calls_to("conversations.create")) == 1


async def test_private_declaration_makes_a_private_channel(running: Running) -> None:
    await running.command("declare Ransomware note found private sev1")
    await running.settle()
    channel = running.slack.channel_by_name("inc-1-ransomware-note-found")
    assert channel is not None and channel.is_private
    assert "SEV1" in channel.topic


async def test_numbers_are_sequential_and_taken_names_get_a_suffix(running: Running) -> None:
    running.slack.add_channel("inc-2-disk-full")
    await running.command("declare Disk full")
    await running.command("declare Disk full")
    await running.settle()
    assert running.slack.channel_by_name("inc-1-disk-full") is not None
    taken = running.slack.channel_by_name("inc-2-disk-full")
    suffixed = running.slack.channel_by_name("inc-2-disk-full-2")
    assert taken is not None and "UBOT" not in taken.members
    assert suffixed is not None and "U0ALICE" in suffixed.members


async def test_title_with_mentions_is_escaped(running: Running) -> None:
    await running.command("declare <!channel> pwned & <script>")
    await running.settle()
    assert running.slack.unsafe_mentions() == []
    [channel] = [c for c in running.slack.channels.values() if c.name.startswith("inc-1")]
    card = running.slack.messages(channel.id)[0]
    assert (
        "&lt;!channel&gt; pwned &amp; &lt;script&gt;" in json.dumps(card.blocks)
        or "<!channel> pwned & <script>" in card.blocks[0]["text"]["text"]
    )


async def test_missing_title_gets_usage_and_creates_nothing(running: Running) -> None:
    reply = await running.command("declare")
    assert reply.status == 200
    body = reply.body
    assert isinstance(body, dict) and body["response_type"] == "ephemeral"
    assert "declare" in _texts(body) and "title" in _texts(body).lower()
    await running.settle()
    assert await count_incidents(running) == 0
    assert running.slack.calls_to("conversations.create") == []


async def test_unknown_subcommand_gets_usage(running: Running) -> None:
    reply = await running.command("decalre Oops")
    assert isinstance(reply.body, dict) and reply.body["response_type"] == "ephemeral"
    assert "decalre" in _texts(reply.body)
    assert await count_incidents(running) == 0


async def test_help_lists_the_commands(running: Running) -> None:
    reply = await running.command("help")
    text = _texts(reply.body)
    for word in ("declare", "severity", "role", "note"):
        assert word in text


async def test_bad_signature_is_refused_and_changes_nothing(running: Running) -> None:
    body = b"command=%2Fincident&text=declare+Forged&user_id=U0ALICE&channel_id=C1"
    headers = running.driver.sign(body)
    headers["X-Slack-Signature"] = "v0=" + "0" * 64
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    reply = await running.driver.raw(body, headers)
    assert reply.status == 401
    stale = running.driver.sign(body, timestamp=1_000_000_000)
    stale["Content-Type"] = "application/x-www-form-urlencoded"
    assert (await running.driver.raw(body, stale)).status == 401
    missing = {"Content-Type": "application/x-www-form-urlencoded"}
    assert (await running.driver.raw(body, missing)).status == 401
    await running.settle()
    assert await count_incidents(running) == 0


async def test_healthz(running: Running) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(f"{running.url}/healthz") as r:
        assert r.status == 200
        assert (await r.json())["status"] == "ok"


async def test_a_declaration_goes_before_a_backlog_of_notes(running: Running) -> None:
    """A busy bridge's queued notes wait; a new incident does not wait behind them."""
    assert await notes_after_a_declaration_behind_a_backlog(running) >= 5


async def test_under_a_stream_of_requests_a_declaration_waits_only_for_the_commands_working(
    running: Running,
) -> None:
    """While Slack requests keep coming, work after acks starts a few at a time; a declaration
    waits for the few commands holding a place to work, not for every note queued."""
    with running.bk.pending_answers.answering():  # a request not yet answered, all along
        assert await notes_after_a_declaration_behind_a_backlog(running) >= 10


async def notes_after_a_declaration_behind_a_backlog(running: Running) -> int:
    """Twenty notes queue up behind their incident's lock, then a declaration is sent: how
    many of the notes were recorded after it."""
    await running.command("declare Disk full")
    await running.settle()
    bridge = running.slack.channel_by_name("inc-1-disk-full")
    assert bridge is not None
    db = running.bk.db
    async with db.transaction() as session:  # the incident is held: its notes queue up
        await incident_store.get_by_id(session=session, incident_id=1, lock=True)
        notes = [running.command(f"note backlog {n}", channel=bridge.id) for n in range(20)]
        assert all(reply.status == 200 for reply in await asyncio.gather(*notes))
        declared = await running.command("declare Ransomware note found")
        assert declared.status == 200
    await running.settle()
    async with db.sessions() as reading:
        entries = (
            await reading.execute(
                select(TimelineEntry.kind, TimelineEntry.incident_id).order_by(TimelineEntry.id)
            )
        ).all()
    order = [kind for kind, incident in entries if kind == "note" or incident == 2]
    assert order.count("note") == 20
    return order[order.index("declared") :].count("note")
