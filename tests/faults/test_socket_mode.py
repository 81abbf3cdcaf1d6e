"""Socket Mode: commands over Slack's WebSocket are acked and handled, also after a dropped
connection (the client reconnects through apps.connections.open by itself)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.slack.socket_mode import SocketModeConnection, start_socket_mode
from tests.conftest import Running, start_bridgekeeper
from tests.conftest import test_settings as settings_for
from tests.test_lifecycle import timeline

pytestmark = pytest.mark.faults


@pytest.fixture
async def socket_app(
    db_url: str, emulator: SlackEmulator
) -> AsyncIterator[tuple[Running, SocketModeConnection]]:
    settings = settings_for(
        db_url=db_url, api_url=emulator.api_url, slack_app_token=emulator.app_token
    )
    app, runner = await start_bridgekeeper(settings, emulator)
    connection = await start_socket_mode(app.bk)
    yield app, connection
    await connection.close()
    await runner.cleanup()
    await app.bk.stop()


def command_payload(slack: SlackEmulator, channel: str, text: str) -> dict[str, Any]:
    """What Slack sends in a slash_commands envelope (the same fields as the HTTP form)."""
    return {
        "token": "legacy-verification-token",
        "team_id": slack.team_id,
        "team_domain": slack.team_domain,
        "channel_id": channel,
        "channel_name": slack.channels[channel].name,
        "user_id": "U0ALICE",
        "user_name": "alice",
        "command": "/incident",
        "text": text,
        "api_app_id": slack.app_id,
        "is_enterprise_install": "false",
        "response_url": slack.new_response_url(channel=channel, user="U0ALICE"),
        "trigger_id": slack.new_trigger_id("U0ALICE"),
    }


async def send_command(
    slack: SlackEmulator, channel: str, text: str, timeout: float = 5.0
) -> dict[str, Any]:
    started = time.monotonic()
    envelope = await slack.socket_send(
        "slash_commands", command_payload(slack, channel, text), timeout=timeout
    )
    ack = await slack.socket_ack(envelope)
    assert ack["envelope_id"] == envelope
    assert time.monotonic() - started < timeout + 3.0
    return ack


async def test_commands_over_the_socket_survive_a_dropped_connection(
    socket_app: tuple[Running, SocketModeConnection], emulator: SlackEmulator
) -> None:
    app, _ = socket_app
    await emulator.wait_socket_connected()
    assert emulator.calls_to("apps.connections.open")
    assert emulator.calls_to("apps.connections.open")[0].ok

    ack = await send_command(emulator, app.general, "declare Leaked API key sev2")
    assert "Leaked API key" in str(ack.get("payload"))
    await app.settle()
    bridge = emulator.channel_by_name("inc-1-leaked-api-key")
    assert bridge is not None and "U0ALICE" in bridge.members and bridge.pins

    await emulator.socket_disconnect()
    await send_command(emulator, bridge.id, "note key revoked at 10:02", timeout=20.0)
    await app.settle()
    assert emulator.socket_connections >= 2
    assert len(emulator.calls_to("apps.connections.open")) >= 2
    notes = [e.text for e in await timeline(app) if e.kind == "note"]
    assert notes == ["key revoked at 10:02"]


async def test_a_mistyped_command_over_the_socket_gets_the_usage(
    socket_app: tuple[Running, SocketModeConnection], emulator: SlackEmulator
) -> None:
    app, _ = socket_app
    await emulator.wait_socket_connected()
    ack = await send_command(emulator, app.general, "declare")
    assert "title" in str(ack.get("payload")).lower()
    await app.settle()
    assert [c for c in emulator.channels.values() if c.name.startswith("inc-")] == []


async def test_an_event_redelivered_over_the_socket_is_handled_once(
    socket_app: tuple[Running, SocketModeConnection], emulator: SlackEmulator
) -> None:
    app, _ = socket_app
    await emulator.wait_socket_connected()
    await send_command(emulator, app.general, "declare Leaked API key sev2")
    await app.settle()
    bridge = emulator.channel_by_name("inc-1-leaked-api-key")
    assert bridge is not None
    ts = emulator.post_user_message(bridge.id, "U0BOB", "key found in a public gist").ts
    event = {
        "type": "reaction_added",
        "user": "U0ALICE",
        "reaction": "pushpin",
        "item": {"type": "message", "channel": bridge.id, "ts": ts},
        "item_user": "U0BOB",
        "event_ts": ts,
    }
    body = app.driver.event_envelope(event, event_id="Ev0SOCKET")
    for attempt in (0, 1, 2):
        envelope = await emulator.socket_send("events_api", body, retry_attempt=attempt)
        await emulator.socket_ack(envelope)
        await app.settle()
    pinned = [e.text for e in await timeline(app) if e.kind == "pinned"]
    assert pinned == ["key found in a public gist"]
