"""The "Add as evidence" message shortcut: each file of the message becomes an evidence item.

Ack first; then each file is downloaded and hashed (slack/files.py) outside any transaction,
and recorded through the command runner, with the same access check as `/incident evidence add`.
A file in a channel that is no incident's bridge is not downloaded: the runner refuses it.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bridgekeeper.domain.commands import AddEvidence
from bridgekeeper.domain.text import clean_line
from bridgekeeper.errors import CommandRefused
from bridgekeeper.services.incidents import IncidentService
from bridgekeeper.services.runner import CommandRunner, Invocation, Reply
from bridgekeeper.slack.blocks import ephemeral
from bridgekeeper.slack.files import Hashed, sha256_of
from bridgekeeper.slack.gateway import SlackGateway


class EvidenceShortcut:
    def __init__(
        self, *, runner: CommandRunner, gateway: SlackGateway, incidents: IncidentService
    ) -> None:
        self.runner = runner
        self.gateway = gateway
        self.incidents = incidents

    def register(self, app: AsyncApp) -> None:
        app.shortcut("add_as_evidence")(self.add_as_evidence)

    async def add_as_evidence(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        invocation = Invocation(
            user=str((body.get("user") or {}).get("id")),
            channel=str((body.get("channel") or {}).get("id")),
            response_url=body.get("response_url"),
        )
        files = [f for f in (body.get("message") or {}).get("files") or [] if isinstance(f, dict)]
        with self.runner.busy():
            replies = [await self._add(file, invocation) for file in files]
            for reply in replies or [Reply("slack/evidence_no_file.md.j2")]:
                await self._answer(invocation, reply)

    async def _add(self, file: dict[str, Any], invocation: Invocation) -> Reply | None:
        name = clean_line(str(file.get("name") or file.get("title") or "")) or "file"
        size = file.get("size") if isinstance(file.get("size"), int) else None
        hashed = Hashed(None, "unreachable")
        if await self.incidents.is_bridge_channel(invocation.channel):
            hashed = await sha256_of(
                self.gateway, str(file.get("url_private_download") or ""), size=size or 0,
                max_bytes=self.runner.settings.evidence_max_file_bytes,
            )  # fmt: skip
        command = AddEvidence(
            None, name, hashed.sha256, clean_line(str(file.get("permalink") or "")) or None,
            file_name=name, file_size=size, unhashed=hashed.unhashed,
        )  # fmt: skip
        try:
            return await self.runner.run(command, invocation)
        except CommandRefused as refused:
            return Reply(refused.template, refused.context)

    async def _answer(self, invocation: Invocation, reply: Reply | None) -> None:
        if reply is not None and invocation.response_url:
            text = self.runner.render(reply)
            await self.gateway.respond(invocation.response_url, ephemeral(text))
