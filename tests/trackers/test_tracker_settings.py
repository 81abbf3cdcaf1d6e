"""[trackers] settings: checked at start-up with one line naming the key; the token and the
webhook secret come from the environment; the webhook answers only for the configured tracker."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from bridgekeeper.config import ConfigError, load_settings
from bridgekeeper.config.settings import TrackerSettings
from tests.trackers.test_github_followups import Start, start

__all__ = ["start"]  # the fixture, shared


def load(tmp_path: Path, toml: str, **env: str) -> TrackerSettings:
    path = tmp_path / "bridgekeeper.toml"
    path.write_text(toml)
    return load_settings({"BRIDGEKEEPER_CONFIG": str(path), **env}).trackers


def test_a_tracker_reads_its_secrets_from_the_environment(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        '[trackers]\nkind = "gitlab"\nurl = "https://gitlab.example.com/"\nproject = "42"\n'
        'users = { U0BOB = "7" }\n',
        BRIDGEKEEPER_TRACKER_TOKEN="glpat-secret",
        BRIDGEKEEPER_TRACKER_WEBHOOK_SECRET="hook-secret",
    )
    assert (settings.kind, settings.url, settings.project) == (
        "gitlab",
        "https://gitlab.example.com",
        "42",
    )
    assert (settings.token, settings.webhook_secret) == ("glpat-secret", "hook-secret")
    assert settings.users == {"U0BOB": "7"} and settings.labels == ("incident-followup",)
    assert load(tmp_path, "").kind is None


def test_jira_data_center_needs_no_email(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        '[trackers]\nkind = "jira-dc"\nurl = "https://jira.example.com"\nproject = "OPS"\n'
        'users = { U0BOB = "bob.smith" }\n',
        BRIDGEKEEPER_TRACKER_TOKEN="personal-access-token",
    )
    assert (settings.kind, settings.project, settings.email) == ("jira-dc", "OPS", None)
    assert settings.users == {"U0BOB": "bob.smith"}


@pytest.mark.parametrize(
    ("toml", "line"),
    [
        (
            'kind = "bugzilla"',
            "config: trackers.kind: expected one of github, gitlab, jira, "
            'jira-dc, got "bugzilla" (a string)',
        ),
        (
            'kind = "github"\nproject = "acme/ops"',
            "config: trackers.url: is needed by the github tracker",
        ),
        (
            'kind = "jira"\nurl = "https://x.atlassian.net"\nproject = "OPS"',
            "config: trackers.email: is needed by the jira tracker",
        ),
        (
            'kind = "jira-dc"\nproject = "OPS"',
            "config: trackers.url: is needed by the jira-dc tracker",
        ),
        (
            'kind = "jira-dc"\nurl = "https://jira.example.com"\nproject = "OPS"\n'
            'email = "bot@example.com"',
            "config: trackers.email: is not used by the jira-dc tracker (a Data Center personal "
            "access token needs no e-mail)",
        ),
        (
            'kind = "github"\nurl = "api.github.com"\nproject = "a/b"',
            "config: trackers.url: expected a URL starting with http:// or https://, got "
            '"api.github.com" (a string)',
        ),
        (
            "poll_minutes = -1",
            "config: trackers.poll_minutes: expected 0 or more, got -1 (a number)",
        ),
    ],
)
def test_a_wrong_setting_is_one_line_naming_its_key(tmp_path: Path, toml: str, line: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, f"[trackers]\n{toml}\n")
    assert str(raised.value) == line


async def test_the_webhook_answers_only_for_the_configured_tracker(start: Start) -> None:
    settings = TrackerSettings(
        kind="github", url="https://api.github.com", project="a/b", token="t", webhook_secret="s"
    )
    app = await start(trackers=settings)
    async with aiohttp.ClientSession() as http:
        for kind, status in (("gitlab", 404), ("github", 401)):
            async with http.post(f"{app.url}/trackers/{kind}", data=b"{}") as answer:
                assert answer.status == status
