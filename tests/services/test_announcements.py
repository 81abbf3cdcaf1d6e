"""The stakeholder announcement follows the incident's severity routing (`[updates]
stakeholder_channels`): a channel its updates start going to gets the announcement too, and
every announcement posted before is kept current, wherever the severity went since."""

from __future__ import annotations

from bridgekeeper.domain.incidents import Severity
from bridgekeeper.sandbox import SlackEmulator
from tests.updating import containing, desk_for, texts


async def test_a_raised_incident_is_announced_where_its_updates_now_go(
    db_url: str, emulator: SlackEmulator
) -> None:
    execs = emulator.add_channel("execs", members=["U0ALICE"])
    routing = {Severity.SEV1: (execs,)}
    async with desk_for(db_url, emulator, updates={"stakeholder_channels": routing}) as desk:
        bridge = await desk.declare("Database slow sev3")
        await desk.command("severity sev1 customers cannot pay", channel=bridge.id)
        await desk.command("update Failing over to the replica", channel=bridge.id)
        await desk.command("close Failed over", channel=bridge.id)
        shown = desk.slack.channels[execs]
        assert containing(shown, "Failing over to the replica")
        assert containing(shown, "is resolved and closed")
        [announced] = containing(shown, "*Status:*")
        [first] = containing(desk.slack.channels[desk.stakeholders], "*Status:*")
        for announcement in (announced, first):  # one each, both current
            assert "*Status:* Resolved · *Severity:* SEV1" in announcement


async def test_an_announcement_is_edited_after_a_change_to_a_severity_with_no_channel(
    db_url: str, emulator: SlackEmulator
) -> None:
    routing = {Severity.SEV4: ()}  # as in the README's example
    async with desk_for(db_url, emulator, updates={"stakeholder_channels": routing}) as desk:
        bridge = await desk.declare("Database slow sev2")
        await desk.command("severity sev4 a single test host", channel=bridge.id)
        await desk.command("close Nothing customer facing", channel=bridge.id)
        [announcement] = texts(desk.slack.channels[desk.stakeholders])
        assert "*Status:* Resolved · *Severity:* SEV4" in announcement
