"""Socket Mode: the same Bolt listeners over Slack's WebSocket, when SLACK_APP_TOKEN is set."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

if TYPE_CHECKING:
    from bridgekeeper.app import Bridgekeeper

log = logging.getLogger(__name__)


class SocketModeConnection:
    def __init__(self, handler: AsyncSocketModeHandler) -> None:
        self.handler = handler

    async def close(self) -> None:
        await self.handler.close_async()


async def start_socket_mode(bk: Bridgekeeper, url: str | None = None) -> SocketModeConnection:
    """Connect (apps.connections.open through SLACK_API_URL, or to `url`, one it returned to
    the start-up self-check: slack/auth.py); reconnects on drops by itself."""
    handler = AsyncSocketModeHandler(
        bk.bolt, app_token=bk.settings.slack_app_token, web_client=bk.gateway.client,
        logger=log,  # its own: Bolt's logger keeps only warnings, the connection's news is INFO
    )  # fmt: skip
    if url:
        handler.client.wss_uri = url
    await handler.connect_async()
    return SocketModeConnection(handler)
