"""What the console's handlers share, built once per web app (console/routes.py)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bridgekeeper.clock import Clock
from bridgekeeper.config import Settings
from bridgekeeper.console.oidc import SlackSignIn
from bridgekeeper.console.sessions import Cookies, Session
from bridgekeeper.domain.text import same_secret
from bridgekeeper.rendering import Renderer
from bridgekeeper.services.incident_views import IncidentReader
from bridgekeeper.slack.gateway import SlackGateway
from bridgekeeper.store import console_signouts
from bridgekeeper.store.db import Database

PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
CALLBACK_PATH = "/console/auth/callback"


class ConsoleContext:
    def __init__(
        self,
        *,
        settings: Settings,
        clock: Clock,
        db: Database,
        renderer: Renderer,
        reader: IncidentReader,
        gateway: SlackGateway,
    ) -> None:
        console = settings.console
        self.settings = settings
        self.renderer = renderer
        self.cookies = Cookies(
            secret=console.session_secret or "",
            session_hours=console.session_hours,
            secure=(console.public_url or "").startswith("https://"),
        )
        self.sign_in = SlackSignIn(
            api_url=settings.slack_api_url,
            client_id=console.client_id or "",
            client_secret=console.client_secret or "",
        )
        self.reader = reader
        self.clock = clock
        self._db = db
        self._gateway = gateway
        self._team: str | None = None

    async def session(self, request: web.Request) -> Session | None:
        """The visitor's session: a good cookie, made after its person last signed out."""
        session = self.cookies.session(request)
        if session is None:
            return None
        signed_out = await console_signouts.last(self._db, user=session.user)
        if signed_out is not None and session.issued_at <= signed_out.timestamp():
            return None
        return session

    async def sign_out(self, session: Session) -> None:
        """End every session of this person, in every browser and on every replica."""
        await console_signouts.record(self._db, user=session.user, at=self.clock.now())

    async def workspace(self) -> str:
        """The bot's own workspace (auth.test): only its people may sign in."""
        if self._team is None:
            self._team = str((await self._gateway.call("auth.test")).get("team_id", ""))
        return self._team

    def base_url(self, request: web.Request) -> str:
        """[console] public_url, else where this request says it was sent."""
        return self.settings.console.public_url or f"{request.scheme}://{request.host}"

    def redirect_uri(self, request: web.Request) -> str:
        return self.base_url(request) + CALLBACK_PATH

    def page(
        self,
        request: web.Request,
        name: str,
        *,
        status: int = 200,
        session: Session | None,
        **context: Any,
    ) -> web.Response:
        """A page of messages/console/, escaped, with the console's security headers."""
        body = self.renderer.html(
            f"console/{name}", session=session, now=self.clock.now(), path=request.path, **context
        )
        return web.Response(
            text=body, status=status, content_type="text/html", headers=PAGE_HEADERS
        )

    def not_found(self, request: web.Request, session: Session | None) -> web.Response:
        return self.page(request, "not_found.html.j2", status=404, session=session)


def csrf_ok(session: Session, form: Any) -> bool:
    given = form.get("csrf") if hasattr(form, "get") else None
    return isinstance(given, str) and same_secret(given, session.csrf)
