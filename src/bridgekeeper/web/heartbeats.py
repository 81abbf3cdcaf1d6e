"""`POST /heartbeats/<name>` (GET too, for a cron job's plain `curl`): a ping, with the alert
token; `?interval=5m` sets the interval of a heartbeat the configuration does not list.
Answers 200 with when the next ping is due; 401 without the token; 422 a bad name or interval;
202 "ignored" for an Alertmanager or Grafana notification that its Watchdog resolved (not a
ping: the heartbeat goes on to be missed)."""

from __future__ import annotations

from aiohttp import web

from bridgekeeper.config import AlertSettings
from bridgekeeper.domain.alerts import heartbeat
from bridgekeeper.domain.alerts.model import PayloadError
from bridgekeeper.services.heartbeats import Heartbeats
from bridgekeeper.web.alerts import BodyTooLarge, authorized, error, read_limited, unauthorized


class HeartbeatEndpoint:
    def __init__(self, *, settings: AlertSettings, heartbeats: Heartbeats) -> None:
        self.settings = settings
        self.heartbeats = heartbeats

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/heartbeats/{name}", self.handle)
        app.router.add_get("/heartbeats/{name}", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        if not authorized(self.settings, heartbeat.SOURCE, request, b""):
            return unauthorized()
        name = request.match_info["name"]
        limit = self.settings.max_body_bytes
        try:
            body = await read_limited(request, limit)
        except BodyTooLarge:
            return error(413, f"the body is larger than {limit} bytes")
        if heartbeat.is_resolved_notification(body):
            ignored = "not a ping: the notification says its alerts are resolved"
            return web.json_response({"heartbeat": name, "ignored": ignored}, status=202)
        try:
            ping = await self.heartbeats.ping(name, request.query.get("interval"))
        except PayloadError as exc:
            return error(422, str(exc))
        return web.json_response(
            {
                "heartbeat": ping.name,
                "interval": heartbeat.describe(ping.interval),
                "late_after": ping.late_after.isoformat(),
                "was_missed": ping.was_missed,
            }
        )
