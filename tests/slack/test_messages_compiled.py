"""The messages Slack users are answered with are compiled ahead, not on first use: a template is
otherwise compiled with the event loop stopped (the timeline entry takes about 28 ms), and every
ack arriving meanwhile waits. `serve` does it before its Slack self-check
(tests/faults/test_startup.py reads its log line)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bridgekeeper.rendering import Renderer
from bridgekeeper.resources import shipped_dir
from bridgekeeper.services.report_filters import add_report_filters
from tests.conftest import Running


def slack_messages() -> set[str]:
    folder = Path(shipped_dir("messages"))
    found = {p.relative_to(folder).as_posix() for p in folder.glob("*.md.j2")}
    for sub in ("slack", "refused"):
        found |= {p.relative_to(folder).as_posix() for p in (folder / sub).rglob("*.md.j2")}
    return found


def compiled(renderer: Renderer) -> set[str]:
    cache = renderer.slack_env.cache
    return {str(template.name) for template in cache.values()} if cache else set()


async def test_every_slack_message_is_compiled_with_the_filters_the_app_gives_them(
    running: Running,
) -> None:
    expected = slack_messages()
    assert {"usage.md.j2", "help.md.j2", "slack/timeline_entry.md.j2"} <= expected
    renderer = running.bk.renderer
    assert renderer.slack_env.cache is not None
    renderer.slack_env.cache.clear()  # what this process's other renderers loaded (shared)
    assert not expected <= compiled(renderer)  # compiled on first use, unless done ahead
    assert renderer.compile_slack_messages() == len(expected)
    assert expected <= compiled(renderer)


def test_a_team_s_message_that_does_not_compile_is_named_and_left_for_later(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "slack").mkdir()
    (tmp_path / "slack" / "noted.md.j2").write_text("Noted {{ entry.text ")
    (tmp_path / "summary.md.j2").write_text("{{ text | md }}")  # not a shipped message
    renderer = Renderer([tmp_path])
    add_report_filters(renderer)  # as the app's report services do
    with caplog.at_level(logging.WARNING):
        count = renderer.compile_slack_messages()
    assert count == len(slack_messages()) - 1
    assert "slack/noted.md.j2 does not compile" in caplog.text
    assert "summary.md.j2" not in compiled(renderer) and "summary" not in caplog.text
