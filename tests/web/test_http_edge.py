"""The HTTP edge, driven from outside over real sockets: Socket Mode does not open an unsigned
door, replies go only to Slack, rejected bodies stay out of the logs, and slow, idle or too many
clients cannot hold the server."""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import socket
import sqlite3
import struct
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from bridgekeeper.app import Bridgekeeper
from bridgekeeper.config import HttpSettings
from bridgekeeper.sandbox import SlackDriver, SlackEmulator
from bridgekeeper.store.models import Alert, Incident, TimelineEntry
from bridgekeeper.web.connections import HttpServer, start_http
from tests.conftest import ALERT_TOKEN, SIGNING_SECRET, Running, connect_socket
from tests.conftest import test_settings as settings_for

MARKER = b"rejected-body-marker-"
STALLED_HEAD = b"POST /slack/events HTTP/1.1\r\nHost: bridgekeeper\r\nContent-Ty"


@dataclass
class Edge:
    app: Running
    http: HttpServer

    @property
    def port(self) -> int:
        return self.http.port


Serve = Callable[..., Any]


@pytest.fixture
async def serve(db_url: str, emulator: SlackEmulator) -> AsyncIterator[Serve]:
    """Start bridgekeeper the way `bridgekeeper serve` does (start_http), settings changed."""
    async with _serving(db_url, emulator) as start:
        yield start


@asynccontextmanager
async def _serving(db_url: str, emulator: SlackEmulator) -> AsyncIterator[Serve]:
    started: list[Edge] = []

    async def start(**overrides: Any) -> Edge:
        settings = settings_for(db_url=db_url, api_url=emulator.api_url, **overrides)
        bk = Bridgekeeper(settings)
        http = await start_http(bk.web_app(), settings.http, "127.0.0.1", 0)
        bk.start_worker()
        url = f"http://127.0.0.1:{http.port}"
        driver = SlackDriver(emulator, f"{url}/slack/events", SIGNING_SECRET)
        started.append(Edge(Running(bk, emulator, driver, url), http))
        return started[-1]

    try:
        yield start
    finally:
        for edge in started:
            await edge.http.close()
            await edge.app.bk.stop()


async def wait_until(condition: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def changed(app: Running) -> tuple[int, ...]:
    """What a forged command could change: rows, Slack calls, replies."""
    await app.settle()
    async with app.bk.db.sessions() as session:
        rows = [
            int(await session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Incident, TimelineEntry)
        ]
    return (*rows, len(app.slack.calls), len(app.slack.response_posts))


def command_form(app: Running, text: str, response_url: str | None = None) -> bytes:
    fields = {
        "token": "legacy-verification-token",
        "team_id": app.slack.team_id,
        "channel_id": app.general,
        "user_id": "U0ALICE",
        "user_name": "alice",
        "command": "/incident",
        "text": text,
        "api_app_id": app.slack.app_id,
        "response_url": response_url
        or app.slack.new_response_url(channel=app.general, user="U0ALICE"),
        "trigger_id": app.slack.new_trigger_id("U0ALICE"),
    }
    return urlencode(fields).encode()


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


# -- Socket Mode ---------------------------------------------------------------------------------
async def test_socket_mode_without_a_signing_secret_serves_no_slack_requests_over_http(
    serve: Serve, emulator: SlackEmulator
) -> None:
    edge = await serve(slack_app_token=emulator.app_token, slack_signing_secret="")
    app = edge.app
    before = await changed(app)
    body = command_form(app, "declare Forged over HTTP sev1")
    for headers in (FORM, {**FORM, **app.driver.sign(body)}):
        reply = await app.driver.raw(body, headers)
        assert reply.status == 404
    assert await changed(app) == before

    connection = await connect_socket(app.bk)  # the same command over the socket does act
    try:
        await emulator.wait_socket_connected()
        over_socket = SlackDriver(emulator, "", "", over_socket=True)
        reply = await over_socket.command("list", user="U0ALICE", channel=app.general)
        await app.settle()
    finally:
        await connection.close()
    answers = [p.body for p in emulator.response_posts if p.url == reply.response_url]
    assert answers, "the command over the socket was not answered"


async def test_socket_mode_with_a_signing_secret_verifies_http_requests(
    serve: Serve, emulator: SlackEmulator
) -> None:
    edge = await serve(slack_app_token=emulator.app_token)
    app = edge.app
    before = await changed(app)
    body = command_form(app, "declare Forged over HTTP sev1")
    bad = {**FORM, **app.driver.sign(body), "X-Slack-Signature": "v0=" + "0" * 64}
    for headers in (FORM, bad):
        assert (await app.driver.raw(body, headers)).status == 401
    assert await changed(app) == before
    signed = await app.driver.raw(body, {**FORM, **app.driver.sign(body)})
    assert signed.status == 200
    await wait_until(lambda: app.slack.channel_by_name("inc-1-forged-over-http"))


# -- response_url --------------------------------------------------------------------------------
@asynccontextmanager
async def listener() -> AsyncIterator[tuple[str, list[str]]]:
    """Another local HTTP server, recording every request it gets."""
    received: list[str] = []

    async def record(request: web.Request) -> web.Response:
        received.append(f"{request.method} {request.path_qs}")
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", received
    finally:
        await runner.cleanup()


async def test_replies_go_only_to_slacks_response_urls(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    app = (await serve()).app
    async with listener() as (elsewhere, received):
        trap = f"{elsewhere}/commands/T0/1/hook-secret?token=query-secret"
        for url in (trap, trap.replace("http://", "https://"), f"{elsewhere}/api/"):
            body = command_form(app, "list", response_url=url)
            reply = await app.driver.raw(body, {**FORM, **app.driver.sign(body)})
            assert reply.status == 200
        refused = "response_url refused"
        await wait_until(lambda: caplog.text.count(refused) == 3)
        await app.settle()
        assert received == []
    logged = caplog.text
    assert "hook-secret" not in logged and "query-secret" not in logged

    reply = await app.command("list")  # Slack's own response_url is used
    await wait_until(lambda: any(p.url == reply.response_url for p in app.slack.response_posts))


# -- rejected bodies are not logged --------------------------------------------------------------
async def test_rejected_bodies_never_reach_the_logs(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = (await serve()).app
    big = MARKER + b"x" * (1_000_000 - len(MARKER))
    forged = {"X-Slack-Signature": "v0=" + "0" * 64, "X-Slack-Request-Timestamp": "1"}
    async with aiohttp.ClientSession() as session:
        for body, status in ((big, 401), (big * 2, 413)):
            async with session.post(
                f"{app.url}/slack/events", data=body, headers={**FORM, **forged}
            ) as r:
                assert r.status == status
            async with session.post(
                f"{app.url}/alerts/generic", data=body, headers={"Authorization": "Bearer wrong"}
            ) as r:
                assert r.status == (401 if status == 401 else 413)

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: refused while read
            for _ in range(40):
                yield big[: 64 * 1024]

        async with session.post(f"{app.url}/slack/events", data=chunks(), headers=forged) as r:
            assert r.status == 413
    logged = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    assert MARKER.decode() not in logged
    assert "xxxxxxxxxx" not in logged


# -- slow, idle and too many clients -------------------------------------------------------------
Stalled = tuple[asyncio.StreamReader, asyncio.StreamWriter, float]


async def open_stalled(port: int, count: int) -> list[Stalled]:
    """Connections that sent half a request head and then nothing (in batches: the listen
    backlog is 128). The writers are kept: a collected writer closes its connection."""

    async def one() -> Stalled:
        started = time.monotonic()  # the server cannot start its clock before this
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(STALLED_HEAD)
        await writer.drain()
        return reader, writer, started

    opened: list[Stalled] = []
    for start in range(0, count, 100):
        opened += await asyncio.gather(*(one() for _ in range(min(100, count - start))))
    return opened


async def closed_after(stalled: Stalled, limit: float) -> float:
    """How long after it was opened the server closed the connection (sending nothing)."""
    reader, writer, opened = stalled
    got = await asyncio.wait_for(reader.read(), timeout=limit)
    writer.close()
    assert got == b"", got[:80]
    return time.monotonic() - opened


def enough_descriptors(wanted: int) -> int:
    """Raise the soft open-files limit to the hard one; how many stalled connections fit (each
    takes two descriptors here: the client's and the server's)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return min(wanted, (soft - 300) // 2) if soft != resource.RLIM_INFINITY else wanted


@pytest.mark.slow(9)
async def test_stalled_connections_are_closed_and_a_signed_command_still_gets_its_ack(
    serve: Serve,
) -> None:
    stalled = enough_descriptors(1000)
    assert stalled >= 300, "too few file descriptors for this test"
    timeout = 8.0
    limits = HttpSettings(header_timeout_seconds=timeout, max_connections=stalled + 1)
    edge = await serve(http=limits)
    guard = edge.http.guard
    held = await open_stalled(edge.port, stalled)
    await wait_until(lambda: guard.open == stalled)  # all accepted: one slot is left

    reply = await edge.app.command("help")
    assert reply.status == 200 and "/incident" in str(reply.body), reply
    assert reply.elapsed < 2.0
    await wait_until(lambda: guard.open == stalled)  # the command's connection is gone

    held += await open_stalled(edge.port, 1)  # the last slot
    await wait_until(lambda: guard.open == stalled + 1)
    reader, writer = await asyncio.open_connection("127.0.0.1", edge.port)
    busy = await asyncio.wait_for(reader.read(), timeout=2.0)
    writer.close()
    assert busy.startswith(b"HTTP/1.1 503 "), busy

    waited = await asyncio.gather(*(closed_after(s, timeout + 10) for s in held))
    assert timeout - 0.5 < min(waited) and max(waited) < timeout + 3.0, (min(waited), max(waited))
    again = await edge.app.command("list")
    assert again.status == 200


async def raw_exchange(port: int, request: bytes, timeout: float) -> tuple[bytes, float]:
    """Send `request`, read until the server closes; what it sent and when it closed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    writer.write(request)
    got = await asyncio.wait_for(reader.read(), timeout=timeout)
    writer.close()
    return got, time.monotonic() - started


@pytest.mark.slow(4)
async def test_idle_and_slow_bodied_connections_are_closed(serve: Serve) -> None:
    limits = HttpSettings(keepalive_timeout_seconds=1.0, body_timeout_seconds=1.5)
    edge = await serve(http=limits)
    idle, after = await raw_exchange(
        edge.port, b"GET /healthz HTTP/1.1\r\nHost: bridgekeeper\r\n\r\n", timeout=10
    )
    assert idle.startswith(b"HTTP/1.1 200") and b'"ok"' in idle
    assert 0.8 < after < 4.0  # kept alive, then closed when idle

    head = (
        b"POST /alerts/generic HTTP/1.1\r\nHost: bridgekeeper\r\n"
        b"Authorization: Bearer " + ALERT_TOKEN.encode() + b"\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"title": '
    )
    trickled, after = await raw_exchange(edge.port, head, timeout=10)
    assert b" 202 " not in trickled
    assert 1.3 < after < 5.0
    slack = b"POST /slack/events HTTP/1.1\r\nHost: b\r\nContent-Length: 500\r\n\r\ncommand="
    _, after = await raw_exchange(edge.port, slack, timeout=10)
    assert 1.3 < after < 5.0


async def test_an_oversized_request_is_refused_by_its_content_length(serve: Serve) -> None:
    limits = HttpSettings(slack_max_body_bytes=4096)
    edge = await serve(http=limits)
    for path in ("/slack/events", "/alerts/generic"):
        head = f"POST {path} HTTP/1.1\r\nHost: b\r\nContent-Length: 50000000\r\n\r\n".encode()
        reader, writer = await asyncio.open_connection("127.0.0.1", edge.port)
        writer.write(head)
        status = await asyncio.wait_for(reader.readline(), timeout=5)
        writer.close()
        assert status.startswith(b"HTTP/1.1 413 "), status


# -- an answer the sender never got ---------------------------------------------------------------
@asynccontextmanager
async def alerts_locked(db_url: str) -> AsyncIterator[None]:
    """Another process holding the alerts table, so a webhook waits to be stored."""
    if db_url.startswith("sqlite"):
        other = sqlite3.connect(db_url.split("///", 1)[1], isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("COMMIT")
            other.close()
        return
    engine = create_async_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("LOCK TABLE alerts IN EXCLUSIVE MODE"))
            yield
    finally:
        await engine.dispose()


async def post_and_hang_up(port: int, body: bytes) -> None:
    """Send a whole alert webhook, then reset the connection without waiting for the answer."""
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST /alerts/generic HTTP/1.1\r\nHost: bridgekeeper\r\nAuthorization: Bearer "
        f"{ALERT_TOKEN}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode() + body)
    await writer.drain()
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()


async def test_a_retry_of_a_body_whose_answer_was_lost_is_a_redelivery(
    serve: Serve, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bridgekeeper.web.alerts")
    edge = await serve()
    body = json.dumps({"title": "Disk full on db-1", "severity": "sev2", "resource": "db-1"})
    async with alerts_locked(db_url):
        await post_and_hang_up(edge.port, body.encode())
        await wait_until(lambda: edge.http.guard.open == 0)  # the server saw the sender go
    await wait_until(lambda: "was lost" in caplog.text)

    async def occurrences() -> list[int]:
        async with edge.app.bk.db.sessions() as session:
            return list(await session.scalars(select(Alert.occurrences)))

    assert await occurrences() == [1]  # stored once, though its answer never went out
    async with aiohttp.ClientSession() as http:
        for expected, occurred in (("duplicate", [1]), ("duplicate", [2])):
            async with http.post(
                f"{edge.app.url}/alerts/generic",
                data=body,
                headers={
                    "Authorization": f"Bearer {ALERT_TOKEN}",
                    "Content-Type": "application/json",
                },
            ) as response:
                assert response.status == 202
                assert (await response.json())["result"] == expected
            assert await occurrences() == occurred  # the retry changed nothing; a repeat counts
