"""The aiohttp application: Slack at /slack/events, health, and (later) alerts and reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

from bridgekeeper.web.alerts import AlertEndpoint
from bridgekeeper.web.reports import ReportEndpoint

if TYPE_CHECKING:
    from bridgekeeper.app import Bridgekeeper

APP_KEY: web.AppKey[Bridgekeeper] = web.AppKey("bridgekeeper")


def build_web_app(bk: Bridgekeeper) -> web.Application:
    app = web.Application(client_max_size=bk.settings.alerts.max_body_bytes * 2)
    app[APP_KEY] = bk
    app.router.add_post("/slack/events", slack_events)
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/alerts/{source}", AlertEndpoint(bk).handle)
    app.router.add_get("/incidents/{number}/report", ReportEndpoint(bk).handle)
    return app


async def slack_events(request: web.Request) -> web.Response:
    bk = request.app[APP_KEY]
    bolt_request = await to_bolt_request(request)
    bolt_response = await bk.bolt.async_dispatch(bolt_request)
    return await to_aiohttp_response(bolt_response)


async def healthz(request: web.Request) -> web.Response:
    bk = request.app[APP_KEY]
    if await bk.db.ping():
        return web.json_response({"status": "ok"})
    return web.json_response({"status": "database unavailable"}, status=503)
