"""`bridgekeeper demo`: a scripted incident on the built-in Slack emulator, printed as a transcript.

Everything is real except Slack: the aiohttp server, signed requests, the alert webhook, a
temporary SQLite database, the outbox worker. The transcript shows what Slack users would have
seen. The demo runs on a clock it moves by hand, so the incident's durations are realistic.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import aiohttp

from bridgekeeper.app import Bridgekeeper
from bridgekeeper.clock import FrozenClock
from bridgekeeper.config import load_settings
from bridgekeeper.demo_scenes import play
from bridgekeeper.demo_transcript import Transcript
from bridgekeeper.errors import BridgekeeperError
from bridgekeeper.sandbox import SlackDriver, SlackEmulator
from bridgekeeper.sandbox.driver import Reply
from bridgekeeper.sandbox.loopback import serve

SIGNING_SECRET = "demo-signing-secret"
ALERT_TOKEN = "demo-alert-token"
DEMO_USERS = {"U0ALICE": "alice", "U0BOB": "bob", "U0CAROL": "carol"}
ALERT_RECEIVED = datetime(2025, 11, 14, 10, 3, 41, tzinfo=UTC)  # the demo clock's start
SLACK_PACE = 60.0  # the emulator enforces no rate limits: call it at a Slack minute a second


class Demo:
    def __init__(
        self,
        bk: Bridgekeeper,
        slack: SlackEmulator,
        driver: SlackDriver,
        transcript: Transcript,
        *,
        clock: FrozenClock,
        url: str,
    ) -> None:
        self.bk = bk
        self.slack = slack
        self.driver = driver
        self.transcript = transcript
        self.clock = clock
        self.url = url

    def later(self, minutes: float) -> None:
        """Time passes between two steps, as it would in a real incident."""
        self.clock.advance(minutes=minutes)
        self.transcript.say(f"\n({_minutes(minutes)} later, {self.clock.now():%H:%M} UTC)")

    async def command(self, text: str, *, user: str, channel: str) -> None:
        self.transcript.user_typed(user, channel, f"/incident {text}")
        reply = await self.driver.command(text, user=user, channel=channel)
        self.transcript.reply(reply.body)
        await self.respond(reply)

    async def click(self, user: str, channel: str, ts: str, action_id: str) -> None:
        """A real block_action: the user clicks a button on a message."""
        [message] = [m for m in self.slack.messages(channel) if m.ts == ts]
        buttons = [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
        [button] = [e for e in buttons if e["action_id"] == action_id]
        label = button["text"]["text"]
        self.transcript.user_did(user, f"clicks [{label}] on the card in #{self._name(channel)}")
        reply = await self.driver.block_action(
            user=user,
            action_id=action_id,
            value=button.get("value", ""),
            channel=channel,
            message_ts=ts,
        )
        await self.respond(reply)

    async def submit(self, user: str, callback_id: str, values: dict[str, Any]) -> None:
        views = self.slack.views.items()
        [view_id] = [v for v, view in views if view.view.get("callback_id") == callback_id]
        title = self.slack.views[view_id].view.get("title", {}).get("text", "the form")
        self.transcript.user_did(user, f"fills in the form “{title}” and submits it")
        await self.driver.view_submission(user=user, view_id=view_id, values=values)
        await self.settle()

    async def respond(self, reply: Reply) -> None:
        await self.settle()
        for post in self.slack.response_posts:
            if post.url == reply.response_url:
                self.transcript.reply(post.body)

    async def settle(self) -> None:
        """Wait for the request's work after its ack, then deliver its Slack effects."""
        await self.bk.runner.wait_idle()
        while await self.bk.worker.deliver_due():
            pass
        self.transcript.show_changes()

    async def webhook(self, source: str, payload: dict[str, Any], sender: str) -> None:
        """The monitoring tool posts its alert to bridgekeeper's alert endpoint."""
        url = f"{self.url}/alerts/{source}"
        self.transcript.say(f"\n> {sender} sends an alert: POST {url} (with the alert token)")
        headers = {"Authorization": f"Bearer {ALERT_TOKEN}"}
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                url,
                data=json.dumps(payload),
                headers={**headers, "Content-Type": "application/json"},
            ) as response,
        ):
            self.transcript.say(f"  bridgekeeper answers HTTP {response.status}")
        await self.settle()

    def channel(self, prefix: str) -> str:
        for channel in self.slack.channels.values():
            if channel.name.startswith(prefix):
                return channel.id
        raise LookupError(prefix)

    def last_message(self, channel: str) -> str:
        return self.slack.messages(channel)[-1].ts

    def _name(self, channel: str) -> str:
        return self.slack.channels[channel].name


def _minutes(minutes: float) -> str:
    hours, rest = divmod(int(minutes), 60)
    if not hours:
        return f"{rest} minutes"
    return f"{hours} h {rest:02d} min" if rest else f"{hours} h"


async def run_demo(*, output_dir: str | None = None, out: TextIO = sys.stdout) -> int:
    folder = _report_folder(output_dir)
    with tempfile.TemporaryDirectory(prefix="bridgekeeper-demo-") as tmp:
        return await _run_in(folder, Path(tmp) / "demo.db", out)


def _report_folder(output_dir: str | None) -> Path:
    """The database goes with the run; the report stays where the transcript says it is. A
    folder the report cannot be written to is said at once, not after the whole scenario."""
    folder = Path(output_dir or tempfile.mkdtemp(prefix="bridgekeeper-demo-report-"))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise BridgekeeperError(
            f"--output-dir {folder}: the report cannot be written there ({reason})"
        ) from None
    return folder


async def _run_in(folder: Path, db_path: Path, out: TextIO) -> int:
    for name in ("", "alembic", "aiohttp.access"):
        logging.getLogger(name).setLevel(logging.WARNING)
    clock = FrozenClock(ALERT_RECEIVED)
    slack = SlackEmulator(clock=lambda: clock.now().timestamp())  # message times follow the clock
    slack.add_people(DEMO_USERS)
    triage = slack.add_channel("alert-triage", members=["UBOT", *DEMO_USERS])
    stakeholders = slack.add_channel("stakeholders", members=list(DEMO_USERS))
    await slack.start()
    settings = replace(
        load_settings(
            {"DATABASE_URL": f"sqlite:///{db_path}", "BRIDGEKEEPER_ALERT_TOKEN": ALERT_TOKEN}
        ),
        slack_bot_token=slack.bot_token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        stakeholder_channel=stakeholders,
        triage_channel=triage,
    )
    bk = Bridgekeeper(settings, clock=clock)
    bk.gateway.limiter.scale = SLACK_PACE
    await bk.prepare_database()
    runner, url = await serve(bk.web_app())
    driver = SlackDriver(slack, f"{url}/slack/events", SIGNING_SECRET)
    demo = Demo(bk, slack, driver, Transcript(slack, out), clock=clock, url=url)
    try:
        await play(demo, triage=triage, folder=folder)
    finally:
        await runner.cleanup()
        await bk.stop()
        await slack.stop()
    return 0
