"""`GET /oncall/<team>.ics?token=...`: a team's on-call shifts for the coming weeks, overrides
included, as a calendar people subscribe to. A wrong or missing token is answered like a team
that does not exist (404), so the address cannot be probed for team names."""

from __future__ import annotations

from aiohttp import web

from bridgekeeper.clock import Clock
from bridgekeeper.errors import CommandRefused
from bridgekeeper.rendering import Renderer
from bridgekeeper.services.oncall import OnCallService
from bridgekeeper.services.oncall_feed import calendar
from bridgekeeper.services.reports import UserName


class OnCallFeedEndpoint:
    def __init__(
        self, *, oncall: OnCallService, user_name: UserName, renderer: Renderer, clock: Clock
    ) -> None:
        self.oncall = oncall
        self.user_name = user_name
        self.renderer = renderer
        self.clock = clock

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/oncall/{team}.ics", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        team = self.oncall.feed_team(request.match_info["team"], request.query.get("token", ""))
        if team is None:
            raise web.HTTPNotFound()
        try:
            found = await self.oncall.feed_shifts(team)
        except CommandRefused:  # a paging tool that could not be read, with no shifts before
            raise web.HTTPServiceUnavailable() from None
        names = {user: await self.user_name(user) for user in {s.user for s in found}}
        body = calendar(team, found, names=names, renderer=self.renderer, now=self.clock.now())
        return web.Response(
            body=body,
            content_type="text/calendar",
            charset="utf-8",
            headers={"Cache-Control": "private, max-age=300"},
        )
