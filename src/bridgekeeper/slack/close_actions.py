"""The Close modal's submission: problems shown inline under their fields, else close.

The gate is checked before the ack so the modal can stay open with what is missing; the close
itself runs after the ack (it compiles the report) and checks the gate again under lock.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncAck

from bridgekeeper.errors import CommandRefused, IncidentNotFound, PermissionDenied
from bridgekeeper.rendering import Renderer
from bridgekeeper.services.closing import ClosingService, closed_reply
from bridgekeeper.slack.acking import AckFirst
from bridgekeeper.slack.blocks import fallback_text, to_blocks
from bridgekeeper.slack.close_form import gate_problems, read_form
from bridgekeeper.slack.gateway import SlackGateway
from bridgekeeper.slack.view_state import state_values

log = logging.getLogger(__name__)


class CloseActions:
    def __init__(
        self,
        *,
        closing: ClosingService,
        renderer: Renderer,
        gateway: SlackGateway,
        common: Callable[[], dict[str, Any]],
    ) -> None:
        self.closing = closing
        self.renderer = renderer
        self.gateway = gateway
        self.common = common

    def register(self, app: AckFirst) -> None:
        app.view("incident_close")(self.submit)

    async def submit(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        view = body.get("view") or {}
        meta = _metadata(view)
        number, channel = int(meta.get("number") or 0), str(meta.get("channel") or "")
        user = str((body.get("user") or {}).get("id", ""))
        form, problems = read_form(state_values(body))
        undecided: tuple[str, ...] = ()
        detail = ""
        if not problems:
            try:
                gate = await self.closing.precheck(
                    number=number, channel=channel, user=user, form=form
                )
                problems, undecided = gate_problems(gate), gate.undecided
            except PermissionDenied as denied:
                problems = {"summary": "permission"}
                context = {**self.common(), **denied.context}
                detail = self.renderer.text(denied.template, **context).strip()
            except IncidentNotFound:
                problems = {"summary": "not_found"}
            except CommandRefused:
                problems = {"summary": "closed"}
        if problems:
            errors = {
                block: self.renderer.text(
                    "modals/close_problems.txt.j2",
                    problem=problem,
                    undecided=undecided,
                    number=number,
                    detail=detail,
                ).strip()
                for block, problem in problems.items()
            }
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        try:
            closed = await self.closing.close(number=number, channel=channel, user=user, form=form)
        except CommandRefused as refused:  # changed between the check and the close
            await self._tell(channel, user, refused.template, refused.context)
            return
        if closed.report_pending:  # otherwise the close is announced in its channel
            told = closed_reply(closed)
            await self._tell(channel, user, told.template, told.context)

    async def _tell(self, channel: str, user: str, template: str, context: dict[str, Any]) -> None:
        if not channel:
            return
        markup = self.renderer.slack(template, **{**self.common(), **context})
        try:
            await self.gateway.post_ephemeral(
                channel, user, text=fallback_text(markup), blocks=to_blocks(markup)
            )
        except Exception:
            log.exception("could not tell the closer how the close went")


def _metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        meta = json.loads(str(view.get("private_metadata") or "{}"))
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}
