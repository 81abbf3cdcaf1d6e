"""Socket Mode: the same Bolt listeners over Slack's WebSocket, when SLACK_APP_TOKEN is set.

Slack hands out a new WebSocket URL (apps.connections.open) at every reconnection. If it refuses
the app-level token then (revoked, app uninstalled), no retry can help: the connection ends and
names why, so the process stops with one line, as at start-up. While Slack cannot be reached,
the URL is asked for again with backoff, without a traceback per try.
"""

from __future__ import annotations

import asyncio
import logging

from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from bridgekeeper import metrics
from bridgekeeper.errors import SlackRejected
from bridgekeeper.pending_answers import PendingAnswers
from bridgekeeper.slack.auth import check_app_token, wait_for_slack
from bridgekeeper.slack.gateway import SlackGateway

log = logging.getLogger(__name__)


class TimedHandler(AsyncSocketModeHandler):
    """Bolt's handler; a slash command's ack is timed, and counted as being answered (the work
    after acks waits for it: pending_answers.py), as over HTTP."""

    answers: PendingAnswers  # the app's, given by SocketModeConnection

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        with metrics.slash_ack(req.type == "slash_commands"), self.answers.answering():
            await super().handle(client, req)


class SocketModeConnection:
    """The connection; when Slack refuses the app-level token on a reconnection, `refused`
    says why and `stop` is set."""

    def __init__(
        self,
        *,
        bolt: AsyncApp,
        answers: PendingAnswers,
        gateway: SlackGateway,
        app_token: str | None,
        stop: asyncio.Event,
    ) -> None:
        self.gateway = gateway
        self.stop = stop
        self.handler = TimedHandler(
            bolt,
            app_token=app_token,
            web_client=gateway.client,
            logger=log,  # its own: Bolt's logger keeps only warnings, the connection's news is INFO
        )
        self.handler.answers = answers
        self.handler.client.issue_new_wss_url = self._new_url  # type: ignore[method-assign]
        self.refused: SlackRejected | None = None
        self.ended = asyncio.Event()

    async def _new_url(self) -> str:
        """The URL to reconnect to; "" with the client closed when there is none to have (the
        token refused, or the connection closing), so the client stops quietly."""
        try:
            ready = await wait_for_slack(
                lambda: check_app_token(self.gateway, self.handler.app_token), self.ended
            )
        except SlackRejected as exc:
            self.refused = exc
            self.stop.set()
            ready = None
        if ready is None or ready.socket_url is None:
            self.handler.client.closed = True
            self.ended.set()
            return ""
        return ready.socket_url

    async def close(self) -> None:
        self.ended.set()
        await self.handler.close_async()


async def start_socket_mode(
    bolt: AsyncApp,
    gateway: SlackGateway,
    *,
    answers: PendingAnswers,
    app_token: str | None,
    url: str | None = None,
    stop: asyncio.Event | None = None,
) -> SocketModeConnection:
    """Connect (to `url`, one the start-up self-check was given: slack/auth.py, else to a new
    one); reconnects on drops by itself. `stop` is set if the app-level token is refused."""
    connection = SocketModeConnection(
        bolt=bolt,
        answers=answers,
        gateway=gateway,
        app_token=app_token,
        stop=stop or asyncio.Event(),
    )
    if url:
        connection.handler.client.wss_uri = url
    await connection.handler.connect_async()
    return connection
