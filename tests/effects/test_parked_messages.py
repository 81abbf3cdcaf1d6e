"""A stakeholder channel that is gone (archived, the bot removed) parks the messages queued for
it, every incident's: each incident's timeline says so, and its bridge channel is told, with
how an operator sends them again."""

from __future__ import annotations

from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.store import incidents as incident_store
from tests.updating import Desk, containing, desk_for


async def failed(desk: Desk, number: int) -> list[dict[str, object]]:
    async with desk.running.bk.db.sessions() as session:
        incident = await incident_store.get(session=session, number=number)
        assert incident is not None
        entries = await incident_store.timeline(session=session, incident_id=incident.id)
    return [e.data for e in entries if e.kind == "delivery_failed"]


async def test_an_update_to_an_archived_stakeholder_channel_is_reported_in_the_bridge(
    db_url: str, emulator: SlackEmulator
) -> None:
    async with desk_for(db_url, emulator) as desk:
        bridge = await desk.declare("Database slow sev2")
        desk.slack.channels[desk.stakeholders].is_archived = True
        assert "Update posted" in await desk.command("update Failing over", channel=bridge.id)
        await desk.at(minutes=1)
        assert not containing(desk.slack.channels[desk.stakeholders], "Failing over")
        [told] = containing(bridge, "could not be delivered")
        assert f"<#{desk.stakeholders}>" in told and "is_archived" in told
        assert f"outbox retry --lane channel:{desk.stakeholders}" in told


async def test_every_incident_whose_update_was_parked_has_it_on_its_timeline(
    db_url: str, emulator: SlackEmulator
) -> None:
    async with desk_for(db_url, emulator) as desk:
        first = await desk.declare("Database slow sev2")
        second = await desk.declare("Website slow sev2")
        desk.slack.channels[desk.stakeholders].is_archived = True
        await desk.running.command("update Failing over", channel=first.id)
        await desk.running.command("update Purging the CDN", channel=second.id)
        await desk.running.settle()
        assert [len(await failed(desk, n)) for n in (1, 2)] == [1, 1]
        for bridge in (first, second):
            assert containing(bridge, "could not be delivered")
