"""Bolt listeners: ack at once, parse at the edge, hand a typed command to the services.

Listeners receive what they need by argument name (Bolt's injection). Words come from messages/.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_bolt.async_app import AsyncAck

from bridgekeeper.domain import commands
from bridgekeeper.domain.command_parsing import parse
from bridgekeeper.domain.text import clean
from bridgekeeper.errors import CommandRefused
from bridgekeeper.services.incidents import IncidentService
from bridgekeeper.services.pins import Pins
from bridgekeeper.services.runner import CommandRunner, Invocation, Reply
from bridgekeeper.slack.acking import AckFirst
from bridgekeeper.slack.blocks import ephemeral
from bridgekeeper.slack.gateway import SlackGateway

log = logging.getLogger(__name__)


class SlackListeners:
    def __init__(
        self, *, runner: CommandRunner, gateway: SlackGateway, incidents: IncidentService
    ) -> None:
        self.runner = runner
        self.gateway = gateway
        self.incidents = incidents
        self.pins = Pins(incidents)

    def register(self, app: AckFirst) -> None:
        app.command("/incident")(self.incident_command)
        app.event("reaction_added")(self.reaction_added)
        app.shortcut("add_to_timeline")(self.add_to_timeline)
        app.event("member_joined_channel")(self.member_joined)
        app.event("member_left_channel")(self.member_left)
        app.event("pin_added")(_ignore)
        app.event({"type": "message", "subtype": "message_changed"})(self.message_changed)
        app.event("message")(_ignore)  # the rest of a channel's messages: nothing to do

    async def member_joined(self, event: dict[str, Any]) -> None:
        """Whoever joins a bridge channel is a member of its incident (and leaves with it)."""
        access = self.incidents.access
        await access.joined(channel=str(event.get("channel")), user=str(event.get("user")))

    async def member_left(self, event: dict[str, Any]) -> None:
        access = self.incidents.access
        await access.left(channel=str(event.get("channel")), user=str(event.get("user")))

    async def reaction_added(self, event: dict[str, Any]) -> None:
        item = event.get("item") or {}
        if event.get("reaction") != "pushpin" or item.get("type") != "message":
            return
        await self.pins.pin(
            channel=str(item.get("channel")),
            ts=str(item.get("ts")),
            pinned_by=str(event.get("user")),
        )

    async def message_changed(self, event: dict[str, Any]) -> None:
        """An edit of a message already on a timeline is a timeline entry of its own."""
        message = event.get("message")
        if not isinstance(message, dict):
            return
        await self.pins.edited(
            channel=str(event.get("channel")), message=message, event_ts=str(event.get("ts"))
        )

    async def add_to_timeline(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        channel = str((body.get("channel") or {}).get("id"))
        message = body.get("message") or {}
        user = str((body.get("user") or {}).get("id"))
        added = await self.pins.pin(
            channel=channel, ts=str(message.get("ts")), pinned_by=user, message=message
        )
        reply = Reply("slack/pinned.md.j2", {"added": added})
        if body.get("response_url"):
            await self.gateway.respond(str(body["response_url"]), self._ephemeral(reply))

    async def incident_command(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        text = unescape_slack(str(body.get("text") or ""))
        roles = self.runner.settings.process.roles
        outside = parse(text, roles=roles)
        inside = parse(text, roles=roles, in_bridge=True)
        valid = [p for p in (outside, inside) if not isinstance(p, commands.UsageError)]
        immediate = self.runner.immediate_reply(outside)
        if not valid or isinstance(outside, commands.Help):
            await ack(**self._ephemeral(immediate))
            return
        await ack(**self._ephemeral(self.runner.acknowledgement(valid[0])))
        parsed: commands.Command | commands.UsageError = outside
        if inside != outside and await self.incidents.is_bridge_channel(
            str(body.get("channel_id"))
        ):
            parsed = inside  # a number typed in a bridge channel is text, not an incident
        reply = self.runner.immediate_reply(parsed)
        if reply is None and not isinstance(parsed, commands.UsageError):
            reply = await self._run(parsed, body)
        if reply is not None and body.get("response_url"):
            await self.gateway.respond(str(body["response_url"]), self._ephemeral(reply))

    async def _run(self, parsed: commands.Command, body: dict[str, Any]) -> Reply | None:
        invocation = Invocation(
            user=str(body.get("user_id")),
            channel=str(body.get("channel_id")),
            trigger_id=body.get("trigger_id"),
            response_url=body.get("response_url"),
        )
        try:
            return await self.runner.run(parsed, invocation)
        except CommandRefused as refused:
            return Reply(refused.template, refused.context)
        except Exception:
            error_id = uuid.uuid4().hex[:8]
            log.exception("command failed (error id %s)", error_id)
            return Reply("slack/internal_error.md.j2", {"error_id": error_id})

    def _ephemeral(self, reply: Reply | None) -> dict[str, Any]:
        if reply is None:
            return {}
        return ephemeral(self.runner.render(reply))


async def _ignore() -> None:
    return None


def unescape_slack(text: str) -> str:
    """Slack sends `& < >` typed by users as entities; store what they typed, cleaned like all
    incoming text (domain/text.py: no control, bidi or stray zero-width characters)."""
    return clean(text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
