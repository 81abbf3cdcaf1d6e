"""The App Home tab: `app_home_opened` queues a fresh tab for whoever opened it; its Declare
button opens a small form whose submission is the same `Declare` command `/incident declare`
gives, applied by the same service.

Bolt acknowledges events before their listener runs; a redelivered event is skipped before it
gets here (slack/redelivery.py), and a second open only queues one more render of the same tab.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck

from bridgekeeper.domain import commands as c
from bridgekeeper.domain.incidents import Severity
from bridgekeeper.errors import CommandRefused, SlackError
from bridgekeeper.services.home import HomeTab
from bridgekeeper.services.runner import CommandRunner, Invocation
from bridgekeeper.slack.acking import AckFirst
from bridgekeeper.slack.gateway import SlackGateway
from bridgekeeper.slack.view_state import view_values

log = logging.getLogger(__name__)
FORM = "modals/declare_incident.json.j2"


class HomeActions:
    def __init__(self, *, home: HomeTab, runner: CommandRunner, gateway: SlackGateway) -> None:
        self.home = home
        self.runner = runner
        self.gateway = gateway

    def register(self, app: AckFirst) -> None:
        app.event("app_home_opened")(self.opened)
        app.action("home_declare")(self.open_form)
        app.view("home_declare")(self.submit)

    async def opened(self, event: dict[str, Any]) -> None:
        if event.get("tab") != "home" or not event.get("user"):
            return  # the Messages tab: nothing to show
        await self.home.opened(user=str(event["user"]))

    async def open_form(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        default = self.runner.settings.process.default_severity.label
        form = self.runner.renderer.text(FORM, default_severity=default, **self.runner.common())
        try:
            await self.gateway.open_view(str(body.get("trigger_id")), json.loads(form))
        except SlackError as exc:
            log.warning("could not open the declare form: %s", exc)

    async def submit(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        values = view_values(body)
        title = values.get("title", "").strip()
        if not title:
            text = self.runner.renderer.text("modals/problems.txt.j2", problem="title_missing")
            await ack(response_action="errors", errors={"title": text.strip()})
            return
        await ack()
        severity = values.get("severity", "")
        command = c.Declare(
            title=title,
            severity=Severity(severity) if severity in {s.value for s in Severity} else None,
            private=values.get("visibility") == "private",
        )
        user = str((body.get("user") or {}).get("id", ""))
        await self._declare(command, user)
        await self.home.opened(user=user)  # the new incident shows on their tab

    async def _declare(self, command: c.Declare, user: str) -> None:
        try:
            await self.runner.run(command, Invocation(user=user, channel="", from_card=True))
        except CommandRefused as refused:
            log.info("declaring from the home tab refused: %s", refused.template)
        except Exception:
            log.exception("declaring from the home tab failed")
