"""The "Post update" button (status card and reminders), its modal, and the reminders' snooze
buttons. Buttons carry the incident id as their value; the modal carries it in private_metadata.

A submission is applied before the ack, so a refusal (no permission to change the severity, a
closed incident) shows inline in the modal.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncAck

from bridgekeeper.domain.incidents import Severity, Stage
from bridgekeeper.domain.text import is_digits
from bridgekeeper.errors import CommandRefused, SlackError
from bridgekeeper.rendering import Renderer
from bridgekeeper.services.updates import Updates
from bridgekeeper.slack.acking import AckFirst
from bridgekeeper.slack.blocks import ephemeral, plain
from bridgekeeper.slack.gateway import SlackGateway
from bridgekeeper.slack.view_state import view_values

log = logging.getLogger(__name__)
SNOOZE = re.compile(r"^update_snooze_(\d{1,4})$")  # Bolt searches with it
TEXT_MAX = 3000


class UpdateActions:
    def __init__(
        self,
        *,
        updates: Updates,
        renderer: Renderer,
        gateway: SlackGateway,
    ) -> None:
        self.updates = updates
        self.renderer = renderer
        self.gateway = gateway

    def register(self, app: AckFirst) -> None:
        app.action("card_update")(self.open_modal)
        app.action(SNOOZE)(self.snooze)
        app.view("post_update")(self.submit)

    async def open_modal(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        incident_id = _button_value(body)
        if incident_id is None:
            return
        try:
            context = await self.updates.modal_context(incident_id, _user(body))
        except CommandRefused as refused:
            await self._tell(body, refused.template, {"command": "/incident", **refused.context})
            return
        view = json.loads(self.renderer.text("modals/post_update.json.j2", **context))
        try:
            await self.gateway.open_view(str(body.get("trigger_id")), view)
        except SlackError as exc:
            log.warning("could not open the post_update modal: %s", exc)

    async def submit(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        values = view_values(body)
        text = values.get("text", "").strip()
        if not text or len(text) > TEXT_MAX:
            await self._refuse(ack, "text", "text_missing" if not text else "text_too_long")
            return
        opened = _opened(str((body.get("view") or {}).get("private_metadata") or ""))
        if opened is None:
            await ack()
            return
        incident_id, shown_stage, shown_severity = opened
        stage, severity = _stage(values.get("stage")), _severity(values.get("severity"))
        try:
            await self.updates.post_from_modal(
                incident_id=incident_id,
                user=_user(body),
                text=text,
                stage=stage if stage != shown_stage else None,
                severity=severity if severity != shown_severity else None,
                next_in=_minutes(values.get("next")),
            )
        except CommandRefused as refused:
            context = {"command": "/incident", **refused.context}
            markup = self.renderer.slack(refused.template, **context)
            await ack(response_action="errors", errors={"text": plain(markup)[:2000]})
            return
        await ack()

    async def snooze(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        action = (body.get("actions") or [{}])[0]
        match = SNOOZE.fullmatch(str(action.get("action_id", "")))
        incident_id = _button_value(body)
        if match is None or incident_id is None:
            return
        minutes = int(match[1])
        try:
            until = await self.updates.snooze(
                incident_id=incident_id, minutes=minutes, user=_user(body)
            )
        except CommandRefused as refused:
            await self._tell(body, refused.template, {"command": "/incident", **refused.context})
            return
        await self._tell(body, "slack/update_snoozed.md.j2", {"until": until, "minutes": minutes})

    async def _tell(self, body: dict[str, Any], template: str, context: dict[str, Any]) -> None:
        """An ephemeral answer to whoever clicked, through the action's response_url."""
        if not body.get("response_url"):
            return
        markup = self.renderer.slack(template, **context)
        await self.gateway.respond(
            str(body["response_url"]), ephemeral(markup, leave_original=True)
        )

    async def _refuse(self, ack: AsyncAck, block: str, problem: str) -> None:
        text = self.renderer.text("slack/update_problem.txt.j2", problem=problem).strip()
        await ack(response_action="errors", errors={block: text})


def _user(body: dict[str, Any]) -> str:
    return str((body.get("user") or {}).get("id", ""))


def _button_value(body: dict[str, Any]) -> int | None:
    value = str(((body.get("actions") or [{}])[0]).get("value") or "")
    return int(value) if is_digits(value) else None


def _opened(metadata: str) -> tuple[int, str | None, str | None] | None:
    """The form's incident, and the stage and severity it showed: left as shown, they change
    nothing, though someone changed them while the form was open. (A form opened before
    they were kept names its incident alone.)"""
    incident, *shown = metadata.split(" ")
    if not is_digits(incident) or len(shown) not in (0, 2):
        return None
    stage, severity = shown or (None, None)
    return int(incident), stage, severity


def _stage(value: str | None) -> Stage | None:
    return Stage(value) if value in {s.value for s in Stage if s != Stage.CLOSED} else None


def _severity(value: str | None) -> Severity | None:
    return Severity(value) if value in {s.value for s in Severity} else None


def _minutes(value: str | None) -> timedelta | None:
    return timedelta(minutes=int(value)) if value and is_digits(value) else None
