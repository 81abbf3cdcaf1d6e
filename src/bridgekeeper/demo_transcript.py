"""The demo's transcript: what changed in the Slack emulator, as Slack users would have seen it.

People and channels are shown by name (@alice, #inc-1-…), looked up in the emulator's state.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TextIO

from bridgekeeper.sandbox import SlackEmulator
from bridgekeeper.sandbox.state import Message


class Transcript:
    """Prints what changed in the emulator since the last look, as a Slack user would see it."""

    def __init__(self, slack: SlackEmulator, out: TextIO) -> None:
        self.slack = slack
        self.out = out
        self.seen_calls = 0
        self.last_text: dict[tuple[str, str], list[str]] = {}

    def say(self, text: str) -> None:
        print(text, file=self.out)

    def user_did(self, user: str, what: str) -> None:
        self.say(f"\n> {self.user(user)} {what}")

    def user_typed(self, user: str, channel: str, text: str) -> None:
        self.user_did(user, f"in {self.channel(channel)}: {self.readable(text)}")

    def reply(self, body: object) -> None:
        if isinstance(body, dict) and (body.get("text") or body.get("blocks")):
            self.say(_indent("(only you) " + self.message_text(body), "  "))

    def show_changes(self) -> None:
        calls = self.slack.calls[self.seen_calls :]
        self.seen_calls = len(self.slack.calls)
        for call in calls:
            line = self._describe(call.method, call.args, call.ok)
            if line:  # nothing to show for an edit that changed nothing visible
                self.say(line)

    # names ---------------------------------------------------------------------------------------

    def user(self, user_id: str) -> str:
        known = self.slack.users.get(user_id)
        return f"@{known.name if known else user_id}"

    def channel(self, channel_id: str) -> str:
        channel = self.slack.channels.get(channel_id)
        if channel is None and channel_id.startswith(("U", "W")):
            return f"direct message to {self.user(channel_id)}"
        if channel is None:
            return channel_id
        if channel.is_im:
            member = next(iter(channel.members - {self.slack.bot_user_id}), channel_id)
            return f"direct message to {self.user(member)}"
        return f"#{channel.name}"

    def readable(self, mrkdwn: str) -> str:
        """What Slack would display: mentions as @name and #channel, entities decoded."""
        text = re.sub(r"<@([A-Z0-9]+)(?:\|[^>]*)?>", lambda m: self.user(m[1]), mrkdwn)
        text = re.sub(r"<#([A-Z0-9]+)(?:\|[^>]*)?>", lambda m: self.channel(m[1]), text)
        return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    def message_text(self, message: dict[str, Any] | Message) -> str:
        blocks = message.blocks if isinstance(message, Message) else message.get("blocks") or []
        text = message.text if isinstance(message, Message) else message.get("text", "")
        lines = [_block_text(b) for b in blocks] if blocks else [str(text)]
        return self.readable("\n".join(line for line in lines if line))

    # what each Slack call looks like -------------------------------------------------------------

    def _describe(self, method: str, args: dict[str, Any], ok: bool) -> str | None:
        if not ok:
            return None
        channel = self.channel(str(args.get("channel") or args.get("channel_id") or ""))
        described: dict[str, Callable[[], str]] = {
            "conversations.create": lambda: f"  [Slack] channel #{args.get('name')} created",
            "conversations.invite": lambda: f"  [Slack] {self._invited(args)} invited to {channel}",
            "conversations.setTopic": lambda: f"  [Slack] {channel} topic: {args.get('topic')}",
            "pins.add": lambda: f"  [Slack] message pinned in {channel}",
            "chat.postMessage": lambda: (
                f"  {channel} · bridgekeeper:\n" + _indent(self.message_text(args), "    ")
            ),
            "chat.update": lambda: self._edited(channel, args),
            "chat.postEphemeral": lambda: (
                f"  {channel} · (only {self.user(str(args.get('user')))}):\n"
                + _indent(self.message_text(args), "    ")
            ),
            "views.open": lambda: "  [Slack] a form opens",
            "files.completeUploadExternal": lambda: f"  [Slack] a file is shared in {channel}",
            "conversations.archive": lambda: f"  [Slack] {channel} is archived",
        }
        make = described.get(method)
        return make() if make else None

    def _invited(self, args: dict[str, Any]) -> str:
        return " ".join(self.user(u) for u in str(args.get("users", "")).split(",") if u)

    def _edited(self, channel: str, args: dict[str, Any]) -> str:  # "" when nothing changed
        """Only the lines of an edited message that changed, so the transcript stays short."""
        key = (channel, str(args.get("ts")))
        lines = self.message_text(args).splitlines()
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
                return self.message_text({"text": text, "blocks": blocks}).splitlines()
        return []


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
