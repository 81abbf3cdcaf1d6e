"""Hostile characters in incoming text, driven from outside: slash commands, modals, alert
webhooks and pinned messages through signed requests to the Slack emulator. Each class of
character gets its own test of what a user would notice: a forged report line, a forged line in a
Slack message, a title that reads backwards."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bridgekeeper import cli_records
from bridgekeeper.domain.text import BIDI_CONTROLS, SEPARATORS
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.sandbox.state import Channel, Message
from bridgekeeper.slack.blocks import to_blocks
from tests.alerting import Start, alerts, bridgekeepers, generic, post
from tests.conftest import Running
from tests.services.test_lifecycle import declare, in_bridge, incident_row, text_of, timeline
from tests.slack.test_card_actions import click

C0 = "\x00\x01\x07\x08\x0b\x0c\x1b\x1c\x1d\x1e\x1f\x7f"
C1 = "\x80\x8d\x9b\x9f"
ZERO_WIDTH = "\u200b\u2060\ufeff"
INVISIBLE = set(C0 + C1 + BIDI_CONTROLS + SEPARATORS + ZERO_WIDTH + "\r")


@pytest.fixture
async def serve(db_url: str, emulator: SlackEmulator) -> AsyncIterator[Start]:
    async with bridgekeepers(db_url, emulator, web_api_over_http=True) as start:
        yield start


def text(value: str) -> dict[str, Any]:
    """A plain text input's submitted state."""
    return {"value": {"type": "plain_text_input", "value": value}}


def invisible(text: str) -> set[str]:
    return {c for c in text if c in INVISIBLE}


async def report_timeline(running: Running, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The Timeline section of incident 1's Markdown report, as `bridgekeeper report` prints it."""
    capsys.readouterr()
    assert await cli_records.report(running.bk.settings, 1, "md", None) == 0
    report = capsys.readouterr().out
    section = report.split("## Timeline", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("- ")]


def said(line: str) -> tuple[str, str]:
    """(who, what) of a report timeline line `- <time> · <who> · <what>`."""
    _, who, what = line.split(" · ", 2)
    return who, what


def bridge_posts(running: Running, channel: Channel, containing: str) -> list[Message]:
    return [m for m in running.slack.messages(channel.id) if containing in json.dumps(m.blocks)]


# -- C0 controls: the record separator cannot forge another person's report line -----------------
async def test_c0_controls_cannot_forge_who_said_what_in_the_report(
    running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    channel = await declare(running)
    forged = "logs checked\x1eapproved wiping the database\x1f\x07\x1b[2K\x00"
    await in_bridge(running, channel, f"note {forged}")
    await in_bridge(running, channel, "note rotated the keys", user="U0BOB")
    await in_bridge(running, channel, "note closed the firewall hole", user="U0CAROL")

    lines = await report_timeline(running, capsys)
    assert [said(line) for line in lines[1:]] == [
        ("U0ALICE", r"noted: logs checkedapproved wiping the database\[2K"),
        ("U0BOB", "noted: rotated the keys"),
        ("U0CAROL", "noted: closed the firewall hole"),
    ]
    assert len(lines) == 4  # the declaration and three notes: no line more, none less
    assert invisible("\n".join(lines)) == set()
    notes = [(e.actor, e.text) for e in await timeline(running) if e.kind == "note"]
    assert notes == [
        ("U0ALICE", "logs checkedapproved wiping the database[2K"),
        ("U0BOB", "rotated the keys"),
        ("U0CAROL", "closed the firewall hole"),
    ]


async def test_c0_controls_in_a_modal_are_dropped(
    running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    channel = await declare(running)
    view = await click(running, channel, "card_note")
    await running.driver.view_submission(
        user="U0ALICE", view_id=view, values={"text": text("EDR\x1eisolated\x00 the\x1b host")}
    )
    await in_bridge(running, channel, "note all clear", user="U0BOB")
    [note, other] = [e for e in await timeline(running) if e.kind == "note"]
    assert (note.text, other.text) == ("EDRisolated the host", "all clear")
    lines = await report_timeline(running, capsys)
    assert [said(line) for line in lines[1:]] == [
        ("U0ALICE", "noted: EDRisolated the host"),
        ("U0BOB", "noted: all clear"),
    ]


# -- CR and CRLF: line breaks, stored as one kind -------------------------------------------------
async def test_carriage_returns_become_plain_line_breaks(running: Running) -> None:
    channel = await declare(running)
    await in_bridge(running, channel, "note first line\r\nsecond line\rthird line")
    [note] = [e for e in await timeline(running) if e.kind == "note"]
    assert note.text == "first line\nsecond line\nthird line"


# -- C1 controls (terminal escapes in 8 bits) ------------------------------------------------------
async def test_c1_controls_are_dropped(running: Running) -> None:
    channel = await declare(running)
    await in_bridge(running, channel, "task rotate \x9b31m the\x80 keys\x8d <@U0BOB>")
    [task] = [e for e in await timeline(running) if e.kind == "task_added"]
    assert task.text == "rotate 31m the keys"


# -- line and paragraph separators: no forged line in a Slack message ------------------------------
@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
async def test_line_separators_cannot_start_a_new_line_in_a_slack_message(
    running: Running, separator: str
) -> None:
    channel = await declare(running)
    fake = (
        f"{separator}# Incident 9 closed{separator}*Incident 9 closed*"
        f"{separator}[button card_close 1 danger] Close incident{separator}~ resolved by bob"
    )
    await in_bridge(running, channel, f"note routine check{fake}")
    view = await click(running, channel, "card_note")
    await running.driver.view_submission(
        user="U0BOB", view_id=view, values={"text": text(f"from the form{fake}")}
    )
    await running.settle()
    for marker in ("routine check", "from the form"):
        [posted] = bridge_posts(running, channel, marker)
        [block] = [b for b in posted.blocks if marker in json.dumps(b)]
        assert block["type"] == "section"
        assert "\n" not in block["text"]["text"] and separator not in block["text"]["text"]
        assert "*Incident 9 closed*" in block["text"]["text"]
        assert [b["type"] for b in posted.blocks] == ["section"]  # no header, button or context
        assert "\n" not in posted.text and separator not in posted.text
    notes = [e.text for e in await timeline(running) if e.kind == "note"]
    assert all(separator not in note and "\n" not in note for note in notes)


# -- bidi controls: titles read as stored ----------------------------------------------------------
async def test_bidi_controls_never_reach_a_stored_title(serve: Start) -> None:
    app = await serve()
    await app.command("declare Invoice \u202egnp.exe\u202c \u2066fraud\u2069 sev2")
    await app.settle()
    assert (await incident_row(app)).title == "Invoice gnp.exe fraud"
    bridge = next(c for c in app.slack.channels.values() if c.name.startswith("inc-1-"))
    assert invisible(bridge.topic) == set()
    assert invisible(json.dumps([m.blocks for m in bridge.messages], ensure_ascii=False)) == set()

    title = "Login from \u202eur.ssap\u202c\u200f \u061cadmin\u200e"
    answer = await post(app, "generic", generic(title, description=f"see {title}"))
    assert answer.status == 202, answer.body
    await app.settle()
    [alert] = await alerts(app)
    assert alert.title == "Login from ur.ssap admin"
    assert alert.description == "see Login from ur.ssap admin"


# -- zero-width characters: gone outside words, kept where a word needs them -----------------------
async def test_zero_width_characters_go_except_joiners_inside_words(running: Running) -> None:
    channel = await declare(running)
    family = "👨\u200d👩\u200d👧"
    await in_bridge(running, channel, f"note \ufeffhid\u200bden\u2060 \u200d {family} ok")
    [note] = [e for e in await timeline(running) if e.kind == "note"]
    assert note.text == f"hidden  {family} ok"


# -- characters that show as nothing: no title of them alone ------------------------------------
@pytest.mark.parametrize("blank", ["\u2800", "\u115f", "\u3164 \uffa0", "\u180e\u1160"])
async def test_a_title_that_would_show_as_nothing_is_no_title(serve: Start, blank: str) -> None:
    app = await serve()
    answer = await post(app, "generic", generic(blank))
    assert answer.status == 422 and "title is missing" in answer.body["error"], answer.body
    assert await alerts(app) == []
    reply = await app.command(f"declare {blank} sev2")
    await app.settle()
    assert "title" in text_of(reply.body).lower(), reply.body
    assert not any(c.name.startswith("inc-") for c in app.slack.channels.values())
    kept = await post(app, "generic", generic(f"Braille{blank}label"))
    assert kept.status == 202  # inside a title they stay: scripts use them


# -- NUL and lone surrogates: stored (PostgreSQL can store neither) --------------------------------
async def test_nul_and_lone_surrogates_are_dropped_not_fatal(serve: Start) -> None:
    app = await serve()
    await app.command("declare Disk\x00 full sev3")
    await app.settle()
    assert (await incident_row(app)).title == "Disk full"
    body = b'{"title": "Broken \\ud800 text\\u0000", "severity": "sev2", "description": "x\\udfff"}'
    answer = await post(app, "generic", body)
    assert answer.status == 202, answer.body
    [alert] = await alerts(app)
    assert (alert.title, alert.description) == ("Broken text", "x")


# -- NFC: one spelling of each word ---------------------------------------------------------------
async def test_text_is_stored_in_nfc(running: Running) -> None:
    channel = await declare(running)
    await in_bridge(running, channel, "note cafe\u0301 re\u0301sume\u0301")
    [note] = [e for e in await timeline(running) if e.kind == "note"]
    assert note.text == "café résumé" and unicodedata.is_normalized("NFC", note.text)


# -- every entry point ----------------------------------------------------------------------------
async def test_pinned_messages_and_their_authors_are_cleaned(running: Running) -> None:
    channel = await declare(running)
    hostile = "attacker\x1e IP\u2028is \u202e7.311.0.302\u202c\u200b"
    ts = running.slack.post_user_message(channel.id, "U0BOB", hostile).ts
    await running.driver.reaction_added(user="U0ALICE", channel=channel.id, ts=ts)
    await running.settle()
    [pinned] = [e for e in await timeline(running) if e.kind == "pinned"]
    assert (pinned.actor, pinned.text) == ("U0BOB", "attacker IP is 7.311.0.302")


async def test_every_modal_field_is_cleaned(running: Running) -> None:
    channel = await declare(running)
    view = await click(running, channel, "card_severity")
    await running.driver.view_submission(
        user="U0ALICE",
        view_id=view,
        values={
            "severity": {"value": {"type": "static_select", "selected_option": {"value": "sev1"}}},
            "reason": text("data\u2029left\x1e the \u202enetwork"),
        },
    )
    await running.settle()
    [change] = [e for e in await timeline(running) if e.kind == "severity_changed"]
    assert change.text == "data left the network"
    close = await in_bridge(running, channel, "close")
    assert "error" not in close.lower()
    [close_view] = [
        v for v in running.slack.views.values() if v.view.get("callback_id") == "incident_close"
    ]
    await running.driver.view_submission(
        user="U0ALICE",
        view_id=close_view.id,
        values={
            "summary": text("Restored\x1e from \u2066backup\u2069"),
            "root_cause": text("stolen\u2028token"),
        },
    )
    await running.settle()
    [closed] = [e for e in await timeline(running) if e.kind == "closed"]
    assert closed.text == "Restored from backup"
    incident = await incident_row(running)
    assert (incident.resolution_summary, incident.root_cause) == (
        "Restored from backup",
        "stolen token",
    )


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x0c", "\x1e", "\x85", "\x0b"])
def test_text_stored_before_cleaning_still_cannot_fake_a_structure_line(separator: str) -> None:
    """Only a newline starts a line of markup: a separator in text stored before incoming text
    was cleaned cannot turn into a header or a button of the bot's message."""
    blocks = to_blocks(f"a note{separator}# *Incident 9 closed*{separator}[button Approve]")
    assert [b["type"] for b in blocks] == ["section"]
