"""The status card's buttons: each opens a modal; a submission becomes the same typed command a
slash command would give, so the rules (permissions, reasons, the timeline) are the same.

A submission is applied before the ack (a single short transaction), so a refusal (no
permission, a closed incident) shows inline in the modal instead of vanishing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from slack_bolt.async_app import AsyncAck

from bridgekeeper.domain import commands as c
from bridgekeeper.domain.incidents import Severity, Stage
from bridgekeeper.domain.text import is_digits
from bridgekeeper.errors import CommandRefused, SlackError
from bridgekeeper.services.lifecycle import Lifecycle
from bridgekeeper.services.runner import CommandRunner, Invocation, Reply
from bridgekeeper.slack.acking import AckFirst
from bridgekeeper.slack.blocks import ephemeral, field_error
from bridgekeeper.slack.gateway import SlackGateway
from bridgekeeper.slack.view_state import view_values

log = logging.getLogger(__name__)
# Each button's form, and the action it leads to (the same check as the slash command's).
MODAL_ACTIONS = {
    "card_severity": "severity",
    "card_stage": "stage",
    "card_role": "role",
    "card_note": "note",
}
# Refusals about the person chosen: shown under the person picker, not the form's first field.
ABOUT_THE_PERSON = {"refused/unknown_user.md.j2": "user", "refused/same_role.md.j2": "user"}


class CardActions:
    def __init__(
        self, *, runner: CommandRunner, lifecycle: Lifecycle, gateway: SlackGateway
    ) -> None:
        self.runner = runner
        self.lifecycle = lifecycle
        self.gateway = gateway

    def register(self, app: AckFirst) -> None:
        for action in MODAL_ACTIONS:
            app.action(action)(self.open_modal)
        app.view("card_severity")(self.submit_severity)
        app.view("card_stage")(self.submit_stage)
        app.view("card_role")(self.submit_role)
        app.view("card_note")(self.submit_note)

    async def open_modal(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        action = (body.get("actions") or [{}])[0]
        incident_id = str(action.get("value", ""))
        if not is_digits(incident_id):
            return
        try:
            incident = await self.lifecycle.for_card(
                incident_id=int(incident_id),
                user=_user(body),
                action=MODAL_ACTIONS[str(action.get("action_id"))],
            )
        except CommandRefused as refused:
            await self._tell(body, Reply(refused.template, refused.context))
            return
        template = f"modals/{action.get('action_id')}.json.j2"
        view = json.loads(
            self.runner.renderer.text(template, incident=incident, **self.runner.common())
        )
        try:
            await self.gateway.open_view(str(body.get("trigger_id")), view)
        except SlackError as exc:
            log.warning("could not open the %s modal: %s", action.get("action_id"), exc)

    # -- submissions ----------------------------------------------------------------------------
    async def submit_severity(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        values = view_values(body)
        severity, reason = values.get("severity", ""), values.get("reason", "").strip()
        if severity not in {s.value for s in Severity}:
            await self._refuse(ack, "severity", "severity_missing")
        elif not reason:
            await self._refuse(ack, "reason", "reason_missing")
        else:
            command = c.SetSeverity(_number(body), Severity(severity), reason)
            await self._apply(ack, body, command, "severity")

    async def submit_stage(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        values = view_values(body)
        stage = values.get("stage", "")
        if stage not in {s.value for s in Stage} or stage == Stage.CLOSED:
            await self._refuse(ack, "stage", "stage_missing")
            return
        note = values.get("note", "").strip() or None
        await self._apply(ack, body, c.SetStage(_number(body), Stage(stage), note), "stage")

    async def submit_role(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        values = view_values(body)
        role = _chosen_role(values.get("role", ""), self.runner.settings.process.roles)
        user = values.get("user", "")
        if role is None:
            await self._refuse(ack, "role", "role_missing")
        elif not user:
            await self._refuse(ack, "user", "user_missing")
        else:
            command = c.AssignRole(_number(body), role, c.UserRef(id=user, name=None))
            await self._apply(ack, body, command, "role")

    async def submit_note(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        text = view_values(body).get("text", "").strip()
        if not text:
            await self._refuse(ack, "text", "text_missing")
            return
        await self._apply(ack, body, c.AddNote(_number(body), text), "text")

    async def _apply(
        self, ack: AsyncAck, body: dict[str, Any], command: c.Command, block: str
    ) -> None:
        try:
            await self.runner.run(command, Invocation(user=_user(body), channel="", from_card=True))
        except CommandRefused as refused:
            text = self.runner.renderer.slack(
                refused.template, **{**self.runner.common(), **refused.context}
            )
            text = await self.gateway.names_for(text)
            block = ABOUT_THE_PERSON.get(refused.template, block)
            await ack(response_action="errors", errors={block: field_error(text)})
            return
        await ack()

    async def _tell(self, body: dict[str, Any], reply: Reply) -> None:
        """An ephemeral answer to whoever clicked, through the action's response_url."""
        if body.get("response_url"):
            markup = self.runner.render(reply)
            await self.gateway.respond(
                str(body["response_url"]), ephemeral(markup, leave_original=True)
            )

    async def _refuse(self, ack: AsyncAck, block: str, problem: str) -> None:
        text = self.runner.renderer.text("modals/problems.txt.j2", problem=problem).strip()
        await ack(response_action="errors", errors={block: text})


def _user(body: dict[str, Any]) -> str:
    return str((body.get("user") or {}).get("id", ""))


def _number(body: dict[str, Any]) -> int:
    return int(str((body.get("view") or {}).get("private_metadata") or "0"))


def _chosen_role(value: str, roles: Sequence[str]) -> str | None:
    """The role an option of the form stands for: its place in the list (a role's name may be
    too long for an option's value), or its name (in a form opened before)."""
    if value in roles:
        return value
    return roles[int(value)] if is_digits(value) and int(value) < len(roles) else None
