"""Hostile input: forged or replayed requests, text built to ping everyone or to break Slack's
limits, random command text, and secrets that must never reach a log or an error message."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bridgekeeper.domain.alerts.parse import SOURCES
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.sandbox.blocks import MESSAGE_MAX_BLOCKS, check_blocks
from bridgekeeper.sandbox.driver import Reply
from bridgekeeper.sandbox.response_urls import is_unsafe
from bridgekeeper.store import incidents as incident_store
from bridgekeeper.store.models import Alert, Incident, SeenEvent, TimelineEntry
from tests.alerting import Start, bridgekeepers, generic, post
from tests.conftest import ALERT_TOKEN, BOT_TOKEN, PG_URL, SIGNING_SECRET, Running
from tests.examples import sample_for
from tests.faults.servers import Server
from tests.services.test_close import entries, incident

STALE = 6 * 60  # Slack's replay window is five minutes
EVERYONE = "<!channel> <!here> <!everyone> <!subteam^S0ONCALL|@oncall> <!subteam^S123>"
INTERNAL_ERROR = "Something went wrong on our side"
# Slack's answers that mean "that is already so": the gateway takes them as success.
ALREADY = {"already_in_channel", "already_pinned", "cant_invite_self"}


@pytest.fixture
async def serve(db_url: str, emulator: SlackEmulator) -> AsyncIterator[Start]:
    async with bridgekeepers(db_url, emulator, web_api_over_http=True) as start:
        yield start


# -- helpers -------------------------------------------------------------------------------------
async def count(app: Running, model: type[Any]) -> int:
    async with app.bk.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def state(app: Running) -> tuple[int, ...]:
    """What a forged request could change: rows, Slack calls, replies."""
    await app.settle()
    return (
        await count(app, Incident),
        await count(app, TimelineEntry),
        await count(app, SeenEvent),
        len(app.slack.calls),
        len(app.slack.response_posts),
    )


async def answered(
    app: Running, reply: Reply, since: tuple[str, int] | None = None, timeout: float = 10.0
) -> list[Any]:
    """The ack body plus whatever was posted to the command's response_url, and (`since`: a
    channel and its message count before the command) to the channel itself: a status card."""
    deadline = time.monotonic() + timeout
    while True:
        posts = [p.body for p in app.slack.response_posts if p.url == reply.response_url]
        if since:
            channel, before = since
            posts += [
                {"text": m.text, "blocks": m.blocks} for m in app.slack.messages(channel)[before:]
            ]
        if reply.body or posts or time.monotonic() > deadline:
            return [reply.body, *posts]
        await asyncio.sleep(0.02)


async def answered_here(app: Running, text: str) -> list[Any]:
    """`answered` for a command sent in the general channel: `summary` answers with the status
    card posted there, the others to the user."""
    since = (app.general, len(app.slack.messages(app.general)))
    return await answered(app, await app.command(text), since)


def unsafe_anywhere(app: Running, bodies: list[Any]) -> list[str]:
    """Broadcast mentions in messages, topics, ephemerals, response_url posts, modals, acks."""
    found = [
        f"{m.channel}/{m.subtype or 'message'}: {m.text[:80]}" for m in app.slack.unsafe_mentions()
    ]
    for body in [*bodies, *(p.body for p in app.slack.response_posts)]:
        if isinstance(body, dict) and is_unsafe(
            str(body.get("text") or ""), body.get("blocks") or []
        ):
            found.append(f"reply: {json.dumps(body)[:120]}")
    for view in app.slack.views.values():
        if is_unsafe("", view.view.get("blocks") or []):
            found.append(f"view {view.id}")
    return found


def refused_calls(slack: SlackEmulator) -> list[Any]:
    """Web API calls Slack refused (invalid_blocks, msg_too_long...), "already" answers aside."""
    return [c for c in slack.calls if not c.ok and c.error not in ALREADY]


def command_body(app: Running, text: str, channel: str) -> bytes:
    fields = {
        "token": "legacy-verification-token",
        "team_id": app.slack.team_id,
        "channel_id": channel,
        "user_id": "U0ALICE",
        "user_name": "alice",
        "command": "/incident",
        "text": text,
        "api_app_id": app.slack.app_id,
        "response_url": app.slack.new_response_url(channel=channel, user="U0ALICE"),
        "trigger_id": app.slack.new_trigger_id("U0ALICE"),
    }
    return urlencode(fields).encode()


def event_body(app: Running, channel: str, ts: str) -> bytes:
    event = {
        "type": "reaction_added",
        "user": "U0ALICE",
        "reaction": "pushpin",
        "item": {"type": "message", "channel": channel, "ts": ts},
        "item_user": "U0BOB",
        "event_ts": ts,
    }
    return json.dumps(app.driver.event_envelope(event, event_id="Ev0FORGED")).encode()


def action_body(app: Running, alert_id: int) -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": "U0ALICE", "name": "alice"},
        "api_app_id": app.slack.app_id,
        "team": {"id": app.slack.team_id},
        "trigger_id": app.slack.new_trigger_id("U0ALICE"),
        "actions": [
            {
                "action_id": "alert_declare",
                "value": str(alert_id),
                "type": "button",
                "block_id": "b",
                "action_ts": "1",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


CONTENT_TYPES = {
    "command": "application/x-www-form-urlencoded",
    "event": "application/json",
    "action": "application/x-www-form-urlencoded",
}


def forgeries(app: Running, body: bytes, content_type: str) -> dict[str, dict[str, str]]:
    now = int(time.time())
    wrong = app.driver.sign(body)
    wrong["X-Slack-Signature"] = "v0=" + "0" * 64
    other_secret = dict(app.driver.sign(body))
    other_secret["X-Slack-Signature"] = app.driver.sign(body + b" ")["X-Slack-Signature"]
    cases = {
        "missing": {},
        "wrong": wrong,
        "for another body": other_secret,
        "stale": app.driver.sign(body, timestamp=now - STALE),
        "from the future": app.driver.sign(body, timestamp=now + STALE),
        "no timestamp": {"X-Slack-Signature": app.driver.sign(body)["X-Slack-Signature"]},
        "v1 scheme": {**app.driver.sign(body), "X-Slack-Signature": "v1=abc"},
    }
    return {name: {"Content-Type": content_type, **h} for name, h in cases.items()}


# -- forged and replayed Slack requests ----------------------------------------------------------
@pytest.mark.parametrize("kind", ["command", "event", "action"])
async def test_unsigned_wrongly_signed_or_stale_requests_get_401_and_change_nothing(
    serve: Start, kind: str
) -> None:
    app = await serve()
    await app.command("declare Suspicious login sev2")
    await app.settle()
    bridge = app.slack.channel_by_name("inc-1-suspicious-login")
    assert bridge is not None
    message = app.slack.post_user_message(bridge.id, "U0BOB", "attacker IP is 203.0.113.7")
    alert = await post(app, "generic", generic("Impossible travel", severity="sev2"))
    alert_id = alert.body["alerts"][0]["alert_id"]
    body = {
        "command": lambda: command_body(app, "declare Forged incident", app.general),
        "event": lambda: event_body(app, bridge.id, message.ts),
        "action": lambda: action_body(app, alert_id),
    }[kind]()
    before = await state(app)

    for name, headers in forgeries(app, body, CONTENT_TYPES[kind]).items():
        reply = await app.driver.raw(body, headers)
        assert reply.status == 401, name
        assert SIGNING_SECRET not in str(reply.body)
    assert await state(app) == before

    signed = await app.driver.raw(
        body, {"Content-Type": CONTENT_TYPES[kind], **app.driver.sign(body)}
    )
    assert signed.status == 200
    await app.settle()
    assert await state(app) != before  # the same request, correctly signed, does act


@pytest.mark.parametrize("source", [s for s in SOURCES if s != "aws-sns"])  # SNS: its signature
async def test_alert_webhooks_with_wrong_credentials_get_401_and_store_nothing(
    serve: Start, source: str
) -> None:
    app = await serve()
    payload = generic("Forged") if source == "generic" else sample_for(source)
    for token, query in (("wrong", ""), (None, ""), (None, "?token=wrong"), (ALERT_TOKEN[:-1], "")):
        answer = await post(app, source, payload, token=token, query=query)
        assert answer.status == 401, (source, token, query)
        assert ALERT_TOKEN not in json.dumps(answer.body)
    basic = {"Authorization": "Basic " + "d3Jvbmc6d3Jvbmc="}
    assert (await post(app, source, payload, token=None, headers=basic)).status == 401
    assert await count(app, Alert) == 0
    assert (await post(app, source, payload)).status == 202  # the right token is accepted


# -- random command text -------------------------------------------------------------------------
SUBCOMMANDS = [
    "",
    "declare",
    "help",
    "list",
    "summary",
    "timeline",
    "note",
    "note 1",
    "task",
    "task done",
    "role",
    "role commander",
    "severity",
    "severity sev1",
    "stage",
    "impact",
    "tasks",
    "roles",
    "close",
    "reopen",
    "update",
    "notify",
    "report",
    "stats",
    "7",
    "declare x sev9 private",
    "page",
    "page 1 <@U0BOB>",
    "page 1 payments",
]
command_text = st.one_of(
    st.text(max_size=200),
    st.builds(
        lambda head, tail: f"{head} {tail}",
        st.sampled_from(SUBCOMMANDS),
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=120),
    ),
    st.sampled_from([EVERYONE, "\x00", "note 1 \x00 nul", "declare \u202e\u200b", "&lt;!here&gt;"]),
)


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=command_text)
@example(text="note 1 \x00 nul")  # PostgreSQL cannot store NUL in text
@example(text=f"declare {EVERYONE}")
@example(text="SUMMARY 1")  # an incident declared by the example above: its card
@example(text="page 1 <@U0BOB> \x00 nul")
@example(text="payload")  # Bolt took a body with this word in it for an interaction's
async def test_any_command_text_gets_an_answer_never_an_error(running: Running, text: str) -> None:
    since = (running.general, len(running.slack.messages(running.general)))
    reply = await running.driver.command(text, user="U0ALICE", channel=running.general)
    assert reply.status == 200, text
    assert reply.elapsed < 3.0
    replies = await answered(running, reply, since)
    assert any(replies), f"no answer to {text!r}"
    assert INTERNAL_ERROR not in json.dumps(replies), text
    for body in replies:
        if isinstance(body, dict) and body.get("blocks"):
            assert check_blocks(body["blocks"], max_blocks=MESSAGE_MAX_BLOCKS) == []
    assert unsafe_anywhere(running, replies) == []
    assert refused_calls(running.slack) == []


async def test_a_command_that_says_payload_is_answered_and_done(running: Running) -> None:
    """Bolt takes a form body with the word "payload" in it for an interaction's: a command
    that said it ("Malicious payload", common in a security team's words) went unanswered."""
    declared = await running.command("declare Malicious payload on db-01 sev1")
    assert declared.status == 200 and "declar" in json.dumps(declared.body).lower()
    await running.settle()
    [bridge] = [c for c in running.slack.channels.values() if c.name.startswith("inc-1-")]
    noted = await running.command("note the payload=beacon.dll was quarantined", channel=bridge.id)
    assert noted.status == 200
    await running.settle()
    assert (await incident(running)).title == "Malicious payload on db-01"
    notes = [e.text for e in await entries(running) if e.kind == "note"]
    assert notes == ["the payload=beacon.dll was quarantined"]


async def test_alerts_with_nul_and_control_characters_are_stored(serve: Start) -> None:
    app = await serve()
    nasty = "disk\x00full\x07 \u202e\ufeff" + EVERYONE
    answer = await post(
        app, "generic", generic(nasty, description=nasty, resource=nasty, dedup_key=nasty)
    )
    assert answer.status == 202, answer.body
    await app.settle()
    assert await count(app, Alert) == 1
    assert unsafe_anywhere(app, []) == [] and refused_calls(app.slack) == []


# -- nobody can be pinged, Slack's limits hold ---------------------------------------------------
async def test_no_user_or_alert_text_can_ping_everyone(serve: Start) -> None:
    app = await serve()
    replies: list[Any] = []
    await post(app, "generic", generic(f"{EVERYONE} disk", description=f"{EVERYONE} look"))
    await app.settle()
    [card] = app.slack.messages(app.bk.settings.triage_channel or "")
    alert_id = (await post(app, "generic", generic("second", dedup_key="x"))).body["alerts"][0]
    await app.driver.block_action(
        user="U0ALICE",
        action_id="alert_declare",
        value="1",
        channel=app.bk.settings.triage_channel,
        message_ts=card.ts,
    )
    await app.settle()
    for text in (
        f"declare {EVERYONE} sev2",
        f"note 1 {EVERYONE} @channel @here",
        "role commander <@U0ALICE>",
        f"severity 1 sev1 {EVERYONE}",
        f"stage 1 assess {EVERYONE}",
        f"task 1 {EVERYONE} <@U0BOB>",
        "tasks 1",
        "timeline 1",
        "summary 1",
        "list",
    ):
        replies += await answered_here(app, text)
        await app.settle()
    await app.driver.block_action(
        user="U0ALICE",
        action_id="alert_link",
        value=str(alert_id["alert_id"]),
        channel=app.bk.settings.triage_channel,
        message_ts=card.ts,
    )
    await app.settle()
    assert await count(app, Incident) == 2
    assert unsafe_anywhere(app, replies) == []
    assert refused_calls(app.slack) == []


async def test_huge_titles_notes_and_timelines_stay_within_slack_limits(serve: Start) -> None:
    app = await serve()
    huge = ("Exfiltration over DNS from build agents & <b> " * 250)[:10_000]
    await post(app, "generic", generic(huge, description=huge, resource=huge[:500]))
    await app.settle()
    assert refused_calls(app.slack) == []
    triage = app.bk.settings.triage_channel or ""
    [card] = app.slack.messages(triage)
    await app.driver.block_action(
        user="U0ALICE", action_id="alert_declare", value="1", channel=triage, message_ts=card.ts
    )
    replies = []
    for text in (
        f"declare {huge} sev1",
        f"note 2 {huge}",
        f"task 2 {huge}",
        "role 2 commander <@U0ALICE>",
    ):
        replies += await answered_here(app, text)
        await app.settle()
    await _append_notes(app, number=2, notes=300, text=huge[:2_500])
    for text in (
        f"note 2 {huge}",
        "timeline 2",
        "timeline 2 5",
        "timeline 2 999",
        "summary 2",
        "list",
        "tasks 2",
    ):
        replies += await answered_here(app, text)
        await app.settle()
    second = await post(app, "generic", generic("another", dedup_key="another"))
    await app.settle()
    await app.driver.block_action(
        user="U0ALICE",
        action_id="alert_link",
        value=str(second.body["alerts"][0]["alert_id"]),
        channel=triage,
        message_ts=app.slack.messages(triage)[-1].ts,
    )
    await app.settle()

    assert refused_calls(app.slack) == []
    assert [p for p in app.slack.response_posts if p.status != 200] == []
    assert app.slack.views, "the link modal did not open"
    for body in replies:
        if isinstance(body, dict) and body.get("blocks"):
            assert check_blocks(body["blocks"], max_blocks=MESSAGE_MAX_BLOCKS) == []
    bridge = next(c for c in app.slack.channels.values() if c.name.startswith("inc-2-"))
    assert len(bridge.name) <= 80 and len(bridge.topic) <= 250
    posted = json.dumps([m.blocks for m in bridge.messages], ensure_ascii=False)
    assert "…" in posted  # cut with an ellipsis, not dropped
    assert INTERNAL_ERROR not in json.dumps(replies)


async def _append_notes(app: Running, *, number: int, notes: int, text: str) -> None:
    """Hundreds of timeline entries at once, through the store's hash-chained append."""
    now = app.bk.clock.now()
    async with app.bk.db.transaction() as session:
        found = await incident_store.get(session=session, number=number, lock=True)
        assert found is not None
        for n in range(notes):
            await incident_store.append(
                session=session,
                incident=found,
                at=now,
                recorded_at=now,
                actor="U0BOB",
                kind="note",
                text=f"{n} {text}",
            )


# -- secrets never reach a log or an error -------------------------------------------------------
SECRETS = [BOT_TOKEN, SIGNING_SECRET, ALERT_TOKEN]


async def test_secrets_never_reach_the_logs_in_process(
    serve: Start, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = await serve()
    await _provoke_errors(app.url, app.slack)
    logged = caplog.text + "\n".join(str(r.__dict__) for r in caplog.records)
    assert "invalid_auth" in logged or "failed" in logged  # the errors were logged...
    for secret in SECRETS:
        assert secret not in logged  # ...without the secrets


async def _provoke_errors(url: str, slack: SlackEmulator) -> None:
    """Bad signatures, bad alert tokens, Slack refusing the token, Slack failing."""
    async with aiohttp.ClientSession() as session:
        for headers in ({"X-Slack-Signature": "v0=00", "X-Slack-Request-Timestamp": "1"}, {}):
            async with session.post(
                f"{url}/slack/events", data=b"command=%2Fincident", headers=headers
            ) as r:
                answer = await r.text()
                assert r.status == 401
                assert all(s not in answer for s in SECRETS)
        for auth in (f"Bearer {ALERT_TOKEN}x", f"Bearer x{ALERT_TOKEN}", "Bearer "):
            async with session.post(
                f"{url}/alerts/generic", json={"title": "x"}, headers={"Authorization": auth}
            ) as r:
                answer = await r.text()
                assert r.status == 401
                assert all(s not in answer for s in SECRETS)
        async with session.post(
            f"{url}/alerts/generic",
            data=b"{not json",
            headers={"Authorization": f"Bearer {ALERT_TOKEN}"},
        ) as r:
            assert r.status == 400
    slack.fail("conversations.create", error="invalid_auth", times=20)
    slack.fail("chat.postMessage", status=500, times=3)
    general = slack.add_channel("general-2", members=["U0ALICE"])
    from bridgekeeper.sandbox import SlackDriver

    driver = SlackDriver(slack, f"{url}/slack/events", SIGNING_SECRET)
    await driver.command("declare Token test sev3", user="U0ALICE", channel=general)
    await driver.command("note 99 nothing here", user="U0ALICE", channel=general)
    for _ in range(200):  # until the worker has met Slack's refusal (slow on a loaded machine)
        if slack.calls_to("conversations.create"):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # and logged it


def _password_url(base: str) -> tuple[str, str]:
    password = "Pa55-w0rd-never-logged"
    if not base:
        return f"postgresql://bk_intruder:{password}@127.0.0.1:1/bridgekeeper", password
    dsn = base.split("://", 1)[1]
    host = dsn.split("@", 1)[-1]
    return f"postgresql://bk_intruder:{password}@{host}", password


def test_a_database_password_never_reaches_the_output(tmp_path: Path) -> None:
    """A serve process that cannot log in says so without printing the password."""
    url, password = _password_url(PG_URL)
    log = tmp_path / "serve.log"
    env = Server(db_url=url, api_url="http://127.0.0.1:9/api/", log=log).env | {
        "LOG_LEVEL": "DEBUG"
    }
    with log.open("wb") as out:
        done = subprocess.run(
            [sys.executable, "-m", "bridgekeeper", "serve", "--port", "0"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=60,
        )
    output = log.read_text(errors="replace")
    assert done.returncode != 0
    assert "bk_intruder" in output or "refused" in output.lower() or "connect" in output.lower()
    for secret in [password, *SECRETS]:
        assert secret not in output


async def test_secrets_never_reach_a_serve_process_log(
    db_url: str, emulator: SlackEmulator, tmp_path: Path
) -> None:
    server = Server(
        db_url=db_url,
        api_url=emulator.api_url,
        log=tmp_path / "serve.log",
        env={"LOG_LEVEL": "DEBUG"},
    )
    try:
        await server.start()
        await _provoke_errors(server.url, emulator)
    finally:
        await server.stop()
    output = server.output()
    assert "DEBUG" in output and "invalid_auth" in output
    for secret in SECRETS:
        assert secret not in output
