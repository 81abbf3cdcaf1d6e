"""A regulatory clock decided "no notification required" (`notify none`) after it started: its
unsent deadlines, once past due, are neither "missed" in the report nor counted as missed on the
dashboard."""

from __future__ import annotations

from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.services.dashboard import Dashboard
from tests.updating import Desk, desk_for


async def decided_not_required(desk: Desk) -> None:
    bridge = await desk.declare("Misdirected email sev3")
    await desk.command("notify gdpr", channel=bridge.id)
    await desk.at(hours=1)
    await desk.command("notify none gdpr encrypted, key not disclosed", channel=bridge.id)
    await desk.at(days=4)  # past the 72 h the clock had when it was started


async def test_the_report_does_not_call_a_notification_not_required_missed(
    db_url: str, emulator: SlackEmulator
) -> None:
    async with desk_for(db_url, emulator) as desk:
        await decided_not_required(desk)
        report = await desk.running.bk.reports.draft(1, "md")
        assert report is not None
        assert "no notification required" in report
        assert "missed the deadline" not in report


async def test_the_dashboard_does_not_count_a_notification_not_required_as_missed(
    db_url: str, emulator: SlackEmulator
) -> None:
    async with desk_for(db_url, emulator) as desk:
        await decided_not_required(desk)
        bk = desk.running.bk
        dashboard = Dashboard(db=bk.db, stats=bk.stats, clock=desk.clock, regimes={"gdpr": "GDPR"})
        table = (await dashboard.figures(30, private_ids=None)).tables["regulatory"]
        missed = table.columns.index("missed")
        assert [(name, values[missed]) for name, values in table.rows] == [("GDPR", 0)]
