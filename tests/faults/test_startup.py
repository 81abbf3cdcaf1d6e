"""Real `serve` and `worker` processes starting against the Slack emulator: a token Slack refuses
or a missing scope stops them with one line and exit status 1; Slack unreachable at start keeps
them alive but not ready until it answers; /healthz never asks the database, /readyz does."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import socket
import subprocess
import sys
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy.engine import make_url

from bridgekeeper.app import Bridgekeeper
from bridgekeeper.config import Settings
from bridgekeeper.errors import SlackRejected
from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.startup import say_rejected, slack_ready
from tests.conftest import PG_URL
from tests.conftest import test_settings as settings_for  # (a test_ name would be collected)
from tests.faults.servers import Server, Worker, free_port, socket_mode, wait_for
from tests.slack.test_messages_compiled import slack_messages

pytestmark = pytest.mark.faults


async def probe(url: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.json()


async def wait_for_status(url: str, status: int, timeout: float = 30.0) -> dict[str, Any]:
    """Poll `url` until it answers `status`; its body."""
    got: list[dict[str, Any]] = []

    async def answered() -> bool:
        code, body = await probe(url)
        got[:] = [body]
        return code == status

    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await answered():
            return got[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never answered {status}: {got}")


async def exit_status(server: Server, timeout: float = 30.0) -> int:
    assert server.process is not None
    process = server.process
    await wait_for(lambda: process.poll() is not None, timeout=timeout)
    return int(process.returncode)


def problem_lines(server: Server) -> list[str]:
    """The lines the process printed for people (log records carry a level name)."""
    return [line for line in server.output().splitlines() if line.startswith("bridgekeeper: ")]


async def stopped_with_one_line(server: Server) -> str:
    server.spawn()
    try:
        assert await exit_status(server) == 1
    finally:
        await server.stop()
    assert "Traceback" not in server.output()
    (line,) = problem_lines(server)
    return line


async def test_a_bot_token_slack_refuses_stops_serve_with_one_line(
    db_url: str, emulator: SlackEmulator, tmp_path: Path
) -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-not-the-right-one"}
    server = Server(db_url=db_url, api_url=emulator.api_url, log=tmp_path / "s.log", env=env)
    line = await stopped_with_one_line(server)
    assert "Slack refused the bot token (invalid_auth)" in line and "SLACK_BOT_TOKEN" in line
    assert [c.method for c in emulator.calls] == ["auth.test"]  # nothing else was tried


async def refused_at_start(settings: Settings, *, socket_mode: bool = False) -> str:
    """What `serve` says, in its one line, when Slack refuses its start-up check (run here, as
    serve runs it: the process around it is the test above's)."""
    bk = Bridgekeeper(settings)
    try:
        with pytest.raises(SlackRejected) as refused:
            await slack_ready(bk, asyncio.Event(), socket_mode=socket_mode)
    finally:
        await bk.stop()
    with contextlib.redirect_stderr(io.StringIO()) as said:
        assert say_rejected(refused.value) == 1
    (line,) = said.getvalue().splitlines()
    return line


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        ("token_revoked", "Slack refused the bot token (token_revoked)"),
        ("account_inactive", "(account_inactive): the app was uninstalled"),
    ],
)
async def test_each_refusal_of_the_bot_token_is_said_in_one_line(
    db_url: str, emulator: SlackEmulator, fault: str, said: str
) -> None:
    emulator.fail("auth.test", error=fault)
    line = await refused_at_start(settings_for(db_url=db_url, api_url=emulator.api_url))
    assert said in line and "SLACK_BOT_TOKEN" in line
    assert [c.method for c in emulator.calls] == ["auth.test"]  # nothing else was tried


async def test_a_missing_scope_is_named_and_stops_serve(
    db_url: str, emulator: SlackEmulator, tmp_path: Path
) -> None:
    emulator.bot_scopes -= {"pins:write", "chat:write.public"}
    server = Server(db_url=db_url, api_url=emulator.api_url, log=tmp_path / "s.log")
    line = await stopped_with_one_line(server)
    assert "lacks the scopes chat:write.public, pins:write" in line


async def test_an_app_token_slack_refuses_stops_socket_mode_with_one_line(
    db_url: str, emulator: SlackEmulator, tmp_path: Path
) -> None:
    env = socket_mode("xapp-not-the-right-one")
    server = Server(db_url=db_url, api_url=emulator.api_url, log=tmp_path / "s.log", env=env)
    line = await stopped_with_one_line(server)
    assert "refused the app-level token at apps.connections.open (invalid_auth)" in line
    assert "SLACK_APP_TOKEN" in line
    assert emulator.socket_connections == 0


async def test_a_bot_token_given_as_the_app_token_is_said_in_one_line(
    db_url: str, emulator: SlackEmulator
) -> None:
    settings = settings_for(db_url=db_url, api_url=emulator.api_url)
    as_app_token = replace(settings, slack_app_token=emulator.bot_token, slack_signing_secret="")
    line = await refused_at_start(as_app_token, socket_mode=True)
    assert "refused the app-level token at apps.connections.open (not_allowed_token_type)" in line
    assert "SLACK_APP_TOKEN" in line
    assert emulator.socket_connections == 0


async def test_an_app_token_revoked_while_serving_stops_serve_with_one_line(
    db_url: str, emulator: SlackEmulator, tmp_path: Path
) -> None:
    server = Server(
        db_url=db_url,
        api_url=emulator.api_url,
        log=tmp_path / "s.log",
        env=socket_mode(emulator.app_token),
    )
    await server.start()
    await emulator.wait_socket_connected(timeout=30.0)
    await emulator.revoke_app_token()  # Slack drops the socket; the reconnection is refused
    try:
        assert await exit_status(server) == 1
    finally:
        await server.stop()
    opened = [c.ok for c in emulator.calls_to("apps.connections.open")]
    assert opened == [True, False]  # no retry loop against a refused token
    assert "Traceback" not in server.output()
    (line,) = problem_lines(server)
    assert "refused the app-level token at apps.connections.open (token_revoked)" in line


async def test_serve_on_port_0_listens_on_a_free_port_and_names_it(
    db_url: str, emulator: SlackEmulator, tmp_path: Path
) -> None:
    """`--port 0` is any free port, not $PORT (here one another process holds)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = Server(db_url=db_url, api_url=emulator.api_url, log=tmp_path / "s.log")
        server.env["PORT"] = str(taken.getsockname()[1])
        server.command = (*server.command, "--port", "0")
        server.spawn()
        try:
            await wait_for(lambda: "bridgekeeper listening on" in server.output())
            listening = re.search(r"listening on http://127\.0\.0\.1:(\d+)", server.output())
            assert listening, server.output()
            port = int(listening[1])
            assert port not in (0, taken.getsockname()[1])
            await wait_for_status(f"http://127.0.0.1:{port}/healthz", 200)
        finally:
            await server.stop()


async def test_slack_down_at_start_is_alive_not_ready_then_ready_once_back(
    db_url: str, emulator: SlackEmulator, tmp_path: Path
) -> None:
    emulator.outage(503)
    server = Server(db_url=db_url, api_url=emulator.api_url, log=tmp_path / "s.log")
    try:
        await server.start()  # /healthz answers while Slack does not
        await wait_for(lambda: len(emulator.calls_to("auth.test")) >= 2)  # it keeps trying
        body = await wait_for_status(f"{server.url}/readyz", 503)
        assert body["failing"] == ["slack"]
        assert body["checks"]["database"] == "ok" and body["checks"]["schema"] == "ok"
        assert "cannot be reached" in body["checks"]["slack"]
        emulator.recover()
        body = await wait_for_status(f"{server.url}/readyz", 200)
        assert body["checks"] == {"database": "ok", "schema": "ok", "slack": "ok", "worker": "ok"}
        assert (await probe(f"{server.url}/healthz"))[0] == 200
    finally:
        await server.stop()
    assert server.process is not None and server.process.returncode == 0
    assert "Traceback" not in server.output()
    compiled = f"bridgekeeper compiled {len(slack_messages())} Slack messages"
    assert compiled in server.output().split("bridgekeeper ready")[0]  # before the first answer


async def test_a_worker_needs_no_signing_secret_and_answers_on_its_health_port(
    db_url: str, emulator: SlackEmulator, tmp_path: Path
) -> None:
    """Its health port serves its /metrics too: it counts Slack calls and scheduled jobs of its
    own, and every replica is scraped (README, Monitoring)."""
    worker = Worker(
        db_url=db_url,
        api_url=emulator.api_url,
        log=tmp_path / "w.log",
        env={"SLACK_SIGNING_SECRET": ""},
    )
    worker.env["WORKER_HEALTH_PORT"] = str(worker.port)
    try:
        await worker.start()
        body = await wait_for_status(f"{worker.url}/readyz", 200)
        assert body["checks"] == {"database": "ok", "schema": "ok", "slack": "ok", "worker": "ok"}
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{worker.url}/metrics") as response,
        ):
            assert response.status == 200
            assert "bridgekeeper_event_loop_lag_seconds" in await response.text()
    finally:
        await worker.stop()
    assert "worker running" in worker.output()


async def test_a_worker_with_a_refused_token_stops_with_one_line(
    db_url: str, emulator: SlackEmulator, tmp_path: Path
) -> None:
    worker = Worker(
        db_url=db_url,
        api_url=emulator.api_url,
        log=tmp_path / "w.log",
        env={"SLACK_BOT_TOKEN": "xoxb-wrong", "SLACK_SIGNING_SECRET": ""},
    )
    assert "Slack refused the bot token (invalid_auth)" in await stopped_with_one_line(worker)


class TcpProxy:
    """A TCP forwarder to the database that can be cut (every connection closed, new ones
    refused) and restored on the same port."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def down(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.close()
        self.writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers |= {writer, up_writer}
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


@pytest.mark.skipif(not PG_URL, reason="a database that can go away: PostgreSQL")
async def test_a_database_outage_keeps_healthz_and_fails_readyz(
    db_url: str, emulator: SlackEmulator, tmp_path: Path
) -> None:
    url = make_url(db_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.up()
    through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    server = Server(db_url=through, api_url=emulator.api_url, log=tmp_path / "s.log")
    try:
        await server.start()
        await wait_for_status(f"{server.url}/readyz", 200)
        await proxy.down()
        body = await wait_for_status(f"{server.url}/readyz", 503)
        assert "database" in body["failing"] and body["checks"]["slack"] == "ok"
        assert (await probe(f"{server.url}/healthz")) == (200, {"status": "ok"})
        await proxy.up()
        await wait_for_status(f"{server.url}/readyz", 200)
    finally:
        await server.stop()
        await proxy.down()


def test_version_is_the_installed_package_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bridgekeeper", "--version"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.strip() == f"bridgekeeper {version('bridgekeeper')}"
