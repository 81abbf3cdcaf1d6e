"""The Acknowledge button of a page's direct message. Whoever presses it goes through the same
access check as a command (services/paging.py); the answer is shown to them alone."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck

from bridgekeeper.domain.text import is_digits
from bridgekeeper.errors import CommandRefused
from bridgekeeper.services.paging import Paging
from bridgekeeper.services.runner import CommandRunner, Reply
from bridgekeeper.slack.acking import AckFirst
from bridgekeeper.slack.blocks import ephemeral
from bridgekeeper.slack.gateway import SlackGateway

ACTION_ID = "page_ack"


class PageActions:
    def __init__(self, *, paging: Paging, runner: CommandRunner, gateway: SlackGateway) -> None:
        self.paging = paging
        self.runner = runner
        self.gateway = gateway

    def register(self, app: AckFirst) -> None:
        app.action(ACTION_ID)(self.acknowledge)

    async def acknowledge(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        value = str(((body.get("actions") or [{}])[0]).get("value", ""))
        user = str((body.get("user") or {}).get("id", ""))
        if not is_digits(value) or not user:
            return
        try:
            reply = await self.paging.acknowledge(page_id=int(value), user=user)
        except CommandRefused as refused:
            reply = Reply(refused.template, refused.context)
        if body.get("response_url"):
            markup = self.runner.render(reply)
            await self.gateway.respond(
                str(body["response_url"]), ephemeral(markup, leave_original=True)
            )
