"""`bridgekeeper demo`: a scripted incident on the built-in Slack emulator, printed as a transcript.

Everything is real except Slack: the aiohttp server, signed requests, a temporary SQLite database,
the outbox worker. The transcript shows what Slack users would have seen.
"""

from __future__ import annotations

import logging
import re
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from aiohttp import web

from bridgekeeper.app import Bridgekeeper
from bridgekeeper.config import load_settings
from bridgekeeper.sandbox import SlackDriver, SlackEmulator
from bridgekeeper.sandbox.state import Message

SIGNING_SECRET = "demo-signing-secret"
DEMO_USERS = {"U0ALICE": "alice", "U0BOB": "bob", "U0CAROL": "carol"}


class Transcript:
    """Prints what changed in the emulator since the last look, as a Slack user would see it."""

    def __init__(self, slack: SlackEmulator, out: TextIO) -> None:
        self.slack = slack
        self.out = out
        self.seen_calls = 0
        self.last_text: dict[tuple[str, str], list[str]] = {}

    def say(self, text: str) -> None:
        print(text, file=self.out)

    def user_typed(self, user: str, channel: str, text: str) -> None:
        self.say(f"\n> {DEMO_USERS.get(user, user)} in {self._name(channel)}: {text}")

    def reply(self, body: object) -> None:
        if isinstance(body, dict) and (body.get("text") or body.get("blocks")):
            self.say(_indent("(only you) " + _message_text(body), "  "))

    def show_changes(self) -> None:
        calls = self.slack.calls[self.seen_calls :]
        self.seen_calls = len(self.slack.calls)
        for call in calls:
            line = self._describe(call.method, call.args, call.ok)
            if line:  # nothing to show for an edit that changed nothing visible
                self.say(line)

    def _describe(self, method: str, args: dict[str, Any], ok: bool) -> str | None:
        if not ok:
            return None
        channel = self._name(str(args.get("channel") or args.get("channel_id") or ""))
        described: dict[str, Callable[[], str]] = {
            "conversations.create": lambda: f"  [Slack] channel #{args.get('name')} created",
            "conversations.invite": lambda: (
                f"  [Slack] {_readable(_mentions(args))} invited to {channel}"
            ),
            "conversations.setTopic": lambda: f"  [Slack] {channel} topic: {args.get('topic')}",
            "pins.add": lambda: f"  [Slack] message pinned in {channel}",
            "chat.postMessage": lambda: (
                f"  {channel} · bridgekeeper:\n" + _indent(_message_text(args), "    ")
            ),
            "chat.update": lambda: self._edited(channel, args),
            "chat.postEphemeral": lambda: (
                f"  {channel} · (only {args.get('user')}):\n" + _indent(_message_text(args), "    ")
            ),
            "views.open": lambda: "  [Slack] a form opens",
            "files.completeUploadExternal": lambda: f"  [Slack] a file is shared in {channel}",
            "conversations.archive": lambda: f"  [Slack] {channel} is archived",
        }
        make = described.get(method)
        return make() if make else None

    def _edited(self, channel: str, args: dict[str, Any]) -> str:  # "" when nothing changed
        """Only the lines of an edited message that changed, so the transcript stays short."""
        key = (channel, str(args.get("ts")))
        lines = _message_text(args).splitlines()
        before = set(self.last_text.get(key) or self._original_lines(args))
        self.last_text[key] = lines
        changed = [line for line in lines if line not in before]
        if not changed:
            return ""
        return f"  {channel} · bridgekeeper updated its message:\n" + _indent(
            "\n".join(changed), "    "
        )

    def _original_lines(self, args: dict[str, Any]) -> list[str]:
        for message in self.slack.messages(str(args.get("channel"))):
            if message.ts == args.get("ts") and message.original:
                text, blocks = message.original
                return _message_text({"text": text, "blocks": blocks}).splitlines()
        return []

    def _name(self, channel_id: str) -> str:
        channel = self.slack.channels.get(channel_id)
        if channel is None and channel_id.startswith(("U", "W")):
            return f"direct message to @{DEMO_USERS.get(channel_id, channel_id)}"
        if channel is None:
            return channel_id
        if getattr(channel, "is_im", False):
            member = next(iter(channel.members - {"UBOT"}), channel_id)
            return f"direct message to @{DEMO_USERS.get(member, member)}"
        return f"#{channel.name}"


def _message_text(message: dict[str, Any] | Message) -> str:
    blocks = message.blocks if isinstance(message, Message) else message.get("blocks") or []
    text = message.text if isinstance(message, Message) else message.get("text", "")
    lines = [_block_text(b) for b in blocks] if blocks else [str(text)]
    return _readable("\n".join(line for line in lines if line))


def _readable(mrkdwn: str) -> str:
    """What Slack would display: mentions as @name, entities decoded."""
    text = re.sub(r"<@([A-Z0-9]+)(?:\|[^>]*)?>", lambda m: "@" + DEMO_USERS.get(m[1], m[1]), mrkdwn)
    text = re.sub(r"<#([A-Z0-9]+)(?:\|([^>]*))?>", lambda m: "#" + (m[2] or m[1]), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _mentions(args: dict[str, Any]) -> str:
    return " ".join(f"<@{u}>" for u in str(args.get("users", "")).split(",") if u)


def _block_text(block: dict[str, Any]) -> str:
    kind = block.get("type")
    if kind in ("header", "section"):
        return str(block.get("text", {}).get("text", ""))
    if kind == "context":
        return " ".join(str(e.get("text", "")) for e in block.get("elements", []))
    if kind == "actions":
        return " ".join(f"[{e.get('text', {}).get('text', '')}]" for e in block["elements"])
    if kind == "divider":
        return "—" * 20
    return ""


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines())


class Demo:
    def __init__(
        self, bk: Bridgekeeper, slack: SlackEmulator, driver: SlackDriver, transcript: Transcript
    ) -> None:
        self.bk = bk
        self.slack = slack
        self.driver = driver
        self.transcript = transcript

    async def command(self, text: str, *, user: str, channel: str) -> None:
        self.transcript.user_typed(user, channel, f"/incident {text}")
        reply = await self.driver.command(text, user=user, channel=channel)
        self.transcript.reply(reply.body)
        await self.settle()
        for post in self.slack.response_posts:
            if post.url == reply.response_url:
                self.transcript.reply(post.body)

    async def settle(self) -> None:
        """Wait for the command's work after its ack, then deliver its Slack effects."""
        await self.bk.runner.wait_idle()
        while await self.bk.worker.deliver_due():
            pass
        self.transcript.show_changes()

    def channel(self, prefix: str) -> str:
        for channel in self.slack.channels.values():
            if channel.name.startswith(prefix):
                return channel.id
        raise LookupError(prefix)


async def run_demo(*, output_dir: str | None = None, out: TextIO = sys.stdout) -> int:
    folder = _report_folder(output_dir)
    with tempfile.TemporaryDirectory(prefix="bridgekeeper-demo-") as tmp:
        return await _run_in(folder, Path(tmp) / "demo.db", out)


def _report_folder(output_dir: str | None) -> Path:
    """The database goes with the run; the report stays where the transcript says it is."""
    folder = Path(output_dir or tempfile.mkdtemp(prefix="bridgekeeper-demo-report-"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def _run_in(folder: Path, db_path: Path, out: TextIO) -> int:
    for name in ("", "alembic", "aiohttp.access"):
        logging.getLogger(name).setLevel(logging.WARNING)
    slack = SlackEmulator()
    slack.add_people(DEMO_USERS)
    general = slack.add_channel("general", members=list(DEMO_USERS))
    stakeholders = slack.add_channel("stakeholders", members=list(DEMO_USERS))
    await slack.start()
    settings = replace(
        load_settings({"DATABASE_URL": f"sqlite:///{db_path}"}),
        slack_bot_token=slack.bot_token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        stakeholder_channel=stakeholders,
    )
    bk = Bridgekeeper(settings)
    await bk.prepare_database()
    runner = web.AppRunner(bk.web_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    driver = SlackDriver(slack, f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET)
    demo = Demo(bk, slack, driver, Transcript(slack, out))
    try:
        await _script(demo, general=general, folder=folder)
    finally:
        await runner.cleanup()
        await bk.stop()
        await slack.stop()
    return 0


async def _script(demo: Demo, *, general: str, folder: Path) -> None:
    say = demo.transcript.say
    say("bridgekeeper demo: a scripted incident on a built-in Slack emulator.")
    say("Every request below is a signed HTTP request to bridgekeeper's real server.")
    steps: list[Callable[[], Awaitable[None]]] = [
        lambda: demo.command("help", user="U0ALICE", channel=general),
        lambda: demo.command(
            "declare Suspicious login on vm-web-01 sev2", user="U0ALICE", channel=general
        ),
        lambda: demo.command("declare", user="U0BOB", channel=general),
    ]
    for step in steps:
        await step()
    await _bridge_scene(demo)
    await _stakeholder_scene(demo)
    await _closing_scene(demo, folder)
    bridge = demo.slack.channels[demo.channel("inc-1")]
    say(f"\nDone. The incident's bridge channel is #{bridge.name}.")


async def _bridge_scene(demo: Demo) -> None:
    """The bridge team at work: roles, severity, stage, impact, notes, tasks, a pinned message."""
    bridge = demo.channel("inc-1")
    demo.transcript.say("\nThe bridge team works in the incident's channel:")
    for user, text in (
        ("U0ALICE", "role commander @alice"),
        ("U0ALICE", "role analyst <@U0BOB|bob>"),
        ("U0BOB", "stage assess 40 failed logons then a success from 203.0.113.7"),
        ("U0BOB", "impact c=high i=low a=none personal-data=yes"),
        ("U0CAROL", "severity sev1 attacker reached customer data"),
        ("U0ALICE", "severity sev1 attacker reached customer data"),
        ("U0BOB", "note the account was a service account without MFA"),
        ("U0ALICE", "task disable the service account <@U0BOB|bob>"),
        ("U0ALICE", "stage wizard"),
    ):
        await demo.command(text, user=user, channel=bridge)
    message = demo.slack.post_user_message(
        bridge, "U0BOB", "EDR shows svchost.exe from a temp path"
    )
    demo.transcript.say("\n> bob in the bridge channel: EDR shows svchost.exe from a temp path")
    demo.transcript.say("> alice reacts with :pushpin:")
    await demo.driver.reaction_added(user="U0ALICE", channel=bridge, ts=message.ts)
    await demo.settle()
    await demo.command("timeline", user="U0ALICE", channel=bridge)


async def _stakeholder_scene(demo: Demo) -> None:
    """Keeping stakeholders informed: a status update and a GDPR notification clock."""
    bridge = demo.channel("inc-1")
    demo.transcript.say("\nThe commander keeps stakeholders informed (#stakeholders):")
    for text in (
        "update The attacker's session is cut and the account disabled; we are checking "
        "which customer records were read. Next update within 30 minutes.",
        "notify gdpr",
    ):
        await demo.command(text, user="U0ALICE", channel=bridge)


async def _closing_scene(demo: Demo, folder: Path) -> None:
    """Closing: the gate, the close form, the report written to `folder`, the archive."""
    bridge = demo.channel("inc-1")
    demo.transcript.say("\nThe incident is over; the commander closes it:")
    for text in (
        "close Attacker locked out",
        "notify done gdpr",
        "stage stabilize service account disabled, sessions revoked",
        "task done 1",
        "close",
    ):
        await demo.command(text, user="U0ALICE", channel=bridge)
    [view_id] = [v for v, view in demo.slack.views.items()
                 if view.view.get("callback_id") == "incident_close"]  # fmt: skip
    demo.transcript.say("\n> alice fills in the close form and submits it")
    await demo.driver.view_submission(user="U0ALICE", view_id=view_id, values=_close_form())
    await demo.settle()
    demo.transcript.say("\nA day later the bridge channel is archived:")
    await demo.bk.closing.run_due_archives(demo.bk.clock.now() + timedelta(hours=24))
    await demo.settle()
    bodies = {}
    for fmt in ("md", "html", "json"):
        stored = await demo.bk.reports.stored(1, fmt)
        if stored is not None:
            bodies[f"incident-1-report-v{stored.version}.{fmt}"] = stored.body
    for path in _write(folder, bodies):
        demo.transcript.say(f"The incident report is in {path}")


def _write(folder: Path, files: dict[str, str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in files.items():
        (folder / name).write_text(body, encoding="utf-8")
    return [folder / name for name in files]


def _close_form() -> dict[str, dict[str, Any]]:
    def text(value: str) -> dict[str, Any]:
        return {"value": {"type": "plain_text_input", "value": value}}

    return {
        "summary": text("A password-sprayed service account without MFA was used to read "
                        "customer records; the account is disabled and its sessions revoked."),
        "root_cause": text("A service account exempt from MFA, with a weak password."),
        "went_well": text("The alert reached the bridge within ten minutes."),
        "to_improve": text("No account may be exempt from MFA."),
        "disposition": {"value": {"type": "static_select",
                                  "selected_option": {"value": "resolved"}}},
        "follow_up_1_owner": {"value": {"type": "users_select", "selected_user": "U0BOB"}},
        "follow_up_1_text": text("Review every MFA exemption"),
    }  # fmt: skip
