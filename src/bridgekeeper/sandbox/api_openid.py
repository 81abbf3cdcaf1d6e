"""Sign in with Slack (OpenID Connect), as the emulator serves it.

- ``GET /openid/connect/authorize``: Slack's consent page, here a small form listing the
  workspace's people; choosing one redirects to ``redirect_uri`` with ``code`` and ``state``.
- ``openid.connect.token`` (Web API): a code, the client ID and secret -> an access token
  (``xoxp-``) and an ``id_token`` signed RS256, with the nonce the authorize request carried.
- ``openid.connect.userInfo`` (Web API, the access token as Bearer): the user's claims.
- ``GET /openid/connect/keys``: the JWKS the id_token is checked with.

Codes are single-use and expire after 10 minutes, as Slack's do. Errors follow Slack's method
docs: invalid_client_id, bad_client_secret, invalid_code, bad_redirect_uri, invalid_auth.
"""

from __future__ import annotations

import functools
import html
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from joserfc import jwt
from joserfc.jwk import RSAKey

from bridgekeeper.domain.text import same_secret
from bridgekeeper.sandbox.state import ApiError, JsonDict, User, Workspace
from bridgekeeper.sandbox.wire import bearer

CODE_SECONDS = 600
TOKEN_SECONDS = 3600
AUTHORIZE_PATH = "/openid/connect/authorize"
KEYS_PATH = "/openid/connect/keys"
PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Sign in to {team}</title></head><body><main>
<h1>Sign in to {team}</h1><p>{client} asks to know who you are.</p>
<form method="post" action="{action}">{hidden}<fieldset><legend>Choose a person</legend>
{people}</fieldset><button type="submit">Continue</button></form></main></body></html>"""


@functools.cache
def signing_key() -> RSAKey:
    """The key every emulator in this process signs ID tokens with, as Slack signs every
    workspace's with one published key set. Made on first use (most emulators never sign
    anyone in), once: a 2048-bit key takes a tenth of a second or more to make."""
    return RSAKey.generate_key(2048, parameters={"kid": "emulator-1", "use": "sig"})


@dataclass
class Grant:
    user: str
    client_id: str
    redirect_uri: str
    nonce: str
    created: float
    used: bool = False


class OpenIdProvider:
    """The OpenID Connect side of the emulated workspace."""

    def __init__(
        self,
        ws: Workspace,
        *,
        client_id: str = "0000000001.0000000001",
        client_secret: str = "emulator-client-secret",
    ) -> None:
        self.ws = ws
        self.client_id = client_id
        self.client_secret = client_secret
        self.grants: dict[str, Grant] = {}
        self.tokens: dict[str, tuple[str, float]] = {}  # access token: user, expiry
        self.other_teams: dict[str, str] = {}  # people of another workspace: their team id

    @property
    def key(self) -> RSAKey:
        return signing_key()

    def add_routes(self, app: web.Application) -> None:
        """Before the emulator's /api/{method}, so these two methods are answered here."""
        app.router.add_get(AUTHORIZE_PATH, self.authorize_page)
        app.router.add_post(AUTHORIZE_PATH, self.authorize_choice)
        app.router.add_get(KEYS_PATH, self.keys)
        app.router.add_post("/api/openid.connect.token", self.token)
        app.router.add_route("*", "/api/openid.connect.userInfo", self.user_info)

    # -- the browser's side ---------------------------------------------------------------------
    async def authorize_page(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        problem = self._authorize_problem(query)
        if problem:
            return web.Response(status=400, text=problem)
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in query.items()
        )
        page = PAGE.format(
            team=html.escape(self.ws.team_domain),
            client=html.escape(query["client_id"]),
            action=AUTHORIZE_PATH,
            hidden=hidden,
            people=self._people_choices(),
        )
        return web.Response(text=page, content_type="text/html")

    def _people_choices(self) -> str:
        return "\n".join(
            f'<label><input type="radio" name="user" value="{html.escape(u.id)}" required> '
            f"{html.escape(u.name)}</label><br>"
            for u in self.people()
        )

    def people(self) -> list[User]:
        return [u for u in self.ws.users.values() if not u.is_bot and not u.deleted]

    def _authorize_problem(self, query: dict[str, str]) -> str:
        if query.get("client_id") != self.client_id:
            return "invalid_client_id"
        if query.get("response_type") != "code":
            return "invalid_response_type"
        if "openid" not in query.get("scope", "").split():
            return "invalid_scope"
        if not query.get("redirect_uri", "").startswith(("http://", "https://")):
            return "bad_redirect_uri"
        return ""

    async def authorize_choice(self, request: web.Request) -> web.Response:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        problem = self._authorize_problem(form)
        user = form.get("user", "")
        if problem or user not in {u.id for u in self.people()}:
            return web.Response(status=400, text=problem or "invalid_user")
        raise web.HTTPFound(self.issue_code(user, form))

    def issue_code(self, user: str, query: dict[str, str]) -> str:
        """The redirect back to the app for `user`, as Slack sends it after consent."""
        code = f"{secrets.token_hex(8)}.{secrets.token_hex(16)}"
        self.grants[code] = Grant(
            user, query["client_id"], query["redirect_uri"], query.get("nonce", ""), self.ws.clock()
        )
        redirect = query["redirect_uri"]
        back = {"code": code, **({"state": query["state"]} if "state" in query else {})}
        return redirect + ("&" if "?" in redirect else "?") + urlencode(back)

    async def keys(self, request: web.Request) -> web.Response:
        return web.json_response({"keys": [self.key.as_dict(private=False, alg="RS256")]})

    # -- the app's side (Web API methods) --------------------------------------------------------
    async def token(self, request: web.Request) -> web.Response:
        args = await _args(request)
        try:
            body = self._exchange(args)
        except ApiError as exc:
            body = exc.body()
        return web.json_response(body)

    def _exchange(self, args: dict[str, str]) -> JsonDict:
        client_id, secret = _client_credentials(args)
        if client_id != self.client_id:
            raise ApiError("invalid_client_id")
        if not same_secret(secret, self.client_secret):
            raise ApiError("bad_client_secret")
        grant = self.grants.get(args.get("code", ""))
        if grant is None or grant.used or self.ws.clock() - grant.created > CODE_SECONDS:
            raise ApiError("invalid_code")
        if grant.client_id != client_id:
            raise ApiError("invalid_code")
        if args.get("redirect_uri", "") != grant.redirect_uri:
            raise ApiError("bad_redirect_uri")
        grant.used = True
        access = "xoxp-" + secrets.token_hex(16)
        self.tokens[access] = (grant.user, self.ws.clock() + TOKEN_SECONDS)
        return {
            "ok": True,
            "access_token": access,
            "token_type": "Bearer",
            "id_token": self._id_token(grant),
        }

    def _id_token(self, grant: Grant) -> str:
        now = int(self.ws.clock())
        claims: dict[str, Any] = {
            "iss": self.ws.base_url,
            "aud": grant.client_id,
            "iat": now,
            "auth_time": now,
            "exp": now + TOKEN_SECONDS,
            **({"nonce": grant.nonce} if grant.nonce else {}),
            **self.claims(grant.user),
        }
        return jwt.encode({"alg": "RS256", "kid": "emulator-1"}, claims, self.key)

    def claims(self, user_id: str) -> JsonDict:
        user = self.ws.users[user_id]
        return {
            "sub": user.id,
            "https://slack.com/user_id": user.id,
            "https://slack.com/team_id": self.other_teams.get(user.id, self.ws.team_id),
            "https://slack.com/team_domain": self.ws.team_domain,
            "email": user.email or "",
            "email_verified": bool(user.email),
            "name": user.name,
            "given_name": user.name,
            "locale": "en-US",
        }

    async def user_info(self, request: web.Request) -> web.Response:
        args = await _args(request)
        token = bearer(request) or args.get("token", "")
        user, expires = self.tokens.get(token, ("", 0.0))
        if not token:
            return web.json_response({"ok": False, "error": "not_authed"})
        if not user or expires < self.ws.clock():
            return web.json_response({"ok": False, "error": "invalid_auth"})
        return web.json_response({"ok": True, **self.claims(user)})


def _client_credentials(args: dict[str, str]) -> tuple[str, str]:
    return args.get("client_id", ""), args.get("client_secret", "")


async def _args(request: web.Request) -> dict[str, str]:
    form = await request.post() if request.can_read_body else {}
    merged = {**request.query, **{k: v for k, v in form.items() if isinstance(v, str)}}
    return {str(k): str(v) for k, v in merged.items()}
