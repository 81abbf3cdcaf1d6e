"""Signing in to the web console with Slack (through the emulator's authorize page), what a
wrong `state` or a form without its CSRF token gets, and the console turned off."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlencode, urlparse

import aiohttp
import pytest
from itsdangerous import URLSafeTimedSerializer

from bridgekeeper.sandbox import SlackEmulator
from tests.conftest import Running, bridgekeepers
from tests.console.conftest import Visitors, start_console


async def test_signing_in_with_slack_lands_on_the_incidents(visitors: Visitors) -> None:
    alice = visitors()
    status, _ = await alice.get("/console/incidents", allow_redirects=False)
    assert status == 302
    url, page = await alice.authorize_page()
    assert urlparse(url).path == "/openid/connect/authorize"
    query = parse_qs(urlparse(url).query)
    assert query["scope"] == ["openid profile email"] and query["response_type"] == ["code"]
    assert query["redirect_uri"][0].endswith("/console/auth/callback")
    assert query["state"][0] and query["nonce"][0]
    assert "alice" in page and "bob" in page
    landed = await alice.sign_in("U0ALICE")
    assert "Signed in as alice" in landed and "<h1>Incidents</h1>" in landed
    cookie = next(c for c in alice.http.cookie_jar if c.key == "bk_console")
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert (await alice.api("/incidents"))[0] == 200


async def test_a_callback_whose_state_does_not_match_is_refused(
    console: Running, visitors: Visitors
) -> None:
    alice = visitors()
    url, page = await alice.authorize_page()
    async with await alice.choose(url, page, "U0ALICE", follow=False) as back:
        callback = back.headers["Location"]
    params = parse_qs(urlparse(callback).query)
    for state in ("\u00e9t\u00e9", "someone-elses-state"):  # compared as bytes, not a 500
        forged = {"code": params["code"][0], "state": state}
        status, text = await alice.get("/console/auth/callback?" + urlencode(forged))
        assert status == 400 and "Sign-in failed" in text and "expired" in text
    assert (await alice.get("/console/incidents", allow_redirects=False))[0] == 302
    assert (await alice.api("/incidents"))[0] == 401
    stranger = visitors()  # the right state, in a browser that never started signing in
    status, _ = await stranger.get("/console/auth/callback?" + urlparse(callback).query)
    assert status == 400
    assert (await stranger.get("/console/incidents", allow_redirects=False))[0] == 302


async def test_a_code_is_good_once(visitors: Visitors) -> None:
    alice = visitors()
    url, page = await alice.authorize_page()
    async with await alice.choose(url, page, "U0ALICE", follow=False) as back:
        callback = back.headers["Location"]
    async with alice.http.get(callback) as first:
        assert first.status == 200
    thief = visitors()
    url, _ = await thief.authorize_page()  # a login cookie of its own, but not that state
    status, _ = await thief.get("/console/auth/callback?" + urlparse(callback).query)
    assert status == 400 and (await thief.api("/incidents"))[0] == 401


async def test_someone_of_another_workspace_may_not_sign_in(
    console: Running, visitors: Visitors
) -> None:
    console.slack.openid.other_teams["U0DAVE"] = "T0ELSEWHERE"
    dave = visitors()
    url, page = await dave.authorize_page()
    async with await dave.choose(url, page, "U0DAVE") as landed:
        assert landed.status == 400 and "another workspace" in await landed.text()
    assert (await dave.api("/incidents"))[0] == 401


async def test_signing_out_needs_the_forms_csrf_token(visitors: Visitors) -> None:
    alice = visitors()
    page = await alice.sign_in()
    status, text = await alice.post("/console/signout", {})
    assert status == 403 and "nothing was changed" in text
    status, text = await alice.post("/console/signout", {"csrf": "not-the-token"})
    assert status == 403
    assert (await alice.api("/incidents"))[0] == 200  # still signed in
    status, text = await alice.post("/console/signout", {"csrf": alice.csrf(page)})
    assert status == 200 and "Sign in with Slack" in text
    assert (await alice.api("/incidents"))[0] == 401


async def test_a_tampered_session_cookie_is_no_session(
    console: Running, visitors: Visitors
) -> None:
    alice = visitors()
    await alice.sign_in("U0ALICE")
    cookie = next(c for c in alice.http.cookie_jar if c.key == "bk_console")
    salt = "bridgekeeper.console.session"
    _, claims = URLSafeTimedSerializer("not-the-secret", salt=salt).loads_unsafe(cookie.value)
    as_bob = URLSafeTimedSerializer("not-the-secret", salt=salt).dumps({**claims, "u": "U0BOB"})
    # The first character of the signature carries six of its bits (the last may carry padding).
    rest, signature = cookie.value.rsplit(".", 1)
    changed = f"{rest}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    for forged in (as_bob, changed):
        bob = visitors()
        bob.http.cookie_jar.update_cookies(
            {"bk_console": forged}, response_url=aiohttp.client.URL(console.url)
        )
        assert (await bob.api("/incidents"))[0] == 401, forged


async def test_signing_out_ends_a_copied_session_and_every_other_browsers(
    console: Running, visitors: Visitors
) -> None:
    alice, laptop = visitors(), visitors()
    page = await alice.sign_in()
    await laptop.sign_in()
    cookie = next(c for c in alice.http.cookie_jar if c.key == "bk_console")
    thief = visitors()
    thief.http.cookie_jar.update_cookies(
        {"bk_console": cookie.value}, response_url=aiohttp.client.URL(console.url)
    )
    assert (await thief.api("/incidents"))[0] == 200  # a copied cookie works while it lasts
    status, _ = await alice.post("/console/signout", {"csrf": alice.csrf(page)})
    assert status == 200
    assert (await thief.api("/incidents"))[0] == 401
    assert (await thief.get("/console/incidents", allow_redirects=False))[0] == 302
    assert (await laptop.api("/incidents"))[0] == 401  # signed out everywhere
    await alice.sign_in()
    assert (await alice.api("/incidents"))[0] == 200  # a new session is good


@pytest.mark.parametrize("off", ["by setting", "without its secret"])
async def test_the_console_off_is_not_there(
    db_url: str, emulator: SlackEmulator, off: str, caplog: pytest.LogCaptureFixture
) -> None:
    changes = {"enabled": False} if off == "by setting" else {"session_secret": None}
    caplog.set_level(logging.INFO, logger="bridgekeeper.console.routes")
    async with bridgekeepers(db_url, emulator) as start:
        app = await start_console(start, emulator, **changes)
        async with aiohttp.ClientSession() as http:
            for path in (
                "/console/",
                "/console/incidents",
                "/console/signin",
                "/api/v1/incidents",
                "/api/v1/openapi.json",
            ):
                async with http.get(app.url + path, allow_redirects=False) as response:
                    assert response.status == 404, path
    said = [r.getMessage() for r in caplog.records if r.name == "bridgekeeper.console.routes"]
    if off == "by setting":
        assert said == []
    else:
        assert said == ["web console off: BRIDGEKEEPER_SESSION_SECRET not set"]


@pytest.mark.parametrize(
    "elsewhere",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/slack/events",
        "/console/incidents\r\nX-Injected: 1",  # a line break, which no Location may hold
    ],
)
async def test_after_signing_in_only_the_console_is_a_destination(
    visitors: Visitors, elsewhere: str
) -> None:
    alice = visitors()
    url, page = await alice.authorize_page(next_path=elsewhere)
    async with await alice.choose(url, page, "U0ALICE") as landed:
        assert landed.status == 200 and landed.url.path == "/console/incidents"


async def test_pages_forbid_scripts_and_framing(visitors: Visitors) -> None:
    alice = visitors()
    await alice.sign_in()
    async with alice.http.get(alice.app.url + "/console/incidents") as response:
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert response.headers["Cache-Control"] == "no-store"
        assert "<script" not in await response.text()
