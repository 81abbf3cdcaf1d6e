"""The sandbox web client's own logic, without a browser: what each person sees, and what the
client sends as Slack would."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.sandbox.api_views import store_view
from bridgekeeper.sandbox.client.actions import as_sent, form_values, restamped, show_ack
from bridgekeeper.sandbox.client.snapshot import snapshot, version_key

PEOPLE = {"U0ALICE": "alice", "U0BOB": "bob", "U0DAVE": "dave"}


def workspace() -> SlackEmulator:
    slack = SlackEmulator()
    slack.add_people(PEOPLE)
    return slack


def test_private_channels_and_ephemerals_are_shown_only_to_whom_they_belong() -> None:
    slack = workspace()
    triage = slack.add_channel("alert-triage", members=["UBOT", *PEOPLE])
    slack.add_channel("inc-1-leak", is_private=True, members=["UBOT", "U0ALICE"])
    show_ack(slack.state, channel=triage, user="U0ALICE", body={"text": "only for alice"})

    alice, dave = snapshot(slack.state, "U0ALICE"), snapshot(slack.state, "U0DAVE")

    assert [c["name"] for c in alice["channels"]] == ["alert-triage", "inc-1-leak"]
    assert [c["name"] for c in dave["channels"]] == ["alert-triage"]
    assert "inc-1-leak" not in dave["channel_names"].values()
    [shown] = alice["channels"][0]["messages"]
    assert shown["ephemeral"] and shown["text"] == "only for alice"
    assert dave["channels"][0]["messages"] == []


def test_the_open_modal_is_its_owners_with_the_errors_the_bot_answered() -> None:
    slack = workspace()
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Close incident 1"},
        "submit": {"type": "plain_text", "text": "Close"},
        "blocks": [],
    }
    stored = store_view(slack.state, view, "U0ALICE", None, "open")
    before = version_key(slack.state)
    stored.errors = {"summary": "Required"}

    modal = snapshot(slack.state, "U0ALICE")["modal"]

    assert modal["title"] == "Close incident 1" and modal["errors"] == {"summary": "Required"}
    assert snapshot(slack.state, "U0BOB")["modal"] is None
    assert version_key(slack.state) != before


def test_typed_text_goes_out_escaped_with_the_mentions_the_person_may_make() -> None:
    slack = workspace()
    triage = slack.add_channel("alert-triage", members=list(PEOPLE))
    slack.add_channel("inc-1-leak", is_private=True, members=["U0ALICE"])

    sent = as_sent(slack.state, "<b>&</b> @bob #alert-triage #inc-1-leak me@bob", user="U0DAVE")

    assert sent == (
        f"&lt;b&gt;&amp;&lt;/b&gt; <@U0BOB|bob> <#{triage}|alert-triage> #inc-1-leak me@bob"
    )


def test_form_values_take_slacks_shape_for_each_kind_of_input() -> None:
    def block(block_id: str, element: dict[str, object]) -> dict[str, object]:
        label = {"type": "plain_text", "text": block_id}
        return {"type": "input", "block_id": block_id, "label": label, "element": element}

    option = {"text": {"type": "plain_text", "text": "Resolved"}, "value": "resolved"}
    blocks = [
        block("summary", {"type": "plain_text_input", "action_id": "value"}),
        block("note", {"type": "plain_text_input", "action_id": "value"}),
        block("disposition", {"type": "static_select", "action_id": "value", "options": [option]}),
        block("owner", {"type": "users_select", "action_id": "value"}),
    ]
    fields = {"summary": "Disk freed", "note": "", "disposition": "resolved", "owner": "U0BOB"}

    values = form_values(blocks, fields, workspace().state)

    assert values == {
        "summary": {"value": {"type": "plain_text_input", "value": "Disk freed"}},
        "note": {"value": {"type": "plain_text_input", "value": None}},
        "disposition": {"value": {"type": "static_select", "selected_option": option}},
        "owner": {"value": {"type": "users_select", "selected_user": "U0BOB"}},
    }


def test_an_examples_times_are_moved_to_when_it_is_sent() -> None:
    now = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    text = '{"at": "2026-01-01T00:00:00.000Z", "s": 1767225600, "ms": "1767225600000"}'

    moved = restamped(text, now)

    stamp = int(now.timestamp())
    assert moved == f'{{"at": "2026-03-01T12:30:00.000Z", "s": {stamp}, "ms": "{stamp}000"}}'


def test_the_client_shows_every_emoji_bridgekeeper_writes() -> None:
    """Slack shows `:rotating_light:` as the emoji: the sandbox's client has each one the
    messages use (a time such as 09:00:30 is no emoji)."""
    root = Path(__file__).resolve().parents[2]
    used = set()
    for template in (root / "messages").rglob("*.j2"):
        used |= set(re.findall(r":([a-z][a-z0-9_+-]*):", template.read_text(encoding="utf-8")))
    script = (root / "src/bridgekeeper/sandbox/client/static/mrkdwn.js").read_text()
    table = script[script.index("const EMOJI = {") : script.index("};", script.index("EMOJI"))]
    shown = set(re.findall(r'"?([a-z0-9_+]+)"?: "', table))
    assert used and used <= shown
