"""Indicators of compromise: found in notes, pins and alerts, listed defanged, confirmed or
dismissed, and shared as a STIX 2.1 bundle (parsed back with stix2) or CSV; every command
through signed requests, a private incident's indicators unknown outside it."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from sqlalchemy import select, update

from bridgekeeper import cli_records
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.sandbox.state import Channel
from bridgekeeper.store.models import Indicator
from tests.alerting import bridgekeepers, generic, post, triage_channel
from tests.cli.test_audit import Audit, audit  # noqa: F401 (the fixture)
from tests.conftest import Running
from tests.services.test_access import SECRET, mark, outside_since
from tests.services.test_close import declare, entries, reports, say
from tests.services.test_evidence import elsewhere
from tests.services.test_pins import pin
from tests.services.test_triage import click

MD5 = "44d88612fea8a8f36de82e1278abb02f"
NOTE = f"C2 at hxxp://update-cdn[.]net/gate.php from 185.220.101[.]42, dropper md5 {MD5}"


def parse_stix(text: str) -> Any:
    """The STIX 2.1 bundle `text` holds, read by the stix2 library (imported here: it takes
    every test process a sixth of a second to import)."""
    import stix2

    return stix2.parse(text, allow_custom=False)


async def stored(running: Running) -> list[Indicator]:
    async with running.bk.db.sessions() as session:
        query = select(Indicator).order_by(Indicator.incident_id, Indicator.number)
        return list(await session.scalars(query))


async def noted(running: Running) -> Channel:
    channel = await declare(running)
    assert "Added to the timeline" in await say(running, channel, f"note {NOTE}")
    return channel


def shared_file(running: Running, channel: Channel, name: str) -> str:
    [shared] = [f for f in running.slack.files if channel.id in f.channels and f.filename == name]
    return shared.content.decode()


async def test_a_defanged_note_shows_up_in_the_list_defanged(running: Running) -> None:
    channel = await noted(running)
    await say(running, channel, "note again 185.220.101.42 and a file report.pdf", user="U0BOB")
    rows = await stored(running)
    assert [(r.number, r.type, r.value, r.status) for r in rows] == [
        (1, "url", "http://update-cdn.net/gate.php", "seen"),
        (2, "ipv4", "185.220.101.42", "seen"),
        (3, "md5", MD5, "seen"),
    ]
    assert [s["by"] for s in rows[1].sources] == ["U0ALICE", "U0BOB"]
    listed = await say(running, channel, "iocs", user="U0BOB")
    assert "`hxxp://update-cdn[.]net/gate[.]php`" in listed and "185[.]220[.]101[.]42" in listed
    assert "update-cdn.net" not in listed and "http://" not in listed
    assert "a note by <@U0ALICE>" in listed and "a note by <@U0BOB>" in listed


async def test_a_pinned_message_and_an_alert_bring_their_indicators(
    db_url: str, emulator: SlackEmulator
) -> None:
    async with bridgekeepers(db_url, emulator) as start:
        app = await start()
        body = generic("Beacon from vm-web-01", started_at="2025-11-14T10:00:00Z")
        body["entities"] = {"hosts": ["VM-WEB-01"], "ips": ["203.0.113.7"]}
        alert_id = (await post(app, "generic", body)).body["alert_id"]
        await app.settle()
        [card] = app.slack.messages(triage_channel(app))
        ts = card.ts
        await click(app, "alert_declare", alert_id, ts)
        await app.settle()
        channel = app.slack.channel_by_name("inc-1-beacon-from-vm-web-01")
        assert channel is not None
        said = "exfil to <http://paste-drop.xyz|paste-drop.xyz> and 203.0.113.7"
        message = app.slack.post_user_message(channel.id, "U0BOB", said)
        await pin(app, channel, message.ts)
        rows = await stored(app)
        assert [(r.type, r.value) for r in rows] == [
            ("host", "vm-web-01"),
            ("ipv4", "203.0.113.7"),
            ("domain", "paste-drop.xyz"),
        ]
        assert [s["kind"] for s in rows[1].sources] == ["alert", "pin"]
        listed = await say(app, channel, "iocs")
        assert f"alert {alert_id}" in listed and "a pin by <@U0BOB>" in listed
        assert "paste-drop[.]xyz" in listed


async def test_confirm_and_dismiss_are_on_the_timeline(running: Running) -> None:
    channel = await noted(running)
    assert "Indicator 1 (`hxxp://update-cdn[.]net/gate[.]php`) is confirmed" in await say(
        running, channel, "ioc confirm 1"
    )
    assert "is dismissed" in await say(
        running, channel, "ioc dismiss #2 our own scanner", user="U0BOB"
    )
    url, ip, _ = await stored(running)
    assert (url.status, url.decided_by, ip.status, ip.reason) == (
        "confirmed",
        "U0ALICE",
        "dismissed",
        "our own scanner",
    )
    decided = [e for e in await entries(running) if e.kind.startswith("indicator_")]
    assert [(e.kind, e.actor, e.data["number"]) for e in decided] == [
        ("indicator_confirmed", "U0ALICE", 1),
        ("indicator_dismissed", "U0BOB", 2),
    ]
    posted = " ".join(m.text for m in running.slack.messages(channel.id))
    assert "dismissed indicator 2, ipv4 `185[.]220[.]101[.]42`: our own scanner" in posted


async def test_the_stix_export_parses_back_with_the_confirmed_indicators(
    running: Running,
) -> None:
    channel = await noted(running)
    await say(running, channel, "ioc confirm 1")
    await say(running, channel, "ioc confirm 3")
    await say(running, channel, "ioc dismiss 2")
    told = await say(running, channel, "iocs export")
    assert "2 confirmed indicators shared" in told and "incident-1-indicators.stix.json" in told
    bundle = parse_stix(shared_file(running, channel, "incident-1-indicators.stix.json"))
    kinds = [o.type for o in bundle.objects]
    assert kinds == ["identity", "report", "indicator", "indicator"]
    indicators = [o for o in bundle.objects if o.type == "indicator"]
    assert sorted(i.pattern for i in indicators) == sorted(
        [
            "[url:value = 'http://update-cdn.net/gate.php']",
            f"[file:hashes.MD5 = '{MD5}']",
        ]
    )
    report = bundle.objects[1]
    assert set(report.object_refs) == {i.id for i in indicators}
    assert all(i.created_by_ref == bundle.objects[0].id for i in indicators)
    assert [e.kind for e in await entries(running)][-1] == "indicators_exported"


async def test_quotes_and_backslashes_are_escaped_in_patterns(running: Running) -> None:
    channel = await noted(running)
    await say(running, channel, "note see <https://evil.example.com/a'b\\c|the page>")
    [row] = [r for r in await stored(running) if "a'b" in r.value]
    await say(running, channel, f"ioc confirm {row.number}")
    await say(running, channel, "iocs export stix")
    bundle = parse_stix(shared_file(running, channel, "incident-1-indicators.stix.json"))
    [indicator] = [o for o in bundle.objects if o.type == "indicator"]
    assert indicator.pattern == "[url:value = 'https://evil.example.com/a\\'b\\\\c']"


async def test_the_csv_export_and_the_cli(
    running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    channel = await noted(running)
    await say(running, channel, "ioc confirm 2")
    assert "1 confirmed indicator shared" in await say(running, channel, "iocs export csv")
    rows = list(csv.reader(io.StringIO(shared_file(running, channel, "incident-1-indicators.csv"))))
    assert rows[0] == ["type", "value", "first_seen", "where"]
    assert rows[1][:2] == ["ipv4", "185.220.101.42"] and "note by U0ALICE" in rows[1][3]
    capsys.readouterr()
    assert await cli_records.iocs_export(running.bk.settings, 1, "csv") == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("ipv4,185.220.101.42,")
    assert await cli_records.iocs_export(running.bk.settings, 1, "stix") == 0
    parsed = parse_stix(capsys.readouterr().out)
    assert [o.pattern for o in parsed.objects if o.type == "indicator"] == [
        "[ipv4-addr:value = '185.220.101.42']"
    ]
    assert await cli_records.iocs_export(running.bk.settings, 9, "csv") == 1
    assert "no incident 9" in capsys.readouterr().err


async def test_bad_input_gets_its_usage_and_changes_nothing(running: Running) -> None:
    channel = await noted(running)
    before = len(await entries(running))
    answers = {
        "ioc": "Say whether to confirm or dismiss",
        "ioc ban 1": "doesn't take",
        "ioc confirm": "Say which indicator",
        "ioc dismiss one": "isn't an indicator number",
        "ioc confirm 9": "There is no indicator 9",
        "iocs export misp": "isn't an export format",
        "iocs delete": "doesn't take",
        "iocs export": "No indicator is confirmed yet",
    }
    for text, expected in answers.items():
        said = await say(running, channel, text)
        assert expected in said, (text, said)
    assert len(await entries(running)) == before
    assert {r.status for r in await stored(running)} == {"seen"}
    assert not [f for f in running.slack.files if channel.id in f.channels]


async def test_a_private_incidents_indicators_do_not_exist_outside_it(running: Running) -> None:
    bridge = await declare(running, f"{SECRET} sev1 private")
    await say(running, bridge, f"note {SECRET} files went to 198.51.100.23")
    await say(running, bridge, "ioc confirm 1")
    since = mark(running, bridge)
    for command in [
        "iocs #{n}",
        "ioc #{n} dismiss 1 mine",
        "iocs #{n} export",
        "iocs #{n} export csv",
    ]:
        missing = await elsewhere(running, command.format(n=99))
        hidden = await elsewhere(running, command.format(n=1))
        assert hidden == missing.replace("99", "1") and "There is no incident 1" in hidden
    assert "198.51.100" not in outside_since(running, bridge, since)
    [row] = await stored(running)
    assert row.status == "confirmed"
    assert not running.slack.files


async def test_the_report_has_an_appendix_of_the_confirmed_indicators(running: Running) -> None:
    channel = await noted(running)
    await say(running, channel, "ioc confirm 2 seen in the firewall logs")
    await say(running, channel, "ioc dismiss 3")
    await say(running, channel, "role commander <@U0ALICE>")
    await say(running, channel, "close contained")
    stored = {r.format: r.body for r in await reports(running)}
    [row] = json.loads(stored["json"])["indicators"]
    assert (row["number"], row["type"], row["value"], row["reason"]) == (
        2,
        "ipv4",
        "185.220.101.42",
        "seen in the firewall logs",
    )
    markdown = stored["md"].split("## Appendix: indicators of compromise")[1]
    assert "Indicator 2: ipv4 `185[.]220[.]101[.]42`" in markdown and MD5 not in markdown
    html = stored["html"].split('id="indicators"')[1]
    assert "<code>185[.]220[.]101[.]42</code>" in html and "firewall logs" in html


async def test_the_audit_finds_an_indicator_confirmed_or_changed_behind_the_bots_back(
    running: Running,
    audit: Audit,  # noqa: F811
) -> None:
    channel = await noted(running)
    await say(running, channel, "ioc confirm 1")
    assert (await audit()).returncode == 0
    async with running.bk.db.transaction() as session:
        await session.execute(
            update(Indicator).where(Indicator.number == 1).values(value="http://harmless.example/")
        )
        await session.execute(
            update(Indicator).where(Indicator.number == 2).values(status="confirmed")
        )
    verdict = await audit()
    assert verdict.returncode != 0 and "2 problems" in verdict.stdout
    assert 'CHANGED: indicator 1 value: the timeline says "http://update-cdn.net/gate.php"' in (
        verdict.stdout
    )
    assert "CHANGED: indicator 2: confirmed, but not on the timeline" in verdict.stdout
