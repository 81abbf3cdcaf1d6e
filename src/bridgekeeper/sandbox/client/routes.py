"""The web client's routes: the page, its static files, the state poll, the actions.

GET  /                  the page (templates/index.html.j2)
GET  /static/{file}     app.js, mrkdwn.js, modals.js and app.css
GET  /api/state         ?user=U…&since=N: the user's view once the version passes N (long poll)
POST /api/command       {user, channel, text}: a slash command
POST /api/message       {user, channel, text}: a plain message
POST /api/join         {user, channel}: join a public channel
POST /api/home         {user}: open the app's Home tab (app_home_opened)
POST /api/action        {user, action_id, value, block_id, channel, ts | view_id}: a button
POST /api/submit        {user, view_id, fields}: submit the open modal
POST /api/close         {user}: dismiss the open modal
POST /api/alert         {source}: send that source's example alert to the webhook
GET  /files/{id}        a file the bot shared (the report), as plain text
GET  /sns/signing-cert.pem  the certificate of the key the aws-sns example is signed with
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from bridgekeeper.sandbox.client import actions, templates
from bridgekeeper.sandbox.client.snapshot import snapshot, version_key, visible_to
from bridgekeeper.sandbox.client.sns import CERT_PATH
from bridgekeeper.sandbox.state import JsonDict

if TYPE_CHECKING:
    from bridgekeeper.sandbox.client.server import Sandbox

HERE = Path(__file__).parent
POLL_WAIT = 20.0  # seconds a poll waits for a change before answering "unchanged"
POLL_STEP = 0.15
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Versions:
    """A number that goes up each time the emulator's state (as clients see it) changes."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.number = 1
        self._key = version_key(sandbox.slack.state)

    def current(self) -> int:
        key = version_key(self.sandbox.slack.state)
        if key != self._key:
            self._key, self.number = key, self.number + 1
        return self.number

    async def after(self, since: int) -> int:
        deadline = time.monotonic() + POLL_WAIT
        while time.monotonic() < deadline and not self.sandbox.closing.is_set():
            if self.current() > since:
                break
            await asyncio.sleep(POLL_STEP)
        return self.current()


def client_app(sandbox: Sandbox) -> web.Application:
    app = web.Application(middlewares=[_headers])
    page = _page(sandbox)
    versions = Versions(sandbox)
    app.router.add_get("/", _html(page))
    app.router.add_static("/static", HERE / "static")
    app.router.add_get("/api/state", _state(sandbox, versions))
    for name, act in ACTIONS.items():
        app.router.add_post(f"/api/{name}", _action(sandbox, act))
    app.router.add_get("/files/{file_id}", _file(sandbox))
    app.router.add_get(CERT_PATH, _certificate(sandbox))
    return app


@web.middleware
async def _headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    refusal = _cross_site(request)
    if refusal:
        raise web.HTTPForbidden(text=refusal)
    response = await handler(request)
    response.headers.update(SECURITY_HEADERS)
    return response


LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def _cross_site(request: web.Request) -> str:
    """Why a request may come from another site, or "": another page in the same browser must
    not drive the client (a form posting a command) nor read it (DNS rebinding)."""
    host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
    if host not in LOCAL_HOSTS:
        return "the sandbox answers only on its local address"
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"{request.scheme}://{request.host}":
        return "requests from another site are refused"
    if request.method == "POST" and request.content_type != "application/json":
        return "actions are JSON (Content-Type: application/json)"
    return ""


def _page(sandbox: Sandbox) -> str:
    people = [u for u in sandbox.slack.users.values() if not u.is_bot]
    return templates.render("index.html.j2", people=people, sources=actions.example_sources())


def _html(page: str) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html", charset="utf-8")

    return handle


def _state(sandbox: Sandbox, versions: Versions) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        user = _user(sandbox, request.query.get("user", ""))
        try:
            since = int(request.query.get("since", "0"))
        except ValueError:
            since = 0
        version = await versions.after(since)
        if version <= since:
            return web.json_response({"version": version, "unchanged": True})
        body = snapshot(sandbox.slack.state, user)
        return web.json_response({"version": version, **body})

    return handle


def _user(sandbox: Sandbox, user: Any) -> str:
    found = sandbox.slack.users.get(str(user))
    if found is None or found.is_bot:
        raise web.HTTPBadRequest(text="unknown user")
    return found.id


def _channel(sandbox: Sandbox, channel: Any) -> str:
    if str(channel) not in sandbox.slack.channels:
        raise web.HTTPBadRequest(text="unknown channel")
    return str(channel)


Act = Callable[["Sandbox", JsonDict], Awaitable[JsonDict]]


def _action(sandbox: Sandbox, act: Act) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="the body is not JSON") from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="the body is not a JSON object")
        try:
            answer = await act(sandbox, body)
        except (actions.Refused, KeyError) as exc:
            return web.json_response({"error": str(exc).strip("'\"")}, status=400)
        except (aiohttp.ClientError, TimeoutError) as exc:
            problem = f"bridgekeeper did not answer: {exc or type(exc).__name__}"
            return web.json_response({"error": problem}, status=502)
        return web.json_response(answer)

    return handle


async def _command(sandbox: Sandbox, body: JsonDict) -> JsonDict:
    user, channel = _user(sandbox, body.get("user")), _channel(sandbox, body.get("channel"))
    return await actions.command(sandbox, user=user, channel=channel, text=str(body.get("text")))


async def _message(sandbox: Sandbox, body: JsonDict) -> JsonDict:
    user, channel = _user(sandbox, body.get("user")), _channel(sandbox, body.get("channel"))
    return await actions.message(sandbox, user=user, channel=channel, text=str(body.get("text")))


async def _join(sandbox: Sandbox, body: JsonDict) -> JsonDict:
    user, channel = _user(sandbox, body.get("user")), _channel(sandbox, body.get("channel"))
    return await actions.join(sandbox, user=user, channel=channel)


async def _home(sandbox: Sandbox, body: JsonDict) -> JsonDict:
    return await actions.open_home(sandbox, user=_user(sandbox, body.get("user")))


async def _click(sandbox: Sandbox, body: JsonDict) -> JsonDict:
    return await actions.click(sandbox, user=_user(sandbox, body.get("user")), action=body)


async def _submit(sandbox: Sandbox, body: JsonDict) -> JsonDict:
    user, fields = _user(sandbox, body.get("user")), body.get("fields")
    if not isinstance(fields, dict):
        raise actions.Refused("fields must be an object")
    return await actions.submit(sandbox, user=user, view_id=str(body.get("view_id")), fields=fields)


async def _close(sandbox: Sandbox, body: JsonDict) -> JsonDict:
    return actions.close(sandbox, user=_user(sandbox, body.get("user")))


async def _alert(sandbox: Sandbox, body: JsonDict) -> JsonDict:
    return await actions.send_alert(sandbox, source=str(body.get("source")))


ACTIONS: dict[str, Act] = {
    "command": _command,
    "message": _message,
    "join": _join,
    "home": _home,
    "action": _click,
    "submit": _submit,
    "close": _close,
    "alert": _alert,
}


def _file(sandbox: Sandbox) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        wanted, user = request.match_info["file_id"], _user(sandbox, request.query.get("user"))
        channels = sandbox.slack.channels
        for file in sandbox.slack.files:
            shared = [channels[c] for c in file.channels if c in channels]
            if file.id == wanted and any(visible_to(c, user) for c in shared):
                text = file.content.decode("utf-8", "replace")
                return web.Response(text=text, content_type="text/plain", charset="utf-8")
        raise web.HTTPNotFound(text="no such file")

    return handle


def _certificate(sandbox: Sandbox) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        return web.Response(body=sandbox.sns.certificate, content_type="application/x-pem-file")

    return handle
