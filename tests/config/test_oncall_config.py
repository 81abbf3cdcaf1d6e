"""[oncall] in the TOML file: a rota that loads, and one line naming the key for each mistake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bridgekeeper.config.loading import load_settings
from bridgekeeper.domain.oncall import on_call
from bridgekeeper.domain.paging import people
from tests.config.test_config_cli import assert_clean_failure, bridgekeeper, write

ROTA = """
[oncall.teams.payments]
time_zone = "Europe/Paris"
[[oncall.teams.payments.layers]]
name = "round the clock"
users = ["U0ALICE", "U0BOB"]
start = 2026-03-02
handoff = 09:00:00
every_days = 7
[[oncall.teams.payments.layers]]
name = "office hours"
users = ["U0CAROL"]
start = 2026-03-02
every_days = 1
weekdays = ["mon", "tue", "wed", "thu", "fri"]
from = 09:00:00
until = 18:00:00
"""

ESCALATION = """until = 18:00:00
[oncall.teams.payments.escalation]
levels = [["oncall"], ["other-layers"], ["U0DAVE"]]
delay_minutes = 10
repeat = 1
"""
KEY = "0123456789abcdef0123456789ABCDEF"


def test_an_escalation_policy_and_a_routing_key_load(tmp_path: Path) -> None:
    text = ROTA.replace("until = 18:00:00", ESCALATION).replace(
        'time_zone = "Europe/Paris"', f'time_zone = "Europe/Paris"\npagerduty_routing_key = "{KEY}"'
    )
    settings = load_settings(config_path=str(write(tmp_path, text)))
    team = settings.oncall.team("payments")
    assert team is not None
    policy = settings.oncall.policy(team)
    assert policy.levels == (("oncall",), ("other-layers",), ("U0DAVE",))
    assert (policy.delay, policy.repeat) == (timedelta(minutes=10), 1)
    assert settings.oncall.pagerduty_keys == {"payments": KEY}
    shown = bridgekeeper(
        tmp_path,
        "config",
        "show",
        BRIDGEKEEPER_CONFIG=str(write(tmp_path, text)),
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET="test",
    )
    assert (
        KEY not in shown.stdout + shown.stderr and 'pagerduty_routing_key = "****' in shown.stdout
    )


def test_the_default_policy_pages_the_on_call_then_the_other_layers(tmp_path: Path) -> None:
    settings = load_settings(config_path=str(write(tmp_path, ROTA)))
    team = settings.oncall.team("payments")
    assert team is not None
    assert settings.oncall.policy(team).levels == (("oncall",), ("other-layers",))
    tuesday = datetime(2026, 3, 10, 10, tzinfo=UTC)  # office hours: Carol, then Bob's week
    assert people(("oncall",), team, tuesday) == ["U0CAROL"]
    assert people(("other-layers",), team, tuesday) == ["U0BOB"]
    saturday = datetime(2026, 3, 7, 10, tzinfo=UTC)  # no office hours: nobody else
    assert people(("other-layers",), team, saturday) == []


def test_config_check_accepts_a_rota(tmp_path: Path) -> None:
    done = bridgekeeper(tmp_path, "config", "check", str(write(tmp_path, ROTA)))
    assert done.returncode == 0, done.stderr


def test_a_loaded_rota_answers_who_is_on_call(tmp_path: Path) -> None:
    settings = load_settings(config_path=str(write(tmp_path, ROTA)))
    team = settings.oncall.team("payments")
    assert team is not None
    saturday = datetime(2026, 3, 7, 10, tzinfo=UTC)
    tuesday = datetime(2026, 3, 10, 10, tzinfo=UTC)
    assert on_call(team, saturday).user == "U0ALICE"  # type: ignore[union-attr]
    assert on_call(team, tuesday).user == "U0CAROL"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("change", "line"),
    [
        (
            ('"Europe/Paris"', '"Europe/Pariss"'),
            "oncall.teams.payments.time_zone: expected a time zone name like Europe/Paris, "
            'got "Europe/Pariss" (a string)',
        ),
        (
            ('"U0BOB"', '"bob"'),
            "oncall.teams.payments.layers[0].users: expected Slack user IDs (U…, W…), "
            'got "bob" (a string)',
        ),
        (
            ("every_days = 7", "every_days = 7\nevery_hours = 12"),
            "oncall.teams.payments.layers: expected one of every_days or every_hours, "
            "got {...} (a table)",
        ),
        (
            ("until = 18:00:00", "until = 09:00:00"),
            "oncall.teams.payments.layers: expected both from and until, at different "
            "times, or neither, got {...} (a table)",
        ),
        (
            ('name = "office hours"', 'name = "round the clock"'),
            "oncall.teams.payments: expected layers with different names, got {...} (a table)",
        ),
        (
            ("until = 18:00:00", 'until = 18:00:00\n[[oncall.routes]]\nteam = "billing"'),
            'oncall.routes[0].team: unknown team "billing"; expected one of [oncall.teams]: '
            "payments",
        ),
        (
            ("until = 18:00:00", ESCALATION.replace('"U0DAVE"', '"dave"')),
            "oncall.teams.payments.escalation.levels[2]: expected oncall, other-layers or "
            'Slack user IDs (U…, W…), got "dave" (a string)',
        ),
        (
            ("until = 18:00:00", ESCALATION.replace("repeat = 1", "repeat = -1")),
            "oncall.teams.payments.escalation.repeat: expected 0 or more, got -1 (a number)",
        ),
        (
            ("until = 18:00:00", ESCALATION.replace("levels = [", "levels = [[], ")),
            "oncall.teams.payments.escalation.levels: expected at least one item, got [] (a list)",
        ),
        (
            (
                'time_zone = "Europe/Paris"',
                'time_zone = "Europe/Paris"\npagerduty_routing_key = "not-a-key-but-a-secret"',
            ),
            "oncall.teams.payments.pagerduty_routing_key: expected a PagerDuty integration key "
            "of 32 letters and digits, got a string",
        ),
        (
            ('"fri"]', '"fry"]'),
            "oncall.teams.payments.layers[1].weekdays: expected one of mon, tue, wed, thu, "
            'fri, sat, sun, got "fry" (a string)',
        ),
    ],
)
def test_config_check_names_the_key_of_a_mistake(
    tmp_path: Path, change: tuple[str, str], line: str
) -> None:
    config = write(tmp_path, ROTA.replace(*change))
    done = bridgekeeper(tmp_path, "config", "check", str(config))
    assert done.returncode == 2
    assert assert_clean_failure(done, 1) == [f"bridgekeeper: config: {line}"]


PLATFORM = """
[oncall.teams.platform]
source = "pagerduty"
schedule = "PABC123"
[oncall.teams.storage]
source = "goalert"
schedule = "6f1c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f"
[goalert]
url = "https://goalert.example.com"
"""
TOKENS = {"BRIDGEKEEPER_PAGERDUTY_TOKEN": "u+read-only", "BRIDGEKEEPER_GOALERT_TOKEN": "ga-key"}


def test_teams_reading_paging_tools_load(tmp_path: Path) -> None:
    settings = load_settings(TOKENS, config_path=str(write(tmp_path, PLATFORM)))
    sources = settings.oncall.sources
    assert (sources["platform"].kind, sources["platform"].schedule) == ("pagerduty", "PABC123")
    assert sources["storage"].kind == "goalert"
    assert settings.oncall.pagerduty_api_url == "https://api.pagerduty.com"
    assert (settings.oncall.goalert_url, settings.oncall.goalert_token) == (
        "https://goalert.example.com",
        "ga-key",
    )


@pytest.mark.parametrize(
    ("change", "line"),
    [
        (
            ('schedule = "PABC123"', ""),
            "oncall.teams.platform.schedule: expected exactly one of schedule or escalation_policy",
        ),
        (
            ('schedule = "PABC123"', 'schedule = "PABC123"\nescalation_policy = "PDEF456"'),
            "oncall.teams.platform.schedule: expected exactly one of schedule or escalation_policy",
        ),
        (
            ('"PABC123"', '"pabc"'),
            "oncall.teams.platform.schedule: expected a PagerDuty ID like PABC123",
        ),
        (
            ('schedule = "6f1c', 'schedule = "not-a-uuid-6f1c'),
            "oncall.teams.storage.schedule: expected a GoAlert schedule ID (a UUID)",
        ),
        (
            ('url = "https://goalert.example.com"', ""),
            'goalert.url: is needed by teams with source = "goalert" (the GoAlert server\'s '
            "address)",
        ),
        (
            ('source = "pagerduty"', 'source = "pagerdutyy"'),
            "oncall.teams.platform.source: expected one of rota, pagerduty, goalert, got "
            '"pagerdutyy" (a string)',
        ),
        (
            ('schedule = "PABC123"', ROTA.split("\n", 3)[3].replace("payments", "platform")),
            "oncall.teams.platform.layers: expected no layers: the team's shifts come from its "
            "source",
        ),
        (
            ('source = "pagerduty"\n', ""),
            "oncall.teams.platform.schedule: expected no schedule or escalation_policy for "
            "source rota (the layers are the rota)",
        ),
    ],
)
def test_a_mistake_in_a_teams_source_names_its_key(
    tmp_path: Path, change: tuple[str, str], line: str
) -> None:
    config = write(tmp_path, PLATFORM.replace(*change))
    done = bridgekeeper(tmp_path, "config", "check", str(config), **TOKENS)
    assert done.returncode == 2
    assert assert_clean_failure(done, 1) == [f"bridgekeeper: config: {line}"]


def test_a_missing_api_key_is_named(tmp_path: Path) -> None:
    config = write(tmp_path, PLATFORM)
    done = bridgekeeper(
        tmp_path, "config", "check", str(config), BRIDGEKEEPER_GOALERT_TOKEN="ga-key"
    )
    assert done.returncode == 2
    assert assert_clean_failure(done, 1) == [
        "bridgekeeper: config: BRIDGEKEEPER_PAGERDUTY_TOKEN: is not set: teams with source = "
        '"pagerduty" read their on-call with this API key'
    ]
