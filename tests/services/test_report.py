"""The post-incident report: every section in Markdown, HTML and JSON for a scripted incident,
escaping, the short form, access over HTTP, the CLI, the preview, team templates, 10,000 entries.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import insert, select

from bridgekeeper import cli_records
from bridgekeeper.clock import FrozenClock
from bridgekeeper.config import ReportSettings
from bridgekeeper.domain.timeline import GENESIS, entry_hash
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.sandbox.state import Channel
from bridgekeeper.services.reports import sha256
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store.models import Alert, TimelineEntry
from tests.alerting import generic, post
from tests.command_line import run_bridgekeeper_beside
from tests.conftest import USERS, Running
from tests.services.test_close import (
    Start,
    close_with_form,
    declare,
    entries,
    incident,
    reports,
    say,
    serve,  # noqa: F401  (a fixture)
)

TOKEN = "report-token-0123456789abcdef"
SECTIONS = (
    ("Summary", "summary"),
    ("Classification", "classification"),
    ("Detection and triage", "detection"),
    ("Timeline", "timeline"),
    ("Bridge team", "team"),
    ("Actions taken", "actions"),
    ("Impact", "impact"),
    ("Root cause and contributing factors", "root-cause"),
    ("Communications log", "communications"),
    ("Regulatory assessment", "regulatory"),
    ("Lessons", "lessons"),
    ("Follow-ups", "follow-ups"),
    ("Metrics", "metrics"),
    ("Appendix: evidence and chain of custody", "evidence"),
)


@dataclass
class Scripted:
    running: Running
    clock: FrozenClock
    channel: Channel
    md: str
    html: str
    data: dict[str, object]


def section(md: str, title: str) -> str:
    """The Markdown of one `## title` section."""
    return md.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


async def click(running: Running, triage: str, alert_id: int, action: str, user: str) -> None:
    [card] = [m for m in running.slack.messages(triage) if action in json.dumps(m.blocks)]
    await running.driver.block_action(
        user=user, action_id=action, value=str(alert_id), channel=triage, message_ts=card.ts
    )
    await running.settle()


async def scripted_incident(start: Start, emulator: SlackEmulator) -> Scripted:
    """An alert at 09:00, acknowledged 09:05, declared 09:10, worked, stabilized 10:10, closed
    11:10 through the modal."""
    clock = FrozenClock(datetime(2026, 1, 1, 9, 0, tzinfo=UTC))
    triage = emulator.add_channel("alert-triage", members=["UBOT", *USERS])
    running = await start(clock=clock, triage_channel=triage)
    answer = await post(running, "generic", generic("Suspicious login on vm-web-01"))
    assert answer.status in (200, 202), answer.body
    await running.settle()
    async with running.bk.db.sessions() as session:
        [alert_id] = list(await session.scalars(select(Alert.id)))
    clock.advance(minutes=5)
    await click(running, triage, alert_id, "alert_ack", "U0BOB")
    clock.advance(minutes=5)
    await click(running, triage, alert_id, "alert_declare", "U0ALICE")
    channel = next(c for c in running.slack.channels.values() if c.name.startswith("inc-1"))
    for command in (
        "role commander <@U0ALICE>",
        "role scribe <@U0BOB>",
        "severity sev1 ransomware note found on two hosts",
        "impact c=high i=low a=medium personal-data=yes",
        "stage assess",
        "note isolated vm-web-01 from the network",
        "task block the attacker IP <@U0BOB>",
        "task done 1",
        "update We are containing a break-in on one web server",
        "notify gdpr",
        "notify done gdpr",
        "stage diagnose",
    ):
        clock.advance(minutes=5)
        await say(running, channel, command)
    clock.set(datetime(2026, 1, 1, 10, 10, tzinfo=UTC))
    await say(running, channel, "stage stabilize")
    clock.set(datetime(2026, 1, 1, 11, 10, tzinfo=UTC))
    await close_with_form(running, channel)
    rows = {r.format: r.text for r in await reports(running)}
    return Scripted(running, clock, channel, rows["md"], rows["html"], json.loads(rows["json"]))


@pytest.fixture
async def scripted(serve: Start, emulator: SlackEmulator) -> Scripted:  # noqa: F811
    return await scripted_incident(serve, emulator)


# -- every section, three formats -----------------------------------------------------------------
async def test_markdown_report_has_every_section(scripted: Scripted) -> None:
    md = scripted.md
    row = await incident(scripted.running)
    assert md.startswith("# Incident 1: Suspicious login on vm-web-01\n")
    assert [line[3:] for line in md.splitlines() if line.startswith("## ")] == [
        title for title, _ in SECTIONS
    ]
    assert f"hash-chain head `{row.timeline_head}`" in md and "Report version 1" in md
    assert "Rotated the leaked key" in section(md, "Summary")

    classification = section(md, "Classification")
    for expected in (
        "Initial severity: SEV2",
        "Final severity: SEV1",
        "SEV2 to SEV1, because ransomware note found on two hosts",
        "confidentiality high, integrity low, availability medium",
        "Personal data involved: yes",
        "Disposition: Resolved",
        "- Type: operations incident\n- Impact:",
    ):
        assert expected in classification, expected

    detection = section(md, "Detection and triage")
    assert "First seen: 2026-01-01 09:00:00 UTC" in detection
    assert "Acknowledged: 2026-01-01 09:05:00 UTC by bob" in detection
    assert "Declared: 2026-01-01 09:10:00 UTC by alice" in detection
    assert "Suspicious login on vm-web-01 from generic" in detection

    timeline = section(md, "Timeline")
    lines = [line for line in timeline.splitlines() if line.startswith("- 2026-")]
    assert len(lines) == row.timeline_length == len(await entries(scripted.running))
    assert lines[0].startswith("- 2026-01-01 09:10:00 UTC · alice · declared the incident")
    assert "· alice · closed the incident as resolved" in lines[-1]
    assert any("made bob scribe" in line for line in lines)

    team = section(md, "Bridge team")
    assert "Commander: alice, from 2026-01-01 09:10:00 UTC" in team  # from the declaration
    assert "Scribe: bob" in team and "Participants: alice, bob" in team
    actions = section(md, "Actions taken")
    assert "### During Assess" in actions and "noted: isolated vm-web-01" in actions
    assert "completed task 1: block the attacker IP" in actions
    assert "[x] 1. block the attacker IP (owner bob)" in actions
    assert "Personal data involved: yes" in section(md, "Impact")
    assert "An API key committed" in section(md, "Root cause and contributing factors")
    communications = section(md, "Communications log")
    assert "We are containing a break-in on one web server" in communications
    assert "alice to #inc-1-suspicious-login-on-vm-web-01: We are containing" in communications
    regulatory = section(md, "Regulatory assessment")
    assert "GDPR: notified" in regulatory and "sent 2026-01-01 10:05:00 UTC by alice" in regulatory
    assert "by alice: **on time**" in regulatory
    lessons = section(md, "Lessons")
    assert "Fast containment." in lessons and "Secret scanning on every push." in lessons
    assert "Enable secret scanning (owner bob)" in section(md, "Follow-ups")
    metrics = section(md, "Metrics")
    for expected in (
        "Time to acknowledge: 5m",
        "Time to declare: 10m",
        "Time to stabilize: 1h 10m",
        "Time to close: 2h 10m",
    ):
        assert expected in metrics, expected


async def test_html_report_has_every_section(scripted: Scripted) -> None:
    html = scripted.html
    row = await incident(scripted.running)
    assert html.startswith("<!DOCTYPE html>")
    ids = re.findall(r'<h2 id="([a-z-]+)">([^<]+)</h2>', html)
    assert ids == [(anchor, title) for title, anchor in SECTIONS]
    assert f"<code>{row.timeline_head}</code>" in html
    assert html.count('<td class="when">') == row.timeline_length
    for expected in (
        "Rotated the leaked key",
        "SEV2 to SEV1, because ransomware note",
        'Acknowledged: <time datetime="2026-01-01T09:05:00Z">2026-01-01 09:05:00 UTC</time> by bob',
        "Commander: alice",
        "noted: isolated vm-web-01",
        "An API key committed",
        "We are containing a break-in",
        "GDPR: notified",
        "Fast containment.",
        "Enable secret scanning (owner bob)",
        "Time to close: 2h 10m",
    ):
        assert expected in html, expected


async def test_json_report_is_the_compiled_content(scripted: Scripted) -> None:
    data: dict[str, object] = scripted.data
    row = await incident(scripted.running)
    timeline = data["timeline"]
    assert isinstance(timeline, dict)
    assert timeline["head"] == row.timeline_head and timeline["length"] == row.timeline_length
    assert [e["seq"] for e in timeline["entries"]] == list(range(1, row.timeline_length + 1))
    assert timeline["entries"][-1]["hash"] == row.timeline_head
    assert data["summary"] == "Rotated the leaked key and blocked the attacker's IP."
    assert data["metrics"] == {
        "time_to_acknowledge": 300,
        "time_to_declare": 600,
        "time_to_stabilize": 4200,
        "time_to_close": 7800,
    }
    classification = data["classification"]
    assert isinstance(classification, dict)
    assert classification["initial_severity"] == "sev2"
    assert classification["final_severity"] == "sev1"
    assert classification["disposition"] == "resolved"
    assert classification["type"] == "operations"
    [change] = classification["severity_changes"]
    assert change["reason"] == "ransomware note found on two hosts" and change["actor"] == "U0ALICE"
    assert data["detection"]["acknowledged_by"] == "U0BOB"  # type: ignore[index]
    assert data["detection"]["alerts"][0]["source"] == "generic"  # type: ignore[index]
    assert data["follow_ups"] == [{"owner": "U0BOB", "text": "Enable secret scanning"}]
    assert data["users"] == {"U0ALICE": "alice", "U0BOB": "bob"}
    [clock] = data["regulatory"]["clocks"]  # type: ignore[index]
    assert clock["regime"] == "gdpr" and clock["status"] == "done"
    assert data["lessons"] == {
        "went_well": "Fast containment.",
        "to_improve": "Secret scanning on every push.",
    }
    assert {"team", "actions", "impact", "root_cause", "communications"} <= set(data)


# -- escaping and the short form ----------------------------------------------------------------
async def test_markup_in_a_title_never_runs(running: Running) -> None:
    title = "<script>alert(1)</script> & <img src=x onerror=alert(2)>"
    channel = await declare(running, title)
    await say(running, channel, "role commander <@U0ALICE>")
    await say(running, channel, "note <b>bold</b> **claim** [link](javascript:alert(3))")
    await say(running, channel, "close done")
    rows = {r.format: r.text for r in await reports(running)}
    assert "<script>alert" not in rows["html"] and "<img" not in rows["html"]
    assert rows["html"].count("<script") == 1  # the report's own (test_report_glance.py)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;img" in rows["html"]
    assert "&lt;b&gt;bold&lt;/b&gt;" in rows["html"]
    assert "\\<script\\>alert(1)\\</script\\>" in rows["md"]
    assert "\\<b\\>bold\\</b\\> \\*\\*claim\\*\\* \\[link\\](javascript:alert(3))" in rows["md"]
    assert json.loads(rows["json"])["incident"]["title"] == title


async def test_a_note_of_several_lines_starts_no_block_in_the_markdown(running: Running) -> None:
    """A line of --- under a note's first line (a chat habit) made it a heading; a line that
    looks like a list item or a rule would start one. Every line stays text of its entry."""
    from markdown_it import MarkdownIt  # imported by the tests that use it

    channel = await declare(running, "Checkout errors")
    note = "note Rolled back the deploy\n---\nerrors down\n===\n- one\n1. two\n~~~"
    await say(running, channel, note)
    await say(running, channel, "close done")
    md = {r.format: r.text for r in await reports(running)}["md"]
    for title in ("Timeline", "Actions taken"):
        html = MarkdownIt("commonmark").render(section(md, title))
        assert not re.search(r"<h[12]|<hr|<ol|<pre|<li>one", html), html
        assert "---" in html and "===" in html and "1. two" in html


async def test_people_and_links_a_note_names_read_as_words_in_the_report(
    running: Running,
) -> None:
    """Slack sends them as markup (<@U0BOB|bob>, <https://…|label>); the report is read
    outside Slack."""
    channel = await declare(running, "Checkout errors")
    note = "note asked <@U0BOB|bob> to roll back, see <https://example.com/run|the runbook>"
    await say(running, channel, note)
    await say(running, channel, "close done")
    md = {r.format: r.text for r in await reports(running)}["md"]
    lines = [line for line in md.splitlines() if "to roll back" in line]
    assert len(lines) == 2  # the Timeline's entry and the Actions taken
    assert all(
        "asked @bob to roll back, see the runbook (https://example.com/run)" in line
        for line in lines
    )


async def test_a_false_positive_gets_the_short_form(running: Running) -> None:
    channel = await declare(running, "Odd login")
    await say(running, channel, "role commander <@U0ALICE>")
    await close_with_form(
        running,
        channel,
        summary="A pentest we forgot about",
        disposition="false_positive",
        follow_ups=(),
    )
    rows = {r.format: r.text for r in await reports(running)}
    headings = [line[3:] for line in rows["md"].splitlines() if line.startswith("## ")]
    assert headings == [
        "Summary",
        "Classification",
        "Detection and triage",
        "Timeline",
        "Follow-ups",
        "Metrics",
    ]
    assert "(short form)" in rows["md"] and "Disposition: False positive" in rows["md"]
    assert json.loads(rows["json"])["short"] is True
    assert 'id="team"' not in rows["html"] and 'id="metrics"' in rows["html"]


# -- reading reports: HTTP, CLI, Slack preview ---------------------------------------------------
async def fetch(
    url: str, token: str | None = None, accept: str = "text/markdown"
) -> tuple[int, str, str]:
    headers = {"Accept": accept}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as answer:
        return answer.status, answer.content_type, await answer.text()


async def test_reports_over_http_need_the_token(serve: Start) -> None:  # noqa: F811
    running = await serve(reports=ReportSettings(access_token=TOKEN))
    channel = await declare(running, "Shop outage")
    await say(running, channel, "role commander <@U0ALICE>")
    await say(running, channel, "close restarted it")
    secret = await declare(running, "Insider case", "sev2 private")
    await say(running, secret, "role commander <@U0ALICE>")
    await say(running, secret, "close HR took over")
    url = f"{running.url}/incidents/{{}}/report"

    for number in (1, 2, 99):
        assert (await fetch(url.format(number)))[0] == 401
        assert (await fetch(url.format(number), token="wrong-token-0123456789"))[0] == 401
    status, kind, body = await fetch(url.format(2), TOKEN)
    assert status == 200 and kind == "text/markdown" and "Insider case" in body
    assert "- Type: security incident (private)\n- Impact:" in body
    status, kind, body = await fetch(url.format(1), TOKEN, accept="text/html,*/*;q=0.8")
    assert status == 200 and kind == "text/html" and "<h1>Incident 1: Shop outage</h1>" in body
    assert "<li>Type: operations incident</li>" in body
    status, kind, body = await fetch(url.format(1), TOKEN, accept="application/json")
    assert status == 200 and json.loads(body)["version"] == 1
    assert (await fetch(url.format(99), TOKEN))[0] == 404
    assert (await fetch(url.format(1) + "?version=2", TOKEN))[0] == 404
    assert (await fetch(url.format(1) + "?version=1", TOKEN))[0] == 200
    assert (await fetch(f"{running.url}/incidents/abc/report", TOKEN))[0] == 404


async def test_with_no_token_configured_reports_are_never_served(running: Running) -> None:
    channel = await declare(running)
    await say(running, channel, "role commander <@U0ALICE>")
    await say(running, channel, "close done")
    url = f"{running.url}/incidents/1/report"
    assert (await fetch(url))[0] == 404
    assert (await fetch(url, "anything-at-all-0123456"))[0] == 404


async def test_the_cli_prints_each_format_and_version(
    running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    channel = await declare(running)
    await say(running, channel, "role commander <@U0ALICE>")
    assert await cli_records.report(running.bk.settings, 1, "md", None) == 0
    assert "**Draft**: incident 1 is still open" in capsys.readouterr().out
    await say(running, channel, "close done")
    await say(running, channel, "reopen not quite")
    await say(running, channel, "close now it is")
    for fmt in ("md", "html", "json"):
        assert await cli_records.report(running.bk.settings, 1, fmt, None) == 0
        out = capsys.readouterr().out
        stored = next(r for r in await reports(running) if r.format == fmt and r.version == 2)
        assert out == stored.body and sha256(out) == stored.sha256
    assert await cli_records.report(running.bk.settings, 1, "md", 1) == 0
    assert "close done" not in capsys.readouterr().out  # version 1 is the earlier close
    assert await cli_records.report(running.bk.settings, 7, "md", None) == 1
    assert "no incident 7" in capsys.readouterr().err
    assert await cli_records.report(running.bk.settings, 7, "md", 2) == 1
    assert "no incident 7" in capsys.readouterr().err  # not "no report version 2"
    assert await cli_records.report(running.bk.settings, 1, "md", 9) == 1
    assert "incident 1 has no report version 9" in capsys.readouterr().err


async def test_the_report_and_iocs_commands_print_only_what_was_asked(running: Running) -> None:
    """Their output is for a file or a pipe; no log line of the schema check comes with it."""
    channel = await declare(running)
    await say(running, channel, "note the attacker came from 203.0.113.7")
    await say(running, channel, "ioc confirm 1")
    env = {**os.environ, "DATABASE_URL": running.bk.settings.database_url}
    for command in (("report", "1"), ("iocs", "export", "1", "--format", "csv")):
        done = await run_bridgekeeper_beside(*command, env=env)
        assert done.returncode == 0 and done.stderr == "", done.stderr
        assert "203.0.113.7" in done.stdout


async def test_report_command_previews_the_open_incident(running: Running) -> None:
    channel = await declare(running)
    await say(running, channel, "role commander <@U0ALICE>")
    await say(running, channel, "severity sev1 it spread")
    for number in range(30):
        await say(running, channel, f"note step {number} " + "x" * 200)
    preview = await say(running, channel, "report")
    assert "Report of incident 1 (draft)" in preview and "still open" in preview
    assert "SEV2 → SEV1" in preview and "it spread" in preview
    assert "bridgekeeper report 1" in preview
    assert not await reports(running)  # a preview stores nothing
    await say(running, channel, "close Restarted")
    preview = await say(running, channel, "report")
    assert "Report of incident 1, version 1" in preview and "Restarted" in preview


async def test_teams_can_use_their_own_report_template(
    serve: Start,  # noqa: F811
    tmp_path: Path,
) -> None:
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "report.md.j2").write_text(
        "ACME incident {{ incident.number }}: {{ incident.title|md }} ({{ version }})\n"
    )
    running = await serve(reports=ReportSettings(template_dir=tmp_path))
    channel = await declare(running, "Fraud_case")
    await say(running, channel, "role commander <@U0ALICE>")
    await say(running, channel, "close done")
    rows = {r.format: r.text for r in await reports(running)}
    assert rows["md"] == "ACME incident 1: Fraud\\_case (1)\n"
    assert '<h2 id="summary">' in rows["html"]  # the built-in HTML still applies


# -- a long incident ------------------------------------------------------------------------------
@pytest.mark.slow(4)
async def test_a_report_of_10000_entries(running: Running) -> None:
    channel = await declare(running, "Long one")
    await say(running, channel, "role commander <@U0ALICE>")
    await bulk_entries(running, 10_000, stage_every=0)
    started = time.perf_counter()
    reply = await running.command("close after a very long night", channel=channel.id)
    assert reply.status == 200
    await running.settle(timeout=60)  # a loaded machine takes more than settle's usual 10 s
    elapsed = time.perf_counter() - started
    rows = {r.format: r.text for r in await reports(running)}
    row = await incident(running)
    assert row.timeline_length > 10_000
    md_lines = [ln for ln in section(rows["md"], "Timeline").splitlines() if ln.startswith("- 20")]
    assert len(md_lines) == row.timeline_length
    assert "note 9999 of the night" in md_lines[-2]
    assert rows["html"].count('<td class="when">') == row.timeline_length
    assert len(json.loads(rows["json"])["timeline"]["entries"]) == row.timeline_length
    print(
        f"\nclosing with 10,000 timeline entries took {elapsed:.2f}s (load, compile, render, store)"
    )


STAGES = ("assess", "diagnose", "stabilize", "assess")


async def bulk_entries(
    running: Running, count: int, note: str = "note {} of the night", *, stage_every: int = 300
) -> int:
    """Append `count` hash-chained entries to incident 1 in one transaction and one insert (as
    `record` would, minus Slack): notes (`note` with their number), with a stage change every
    `stage_every` (0: none), so a stage's actions come back after other stages. Returns how many
    are notes."""
    async with running.bk.db.transaction() as session:
        row = await incident_store.get(session=session, number=1, lock=True)
        assert row is not None
        prev, seq, at = row.timeline_head or GENESIS, row.timeline_length, row.declared_at
        entries: list[dict[str, object]] = []
        for number in range(count):
            seq, at = seq + 1, at + timedelta(seconds=1)
            kind, text, data = "note", note.format(number), {}
            if stage_every and number % stage_every == stage_every - 1:
                stage = STAGES[(number // stage_every) % len(STAGES)]
                kind, text, data = "stage_changed", "", {"from": "x", "to": stage}
            digest = entry_hash(
                prev_hash=prev, seq=seq, at=at, actor="U0BOB", kind=kind, text=text, data=data
            )
            entries.append(
                {
                    "incident_id": row.id,
                    "seq": seq,
                    "at": at,
                    "recorded_at": at,
                    "actor": "U0BOB",
                    "kind": kind,
                    "text": text,
                    "data": data,
                    "prev_hash": prev,
                    "hash": digest,
                }
            )
            prev = digest
        await session.execute(insert(TimelineEntry), entries)
        row.timeline_head, row.timeline_length = prev, seq
    return sum(entry["kind"] == "note" for entry in entries)


async def test_a_name_slack_could_not_give_is_asked_again_for_the_next_report(
    running: Running,
) -> None:
    """A report made while users.info and conversations.info failed names the person and the
    channel by id; the next one, once Slack answers again, by name (the id was not kept as
    the name for the life of the process)."""
    await running.command("declare Names sev3")
    await running.settle()
    async with running.bk.db.sessions() as session:
        incident = await incident_store.get(session=session, number=1)
    assert incident is not None
    stakeholders = running.slack.add_channel("stakeholders", members=["UBOT"])
    reports = running.bk.reports

    async def shown() -> tuple[dict[str, str], dict[str, str]]:
        await reports.learn_channels([stakeholders])
        named = reports.channel_names(incident, [stakeholders])
        return await reports.names(["U0BOB"]), {c: n for c, n in named.items() if c != "bridge"}

    running.slack.fail("users.info", error="user_not_visible")
    running.slack.fail("conversations.info", error="channel_not_found")
    assert await shown() == ({"U0BOB": "U0BOB"}, {})
    assert await shown() == ({"U0BOB": "bob"}, {stakeholders: "stakeholders"})
