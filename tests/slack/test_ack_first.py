"""Slack is answered as soon as a listener acks; the work after the ack goes on, counted busy
(slack/acking.py), through Bolt's own dispatch of signed requests."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import urllib.parse
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request.async_request import AsyncBoltRequest

from bridgekeeper.slack.acking import AckFirst
from bridgekeeper.slots import InFlight

SECRET = "ack-first-secret"


async def _authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
    return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token="xoxb-test")


def _app() -> AsyncApp:
    return AsyncApp(
        signing_secret=SECRET, token=None, authorize=_authorize, process_before_response=True
    )


def _signed(body: str, content_type: str) -> AsyncBoltRequest:
    ts = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    headers = {
        "x-slack-request-timestamp": ts,
        "x-slack-signature": f"v0={digest}",
        "content-type": content_type,
    }
    return AsyncBoltRequest(body=body, headers=headers)


def _command(text: str) -> AsyncBoltRequest:
    fields = {"command": "/incident", "text": text, "team_id": "T1", "user_id": "U1"}
    fields |= {"channel_id": "C1", "response_url": "https://hooks.slack.com/commands/T1/1/x"}
    return _signed(urllib.parse.urlencode(fields), "application/x-www-form-urlencoded")


async def test_the_answer_comes_with_the_ack_while_the_work_goes_on() -> None:
    app, counted, release = _app(), InFlight(), asyncio.Event()
    done: list[str] = []

    async def command(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack(text=f"Working on: {body['text']}")
        await release.wait()  # the work after the ack (a transaction, a Slack call)
        done.append(body["text"])

    AckFirst(app, counted.counting).command("/incident")(command)
    response = await asyncio.wait_for(app.async_dispatch(_command("note hello")), timeout=5)
    assert response.status == 200 and "Working on: note hello" in response.body
    assert done == [] and counted.count == 1  # answered, and the work still counted
    release.set()
    await asyncio.wait_for(counted.wait_none(), timeout=5)
    assert done == ["note hello"]


async def test_a_listener_that_fails_before_its_ack_gets_bolts_error_answer() -> None:
    app, counted = _app(), InFlight()

    async def command(ack: AsyncAck) -> None:
        raise RuntimeError("broken before the ack")

    AckFirst(app, counted.counting).command("/incident")(command)
    response = await asyncio.wait_for(app.async_dispatch(_command("note x")), timeout=5)
    assert response.status == 500
    assert counted.count == 0


async def test_an_event_is_acknowledged_before_its_work_is_done() -> None:
    app, counted, release = _app(), InFlight(), asyncio.Event()
    seen: list[str] = []

    async def joined(event: dict[str, Any]) -> None:
        await release.wait()
        seen.append(event["user"])

    AckFirst(app, counted.counting).event("member_joined_channel")(joined)
    payload = {
        "type": "event_callback",
        "team_id": "T1",
        "event_id": "Ev1",
        "event": {"type": "member_joined_channel", "user": "U2", "channel": "C1"},
    }
    response = await asyncio.wait_for(
        app.async_dispatch(_signed(json.dumps(payload), "application/json")), timeout=5
    )
    assert response.status == 200 and seen == [] and counted.count == 1
    release.set()
    await asyncio.wait_for(counted.wait_none(), timeout=5)
    assert seen == ["U2"]


def _view_submission() -> AsyncBoltRequest:
    view = {"id": "V1", "type": "modal", "callback_id": "close", "state": {"values": {}}}
    payload = {"type": "view_submission", "team": {"id": "T1"}, "user": {"id": "U1"}}
    body = urllib.parse.urlencode({"payload": json.dumps(payload | {"view": view})})
    return _signed(body, "application/x-www-form-urlencoded")


async def test_a_form_s_errors_reach_slack_in_the_answer() -> None:
    app, counted = _app(), InFlight()

    async def submit(ack: AsyncAck) -> None:
        await asyncio.sleep(0)  # the listener may look things up before it answers
        await ack(response_action="errors", errors={"summary": "Say what was done."})

    AckFirst(app, counted.counting).view("close")(submit)
    response = await asyncio.wait_for(app.async_dispatch(_view_submission()), timeout=5)
    assert response.status == 200
    assert json.loads(response.body) == {
        "response_action": "errors",
        "errors": {"summary": "Say what was done."},
    }


async def test_an_ack_that_fails_is_answered_as_a_failure() -> None:
    app, counted = _app(), InFlight()

    async def submit(ack: AsyncAck) -> None:
        await ack(response_action="errors", errors=object())  # cannot be sent: ack raises

    AckFirst(app, counted.counting).view("close")(submit)
    response = await asyncio.wait_for(app.async_dispatch(_view_submission()), timeout=5)
    assert response.status == 500
