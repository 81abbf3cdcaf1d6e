"""`bridgekeeper doctor`, run as people run it: one line per check, exit status 0 when all pass
and 1 with what to fix when one does not."""

from __future__ import annotations

import os
from pathlib import Path

from bridgekeeper.sandbox import SlackEmulator
from tests.command_line import run_bridgekeeper_beside
from tests.conftest import BOT_TOKEN, SIGNING_SECRET


async def doctor(env: dict[str, str], cwd: Path) -> tuple[int, list[str], str]:
    """Exit status, stdout lines, stderr (the emulator answers in this process meanwhile)."""
    done = await run_bridgekeeper_beside("doctor", env={**os.environ, **env}, cwd=cwd)
    return done.returncode, done.stdout.splitlines(), done.stderr


def environment(db_url: str, emulator: SlackEmulator, **more: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": emulator.api_url,
        "DATABASE_URL": db_url,
        **more,
    }


async def test_doctor_passes_a_ready_installation(
    db_url: str, emulator: SlackEmulator, tmp_path: Path
) -> None:
    triage = emulator.add_channel("sec-triage", members=[emulator.bot_user_id])
    stakeholders = emulator.add_channel("incidents", members=[emulator.bot_user_id])
    env = environment(
        db_url,
        emulator,
        BRIDGEKEEPER_TRIAGE_CHANNEL=triage,
        BRIDGEKEEPER_STAKEHOLDER_CHANNEL=stakeholders,
    )
    status, lines, err = await doctor(env, tmp_path)
    assert status == 0, lines
    assert err == ""
    checks = lines[:-1]
    assert all(line.startswith("ok  ") for line in checks), lines
    assert [line.split()[1] for line in checks] == [
        "configuration:",
        "database:",
        "database",
        "Slack:",
        "Slack",
        "triage",
        "stakeholder",
    ]
    assert f"triage channel {triage} (#sec-triage): the bot is a member" in lines[5]
    assert lines[-1] == f"all {len(checks)} checks passed"


async def test_doctor_names_each_failing_check_and_what_to_fix(
    db_url: str, emulator: SlackEmulator, tmp_path: Path
) -> None:
    triage = emulator.add_channel("sec-triage", members=["U0ALICE"])  # the bot was never invited
    emulator.bot_scopes.discard("pins:write")
    env = environment(db_url, emulator, BRIDGEKEEPER_TRIAGE_CHANNEL=triage)
    status, lines, _ = await doctor(env, tmp_path)
    assert status == 1
    failed = [line for line in lines if line.startswith("FAIL")]
    assert len(failed) == 2, lines
    assert "lacks the scope pins:write" in failed[0] and "reinstall the app" in failed[0]
    assert f"triage channel {triage} (#sec-triage): the bot is not a member" in failed[1]
    assert "/invite @bridgekeeper" in failed[1]
    assert lines[-1] == f"2 of {len(lines) - 1} checks failed"


async def test_doctor_with_a_refused_token_and_no_database(
    emulator: SlackEmulator, tmp_path: Path
) -> None:
    env = environment(
        "postgresql://bk:secret@127.0.0.1:9/bk", emulator, SLACK_BOT_TOKEN="xoxb-wrong"
    )
    status, lines, err = await doctor(env, tmp_path)
    assert status == 1
    assert "Traceback" not in err
    text = "\n".join(lines)
    assert "FAIL  database: postgresql+asyncpg://bk:***@127.0.0.1:9/bk cannot be reached" in text
    assert "secret" not in text
    assert "FAIL  Slack: Slack refused the bot token (invalid_auth)" in text
    assert "FAIL  Slack scopes: not checked" in text


async def test_doctor_reports_a_configuration_problem(tmp_path: Path) -> None:
    status, lines, _ = await doctor({"SLACK_BOT_TOKEN": "", "PORT": "0"}, tmp_path)
    assert status == 1
    assert lines[0].startswith("FAIL  configuration: config: PORT: expected a port number")
    assert lines[-1] == "1 of 1 checks failed"


async def test_the_email_scope_is_needed_only_where_a_team_reads_its_on_call_from_a_tool(
    db_url: str, emulator: SlackEmulator, tmp_path: Path
) -> None:
    """An app installed before the e-mail scope existed keeps working, until a team's on-call
    comes from PagerDuty, whose people are matched to Slack by e-mail."""
    emulator.bot_scopes.discard("users:read.email")
    status, lines, _ = await doctor(environment(db_url, emulator), tmp_path)
    assert status == 0, lines
    config = tmp_path / "bridgekeeper.toml"
    config.write_text('[oncall.teams.platform]\nsource = "pagerduty"\nschedule = "PABC123"\n')
    env = environment(
        db_url,
        emulator,
        BRIDGEKEEPER_CONFIG=str(config),
        BRIDGEKEEPER_PAGERDUTY_TOKEN="u+read-only",
    )
    status, lines, _ = await doctor(env, tmp_path)
    [failed] = [line for line in lines if line.startswith("FAIL")]
    assert status == 1 and "lacks the scope users:read.email" in failed
