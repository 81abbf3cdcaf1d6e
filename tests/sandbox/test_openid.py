"""The emulator's Sign in with Slack: the authorize page, then openid.connect.token and
openid.connect.userInfo answering as Slack documents them (codes good once, for the client and
redirect URL they were issued to)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import aiohttp
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from bridgekeeper.sandbox import SlackEmulator

REDIRECT = "https://bk.example.com/console/auth/callback"


@pytest.fixture
async def slack() -> AsyncIterator[SlackEmulator]:
    emulator = SlackEmulator()
    emulator.add_people({"U0ALICE": "alice", "U0BOB": "bob"})
    await emulator.start()
    yield emulator
    await emulator.stop()


def authorize_query(slack: SlackEmulator, **changes: str) -> dict[str, str]:
    return {
        "client_id": slack.openid.client_id,
        "response_type": "code",
        "state": "s1",
        "scope": "openid profile email",
        "redirect_uri": REDIRECT,
        "nonce": "n1",
        **changes,
    }


async def code_for(http: aiohttp.ClientSession, slack: SlackEmulator, user: str) -> str:
    async with http.post(
        slack.base_url + "/openid/connect/authorize",
        data={**authorize_query(slack), "user": user},
        allow_redirects=False,
    ) as response:
        assert response.status == 302
        back = urlparse(response.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == REDIRECT
    assert parse_qs(back.query)["state"] == ["s1"]
    return parse_qs(back.query)["code"][0]


async def token(http: aiohttp.ClientSession, slack: SlackEmulator, **args: str) -> Any:
    sent = {
        "client_id": slack.openid.client_id,
        "client_secret": slack.openid.client_secret,
        "redirect_uri": REDIRECT,
        **args,
    }
    async with http.post(slack.api_url + "openid.connect.token", data=sent) as response:
        return await response.json()


async def test_a_code_becomes_a_signed_id_token_and_user_info(slack: SlackEmulator) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(
            slack.base_url + "/openid/connect/authorize", params=authorize_query(slack)
        ) as page:
            assert page.status == 200 and "alice" in await page.text()
        answer = await token(http, slack, code=await code_for(http, slack, "U0BOB"))
        assert answer["ok"] and answer["access_token"].startswith("xoxp-")
        async with http.get(slack.base_url + "/openid/connect/keys") as keys:
            key_set = KeySet.import_key_set(await keys.json())
        claims = jwt.decode(answer["id_token"], key_set, algorithms=["RS256"]).claims
        assert claims["https://slack.com/user_id"] == "U0BOB" and claims["nonce"] == "n1"
        assert claims["aud"] == slack.openid.client_id and claims["iss"] == slack.base_url
        headers = {"Authorization": f"Bearer {answer['access_token']}"}
        async with http.post(slack.api_url + "openid.connect.userInfo", headers=headers) as info:
            body = await info.json()
        assert body["ok"] and body["sub"] == "U0BOB" and body["name"] == "bob"
        async with http.post(slack.api_url + "openid.connect.userInfo") as info:
            assert (await info.json())["error"] == "not_authed"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"client_secret": "wrong"}, "bad_client_secret"),
        ({"client_id": "9.9"}, "invalid_client_id"),
        ({"redirect_uri": "https://elsewhere.example.com/cb"}, "bad_redirect_uri"),
        ({"code": "made-up"}, "invalid_code"),
    ],
)
async def test_the_token_method_refuses(
    slack: SlackEmulator, args: dict[str, str], error: str
) -> None:
    async with aiohttp.ClientSession() as http:
        code = await code_for(http, slack, "U0ALICE")
        assert await token(http, slack, **{"code": code, **args}) == {"ok": False, "error": error}


async def test_a_code_is_good_once(slack: SlackEmulator) -> None:
    async with aiohttp.ClientSession() as http:
        code = await code_for(http, slack, "U0ALICE")
        assert (await token(http, slack, code=code))["ok"]
        assert await token(http, slack, code=code) == {"ok": False, "error": "invalid_code"}


@pytest.mark.parametrize(
    "changes", [{"client_id": "9.9"}, {"response_type": "token"}, {"scope": "profile"}]
)
async def test_the_authorize_page_refuses_a_bad_request(
    slack: SlackEmulator, changes: dict[str, str]
) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            slack.base_url + "/openid/connect/authorize", params=authorize_query(slack, **changes)
        ) as page,
    ):
        assert page.status == 400
