"""Sign in with Slack (OpenID Connect): the authorize URL, then the code exchanged at
`openid.connect.token`, its `id_token` checked (RS256 against Slack's published keys; issuer,
audience, expiry and the nonce of this sign-in), and `openid.connect.userInfo` read with the
access token. The Slack user id is the `https://slack.com/user_id` claim.

Slack's site is SLACK_API_URL without its `/api/` (https://slack.com, or the emulator): the
authorize page and the keys are at `/openid/connect/authorize` and `/openid/connect/keys`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp

if TYPE_CHECKING:  # joserfc is loaded at the first sign-in, not at start-up
    from joserfc.jwk import KeySet

log = logging.getLogger(__name__)
USER_ID = "https://slack.com/user_id"
TEAM_ID = "https://slack.com/team_id"
SCOPE = "openid profile email"
TIMEOUT = aiohttp.ClientTimeout(total=10)


class SignInFailed(Exception):
    """Slack did not vouch for the person signing in (the reason is logged, not shown)."""


@dataclass(frozen=True)
class Identity:
    user: str
    name: str
    team: str


class SlackSignIn:
    def __init__(self, *, api_url: str, client_id: str, client_secret: str) -> None:
        self.api_url = api_url if api_url.endswith("/") else api_url + "/"
        self.issuer = self.api_url.rstrip("/").removesuffix("/api")
        self.client_id = client_id
        self.client_secret = client_secret
        self._keys: KeySet | None = None

    def authorize_url(self, *, redirect_uri: str, state: str, nonce: str) -> str:
        query = {
            "response_type": "code",
            "scope": SCOPE,
            "client_id": self.client_id,
            "state": state,
            "nonce": nonce,
            "redirect_uri": redirect_uri,
        }
        return f"{self.issuer}/openid/connect/authorize?{urlencode(query)}"

    async def identify(self, *, code: str, redirect_uri: str, nonce: str) -> Identity:
        """Who Slack says signed in, or SignInFailed."""
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
            tokens = await self._method(
                http,
                "openid.connect.token",
                data={
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                    "code": code,
                    "redirect_uri": redirect_uri,
                    "grant_type": "authorization_code",
                },
            )
            claims = await self._checked_claims(http, str(tokens.get("id_token", "")), nonce)
            info = await self._method(
                http,
                "openid.connect.userInfo",
                headers={"Authorization": f"Bearer {tokens.get('access_token', '')}"},
            )
        if info.get("sub") != claims.get("sub") or not claims.get(USER_ID):
            raise SignInFailed("userInfo names someone else than the id_token")
        name = str(info.get("name") or claims.get("name") or claims[USER_ID])
        return Identity(str(claims[USER_ID]), name, str(claims.get(TEAM_ID, "")))

    async def _method(self, http: aiohttp.ClientSession, method: str, **kwargs: Any) -> Any:
        try:
            async with http.post(self.api_url + method, **kwargs) as response:
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise SignInFailed(f"{method}: {exc!r}") from None
        if not isinstance(body, dict) or not body.get("ok"):
            error = body.get("error") if isinstance(body, dict) else "not JSON"
            raise SignInFailed(f"{method}: {error}")
        return body

    async def _checked_claims(
        self, http: aiohttp.ClientSession, id_token: str, nonce: str
    ) -> dict[str, Any]:
        from joserfc import jwt
        from joserfc.errors import JoseError

        try:
            token = jwt.decode(id_token, await self._key_set(http), algorithms=["RS256"])
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.client_id},
                exp={"essential": True},
                nonce={"essential": True, "value": nonce},
                sub={"essential": True},
            ).validate(token.claims)
        except (JoseError, ValueError) as exc:
            self._keys = None  # the keys may have been rotated: fetch them again next time
            raise SignInFailed(f"id_token refused: {exc!r}") from None
        return dict(token.claims)

    async def _key_set(self, http: aiohttp.ClientSession) -> KeySet:
        from joserfc.errors import JoseError
        from joserfc.jwk import KeySet

        if self._keys is None:
            try:
                async with http.get(f"{self.issuer}/openid/connect/keys") as response:
                    self._keys = KeySet.import_key_set(await response.json(content_type=None))
            except (aiohttp.ClientError, TimeoutError, ValueError, JoseError) as exc:
                raise SignInFailed(f"Slack's keys: {exc!r}") from None
        return self._keys
