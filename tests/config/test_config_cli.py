"""`bridgekeeper config check|show` and start-up with bad settings, as a user runs them: exit
status, one line per problem on stderr, no traceback, no secret printed. `serve` and `worker`
run as processes of their own; the other commands in this process (tests/command_line.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.command_line import Done, run_bridgekeeper

SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-very-secret-bot-token",
    "SLACK_SIGNING_SECRET": "very-secret-signing",
    "DATABASE_URL": "postgresql://bk:very-secret-pw@db.internal/bk",
    "BRIDGEKEEPER_REPORT_TOKEN": "very-secret-report-token",
}


def bridgekeeper(cwd: Path, *args: str, **env: str) -> Done:
    """The command in `cwd` with only `env` set (and PATH): no .env or variable of ours leaks in."""
    return run_bridgekeeper(*args, env=only(env), cwd=cwd)


def bridgekeeper_process(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`bridgekeeper` as a process of its own, for the commands that would run until stopped."""
    return subprocess.run(
        [sys.executable, "-m", "bridgekeeper", *args],
        cwd=cwd,
        env=only(env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def only(env: dict[str, str]) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), **env}


def write(tmp_path: Path, toml: str, name: str = "bridgekeeper.toml") -> Path:
    path = tmp_path / name
    path.write_text(toml + "\n")
    return path


def assert_clean_failure(done: Done | subprocess.CompletedProcess[str], lines: int) -> list[str]:
    assert "Traceback" not in done.stderr, done.stderr
    found = done.stderr.strip().splitlines()
    assert len(found) == lines, done.stderr
    assert all(line.startswith("bridgekeeper: ") for line in found), done.stderr
    return found


def test_config_check_a_valid_file(tmp_path: Path) -> None:
    config = write(tmp_path, '[alerts]\ntriage_threshold = "sev2"')
    done = bridgekeeper(tmp_path, "config", "check", str(config))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"configuration OK ({config})" and done.stderr == ""


def test_config_check_reads_the_file_named_by_the_environment(tmp_path: Path) -> None:
    config = write(tmp_path, '[incidents]\nprivate = "false"')
    done = bridgekeeper(tmp_path, "config", "check", BRIDGEKEEPER_CONFIG=str(config))
    assert done.returncode == 2 and done.stdout == ""
    [line] = assert_clean_failure(done, 1)
    assert line == "bridgekeeper: config: incidents.private: unknown key"


def test_config_check_lists_every_problem_and_exits_2(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        '[alerts]\ntriage_threshhold = "sev2"\ntoken = 12345\n'
        '[[alerts.auto_declare]]\nsources = ["defender"]\nprivate = "false"',
    )
    done = bridgekeeper(tmp_path, "config", "check", str(config), PORT="abc", LOG_LEVEL="LOUD")
    assert done.returncode == 2
    assert assert_clean_failure(done, 5) == [
        'bridgekeeper: config: LOG_LEVEL: expected one of DEBUG, INFO, WARNING, ERROR, got "LOUD"',
        'bridgekeeper: config: PORT: expected a port number 1-65535, got "abc"',
        "bridgekeeper: config: alerts.token: expected text in quotes, got a number",
        "bridgekeeper: config: alerts.auto_declare[0].private: expected true or false, "
        'got "false" (a string)',
        "bridgekeeper: config: alerts.triage_threshhold: unknown key "
        "(did you mean alerts.triage_threshold?)",
    ]


def test_config_check_a_missing_file(tmp_path: Path) -> None:
    done = bridgekeeper(tmp_path, "config", "check", str(tmp_path / "nope.toml"))
    assert done.returncode == 2
    [line] = assert_clean_failure(done, 1)
    assert line.startswith("bridgekeeper: config: BRIDGEKEEPER_CONFIG: file not found: ")


def test_config_check_reads_a_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PORT=99999\n")
    done = bridgekeeper(tmp_path, "config", "check")
    assert done.returncode == 2
    assert assert_clean_failure(done, 1) == [
        'bridgekeeper: config: PORT: expected a port number 1-65535, got "99999"'
    ]


def test_config_show_prints_every_setting_with_secrets_masked(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        '[alerts]\ntoken = "very-secret-alert-token"\n'
        'tokens = { grafana = "very-secret-grafana" }\npagerduty_secrets = ["very-secret-pd"]',
    )
    done = bridgekeeper(tmp_path, "config", "show", BRIDGEKEEPER_CONFIG=str(config), **SECRETS)
    assert done.returncode == 0, done.stderr
    assert "very-secret" not in done.stdout
    lines = set(done.stdout.splitlines())
    assert 'SLACK_BOT_TOKEN = "********"' in lines
    assert 'DATABASE_URL = "postgresql+asyncpg://bk:***@db.internal/bk"' in lines
    assert 'alerts.tokens = {grafana = "********"}' in lines
    assert 'alerts.pagerduty_secrets = ["********"]' in lines
    assert "SLACK_APP_TOKEN = (not set)" in lines
    assert "http.max_connections = 1000" in lines  # defaults too
    assert "updates.cadence_minutes.sev1 = 30" in lines


def test_serve_with_a_bad_setting_exits_2_with_one_line(tmp_path: Path) -> None:
    done = bridgekeeper_process(tmp_path, "serve", PORT="abc", **SECRETS)
    assert done.returncode == 2
    assert assert_clean_failure(done, 1) == [
        'bridgekeeper: config: PORT: expected a port number 1-65535, got "abc"'
    ]
    done = bridgekeeper_process(tmp_path, "worker", LOG_LEVEL="LOUD", **SECRETS)
    assert done.returncode == 2
    assert "LOG_LEVEL" in assert_clean_failure(done, 1)[0]


def test_serve_with_an_unreachable_database_says_which_in_one_line(tmp_path: Path) -> None:
    env = {**SECRETS, "DATABASE_URL": f"sqlite:///{tmp_path}/no/such/folder/bk.db"}
    for command in ("serve", "worker"):
        done = bridgekeeper_process(tmp_path, command, **env)
        assert done.returncode == 1  # a runtime problem, not a configuration one
        [line] = assert_clean_failure(done, 1)
        assert f"{tmp_path}/no/such/folder/bk.db" in line and "unable to open" in line
    env["DATABASE_URL"] = "postgresql://bk:very-secret-pw@127.0.0.1:1/bk"
    done = bridgekeeper_process(tmp_path, "serve", **env)
    assert done.returncode == 1
    [line] = assert_clean_failure(done, 1)
    assert "bk:***@127.0.0.1:1/bk" in line and "very-secret" not in line
