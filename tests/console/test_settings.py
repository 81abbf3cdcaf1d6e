"""[console] and its variables: checked at start-up like every setting, and what a public URL
changes (the redirect URL Slack is given, Secure cookies)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import aiohttp
import pytest

from bridgekeeper.config import ConfigError, load_settings
from bridgekeeper.sandbox import SlackEmulator
from tests.conftest import bridgekeepers
from tests.console.conftest import start_console


def settings_from(tmp_path: Path, toml: str, **env: str) -> object:
    path = tmp_path / "bridgekeeper.toml"
    path.write_text(toml + "\n")
    return load_settings({"BRIDGEKEEPER_CONFIG": str(path), **env})


def test_console_settings_and_their_defaults(tmp_path: Path) -> None:
    console = load_settings({}).console
    assert console.enabled and console.public_url is None and console.session_hours == 12
    assert console.missing == (
        "BRIDGEKEEPER_SESSION_SECRET",
        "SLACK_CLIENT_ID",
        "SLACK_CLIENT_SECRET",
    )
    settings = settings_from(
        tmp_path,
        '[console]\npublic_url = "https://bk.example.com/"\nsession_hours = 8',
        BRIDGEKEEPER_SESSION_SECRET="x" * 32,
        SLACK_CLIENT_ID="1.2",
        SLACK_CLIENT_SECRET="s",
    )
    console = settings.console  # type: ignore[attr-defined]
    assert console.public_url == "https://bk.example.com" and console.session_hours == 8
    assert console.missing == ()


@pytest.mark.parametrize(
    ("toml", "env", "problem"),
    [
        ('[console]\npublic_url = "bk.example.com"', {}, "console.public_url: expected a URL"),
        ("[console]\nenabled = 1", {}, "console.enabled: expected true or false"),
        ("[console]\nsession_hours = 0", {}, "console.session_hours: expected a number greater"),
        ("", {"BRIDGEKEEPER_SESSION_SECRET": "short"}, "BRIDGEKEEPER_SESSION_SECRET: expected at"),
    ],
)
def test_wrong_console_settings_stop_start_up(
    tmp_path: Path, toml: str, env: dict[str, str], problem: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        settings_from(tmp_path, toml, **env)
    assert any(problem in f"{key}: {text}" for key, text in raised.value.problems), (
        raised.value.problems
    )


async def test_a_public_https_url_makes_the_redirect_and_secure_cookies(
    db_url: str, emulator: SlackEmulator
) -> None:
    async with bridgekeepers(db_url, emulator) as start:
        app = await start_console(start, emulator, public_url="https://bk.example.com")
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{app.url}/console/auth/start", allow_redirects=False) as response,
        ):
            assert response.status == 302
            query = parse_qs(urlparse(response.headers["Location"]).query)
            cookie = response.cookies["bk_console_login"]
    assert query["redirect_uri"] == ["https://bk.example.com/console/auth/callback"]
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"
