"""SlackDriver: signed requests in Slack's real payload shapes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bridgekeeper.sandbox import SlackDriver, SlackEmulator

SECRET = "test-signing-secret"


@dataclass
class Recorded:
    headers: dict[str, str]
    body: bytes
    valid: bool


@dataclass
class Recorder:
    """A tiny bot stand-in that verifies signatures and records what it received."""

    requests: list[Recorded] = field(default_factory=list)
    verifier: SignatureVerifier = field(default_factory=lambda: SignatureVerifier(SECRET))

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        valid = self.verifier.is_valid_request(body, dict(request.headers))
        self.requests.append(Recorded(dict(request.headers), body, valid))
        if not valid:
            return web.json_response({"error": "invalid request"}, status=401)
        return web.Response(text="")

    def payload(self, index: int = -1) -> dict[str, Any]:
        form = parse_qs(self.requests[index].body.decode())
        return dict(json.loads(form["payload"][0]))

    def form(self, index: int = -1) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.requests[index].body.decode()).items()}


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}/slack/events"


@pytest.fixture
async def emulator() -> AsyncIterator[SlackEmulator]:
    emu = SlackEmulator()
    emu.add_user("U1", "alice")
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture
async def recorder_url() -> AsyncIterator[tuple[Recorder, str]]:
    recorder = Recorder()
    app = web.Application()
    app.router.add_post("/slack/events", recorder.handle)
    runner, url = await serve(app)
    yield recorder, url
    await runner.cleanup()


async def test_command_is_signed_form_with_real_fields(
    emulator: SlackEmulator, recorder_url: tuple[Recorder, str]
) -> None:
    recorder, url = recorder_url
    triage = emulator.add_channel("triage", members=["U1"])
    driver = SlackDriver(emulator, url, SECRET)
    reply = await driver.command("declare db down", user="U1", channel=triage)
    assert reply.status == 200 and recorder.requests[0].valid
    assert recorder.requests[0].headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = recorder.form()
    assert form["command"] == "/incident" and form["text"] == "declare db down"
    assert form["channel_id"] == triage and form["channel_name"] == "triage"
    assert form["user_name"] == "alice" and form["team_id"] == emulator.team_id
    assert form["response_url"] == reply.response_url and form["trigger_id"] == reply.trigger_id
    assert reply.response_url is not None
    assert reply.response_url.startswith(emulator.base_url + "/commands/")


async def test_bad_signature_and_stale_timestamp_rejected(
    emulator: SlackEmulator, recorder_url: tuple[Recorder, str]
) -> None:
    _, url = recorder_url
    driver = SlackDriver(emulator, url, SECRET)
    body = b'{"type":"event_callback"}'
    forged = SlackDriver(emulator, url, "wrong-secret").sign(body)
    assert (await driver.raw(body, forged)).status == 401
    stale = driver.sign(body, timestamp=int(driver.clock()) - 301)
    assert (await driver.raw(body, stale)).status == 401
    assert (await driver.raw(body, driver.sign(body))).status == 200


async def test_event_envelope_and_retry_headers(
    emulator: SlackEmulator, recorder_url: tuple[Recorder, str]
) -> None:
    recorder, url = recorder_url
    channel_id = emulator.add_channel("triage", members=["U1"])
    message = emulator.post_user_message(channel_id, "U1", "db is down")
    driver = SlackDriver(emulator, url, SECRET)
    await driver.reaction_added(user="U1", channel=channel_id, ts=message.ts, event_id="Ev1")
    await driver.reaction_added(
        user="U1", channel=channel_id, ts=message.ts, event_id="Ev1", retry_num=1
    )
    first, retry = recorder.requests
    envelope = json.loads(first.body)
    assert envelope["type"] == "event_callback" and envelope["event_id"] == "Ev1"
    event = envelope["event"]
    assert event["item"] == {"type": "message", "channel": channel_id, "ts": message.ts}
    assert event["item_user"] == "U1" and event["reaction"] == "pushpin"
    assert "X-Slack-Retry-Num" not in first.headers
    assert retry.headers["X-Slack-Retry-Num"] == "1"
    assert retry.headers["X-Slack-Retry-Reason"] == "http_timeout"
    assert message.reactions == {"pushpin": ["U1"]}


async def test_block_action_and_shortcut_payloads(
    emulator: SlackEmulator, recorder_url: tuple[Recorder, str]
) -> None:
    recorder, url = recorder_url
    channel_id = emulator.add_channel("triage", members=["U1", "UBOT"])
    button = {"type": "button", "action_id": "ack", "text": {"type": "plain_text", "text": "Ack"}}
    message = emulator.post_user_message(channel_id, "UBOT", "alert")
    message.blocks = [{"type": "actions", "block_id": "b", "elements": [button]}]
    driver = SlackDriver(emulator, url, SECRET)
    await driver.block_action(
        user="U1", action_id="ack", value="inc-1", channel=channel_id, message_ts=message.ts
    )
    payload = recorder.payload()
    assert payload["type"] == "block_actions" and payload["user"]["id"] == "U1"
    assert payload["container"]["message_ts"] == message.ts
    assert payload["message"]["blocks"] == message.blocks
    assert payload["actions"][0]["text"]["text"] == "Ack"
    assert payload["actions"][0]["value"] == "inc-1"
    await driver.message_shortcut(
        user="U1", callback_id="declare", channel=channel_id, message_ts=message.ts
    )
    shortcut = recorder.payload()
    assert shortcut["type"] == "message_action" and shortcut["callback_id"] == "declare"
    assert shortcut["message"]["text"] == "alert" and shortcut["channel"]["id"] == channel_id


# a real slack_bolt AsyncApp against the emulator ----------------------------------------------


def bolt_app(emulator: SlackEmulator) -> AsyncApp:
    client = AsyncWebClient(token=emulator.bot_token, base_url=emulator.api_url)
    app = AsyncApp(client=client, signing_secret=SECRET)
    title_input = {
        "type": "input",
        "block_id": "title",
        "label": {"type": "plain_text", "text": "Title"},
        "element": {"type": "plain_text_input", "action_id": "value"},
    }

    @app.command("/incident")
    async def command(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(
            trigger_id=body["trigger_id"],
            view={
                "type": "modal",
                "callback_id": "declare",
                "private_metadata": body["channel_id"],
                "title": {"type": "plain_text", "text": "Declare"},
                "submit": {"type": "plain_text", "text": "Declare"},
                "blocks": [title_input],
            },
        )

    @app.view("declare")
    async def submit(ack: Any, view: dict[str, Any], client: AsyncWebClient) -> None:
        title = view["state"]["values"]["title"]["value"]["value"]
        if not title:
            await ack(response_action="errors", errors={"title": "Required"})
            return
        await ack()
        await client.chat_postMessage(channel=view["private_metadata"], text=f"Declared {title}")

    @app.action("ack")
    async def acked(ack: Any, respond: Any) -> None:
        await ack()
        await respond(text="Acked", replace_original=True)

    return app


async def test_bolt_app_round_trip(emulator: SlackEmulator) -> None:
    triage = emulator.add_channel("triage", members=["U1", "UBOT"])
    runner, url = await serve(bolt_app(emulator).web_app())
    try:
        driver = SlackDriver(emulator, url, SECRET)
        assert (await driver.command("", user="U1", channel=triage)).status == 200
        for _ in range(100):
            if emulator.views:
                break
            await asyncio.sleep(0.01)
        (view_id,) = emulator.views
        empty = {"title": {"value": {"type": "plain_text_input", "value": ""}}}
        rejected = await driver.view_submission(user="U1", view_id=view_id, values=empty)
        assert rejected.body["response_action"] == "errors"
        assert emulator.views[view_id].errors == {"title": "Required"}
        filled = {"title": {"value": {"type": "plain_text_input", "value": "DB down"}}}
        accepted = await driver.view_submission(user="U1", view_id=view_id, values=filled)
        assert accepted.status == 200 and emulator.views[view_id].closed
        await _eventually(lambda: emulator.messages(triage))
        posted = emulator.messages(triage)[0]
        assert posted.text == "Declared DB down"
        posted.blocks = [
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "ack",
                        "text": {"type": "plain_text", "text": "Ack"},
                    }
                ],
            }
        ]
        clicked = await driver.block_action(
            user="U1", action_id="ack", channel=triage, message_ts=posted.ts
        )
        assert clicked.status == 200
        await _eventually(lambda: posted.text == "Acked")
        assert emulator.response_posts[0].body["replace_original"] is True
        bad = await driver.raw(b"command=%2Fincident", {"X-Slack-Signature": "v0=00"})
        assert bad.status == 401
    finally:
        await runner.cleanup()


async def _eventually(check: Any, timeout: float = 2.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")
