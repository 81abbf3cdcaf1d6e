"""Long incidents: a report is read page by page and stored in parts, with every entry; Slack
acks are answered while a long report is being built; `/incident timeline` pages."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import delete, func, select, update

from bridgekeeper import cli_records
from bridgekeeper.config import ReportSettings
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.sandbox.state import Channel
from bridgekeeper.services.reports import sha256
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store.models import Effect, Report, ReportPart, TimelineEntry
from tests.alerting import generic, post
from tests.conftest import USERS, Running, Start
from tests.services.test_close import (
    channel_text,
    close_with_form,
    declare,
    incident,
    reports,
    say,
)
from tests.services.test_close import serve as serve  # a fixture
from tests.services.test_report import TOKEN, bulk_entries, fetch, section

LONG = 60.0  # seconds a long report may take to settle on a loaded machine (settle's usual: 10)


def items(md: str, title: str) -> list[str]:
    return [line for line in section(md, title).splitlines() if line.startswith("- 20")]


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.005)


async def start_a_long_close(running: Running, channel: Channel) -> asyncio.Task[str]:
    """Incident 1 given 3,000 more entries and closed: its report is being compiled, in pages
    of 10 entries (a while, in small steps), when this returns; the close's task."""
    service = running.bk.reports
    service.page_rows = 10
    await say(running, channel, "role commander <@U0ALICE>")
    await bulk_entries(running, 3_000)
    closing = asyncio.create_task(
        say(running, channel, "close after a very long night", timeout=LONG)
    )
    await until(lambda: service.building > 0)
    return closing


async def test_a_long_report_is_stored_in_parts_with_every_entry(serve: Start) -> None:
    running = await serve(reports=ReportSettings(access_token=TOKEN))
    running.bk.reports.part_bytes, running.bk.reports.page_rows = 20_000, 64
    channel = await declare(running, "Long one")
    await say(running, channel, "role commander <@U0ALICE>")
    notes = await bulk_entries(running, 2_000)
    await say(running, channel, "close after a very long night")
    length = (await incident(running)).timeline_length
    texts = {r.format: r.text for r in await reports(running)}
    for row in await reports(running):
        assert len(row.parts) > 1 and sha256(row.text) == row.sha256
    md_lines = items(texts["md"], "Timeline")
    assert len(md_lines) == length and "note 1999 of the night" in md_lines[-2]
    assert len(items(texts["md"], "Actions taken")) == notes
    assert texts["html"].count('<td class="when">') == length
    data = json.loads(texts["json"])
    assert [e["seq"] for e in data["timeline"]["entries"]] == list(range(1, length + 1))
    assert sum(len(group["items"]) for group in data["actions"]["by_stage"]) == notes
    assert [g["stage"] for g in data["actions"]["by_stage"]] == [
        "detect",
        "assess",
        "diagnose",
        "stabilize",
    ]
    url = f"{running.url}/incidents/1/report"
    for fmt, accept in (("md", "text/markdown"), ("json", "application/json")):
        assert (await fetch(url, TOKEN, accept))[2] == texts[fmt]
    [shared] = [f for f in running.slack.files if channel.id in f.channels]
    assert shared.filename == "incident-1-report-v1.md"
    assert shared.content == texts["md"].encode()


async def test_a_long_non_ascii_report_is_uploaded_byte_for_byte(serve: Start) -> None:
    """Notes of accents and emoji (several bytes each in UTF-8) on both sides of the parts'
    boundaries: the file in Slack is the stored Markdown, its sha256 the one recorded."""
    running = await serve()
    running.bk.reports.part_bytes = 5_000
    channel = await declare(running, "Café ☕ outage")
    await say(running, channel, "role commander <@U0ALICE>")
    await bulk_entries(running, 600, note="é🧯 {} crème brûlée 🔥🇫🇷 déjà vu ✅")
    await say(running, channel, "close after a very long night")
    md = next(r for r in await reports(running) if r.format == "md")
    assert len(md.parts) > 5
    bodies = [md.body, *(part.body for part in md.parts)]
    edges = [(left[-40:], right[:40]) for left, right in itertools.pairwise(bodies)]
    assert any(not left.isascii() and not right.isascii() for left, right in edges)
    [shared] = [f for f in running.slack.files if channel.id in f.channels]
    assert hashlib.sha256(shared.content).hexdigest() == sha256(md.text) == md.sha256
    assert "é🧯 598 crème brûlée 🔥🇫🇷 déjà vu ✅" in shared.content.decode()


async def test_commands_are_acked_while_a_long_report_is_built(running: Running) -> None:
    service = running.bk.reports
    channel = await declare(running, "Long one")
    closing = await start_a_long_close(running, channel)
    for _ in range(3):
        reply = await running.command("roles", channel=channel.id)
        assert reply.status == 200
        assert service.building > 0, "the ack waited for the report to be built"
    await closing
    assert service.building == 0
    [shared] = [f for f in running.slack.files if channel.id in f.channels]
    md = next(r for r in await reports(running) if r.format == "md")
    assert shared.content.decode() == md.text and "note 2998 of the night" in md.text


async def test_alerts_and_other_incidents_are_written_while_a_long_report_is_built(
    running: Running,
) -> None:
    """The report is compiled after the close commits, holding no write lock: on SQLite a
    close of 200,000 entries had kept every webhook and command waiting for its seconds."""
    service = running.bk.reports
    channel = await declare(running, "Long one")
    other = await declare(running, "Other one")
    closing = await start_a_long_close(running, channel)
    stored = await post(running, "generic", generic("Disk full on db-01", dedup_key="db-01"))
    assert stored.status == 202 and stored.body["result"] == "new"
    assert service.building > 0, "the alert waited for the report"
    await running.command("note the other one goes on", channel=other.id)
    noted = await _until_noted(running, 2, "the other one goes on")
    assert noted and service.building > 0, "the note waited for the report"
    await closing
    assert [f.filename for f in running.slack.files] == ["incident-1-report-v1.md"]


async def _until_noted(running: Running, number: int, text: str) -> bool:
    for _ in range(2000):
        async with running.bk.db.sessions() as session:
            row = await incident_store.get(session=session, number=number)
            assert row is not None
            found = await session.scalar(
                select(func.count())
                .select_from(TimelineEntry)
                .where(TimelineEntry.incident_id == row.id, TimelineEntry.text == text)
            )
        if found:
            return True
        await asyncio.sleep(0.005)
    return False


async def test_a_report_its_close_left_unfinished_is_compiled_and_announced(
    running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    """The process stopped between the close and its report: the worker's periodic pass
    takes the report over, compiles it and announces the close."""
    channel = await declare(running, "Stopped one")
    await say(running, channel, "role commander <@U0ALICE>")
    await say(running, channel, "note what we saw")
    await say(running, channel, "close fixed before the restart")
    [first] = running.slack.files
    await leave_unfinished(running)
    preview = await say(running, channel, "report")
    assert "Report of incident 1, version 1" in preview and "not compiled yet" in preview
    assert "(draft)" not in preview and "still open" not in preview
    assert await cli_records.report(running.bk.settings, 1, "md", None) == 1
    assert "version 1 is not compiled yet" in capsys.readouterr().err

    assert await running.bk.closing.publish_stopped() == 1
    await running.settle(timeout=LONG)
    assert await running.bk.closing.publish_stopped() == 0  # taken over once
    again = [f for f in running.slack.files if f is not first]
    assert [f.filename for f in again] == ["incident-1-report-v1.md"]
    md = next(r for r in await reports(running) if r.format == "md")
    assert md.sha256 == sha256(md.text) == hashlib.sha256(again[0].content).hexdigest()
    assert "what we saw" in md.text and "fixed before the restart" in md.text
    assert await cli_records.report(running.bk.settings, 1, "md", None) == 0
    assert "fixed before the restart" in capsys.readouterr().out


async def test_a_report_that_fails_to_compile_leaves_the_close_and_is_compiled_later(
    serve: Start, tmp_path: Path, emulator: SlackEmulator
) -> None:
    """A team's report template that fails: the incident is closed all the same and the close
    announced, the closer told its report follows, and the worker's periodic pass compiles it
    once it can."""
    template = broken_template(tmp_path)
    stakeholders = emulator.add_channel("stakeholders", members=["UBOT", *USERS])
    running = await serve(
        reports=ReportSettings(template_dir=tmp_path), stakeholder_channel=stakeholders
    )
    channel = await declare(running, "Broken template")
    await say(running, channel, "role commander <@U0ALICE>")
    told = await say(running, channel, "close contained")
    assert "Incident 1 is closed" in told and "could not be compiled just now" in told
    assert (await incident(running)).status == "closed"
    await running.settle(timeout=LONG)
    assert running.slack.files == []
    posted = channel_text(running, channel.id)
    assert "Incident 1 closed" in posted and "follows in this channel once it is compiled" in posted
    assert "is resolved and closed" in channel_text(running, stakeholders)

    await an_hour_on(running)
    assert await unfinished_for(running) >= 3600  # what an operator's alert watches
    assert await running.bk.closing.publish_stopped() == 0  # still failing: tried once more
    later = running.bk.clock.now() + timedelta(days=2)
    assert await running.bk.archiving.run_due_archives(later) == 0  # the report comes first

    template.write_text(FIXED)
    await an_hour_on(running)
    assert await running.bk.closing.publish_stopped() == 1
    await running.settle(timeout=LONG)
    assert [f.content for f in running.slack.files if f.filename.endswith(".md")] == [
        b"Incident 1: Broken template (closed: contained)\n"
    ]
    assert await unfinished_for(running) == 0
    assert messages_saying(running, channel.id, "Incident 1 closed") == 1  # told once
    assert messages_saying(running, stakeholders, "is resolved and closed") == 1
    assert await running.bk.archiving.run_due_archives(later) == 1


async def test_a_report_compiled_late_is_the_incident_as_closed_even_if_reopened(
    serve: Start, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reopened before its failed report was compiled: the report still counts as late, and
    is compiled from the incident as that close left it. Its close said the report would
    follow in the bridge channel: the file is posted there, the close not announced again.
    Meanwhile the command line prints the open incident's draft, as for any open incident."""
    running, channel, template = await failed_then_reopened(serve, tmp_path)
    await an_hour_on(running)
    assert await unfinished_for(running) >= 3600
    assert await cli_records.report(running.bk.settings, 1, "json", None) == 0
    draft = json.loads(capsys.readouterr().out)
    assert draft["incident"]["status"] == "open"

    template.write_text(FIXED)
    assert await running.bk.closing.publish_stopped() == 1
    await running.settle(timeout=LONG)
    [md] = [r for r in await reports(running) if r.format == "md"]
    assert md.text == "Incident 1: Broken template (closed: contained)\n"
    assert [(f.filename, f.channels, f.content) for f in running.slack.files] == [
        ("incident-1-report-v1.md", [channel.id], md.text.encode())
    ]
    assert messages_saying(running, channel.id, "Incident 1 closed") == 1  # the close's own
    assert await unfinished_for(running) == 0


async def test_a_report_compiled_after_a_reopen_has_the_team_and_tasks_of_its_close(
    serve: Start, tmp_path: Path
) -> None:
    """Worked on after the reopen (the commander handed on, a task added): the report of the
    close before shows its commander still in the role and no task."""
    running, channel, template = await failed_then_reopened(serve, tmp_path)
    await say(running, channel, "role commander <@U0BOB>")
    await say(running, channel, "task Rotate the leaked key <@U0BOB>")
    await an_hour_on(running)

    template.write_text(TEAM_AND_TASKS)
    assert await compiled_late(running) == "commander U0ALICE; tasks 0\n"
    assert await running.bk.reports.draft(1) == "commander U0BOB; tasks 1\n"  # the open one


async def test_a_report_compiled_late_leaves_out_what_changed_while_the_incident_was_closed(
    serve: Start, tmp_path: Path
) -> None:
    """Regulatory clocks outlive the incident: one started and settled after the close is not
    in that close's report, compiled later (its timeline ends at the close too)."""
    running, channel, template = await failed_close(serve, tmp_path)
    assert "GDPR" in await say(running, channel, "notify gdpr")
    await say(running, channel, "notify none gdpr nothing personal was involved")
    await an_hour_on(running)

    template.write_text(CLOCKS)
    assert await compiled_late(running) == "clocks: none\n"


async def test_the_report_command_line_while_a_later_version_is_not_compiled(
    serve: Start, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = tmp_path / "report" / "report.md.j2"
    template.parent.mkdir()
    template.write_text(FIXED)
    running = await serve(reports=ReportSettings(template_dir=tmp_path))
    channel = await declare(running, "Twice closed")
    await say(running, channel, "role commander <@U0ALICE>")
    await say(running, channel, "close contained")
    await say(running, channel, "reopen it came back")
    cli = running.bk.settings
    assert await cli_records.report(cli, 1, "md", None) == 0  # reopened: the last one stored
    assert capsys.readouterr().out == "Incident 1: Twice closed (closed: contained)\n"

    template.write_text("{{ no_such_field }}")
    await say(running, channel, "close contained again")
    assert await cli_records.report(cli, 1, "md", None) == 1
    err = capsys.readouterr().err
    assert (
        "version 2 is not compiled yet" in err
        and "--version 1 prints the latest one compiled" in err
    )
    assert await cli_records.report(cli, 1, "md", 2) == 1
    assert "version 2 is not compiled yet" in capsys.readouterr().err
    assert await cli_records.report(cli, 1, "md", 1) == 0
    assert capsys.readouterr().out == "Incident 1: Twice closed (closed: contained)\n"


FIXED = (
    "Incident {{ incident.number }}: {{ incident.title }} ({{ incident.status }}: {{ summary }})\n"
)


TEAM_AND_TASKS = (
    "{% for r in team.roles if not r.until %}{{ r.role }} {{ r.user }}; {% endfor %}"
    "tasks {{ actions.tasks|length }}\n"
)


CLOCKS = (
    "clocks: {% for c in regulatory.clocks %}{{ c.regime }} {{ c.status }}; "
    "{% else %}none{% endfor %}\n"
)


def broken_template(folder: Path) -> Path:
    """A team's Markdown report template naming a field reports do not have."""
    template = folder / "report" / "report.md.j2"
    template.parent.mkdir()
    template.write_text("Incident {{ incident.number }} by {{ no_such_field }}\n")
    return template


async def failed_close(serve: Start, tmp_path: Path) -> tuple[Running, Channel, Path]:
    """An incident closed with a report that failed to compile (its team template has a
    mistake): the bridgekeeper, the bridge channel, the template."""
    template = broken_template(tmp_path)
    running = await serve(reports=ReportSettings(template_dir=tmp_path))
    channel = await declare(running, "Broken template")
    await say(running, channel, "role commander <@U0ALICE>")
    assert "could not be compiled" in await say(running, channel, "close contained")
    return running, channel, template


async def failed_then_reopened(serve: Start, tmp_path: Path) -> tuple[Running, Channel, Path]:
    """`failed_close`, then reopened."""
    running, channel, template = await failed_close(serve, tmp_path)
    await say(running, channel, "reopen it came back")
    return running, channel, template


async def compiled_late(running: Running) -> str:
    """The stopped report, taken over and compiled (its template mended): its Markdown."""
    assert await running.bk.closing.publish_stopped() == 1
    [md] = [r for r in await reports(running) if r.format == "md"]
    return md.text


async def an_hour_on(running: Running) -> None:
    """As if the close, and the last try at its report, were an hour ago."""
    async with running.bk.db.transaction() as session:
        old = running.bk.clock.now() - timedelta(hours=1)
        await session.execute(update(Report).values(created_at=old, closed_at=old))


def messages_saying(running: Running, channel: str, text: str) -> int:
    return sum(text in m.text for m in running.slack.messages(channel))


async def unfinished_for(running: Running) -> float:
    """bridgekeeper_report_unfinished_seconds, as /metrics shows it."""
    async with aiohttp.ClientSession() as http, http.get(f"{running.url}/metrics") as response:
        text = await response.text()
    [line] = [ln for ln in text.splitlines() if ln.startswith("bridgekeeper_report_unfinished_")]
    return float(line.split()[-1])


async def test_a_report_taken_over_while_compiled_is_stored_and_announced_once(
    running: Running,
) -> None:
    """Another process took the report over (it looked stopped): the close that reserved it
    stops writing it, and the report is the taker's, announced once."""
    channel = await declare(running, "Long one")
    closing = await start_a_long_close(running, channel)
    async with running.bk.db.transaction() as session:  # as if its process had stopped
        old = running.bk.clock.now() - timedelta(hours=1)
        await session.execute(update(Report).values(created_at=old))
    assert await running.bk.closing.publish_stopped() == 1
    assert "Incident 1 is closed. Report version 1" in await closing
    await running.settle(timeout=LONG)
    [shared] = running.slack.files
    md = next(r for r in await reports(running) if r.format == "md")
    assert md.sha256 == sha256(md.text) == hashlib.sha256(shared.content).hexdigest()
    assert "note 2998 of the night" in md.text


async def test_a_close_undone_while_its_report_is_compiled_is_not_announced(
    running: Running,
) -> None:
    channel = await declare(running, "Long one")
    closing = await start_a_long_close(running, channel)
    assert "Incident 1 is open again" in await say(running, channel, "reopen not over yet")
    await closing
    await running.settle(timeout=LONG)
    assert running.slack.files == []  # no "closed" summary, no report file
    assert "Incident 1 closed" not in channel_text(running, channel.id)
    assert [r.version for r in await reports(running) if r.format == "md" and r.sha256] == [1]


async def test_the_close_form_tells_its_closer_when_the_report_could_not_be_compiled(
    serve: Start, tmp_path: Path
) -> None:
    template = tmp_path / "report" / "report.md.j2"
    template.parent.mkdir()
    template.write_text("{{ incident.no_such_field.at_all }}\n")
    running = await serve(reports=ReportSettings(template_dir=tmp_path))
    channel = await declare(running, "Broken template")
    await say(running, channel, "role commander <@U0ALICE>")
    await close_with_form(running, channel)
    assert (await incident(running)).status == "closed"
    told = [e.text for e in running.slack.ephemerals if e.user == "U0ALICE"]
    assert any("could not be compiled just now" in text for text in told)


async def leave_unfinished(running: Running, *, before_0018: bool = False) -> None:
    """What a close whose process stopped leaves: its report rows reserved an hour ago, empty,
    and nothing queued for Slack after the close (`before_0018`: as rows from before the
    report kept its close's time and facts)."""
    async with running.bk.db.transaction() as session:
        queued = Effect.dedup_key.like("report-file:%") | Effect.dedup_key.like("close-summary:%")
        await session.execute(delete(Effect).where(queued))
        ids = list(await session.scalars(select(Report.id)))
        await session.execute(delete(ReportPart).where(ReportPart.report_id.in_(ids)))
        old = running.bk.clock.now() - timedelta(hours=1)
        await session.execute(update(Report).values(sha256="", body="", created_at=old))
        if before_0018:
            await session.execute(update(Report).values(closed_at=None, closed_facts=None))


async def test_a_stopped_close_whose_report_then_fails_is_announced_by_the_takeover(
    serve: Start, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    template = broken_template(tmp_path)
    template.write_text(FIXED)
    running = await serve(reports=ReportSettings(template_dir=tmp_path))
    channel = await declare(running, "Stopped one")
    await say(running, channel, "role commander <@U0ALICE>")
    await say(running, channel, "close fixed before the restart")
    await leave_unfinished(running, before_0018=True)
    template.write_text("Incident {{ incident.number }}\n{{ no_such_field }}\n")
    announced = messages_saying(running, channel.id, "Incident 1 closed")

    with caplog.at_level(logging.ERROR):
        assert await running.bk.closing.publish_stopped() == 0
    await running.settle(timeout=LONG)
    assert messages_saying(running, channel.id, "Incident 1 closed") == announced + 1
    assert "follows in this channel once it is compiled" in channel_text(running, channel.id)
    assert await unfinished_for(running) >= 3600  # the takeover did not make it new
    [failed] = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    assert "report.md.j2 line 2: UndefinedError: 'no_such_field' is undefined" in failed


async def test_the_timeline_command_pages_a_long_timeline(running: Running) -> None:
    channel = await declare(running, "Long one")
    await say(running, channel, "role commander <@U0ALICE>")
    await bulk_entries(running, 1_000)
    async with running.bk.db.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(TimelineEntry))
    pages = -(-int(count or 0) // 25)
    last = await say(running, channel, "timeline 999")
    assert f"Page {pages} of {pages}" in last and "note 999 of the night" in last
    middle = await say(running, channel, "timeline 2")
    assert f"Page 2 of {pages}" in middle
    async with running.bk.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ReportPart)) == 0


async def test_the_channel_is_archived_only_once_an_earlier_close_s_report_is_in_it(
    serve: Start, tmp_path: Path
) -> None:
    """The first close's report failed and was said to follow; the incident was reopened and
    closed again, and that report compiled. The bridge channel waits for the first report
    (posted once it compiles) before it is archived."""
    running, channel, template = await failed_then_reopened(serve, tmp_path)
    template.write_text(FIXED)
    await say(running, channel, "close contained for good")
    later = running.bk.clock.now() + timedelta(days=2)
    assert await running.bk.archiving.run_due_archives(later) == 0  # version 1 first
    await an_hour_on(running)
    assert await running.bk.closing.publish_stopped() == 1
    await running.settle(timeout=LONG)
    assert sorted(f.filename for f in running.slack.files if channel.id in f.channels) == [
        "incident-1-report-v1.md",
        "incident-1-report-v2.md",
    ]
    assert await running.bk.archiving.run_due_archives(later) == 1
