"""The ack-latency baseline: a bare slack-bolt AsyncApp on aiohttp whose handler only acks.

Served the way bridgekeeper serves Slack (same aiohttp adapter, signature verification, no
Web API call to authorize, process_before_response=True: answered as soon as the listener has
acked, as bridgekeeper's are), so the difference is bridgekeeper's own work. Run as
`python -m bench.bare_bolt --port N` (the bench starts it).
"""

from __future__ import annotations

import os
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.authorization import AuthorizeResult

from bench import bare_server


def build_app() -> web.Application:
    bolt = AsyncApp(
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        token=None,
        authorize=_authorize,
        process_before_response=True,
    )

    @bolt.command("/incident")
    async def incident(ack: AsyncAck) -> None:
        await ack()

    async def slack_events(request: web.Request) -> web.Response:
        response = await bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/slack/events", slack_events)
    app.router.add_get("/healthz", healthz)
    return app


async def _authorize(enterprise_id: str | None, team_id: str | None, **_: Any) -> AuthorizeResult:
    return AuthorizeResult(
        enterprise_id=enterprise_id,
        team_id=team_id,
        bot_token=os.environ["SLACK_BOT_TOKEN"],
        bot_user_id="UBOT",
    )


if __name__ == "__main__":
    bare_server.main(build_app, __doc__)
