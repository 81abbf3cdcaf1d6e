"""`serve` compiles every message Slack users are answered with before it reports ready: a
template is otherwise compiled on first use with the event loop stopped (the timeline entry and
the usage message take about 30 ms each), and every ack arriving meanwhile waits."""

from __future__ import annotations

from pathlib import Path

from bridgekeeper.resources import shipped_dir
from tests.conftest import Running


def slack_messages() -> set[str]:
    folder = Path(shipped_dir("messages"))
    found = {p.relative_to(folder).as_posix() for p in folder.glob("*.md.j2")}
    for sub in ("slack", "refused"):
        found |= {p.relative_to(folder).as_posix() for p in (folder / sub).rglob("*.md.j2")}
    return found


def compiled(running: Running) -> set[str]:
    env = running.bk.renderer.slack_env
    return {template.name for template in env.cache.values()} if env.cache else set()


async def test_every_slack_message_is_compiled_with_the_filters_the_app_gives_them(
    running: Running,
) -> None:
    expected = slack_messages()
    assert {"usage.md.j2", "help.md.j2", "slack/timeline_entry.md.j2"} <= expected
    assert not expected <= compiled(running)  # compiled on first use, unless done ahead
    count = running.bk.renderer.compile_slack_messages()
    assert count == len(expected)
    assert expected <= compiled(running)
