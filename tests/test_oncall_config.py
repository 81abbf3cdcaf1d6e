"""[oncall] in the TOML file: a rota that loads, and one line naming the key for each mistake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bridgekeeper.config.loading import load_settings
from bridgekeeper.domain.oncall import on_call
from bridgekeeper.domain.paging import people
from tests.test_config_cli import assert_clean_failure, bridgekeeper, write

# the command runs the same checkout as the tests, wherever it is imported from
SAME_CODE = {"PYTHONPATH": str(Path(__import__("bridgekeeper").__file__).parents[1])}
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
    shown = bridgekeeper(tmp_path, "config", "show", BRIDGEKEEPER_CONFIG=str(write(tmp_path, text)),
                         SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET="test",
                         **SAME_CODE)  # fmt: skip
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
    done = bridgekeeper(tmp_path, "config", "check", str(write(tmp_path, ROTA)), **SAME_CODE)
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
    done = bridgekeeper(tmp_path, "config", "check", str(config), **SAME_CODE)
    assert done.returncode == 2
    assert assert_clean_failure(done, 1) == [f"bridgekeeper: config: {line}"]
