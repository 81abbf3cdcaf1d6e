"""`POST /trackers/<kind>`: the tracker's webhook, verified with its secret, bringing an issue's
state back (services/followup_sync.py). 401 without a valid signature, token or URL secret; 404
when that tracker is not the one configured or no secret is set; 200 once stored, or ignored."""

from __future__ import annotations

from aiohttp import web

from bridgekeeper.config.settings import TrackerSettings
from bridgekeeper.services.followup_sync import FollowupSync
from bridgekeeper.trackers.signatures import verified
from bridgekeeper.trackers.webhooks import WebhookError, read_webhook
from bridgekeeper.web.alerts import BodyTooLarge, read_limited

MAX_BODY = 5 * 1024 * 1024  # GitHub caps payloads at 25 MB; issue events are far smaller


class TrackerWebhook:
    def __init__(self, *, settings: TrackerSettings, followup_sync: FollowupSync) -> None:
        self.settings = settings
        self.followup_sync = followup_sync

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/trackers/{kind}", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        trackers = self.settings
        kind = request.match_info["kind"]
        if kind != trackers.kind or not trackers.webhook_secret:
            raise web.HTTPNotFound()
        try:
            body = await read_limited(request, MAX_BODY)
        except BodyTooLarge:
            raise web.HTTPRequestEntityTooLarge(MAX_BODY, 0, text="too large") from None
        if not verified(kind, trackers.webhook_secret, request.headers, body, request.query):
            return web.json_response({"error": "unauthorized"}, status=401)
        try:
            issue = read_webhook(kind, request.headers, body, base_url=trackers.url)
        except WebhookError as exc:
            return web.json_response({"error": str(exc)}, status=422)
        stored = issue is not None and await self.followup_sync.update(issue)
        return web.json_response({"ok": True, "stored": stored})
