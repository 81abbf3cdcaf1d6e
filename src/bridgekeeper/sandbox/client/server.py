"""`bridgekeeper sandbox`: bridgekeeper on its built-in Slack emulator, with a web client.

Three servers on loopback: the Slack emulator, bridgekeeper itself (with its outbox worker) on
a temporary SQLite database, and the web client (routes.py) that shows the emulator's state and
plays Slack's side through the driver. Only the web client's address is printed.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

from aiohttp import web

from bridgekeeper.app import Bridgekeeper
from bridgekeeper.config import Settings, load_settings
from bridgekeeper.sandbox.client import sns
from bridgekeeper.sandbox.client.sns import SnsSigner
from bridgekeeper.sandbox.client.templates import line
from bridgekeeper.sandbox.driver import SlackDriver
from bridgekeeper.sandbox.emulator import SlackEmulator

SIGNING_SECRET = "sandbox-signing-secret"
ALERT_TOKEN = "sandbox-alert-token"
PEOPLE = {"U0ALICE": "alice", "U0BOB": "bob", "U0CAROL": "carol", "U0DAVE": "dave"}
MANAGERS_GROUP = "S0MANAGERS"  # carol is the incident manager
SLACK_PACE = 60.0  # the emulator enforces no rate limits: call it at a Slack minute a second
QUIET_LOGGERS = ("", "alembic", "aiohttp.access", "bridgekeeper", "slack_bolt")


@dataclass
class Sandbox:
    """A running sandbox: everything the web client reads and drives."""

    bk: Bridgekeeper
    slack: SlackEmulator
    driver: SlackDriver
    bot_url: str
    triage: str
    stakeholders: str
    url: str = ""
    alert_token: str = ALERT_TOKEN
    sns: SnsSigner = field(default_factory=SnsSigner)
    closing: asyncio.Event = field(default_factory=asyncio.Event)  # polls answer at once
    _runners: list[web.AppRunner] = field(default_factory=list)
    _folder: tempfile.TemporaryDirectory[str] | None = None

    async def stop(self) -> None:
        self.closing.set()
        for runner in reversed(self._runners):
            await runner.cleanup()
        await self.bk.stop()
        await self.slack.stop()
        if self._folder is not None:
            self._folder.cleanup()


async def start_sandbox(*, host: str = "127.0.0.1", port: int = 0) -> Sandbox:
    """Start the emulator, bridgekeeper and the web client; the client's URL is `sandbox.url`."""
    folder = tempfile.TemporaryDirectory(prefix="bridgekeeper-sandbox-")
    slack = SlackEmulator()
    slack.add_people(PEOPLE)
    slack.add_usergroup(MANAGERS_GROUP, "incident-managers", ["U0CAROL"])
    triage = slack.add_channel("alert-triage", members=["UBOT", *PEOPLE])
    stakeholders = slack.add_channel("stakeholders", members=["UBOT", *PEOPLE])
    await slack.start()
    bk = Bridgekeeper(_settings(slack, Path(folder.name) / "sandbox.db", triage, stakeholders))
    bk.gateway.limiter.scale = SLACK_PACE
    await bk.prepare_database()
    bot = await _serve(bk.web_app(), "127.0.0.1", 0)
    bot_url = _url(bot)
    bk.start_worker()
    driver = SlackDriver(slack, f"{bot_url}/slack/events", SIGNING_SECRET)
    slack.add_event_listener(driver.event)  # Slack's follow-on events reach the bot
    sandbox = Sandbox(bk, slack, driver, bot_url, triage, stakeholders, _folder=folder)
    sandbox._runners.append(bot)
    from bridgekeeper.sandbox.client.routes import client_app

    try:
        client = await _serve(client_app(sandbox), host, port)
    except BaseException:
        await sandbox.stop()
        raise
    sandbox._runners.append(client)
    sandbox.url = _url(client)
    return sandbox


def _settings(slack: SlackEmulator, db_path: Path, triage: str, stakeholders: str) -> Settings:
    settings = load_settings(
        {"DATABASE_URL": f"sqlite:///{db_path}", "BRIDGEKEEPER_ALERT_TOKEN": ALERT_TOKEN}
    )
    process = replace(settings.process, incident_managers_group=MANAGERS_GROUP)
    alerts = replace(settings.alerts, sns_topics=(sns.TOPIC,), sns_url_pattern=sns.URL_PATTERN)
    return replace(
        settings,
        slack_bot_token=slack.bot_token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        triage_channel=triage,
        stakeholder_channel=stakeholders,
        process=process,
        alerts=alerts,
    )


async def _serve(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


def _url(runner: web.AppRunner) -> str:
    host, port = runner.addresses[0][:2]
    return f"http://{host}:{port}"


async def run_sandbox(*, host: str = "127.0.0.1", port: int = 0, out: TextIO) -> int:
    """The CLI command: start, print the URL, serve until SIGINT or SIGTERM, stop cleanly."""
    from bridgekeeper.startup import stop_on_signal

    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    stop = stop_on_signal()
    try:
        sandbox = await start_sandbox(host=host, port=port)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        print(line("port_taken.txt.j2", host=host, port=port, reason=reason), file=sys.stderr)
        return 1
    try:
        print(line("started.txt.j2", url=sandbox.url), file=out, flush=True)
        await stop.wait()
    finally:
        await asyncio.shield(sandbox.stop())
    print(line("stopped.txt.j2"), file=out, flush=True)
    return 0
