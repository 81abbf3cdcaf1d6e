"""The console's pages: the incidents list (/console/incidents) and an incident's page
(/console/incidents/{number}). Someone not signed in is sent to sign in first; an incident
they may not see is the same 404 page as one that does not exist."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from aiohttp import web

from bridgekeeper.console.auth import redirect
from bridgekeeper.console.context import ConsoleContext
from bridgekeeper.console.query import read
from bridgekeeper.console.sessions import Session
from bridgekeeper.domain.incidents import Severity
from bridgekeeper.domain.text import whole_number
from bridgekeeper.resources import shipped_dir


class PageViews:
    def __init__(self, ctx: ConsoleContext) -> None:
        self.ctx = ctx
        self.css = (shipped_dir("messages") / "console" / "console.css").read_bytes()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/console", self.home)
        app.router.add_get("/console/", self.home)
        app.router.add_get("/console/incidents", self.incidents)
        app.router.add_get("/console/incidents/{number}", self.incident)
        app.router.add_get("/console/static/console.css", self.stylesheet)

    async def _signed_in(self, request: web.Request) -> Session | web.Response:
        return await signed_in(self.ctx, request)

    async def home(self, request: web.Request) -> web.Response:
        return redirect("/console/incidents")

    async def stylesheet(self, request: web.Request) -> web.Response:
        return web.Response(
            body=self.css,
            content_type="text/css",
            charset="utf-8",
            headers={"Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"},
        )

    async def incidents(self, request: web.Request) -> web.Response:
        session = await self._signed_in(request)
        if isinstance(session, web.Response):
            return session
        asked = read(request.query)
        listing = await self.ctx.reader.listing(
            user=session.user, wanted=asked.wanted, page=asked.page, per_page=asked.per_page
        )
        return self.ctx.page(
            request,
            "incidents.html.j2",
            session=session,
            listing=listing,
            given=asked.given,
            wrong=asked.wrong,
            severities=list(Severity),
            sources=self.ctx.reader.sources(),
            page_link=lambda n: (
                "?" + urlencode({**asked.given, "page": n, "per_page": asked.per_page})
            ),
        )

    async def incident(self, request: web.Request) -> web.Response:
        session = await self._signed_in(request)
        if isinstance(session, web.Response):
            return session
        number = whole_number(request.match_info["number"])
        facts = None
        if number is not None:
            facts = await self.ctx.reader.incident(user=session.user, number=number)
        if facts is None:
            return self.ctx.not_found(request, session)
        return self.ctx.page(request, "incident.html.j2", session=session, **facts)


async def signed_in(ctx: ConsoleContext, request: web.Request) -> Session | web.Response:
    """The visitor's session, or the way to sign in first (and come back here)."""
    session = await ctx.session(request)
    if session is None:
        return redirect("/console/signin?next=" + quote(request.path_qs, safe=""))
    return session
