"""The console's session: a signed, HttpOnly, SameSite=Lax cookie (itsdangerous). It holds who
signed in, their name, a CSRF token for every form, and when it was made; it is good for
`[console] session_hours`, and until its person signs out (the server keeps only when each person
last signed out: `store/console_signouts.py`). Signing in first sets a short-lived cookie with the
OpenID Connect `state` and `nonce` the callback checks."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "bk_console"
LOGIN_COOKIE = "bk_console_login"
LOGIN_SECONDS = 600
COOKIE_PATH = "/"  # the console and its API at /api/v1/


@dataclass(frozen=True)
class Session:
    user: str  # the Slack user id
    name: str
    team: str
    csrf: str  # the token every form carries
    issued_at: float  # when it was made (epoch seconds, of the bridgekeeper's clock)


@dataclass(frozen=True)
class Login:
    state: str
    nonce: str
    next: str  # where to go once signed in (a path of the console)


class Cookies:
    def __init__(self, *, secret: str, session_hours: int, secure: bool) -> None:
        self.sessions = URLSafeTimedSerializer(secret, salt="bridgekeeper.console.session")
        self.logins = URLSafeTimedSerializer(secret, salt="bridgekeeper.console.login")
        self.max_age = session_hours * 3600
        self.secure = secure

    # -- the session ----------------------------------------------------------------------------
    def session(self, request: web.Request) -> Session | None:
        data = self._read(self.sessions, request.cookies.get(SESSION_COOKIE), self.max_age)
        if not isinstance(data, dict):
            return None
        try:
            issued_at = float(data.get("i", 0.0))
            return Session(
                str(data["u"]), str(data["n"]), str(data["t"]), str(data["c"]), issued_at
            )
        except (KeyError, TypeError, ValueError):
            return None

    def start(
        self, response: web.StreamResponse, *, user: str, name: str, team: str, at: float
    ) -> None:
        """A new session (and a new CSRF token) for whoever just signed in."""
        data = {"u": user, "n": name, "t": team, "c": secrets.token_urlsafe(24), "i": at}
        self._set(response, SESSION_COOKIE, self.sessions.dumps(data), self.max_age)
        response.del_cookie(LOGIN_COOKIE, path=COOKIE_PATH)

    def end(self, response: web.StreamResponse) -> None:
        response.del_cookie(SESSION_COOKIE, path=COOKIE_PATH)

    # -- signing in -----------------------------------------------------------------------------
    def begin_login(self, response: web.StreamResponse, *, next_path: str) -> Login:
        login = Login(secrets.token_urlsafe(24), secrets.token_urlsafe(24), next_path)
        data = {"s": login.state, "n": login.nonce, "x": login.next}
        self._set(response, LOGIN_COOKIE, self.logins.dumps(data), LOGIN_SECONDS)
        return login

    def login(self, request: web.Request) -> Login | None:
        data = self._read(self.logins, request.cookies.get(LOGIN_COOKIE), LOGIN_SECONDS)
        if not isinstance(data, dict):
            return None
        return Login(str(data.get("s", "")), str(data.get("n", "")), str(data.get("x", "")))

    # -- cookies --------------------------------------------------------------------------------
    @staticmethod
    def _read(serializer: URLSafeTimedSerializer, value: str | None, max_age: int) -> Any:
        if not value:
            return None
        try:
            return serializer.loads(value, max_age=max_age)
        except BadSignature:  # tampered with, or expired (SignatureExpired is one)
            return None

    def _set(self, response: web.StreamResponse, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=COOKIE_PATH,
            httponly=True,
            samesite="Lax",
            secure=self.secure,
        )
