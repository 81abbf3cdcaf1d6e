"""An error nobody foresaw is still one line on stderr and exit status 1; its traceback only
with --debug (given before the command)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bridgekeeper.cli import build_parser
from tests.command_line import Done, run_bridgekeeper


def run_cli(*args: str, database: Path) -> Done:
    return run_bridgekeeper(*args, env={**os.environ, "DATABASE_URL": f"sqlite:///{database}"})


def test_a_file_that_is_not_a_database_is_one_line_and_exit_1(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not an SQLite file, whatever its name says" * 8)
    done = run_cli("report", "1", database=junk)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "file is not a database" in line and "--debug" in line


def test_debug_adds_the_traceback(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not an SQLite file, whatever its name says" * 8)
    done = run_cli("--debug", "report", "1", database=junk)
    assert done.returncode == 1
    assert "file is not a database" in done.stderr.splitlines()[0]
    assert "Traceback (most recent call last)" in done.stderr


def test_debug_shows_a_configuration_error_s_traceback_too(tmp_path: Path) -> None:
    config = tmp_path / "bridgekeeper.toml"
    config.write_text('[incidnets]\nprivate = "false"\n')
    done = run_cli("--debug", "config", "check", str(config), database=tmp_path / "x.db")
    assert done.returncode == 2
    assert done.stderr.startswith("bridgekeeper: ") and "Traceback" in done.stderr
    plain = run_cli("config", "check", str(config), database=tmp_path / "x.db")
    assert plain.returncode == 2 and "Traceback" not in plain.stderr


def test_a_database_behind_the_code_stops_the_worker_with_exit_1(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"  # reachable, but never migrated
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{empty}",
        "SLACK_BOT_TOKEN": "xoxb-not-used",
        "SLACK_API_URL": "http://127.0.0.1:9/api/",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bridgekeeper", "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "db upgrade" in done.stderr


def test_a_port_out_of_range_is_refused_naming_it(tmp_path: Path) -> None:
    """Not taken modulo 65536 (70000 listened on 4464), nor passed to the resolver."""
    for command in (("serve", "--port"), ("worker", "--health-port"), ("sandbox", "--port")):
        for port in ("70000", "-5", "http"):
            done = run_cli(*command, port, database=tmp_path / "x.db")
            assert done.returncode == 2, done.stderr
            assert f"expected a port number 0-65535, got '{port}'" in done.stderr


def test_numbers_below_one_are_refused_naming_them(capsys: pytest.CaptureFixture[str]) -> None:
    """Incident numbers, report versions and delivery ids count from 1: 0 and -3 were looked
    up (and reported as an incident having no such version)."""
    commands = (
        ("report", "{}"),
        ("report", "1", "--version", "{}"),
        ("iocs", "export", "{}"),
        ("audit", "verify", "{}"),
        ("outbox", "retry", "{}"),
    )
    for command in commands:
        for number in ("0", "-3", "two"):
            with pytest.raises(SystemExit) as stopped:
                build_parser().parse_args([part.format(number) for part in command])
            assert stopped.value.code == 2
            assert f"expected a whole number from 1, got '{number}'" in capsys.readouterr().err
    assert build_parser().parse_args(["report", "1", "--version", "2"]).report_version == 2
