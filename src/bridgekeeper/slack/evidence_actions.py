"""The "Add as evidence" message shortcut: each file of the message becomes an evidence item;
and the form `/incident evidence add` opens, submitted as the same command.

Ack first; then each file is downloaded and hashed (slack/files.py) outside any transaction,
and recorded through the command runner, with the same access check as `/incident evidence add`.
A file in a channel that is no incident's bridge is not downloaded: the runner refuses it.
"""

from __future__ import annotations

import html
import json
from typing import Any

from slack_bolt.async_app import AsyncAck

from bridgekeeper.domain.commands import AddEvidence
from bridgekeeper.domain.evidence import normal_sha256
from bridgekeeper.domain.text import clean_line
from bridgekeeper.errors import CommandRefused
from bridgekeeper.services.incidents import IncidentService
from bridgekeeper.services.runner import CommandRunner, Invocation, Reply
from bridgekeeper.slack.acking import AckFirst
from bridgekeeper.slack.blocks import ephemeral
from bridgekeeper.slack.files import Hashed, sha256_of
from bridgekeeper.slack.gateway import SlackGateway
from bridgekeeper.slack.view_state import view_values


class EvidenceActions:
    def __init__(
        self, *, runner: CommandRunner, gateway: SlackGateway, incidents: IncidentService
    ) -> None:
        self.runner = runner
        self.gateway = gateway
        self.incidents = incidents

    def register(self, app: AckFirst) -> None:
        app.shortcut("add_as_evidence")(self.add_as_evidence)
        app.view("add_evidence")(self.submit_form)

    async def add_as_evidence(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        invocation = Invocation(
            user=str((body.get("user") or {}).get("id")),
            channel=str((body.get("channel") or {}).get("id")),
            response_url=body.get("response_url"),
        )
        files = [f for f in (body.get("message") or {}).get("files") or [] if isinstance(f, dict)]
        replies = [await self._add(file, invocation) for file in files]
        for reply in replies or [Reply("slack/evidence_no_file.md.j2")]:
            await self._answer(invocation, reply)

    async def _add(self, file: dict[str, Any], invocation: Invocation) -> Reply | None:
        name = clean_line(str(file.get("name") or file.get("title") or "")) or "file"
        size = file.get("size") if isinstance(file.get("size"), int) else None
        hashed = Hashed(None, "unreachable")
        if await self.incidents.is_bridge_channel(invocation.channel):
            hashed = await sha256_of(
                self.gateway,
                str(file.get("url_private_download") or ""),
                size=size or 0,
                max_bytes=self.runner.settings.evidence_max_file_bytes,
            )
        command = AddEvidence(
            None,
            name,
            hashed.sha256,
            clean_line(str(file.get("permalink") or "")) or None,
            file_name=name,
            file_size=size,
            unhashed=hashed.unhashed,
        )
        try:
            return await self.runner.run(command, invocation)
        except CommandRefused as refused:
            return Reply(refused.template, refused.context)

    async def _answer(self, invocation: Invocation, reply: Reply | None) -> None:
        if reply is not None and invocation.response_url:
            text = self.runner.render(reply)
            await self.gateway.respond(invocation.response_url, ephemeral(text))

    async def submit_form(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        """Applied before the ack, so a refusal shows in the form instead of vanishing."""
        values = view_values(body)
        description = values.get("description", "").strip()
        typed = values.get("sha256", "").strip()
        sha256 = normal_sha256(typed) if typed else None
        if not description or (typed and sha256 is None):
            block = "sha256" if description else "description"
            problem = "bad_hash" if description else "description_missing"
            text = self.runner.renderer.text("modals/evidence_problems.txt.j2", problem=problem)
            await ack(response_action="errors", errors={block: text.strip()})
            return
        meta = _metadata(body)
        number = meta.get("number")
        command = AddEvidence(
            number if isinstance(number, int) else None,
            description,
            sha256,
            values.get("location", "").strip() or None,
        )
        user = str((body.get("user") or {}).get("id", ""))
        try:
            await self.runner.run(
                command, Invocation(user=user, channel=str(meta.get("channel") or ""))
            )
        except CommandRefused as refused:
            text = self.runner.render(Reply(refused.template, refused.context))
            plain = html.unescape(text).replace("*", "").strip()  # a modal shows plain text
            await ack(response_action="errors", errors={"description": plain[:2000]})
            return
        await ack()


def _metadata(body: dict[str, Any]) -> dict[str, Any]:
    try:
        meta = json.loads(str((body.get("view") or {}).get("private_metadata") or "{}"))
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}
