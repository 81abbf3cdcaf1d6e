"""Signing in and out: /console/signin (a page), /console/auth/start (to Slack, with a fresh
state and nonce in a short-lived signed cookie), /console/auth/callback (state checked, the
code exchanged, the session started) and POST /console/signout (with its CSRF token)."""

from __future__ import annotations

import logging

from aiohttp import web

from bridgekeeper.console.context import ConsoleContext, csrf_ok
from bridgekeeper.console.oidc import SignInFailed
from bridgekeeper.console.sessions import Session
from bridgekeeper.domain.text import same_secret

log = logging.getLogger(__name__)
HOME = "/console/incidents"


def safe_next(value: str | None) -> str:
    """Only a path of the console: never another site (`//host`, `https:`) after signing in,
    nor a line break, which no answer's Location may hold."""
    if value and value.startswith("/console/") and "\\" not in value and value.isprintable():
        return value
    return HOME


class AuthViews:
    def __init__(self, ctx: ConsoleContext) -> None:
        self.ctx = ctx

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/console/signin", self.signin_page)
        app.router.add_get("/console/auth/start", self.start)
        app.router.add_get("/console/auth/callback", self.callback)
        app.router.add_post("/console/signout", self.signout)

    async def signin_page(self, request: web.Request) -> web.Response:
        next_path = safe_next(request.query.get("next"))
        return self.ctx.page(request, "signin.html.j2", session=None, next=next_path)

    async def start(self, request: web.Request) -> web.Response:
        response = redirect(HOME)
        next_path = safe_next(request.query.get("next"))
        login = self.ctx.cookies.begin_login(response, next_path=next_path)
        response.headers["Location"] = self.ctx.sign_in.authorize_url(
            redirect_uri=self.ctx.redirect_uri(request), state=login.state, nonce=login.nonce
        )
        return response

    async def callback(self, request: web.Request) -> web.Response:
        login = self.ctx.cookies.login(request)
        state = request.query.get("state", "")
        if login is None or not state or not same_secret(state, login.state):
            return self._failed(request, "state")
        if "error" in request.query or not request.query.get("code"):
            return self._failed(request, "refused")
        try:
            who = await self.ctx.sign_in.identify(
                code=request.query["code"],
                redirect_uri=self.ctx.redirect_uri(request),
                nonce=login.nonce,
            )
        except SignInFailed as exc:
            log.warning("Sign in with Slack failed: %s", exc)
            return self._failed(request, "slack")
        if who.team != await self.ctx.workspace():
            log.warning("console: %s of another workspace (%s) may not sign in", who.user, who.team)
            return self._failed(request, "workspace")
        response = redirect(safe_next(login.next))
        self.ctx.cookies.start(
            response,
            user=who.user,
            name=who.name,
            team=who.team,
            at=self.ctx.clock.now().timestamp(),
        )
        log.info("console: %s signed in", who.user)
        return response

    def _failed(self, request: web.Request, reason: str) -> web.Response:
        return self.ctx.page(
            request, "signin_failed.html.j2", status=400, session=None, reason=reason
        )

    async def signout(self, request: web.Request) -> web.Response:
        session = await self.ctx.session(request)
        if session is None:
            return redirect("/console/signin")
        if not csrf_ok(session, await request.post()):
            return forbidden(self.ctx, request, session)
        await self.ctx.sign_out(session)
        log.info("console: %s signed out", session.user)
        response = redirect("/console/signin")
        self.ctx.cookies.end(response)
        return response


def redirect(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location, "Cache-Control": "no-store"})


def forbidden(ctx: ConsoleContext, request: web.Request, session: Session) -> web.Response:
    return ctx.page(request, "forbidden.html.j2", status=403, session=session)
