"""Bolt listeners for the triage card's buttons and the modals they open: ack, then the service.

Buttons carry the alert id as their value (a storm digest's "List them": the digest's);
modals carry it in `private_metadata`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from slack_bolt.async_app import AsyncAck

from bridgekeeper import logs
from bridgekeeper.domain.text import is_digits
from bridgekeeper.errors import CommandRefused
from bridgekeeper.rendering import Renderer
from bridgekeeper.services.triage import AlertGone, Disposition, TriageService
from bridgekeeper.slack.acking import AckFirst
from bridgekeeper.slack.blocks import ephemeral, field_error
from bridgekeeper.slack.gateway import SlackGateway
from bridgekeeper.slack.view_state import state_values

log = logging.getLogger(__name__)
COMMENT_MAX = 2000
ButtonAction = Callable[[int, dict[str, Any]], Awaitable[None]]


class AlertActions:
    def __init__(
        self,
        *,
        triage: TriageService,
        renderer: Renderer,
        gateway: SlackGateway,
    ) -> None:
        self.triage = triage
        self.renderer = renderer
        self.gateway = gateway

    def register(self, app: AckFirst) -> None:
        app.action("alert_ack")(self.acknowledge)
        app.action("alert_declare")(self.declare)
        app.action("alert_dismiss")(self.open_dismiss)
        app.action("alert_link")(self.open_link)
        app.action("digest_list")(self.list_digest)
        app.view("alert_dismiss")(self.submit_dismiss)
        app.view("alert_link")(self.submit_link)

    # -- buttons ------------------------------------------------------------------------------
    async def acknowledge(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await self._button(ack, body, self._acknowledge)

    async def declare(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await self._button(ack, body, self._declare)

    async def open_dismiss(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await self._button(ack, body, self._open_dismiss)

    async def open_link(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await self._button(ack, body, self._open_link)

    async def list_digest(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        """A storm digest's "List them": the alerts, seen only by the person who clicked."""
        await self._button(ack, body, self._list_digest)

    async def _button(self, ack: AsyncAck, body: dict[str, Any], act: ButtonAction) -> None:
        """Ack at once, then act."""
        await ack()
        alert_id = _button_alert(body)
        if alert_id is None:
            return
        logs.bind(alert_id=alert_id)
        with _refusals_logged():
            try:
                await act(alert_id, body)
            except CommandRefused as refused:
                await self._tell(body, refused.template, command="/incident", **refused.context)

    async def _acknowledge(self, alert_id: int, body: dict[str, Any]) -> None:
        await self.triage.acknowledge(alert_id=alert_id, user=_user(body))

    async def _declare(self, alert_id: int, body: dict[str, Any]) -> None:
        declared = await self.triage.declare(alert_id=alert_id, user=_user(body))
        await self._tell(
            body,
            "slack/alert_declared.md.j2",
            number=declared.number,
            title=declared.title,
            earlier=declared.earlier,
        )

    async def _list_digest(self, digest: int, body: dict[str, Any]) -> None:
        found = await self.triage.digest_list(digest=digest)
        await self._tell(
            body,
            "slack/digest_list.md.j2",
            alerts=found.alerts,
            hidden=found.hidden,
            more=found.more,
        )

    async def _open_dismiss(self, alert_id: int, body: dict[str, Any]) -> None:
        alert = await self.triage.get(alert_id, _user(body))
        await self._open_view(body, "modals/dismiss_alert.json.j2", alert=alert)

    async def _open_link(self, alert_id: int, body: dict[str, Any]) -> None:
        alert = await self.triage.get(alert_id, _user(body))
        incidents = await self.triage.open_incidents(_user(body))
        await self._open_view(body, "modals/link_alert.json.j2", alert=alert, incidents=incidents)

    async def _open_view(self, body: dict[str, Any], template: str, **context: Any) -> None:
        view = json.loads(self.renderer.text(template, **context))
        await self.gateway.open_view(str(body.get("trigger_id")), view)

    # -- modals -------------------------------------------------------------------------------
    async def submit_dismiss(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        """Dismissed before the form closes: a refusal (someone else triaged the alert while
        the form was open) is shown in it, not lost."""
        values = _view_values(body)
        disposition = _selected(values, "disposition")
        comment = str((values.get("comment") or {}).get("value", {}).get("value") or "").strip()
        problem = _dismiss_problem(disposition, comment)
        if problem is not None:
            await self._refuse(ack, *problem)
            return
        await self._submitted(
            ack,
            "disposition",
            lambda: self.triage.dismiss(
                alert_id=_view_alert(body),
                user=_user(body),
                disposition=Disposition(disposition),
                comment=comment,
            ),
        )

    async def submit_link(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        """Linked before the form closes: a refusal (the incident closed, or no longer there
        for this user, while the form was open) is shown in it, not lost."""
        number = _selected(_view_values(body), "incident")
        if not is_digits(number):
            await self._refuse(ack, "incident", "incident_missing")
            return
        await self._submitted(
            ack,
            "incident",
            lambda: self.triage.link(
                alert_id=_view_alert(body), user=_user(body), number=int(number)
            ),
        )

    async def _submitted(
        self, ack: AsyncAck, block: str, work: Callable[[], Awaitable[None]]
    ) -> None:
        """A form's work, done before it closes: the service's refusal stays in it, under
        `block`."""
        try:
            await work()
        except CommandRefused as refused:
            said = self.renderer.slack(refused.template, command="/incident", **refused.context)
            said = await self.gateway.names_for(said)
            await ack(response_action="errors", errors={block: field_error(said)})
            return
        except AlertGone:
            log.info("alert action refused: AlertGone")
        await ack()

    async def _refuse(self, ack: AsyncAck, block: str, problem: str) -> None:
        """The modal stays open with the problem shown under the field."""
        text = self.renderer.text("modals/problems.txt.j2", problem=problem).strip()
        await ack(response_action="errors", errors={block: text})

    async def _tell(self, body: dict[str, Any], template: str, **context: Any) -> None:
        """An ephemeral note to the person who clicked, through the action's response_url."""
        response_url = body.get("response_url")
        if not response_url:
            return
        markup = self.renderer.slack(template, **context)
        await self.gateway.respond(str(response_url), ephemeral(markup, leave_original=True))


def _dismiss_problem(disposition: str, comment: str) -> tuple[str, str] | None:
    """(block, problem) when the Dismiss form cannot be accepted as filled in."""
    if disposition not in {d.value for d in Disposition}:
        return "disposition", "disposition_missing"
    if disposition == Disposition.OTHER and not comment:
        return "comment", "comment_required"
    if len(comment) > COMMENT_MAX:
        return "comment", "comment_too_long"
    return None


@contextmanager
def _refusals_logged() -> Iterator[None]:
    """A click on an alert that is gone, or a link to a closed incident, changes nothing."""
    try:
        yield
    except (AlertGone, CommandRefused) as exc:
        log.info("alert action refused: %s", type(exc).__name__)


def _user(body: dict[str, Any]) -> str:
    return str((body.get("user") or {}).get("id", ""))


def _button_alert(body: dict[str, Any]) -> int | None:
    actions = body.get("actions") or [{}]
    value = str(actions[0].get("value") or "")
    return int(value) if is_digits(value) else None


def _view_alert(body: dict[str, Any]) -> int:
    value = str((body.get("view") or {}).get("private_metadata") or "")
    if not is_digits(value):
        raise AlertGone(value[:40])
    return int(value)


def _view_values(body: dict[str, Any]) -> dict[str, Any]:
    return state_values(body)


def _selected(values: dict[str, Any], block: str) -> str:
    element = (values.get(block) or {}).get("value") or {}
    return str((element.get("selected_option") or {}).get("value") or "")
