"""Socket Mode: commands over Slack's WebSocket are acked and handled, also after a dropped
connection (the client reconnects through apps.connections.open by itself); a real `serve`
process in Socket Mode counts its acks in /metrics like over HTTP. The scenario modules marked
`both_transports` run every test over the socket as well."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bridgekeeper.sandbox import SlackDriver, SlackEmulator
from tests.conftest import Running, start_bridgekeeper
from tests.conftest import test_settings as settings_for
from tests.faults.servers import Server, socket_mode
from tests.faults.test_metrics_and_logs import scrape, value
from tests.services.test_lifecycle import timeline

pytestmark = pytest.mark.faults


@pytest.fixture
async def socket_app(db_url: str, emulator: SlackEmulator) -> AsyncIterator[Running]:
    settings = settings_for(db_url=db_url, api_url=emulator.api_url)
    app = await start_bridgekeeper(settings, emulator, transport="socket")
    yield app
    await app.stop()


async def test_commands_over_the_socket_survive_a_dropped_connection(
    socket_app: Running, emulator: SlackEmulator
) -> None:
    app = socket_app
    assert [call.ok for call in emulator.calls_to("apps.connections.open")] == [True]
    ack = await app.command("declare Leaked API key sev2")
    assert "Leaked API key" in str(ack.body)
    await app.settle()
    bridge = emulator.channel_by_name("inc-1-leaked-api-key")
    assert bridge is not None and "U0ALICE" in bridge.members and bridge.pins

    await emulator.socket_disconnect()
    app.driver.timeout = 20.0  # the client notices the drop at its next ping
    await app.command("note key revoked at 10:02", channel=bridge.id)
    await app.settle()
    assert emulator.socket_connections == 2
    assert len(emulator.calls_to("apps.connections.open")) == 2
    notes = [e.text for e in await timeline(app) if e.kind == "note"]
    assert notes == ["key revoked at 10:02"]


async def test_a_mistyped_command_over_the_socket_gets_the_usage(
    socket_app: Running, emulator: SlackEmulator
) -> None:
    ack = await socket_app.command("declare")
    assert "title" in str(ack.body).lower()
    await socket_app.settle()
    assert [c for c in emulator.channels.values() if c.name.startswith("inc-")] == []


async def test_an_event_redelivered_over_the_socket_is_handled_once(
    socket_app: Running, emulator: SlackEmulator
) -> None:
    app = socket_app
    await app.command("declare Leaked API key sev2")
    await app.settle()
    bridge = emulator.channel_by_name("inc-1-leaked-api-key")
    assert bridge is not None
    ts = emulator.post_user_message(bridge.id, "U0BOB", "key found in a public gist").ts
    for attempt in (None, 1, 2):
        await app.driver.reaction_added(
            user="U0ALICE", channel=bridge.id, ts=ts, event_id="Ev0SOCKET", retry_num=attempt
        )
        await app.settle()
    pinned = [e.text for e in await timeline(app) if e.kind == "pinned"]
    assert pinned == ["key found in a public gist"]


async def test_serve_in_socket_mode_acks_over_the_socket_and_counts_the_ack(
    db_url: str, emulator: SlackEmulator, tmp_path: Path
) -> None:
    general = emulator.add_channel("general", members=["U0ALICE"])
    server = Server(
        db_url=db_url,
        api_url=emulator.api_url,
        log=tmp_path / "serve.log",
        env=socket_mode(emulator.app_token),
    )
    driver = SlackDriver(emulator, "", "", over_socket=True)
    try:
        await server.start()
        await emulator.wait_socket_connected(timeout=30.0)
        _, before = await scrape(server.url)
        reply = await driver.command("declare Database down sev2", user="U0ALICE", channel=general)
        assert "Database down" in str(reply.body)
        _, after = await scrape(server.url)
    finally:
        await server.stop()
    count = "bridgekeeper_slash_command_ack_seconds_count"
    assert value(after, count) - value(before, count) == 1
    assert "Traceback" not in server.output()
